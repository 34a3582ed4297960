"""Write the ``licenses/`` folder of the bundle from what is installed in the build environment.

Every distribution the programs run on (the dependency closure of ``colormnet-studio``) gives its licence files as
its installed metadata lists them: the PEP 639 ``licenses/`` folder of its ``.dist-info`` and any LICENSE, COPYING or
NOTICE file among its installed files (OpenCV keeps its third-party notices beside ``cv2``). Where a wheel ships no
text for a licence it declares (Qt under the LGPL through PySide6, FFmpeg under the LGPL through PyAV, the fonts of
qtawesome), the system's copy of that licence is added (``/usr/share/common-licenses`` on Debian and Ubuntu,
``/usr/share/licenses`` elsewhere); a missing one stops the build. ``INDEX.txt`` lists each distribution, its
version, its declared licence and its files.

Only what the bundle holds counts: a distribution none of whose top-level names is in the bundle (a meta-package,
or a package the spec leaves out) is listed as not shipped.

PyInstaller also copies shared libraries of the build system itself (GLib and D-Bus under Qt, for one) directly into
``_internal``; wheels keep theirs in their own folders. Each of those is looked up in the system's package manager
(dpkg, else rpm) and its package's copyright file goes to ``system/``; a system library no package owns stops the
build.

Usage: ``python packaging/collect_licenses.py BUNDLE/licenses [--project ROOT]``; run it with the build
environment's Python after PyInstaller.
"""

from __future__ import annotations

import argparse
import filecmp
import re
import shutil
import subprocess
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT_DISTRIBUTION = "colormnet-studio"
LICENCE_NAME = re.compile(r"(^|/)(LICEN[CS]E|COPYING|NOTICE|COPYRIGHT)[^/]*$", re.IGNORECASE)

# Licences a wheel declares but ships no text for: (distribution, what it covers, the system file's names).
SYSTEM_TEXTS: list[tuple[str, str, tuple[str, ...]]] = [
    ("pyside6-essentials", "Qt 6 and PySide6 (LGPL-3.0, used as shared libraries)", ("LGPL-3", "GPL-3")),
    ("shiboken6", "Shiboken6 (LGPL-3.0)", ("LGPL-3", "GPL-3")),
    ("av", "FFmpeg, bundled in PyAV's wheel as shared libraries (LGPL-2.1 or later)", ("LGPL-2.1",)),
    ("qtawesome", "the Material Design Icons and Remix Icon fonts (Apache-2.0)", ("Apache-2.0",)),
]
SYSTEM_FOLDERS = (Path("/usr/share/common-licenses"), Path("/usr/share/licenses/common"), Path("/usr/share/licenses"))


def canonical(name: str) -> str:
    """The normalised distribution name (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_closure(root: str) -> list[metadata.Distribution]:
    """The installed distributions ``root`` needs at run time, itself included, following the extras asked for
    (torch asks for ``cuda-toolkit[cublas,cudart,...]``)."""
    seen: dict[str, metadata.Distribution] = {}
    done: set[tuple[str, str]] = set()
    todo: list[tuple[str, str]] = [(root, "")]
    while todo:
        name, extra = todo.pop()
        name = canonical(name)
        if (name, extra) in done:
            continue
        done.add((name, extra))
        try:
            dist = seen.get(name) or metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # a requirement for another platform
        seen[name] = dist
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": extra}):
                todo += [(req.name, "")] + [(req.name, wanted) for wanted in req.extras]
    return sorted(seen.values(), key=lambda d: canonical(d.metadata["Name"]))


def shipped_modules(bundle: Path) -> set[str]:
    """Top-level names the bundle holds: folders and files of ``_internal`` and modules of the executables' archive."""
    from PyInstaller.archive.readers import CArchiveReader

    internal = bundle / "_internal"
    names = {p.name.split(".")[0].lower() for p in internal.iterdir()} if internal.is_dir() else set()
    for exe in bundle.iterdir():
        if exe.is_file() and not exe.is_symlink() and exe.suffix in ("", ".exe"):
            archive = CArchiveReader(str(exe)).open_embedded_archive("PYZ.pyz")
            names |= {name.split(".")[0].lower() for name in archive.toc}
    return names


def top_level(dist: metadata.Distribution) -> set[str]:
    """The top-level names a distribution installs (packages, modules, ``.libs`` folders)."""
    names = set()
    for item in dist.files or []:
        first = str(item).split("/")[0]
        if not first.endswith((".dist-info", ".pth", "..")) and first != "__pycache__":
            names.add(first.split(".")[0].lower())
    return names


def licence_files(dist: metadata.Distribution) -> list[Path]:
    """The licence texts a distribution installed, as files on disk."""
    found = []
    for item in dist.files or []:
        path = str(item)
        in_licences = "/licenses/" in path and ".dist-info/" in path
        if (in_licences or LICENCE_NAME.search(path)) and not path.endswith((".py", ".pyc")):
            found.append(Path(str(dist.locate_file(item))))
    return [p for p in found if p.is_file()]


def system_text(name: str) -> Path:
    """The system's copy of a standard licence text (``LGPL-3``, ``Apache-2.0``, ...)."""
    for folder in SYSTEM_FOLDERS:
        for candidate in (folder / name, folder / f"{name}.txt"):
            if candidate.is_file():
                return candidate
    raise SystemExit(f"collect_licenses: the {name} licence text is not on this system (looked in "
                     f"{', '.join(map(str, SYSTEM_FOLDERS))}); install Debian's base-files or your distribution's "
                     "equivalent")


def metadata_section(dist: metadata.Distribution, heading: str) -> str:
    """One Markdown section of a distribution's long description, from ``heading`` to the next heading."""
    body = dist.metadata.get_payload() or ""  # type: ignore[attr-defined]
    start = body.find(heading)
    if start < 0:
        raise SystemExit(f"collect_licenses: {heading!r} is missing from the description of {dist.metadata['Name']}")
    end = body.find("\n#", start + len(heading))
    return body[start : end if end > 0 else len(body)].strip() + "\n"


def declared(dist: metadata.Distribution) -> str:
    """The licence a distribution declares in its metadata."""
    meta = dist.metadata
    text = next(iter(meta.get_all("License-Expression") or meta.get_all("License") or []), "")
    if not text or len(text) > 200:
        classifiers = [c.split("::")[-1].strip() for c in meta.get_all("Classifier") or [] if c.startswith("License")]
        text = "; ".join(classifiers) or "(see the files)"
    return " ".join(text.split())


LIBRARY_NAME = re.compile(r"^lib.+\.so(\.\d+)*$")


def system_library_paths() -> dict[str, Path]:
    """The shared libraries the system's loader knows, by file name (``ldconfig -p``)."""
    for ldconfig in ("ldconfig", "/sbin/ldconfig", "/usr/sbin/ldconfig"):  # /sbin is not on a user's PATH
        try:
            listing = subprocess.run([ldconfig, "-p"], capture_output=True, text=True, check=True).stdout
            break
        except (OSError, subprocess.CalledProcessError):
            continue
    else:
        if sys.platform.startswith("linux"):
            raise SystemExit("collect_licenses: cannot list the system's libraries (ldconfig -p), so the bundle's "
                             "copies of them cannot be credited")
        return {}
    found: dict[str, Path] = {}
    for line in listing.splitlines():
        name, arrow, path = line.strip().partition(" => ")
        if arrow:
            found.setdefault(name.split(" (")[0], Path(path))
    return found


def owning_package(library: Path) -> tuple[str, str, list[Path]] | None:
    """The system package that installed ``library``: its name, version and licence files; None if none did."""
    try:
        owner = subprocess.run(["dpkg", "-S", f"*/{library.name}"], capture_output=True, text=True)
        owners = [line for line in owner.stdout.splitlines() if ": /" in line and not line.startswith("diversion")]
        same = [line for line in owners if Path(line.split(": ", 1)[1]).resolve() == library.resolve()]
        if owner.returncode == 0 and owners:
            package = (same or owners)[0].split(":")[0].split(",")[0].strip()
            version = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True,
                                     text=True).stdout.strip()
            return package, version, [p for p in [Path("/usr/share/doc") / package / "copyright"] if p.is_file()]
    except OSError:
        pass  # not Debian or Ubuntu
    try:
        owner = subprocess.run(["rpm", "-qf", "--qf", "%{NAME}\t%{VERSION}\n", str(library)], capture_output=True,
                               text=True)
        if owner.returncode == 0:
            package, version = owner.stdout.splitlines()[0].split("\t")
            texts = subprocess.run(["rpm", "-qL", package], capture_output=True, text=True).stdout.split()
            return package, version, [Path(t) for t in texts if Path(t).is_file()]
    except OSError:
        pass
    return None


def system_libraries(internal: Path, known: dict[str, Path], provided: set[str]) -> list[tuple[str, Path]]:
    """The libraries directly in ``internal`` that are copies of the system's (same name in ``known``, same bytes),
    with the system path, less those a shipped distribution installs under the same name (its licence covers them:
    the CUDA runtime of the nvidia wheels, say, which a system CUDA toolkit also has). Python's own library, from
    whichever Python built the bundle and stripped, is covered by Python's licence."""
    if not internal.is_dir():
        return []
    return sorted((entry.name, known[entry.name]) for entry in internal.iterdir()
                  if LIBRARY_NAME.match(entry.name) and not entry.is_symlink()  # a link: a wheel's, in its folder
                  and entry.name in known and entry.name not in provided and known[entry.name].is_file()
                  and filecmp.cmp(entry, known[entry.name], shallow=False))


def collect_system(dest: Path, libraries: list[tuple[str, Path]]) -> list[str]:
    """Copy the copyright files of the packages ``libraries`` come from into ``dest/system``; the index lines."""
    lines = []
    for name, path in libraries:
        owner = owning_package(path)
        if owner is None or not owner[2]:
            raise SystemExit(f"collect_licenses: the bundle holds {name}, copied from {path}, but no system package "
                             "owns it or its package has no licence file; add its licence by hand or leave it out")
        package, version, texts = owner
        folder = dest / "system" / package
        folder.mkdir(parents=True, exist_ok=True)
        for text in texts:
            shutil.copy2(text, folder / text.name)
        lines.append(f"{name}: system library from the package {package} {version} -- "
                     f"{len(texts)} file(s) in system/{package}/")
    return lines


def collect(dest: Path, project: Path) -> list[str]:
    """Fill ``dest`` (the bundle's ``licenses`` folder) and return the lines of its index."""
    shipped = shipped_modules(dest.parent)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    index = ["Licences of everything this folder ships, collected from the build environment.", ""]
    own = dest / "colormnet-studio"
    own.mkdir()
    shutil.copy2(project / "LICENSE", own / "LICENSE")
    shutil.copy2(project / "colormnet" / "data" / "demo" / "LICENSE.realshort.txt", own / "LICENSE.realshort.txt")
    python_licence = Path(sysconfig.get_paths()["stdlib"]) / "LICENSE.txt"
    if python_licence.is_file():
        (dest / "python").mkdir()
        shutil.copy2(python_licence, dest / "python" / "LICENSE.txt")
        index.append(f"python {sys.version.split()[0]}: PSF-2.0 -- python/LICENSE.txt")
    extras: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for dist_name, covers, names in SYSTEM_TEXTS:
        extras.setdefault(dist_name, []).append((covers, names))
    closure = runtime_closure(ROOT_DISTRIBUTION)
    provided = {Path(str(item)).name for dist in closure for item in dist.files or []}
    for dist in closure:
        name = canonical(dist.metadata["Name"])
        if name != ROOT_DISTRIBUTION and not top_level(dist) & shipped:
            index.append(f"{name} {dist.version}: not shipped (a meta-package, or left out of the bundle)")
            continue
        folder = dest / name
        folder.mkdir(exist_ok=True)
        copied = []
        if name != ROOT_DISTRIBUTION:
            base = Path(str(dist.locate_file(""))).resolve()
            for source in licence_files(dist):
                try:
                    relative = source.resolve().relative_to(base)
                except ValueError:
                    relative = Path(source.name)
                target = folder / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
                copied.append(str(relative))
        if name == "qtawesome":  # its fonts' licences are stated only in its description
            (folder / "FONTS.md").write_text(metadata_section(dist, "## License"), encoding="utf-8")
            copied.append("FONTS.md (the licence of each bundled icon font)")
        for covers, names in extras.get(name, []):
            for text_name in names:
                shutil.copy2(system_text(text_name), folder / f"{text_name}.txt")
                copied.append(f"{text_name}.txt ({covers})")
        if name == ROOT_DISTRIBUTION:
            copied = ["LICENSE", "LICENSE.realshort.txt (the demo clip, BSD-2-Clause)"]
            folder = own
        if not copied:
            raise SystemExit(f"collect_licenses: {name} installed no licence file and none is known for it")
        index.append(f"{name} {dist.version}: {declared(dist)} -- {len(copied)} file(s) in {folder.name}/")
    libraries = system_libraries(dest.parent / "_internal", system_library_paths(), provided)
    index += ["", *collect_system(dest, libraries)]
    index += ["", "The ColorMNet checkpoint is not part of this folder: it is downloaded separately and is licensed by",
              "its authors under CC BY-NC-SA 4.0 (non-commercial use only)."]
    (dest / "INDEX.txt").write_text("\n".join(index) + "\n", encoding="utf-8")
    return index


def main() -> None:
    """Command line: ``collect_licenses.py DEST [--project ROOT]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path, help="the licenses folder to (re)write")
    parser.add_argument("--project", type=Path, default=Path(__file__).resolve().parent.parent)
    args = parser.parse_args()
    for line in collect(args.dest, args.project):
        print(line)


if __name__ == "__main__":
    main()
