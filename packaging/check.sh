#!/usr/bin/env bash
# Build the bundle from this checkout in an environment of its own and smoke-test it as a user without Python would
# run it. Needs python3 (3.10+, with the venv module and a shared libpython) and the package registry; nothing else
# installed. Everything goes under build/packaging (git-ignored), or under $COLORMNET_PACKAGING_DIR.
#
#   packaging/check.sh            create or reuse the build environment, build, smoke-test
#   packaging/check.sh --fresh    start from a new build environment
#   packaging/check.sh --smoke    only smoke-test the bundle built last time
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
work="${COLORMNET_PACKAGING_DIR:-$root/build/packaging}"
venv="$work/venv"
mode="${1:-}"
[[ "$mode" == "--fresh" ]] && rm -rf "$venv"
mkdir -p "$work"
step() { printf '\n== %s\n' "$*"; }
fail() { echo "check.sh: FAILED: $*" >&2; exit 1; }

if [[ "$mode" != "--smoke" ]]; then
    step "build environment: $venv"
    [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q --upgrade pip
    # torch is pinned to the release the project is tested with; the project itself goes in as a wheel would (not
    # editable), so the bundle sees exactly the package data a wheel carries.
    "$venv/bin/python" -m pip install -q "torch==2.14.1" "pyinstaller>=6.10" "$root"

    step "bundle"
    start=$(date +%s)
    "$here/build.sh" "$venv/bin/python" "$work"
    echo "built in $(( $(date +%s) - start )) s"
fi
bundle="$work/dist/colormnet-studio"
studio="$bundle/colormnet-studio"
cli="$bundle/colormnet"
clip="$bundle/_internal/colormnet/data/demo/realshort.mp4"
for f in "$studio" "$cli" "$clip" "$bundle/licenses/INDEX.txt" "$bundle/colormnet-studio.desktop"; do
    [[ -e "$f" ]] || fail "the bundle lacks $f"
done
for dev in torch/include triton tests ray PySide6/QtOpenGL.abi3.so PySide6/Qt/plugins/platformthemes/libqgtk3.so; do
    [[ ! -e "$bundle/_internal/$dev" ]] || fail "the bundle carries $dev, which the programs never load"
done

step "contents"
# Every module of the two packages is in the bundle's archive (they are collected by walking the packages, so a
# moved or new subpackage must still turn up), and everything but torch stays within its budget.
"$venv/bin/python" - "$studio" <<'PY' || fail "modules of the programs are missing from the bundle"
import sys
from importlib.util import find_spec
from pathlib import Path
from PyInstaller.archive.readers import CArchiveReader
archived = set(CArchiveReader(sys.argv[1]).open_embedded_archive("PYZ.pyz").toc)
wanted = set()
for package in ("colormnet", "app"):
    top = Path(find_spec(package).origin).parent
    for file in top.rglob("*.py"):
        parts = (package, *file.relative_to(top).with_suffix("").parts)
        wanted.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
missing = sorted(wanted - archived)
print(f"{len(wanted)} modules of colormnet and app in the bundle; missing: {missing or 'none'}")
assert not missing
PY
"$venv/bin/python" "$here/sizes.py" "$bundle" --limit-other 500 || fail "the bundle is too large"

# The smoke tests run the bundle with an empty environment: no virtualenv, no PYTHONPATH, no PATH.
clean() { env -i HOME="$HOME" QT_QPA_PLATFORM=offscreen "$@"; }
out="$(mktemp -d "${TMPDIR:-/tmp}/colormnet-check.XXXXXX")"
trap 'rm -rf "$out"' EXIT

step "versions"
version=$("$venv/bin/python" -c 'import colormnet; print(colormnet.__version__)')
[[ "$(clean "$cli" --version)" == "colormnet $version" ]] || fail "colormnet --version"
[[ "$(clean "$studio" --version)" == "colormnet-studio $version" ]] || fail "colormnet-studio --version"
echo "both programs report $version"

step "start-up time"
t0=$(date +%s.%N); clean "$cli" --version > /dev/null; t1=$(date +%s.%N)
clean "$studio" --screenshot "$out/empty.png" 2> "$out/empty.log" || { cat "$out/empty.log"; fail "empty window"; }
t2=$(date +%s.%N)
echo "colormnet --version: $(awk "BEGIN{print $t1 - $t0}") s; colormnet-studio, window shown and grabbed: $(awk "BEGIN{print $t2 - $t1}") s"

step "the app renders --demo to a screenshot"
t0=$(date +%s.%N)
clean "$studio" --demo --screenshot "$out/demo.png" 2> "$out/demo.log" || { cat "$out/demo.log"; fail "--demo"; }
echo "--demo screenshot in $(awk "BEGIN{print $(date +%s.%N) - $t0}") s"
"$venv/bin/python" - "$out/demo.png" <<'PY' || fail "the --demo screenshot"
import sys
import numpy as np
from PIL import Image
image = Image.open(sys.argv[1]).convert("RGB")
w, h = image.size
colours = len(np.unique(np.asarray(image.resize((w // 4, h // 4))).reshape(-1, 3), axis=0))
print(f"screenshot {w}x{h}, {colours} colours")
assert w >= 640 and h >= 400 and colours > 200, "the window holds no frame"
PY

step "the CLI colorizes the demo clip with propagate"
clean "$cli" demo "$out/demo.mp4" --engine propagate || fail "colormnet demo"
info=$(clean "$cli" info "$out/demo.mp4" --json) || fail "colormnet info"
echo "$info" | "$venv/bin/python" -c 'import json, sys; i = json.load(sys.stdin); print(i); assert i["frame_count"] == 36' \
    || fail "the colorized demo clip"

step "the learned shot detector (TransNetV2, its weights in the bundle)"
# a new home: no cached shot list from an earlier run, so the network really runs
shots=$(env -i HOME="$out/home" QT_QPA_PLATFORM=offscreen "$cli" shots "$clip" --detector transnetv2 --json) || fail "colormnet shots"
echo "$shots" | "$venv/bin/python" -c '
import json, sys
shots = json.load(sys.stdin)["shots"]
print(f"{len(shots)} shot(s): {shots}")
assert shots[0]["start"] == 0 and shots[-1]["stop"] == 36' || fail "the shots of the demo clip"

step "weights path: the per-user data folder, exit status 1 while nothing is there"
set +e
where=$(clean "$cli" weights path)
code=$?
set -e
echo "$where"
[[ "$where" == *"$HOME/.local/share/"* ]] || fail "colormnet weights path does not point into $HOME/.local/share"
[[ $code -eq 1 || "$where" == *"[present"* ]] || fail "colormnet weights path: exit $code without usable weights"

step "a missing checkpoint: one line"
clean "$cli" extract-frame "$clip" 0 -o "$out/still0.png" || fail "extract-frame"
set +e
clean "$cli" colorize "$clip" -e "$out/still0.png@0" -o "$out/out.mp4" --engine colormnet \
    --weights "$out/missing.pth" 2> "$out/missing.err"
code=$?
set -e
cat "$out/missing.err"
[[ $code -eq 1 && $(wc -l < "$out/missing.err") -eq 1 ]] || fail "exit $code, $(wc -l < "$out/missing.err") lines"
grep -q "^colormnet: error: .*missing.pth" "$out/missing.err" || fail "the message does not name the checkpoint"
[[ ! -e "$out/out.mp4" ]] || fail "an output was written"

step "rendering on a cluster: Ray is not bundled, one line"
set +e
clean "$cli" colorize "$clip" -e "$out/still0.png@0" -o "$out/cluster.mp4" --engine propagate --cluster local \
    2> "$out/cluster.err"
code=$?
set -e
cat "$out/cluster.err"
grep -q "^colormnet: error: .*needs Ray" "$out/cluster.err" && [[ $code -eq 1 ]] || fail "exit $code without the message"
[[ ! -e "$out/cluster.mp4" ]] || fail "an output was written"

step "passed"
cat "$work/licenses.txt" | head -3
du -sh "$bundle"
