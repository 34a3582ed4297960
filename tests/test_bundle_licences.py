"""The bundle's licences of the system libraries PyInstaller copies from the build machine (packaging/)."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).parent.parent / "packaging" / "collect_licenses.py"


@pytest.fixture(scope="module")
def collect_licenses() -> ModuleType:
    spec = importlib.util.spec_from_file_location("collect_licenses", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_system_library_in_the_bundle_brings_its_package_copyright(collect_licenses: ModuleType,
                                                                     tmp_path: Path) -> None:
    known = collect_licenses.system_library_paths()
    if "libz.so.1" not in known or (shutil.which("dpkg") is None and shutil.which("rpm") is None):
        pytest.skip("needs zlib from a system package (dpkg or rpm)")
    internal = tmp_path / "bundle" / "_internal"
    (internal / "torch" / "lib").mkdir(parents=True)
    shutil.copy2(known["libz.so.1"], internal / "libz.so.1")  # as PyInstaller copies it from the system
    (internal / "torch" / "lib" / "libz.so.1").write_bytes(b"a wheel's own copy")  # in its package: not the system's
    (internal / "libcolormnet-own.so.2").write_bytes(b"no system library of that name")
    other = next((name for name in known if name.startswith("libc.so")), None)
    if other is not None:
        (internal / other).write_bytes(b"a library of the same name built elsewhere")  # not the system's copy
    libraries = collect_licenses.system_libraries(internal, known, set())
    assert [name for name, _ in libraries] == ["libz.so.1"]
    assert collect_licenses.system_libraries(internal, known, {"libz.so.1"}) == []  # a shipped wheel installs it
    dest = tmp_path / "bundle" / "licenses"
    (line,) = collect_licenses.collect_system(dest, libraries)
    assert line.startswith("libz.so.1: system library from the package ")
    package = line.split("the package ")[1].split()[0]
    texts = list((dest / "system" / package).iterdir())
    assert texts and all(t.stat().st_size > 100 for t in texts)  # the package's copyright, not an empty stand-in


def test_a_system_library_no_package_owns_stops_the_build(collect_licenses: ModuleType, tmp_path: Path) -> None:
    built_by_hand = tmp_path / "usr-local" / "libhandmade.so.1"
    built_by_hand.parent.mkdir()
    built_by_hand.write_bytes(b"x")
    with pytest.raises(SystemExit, match=r"libhandmade\.so\.1.*no system package owns it"):
        collect_licenses.collect_system(tmp_path / "licenses", [("libhandmade.so.1", built_by_hand)])
