#!/usr/bin/env bash
# Build the one-folder bundle (both programs) with the Python of an environment where the project is installed
# (not editable) with pyinstaller: packaging/build.sh PYTHON [OUTDIR]. The bundle lands in OUTDIR/colormnet-studio
# (default: build/packaging/dist/colormnet-studio), with its licences in licenses/ beside the executables.
# Linux (and macOS without an .app); Windows builds run the spec directly (packaging/NOTES.md).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
python="${1:?usage: build.sh PYTHON [OUTDIR]}"
out="${2:-$root/build/packaging}"
mkdir -p "$out"

"$python" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath "$out/dist" --workpath "$out/work" "$here/colormnet-studio.spec"
bundle="$out/dist/colormnet-studio"
internal="$bundle/_internal"

# One program file: `colormnet` is a link to `colormnet-studio` (packaging/launcher.py picks the program by the
# name it was started as); the two executables are identical and each holds the whole module archive.
rm "$bundle/colormnet"
ln -s colormnet-studio "$bundle/colormnet"

# Debug information that a Python built from source (pyenv's, for one) leaves in libpython and its extension
# modules: nothing loads it. Wheels' libraries are left as they come: stripping the ones auditwheel patched breaks
# them (numpy's OpenBLAS then fails to load).
if command -v strip > /dev/null; then
    for lib in "$internal"/libpython3*.so* "$internal"/python3*/lib-dynload/*.so; do
        if [[ -f "$lib" && ! -L "$lib" ]]; then strip --strip-debug "$lib"; fi
    done
fi

"$python" "$here/collect_licenses.py" "$bundle/licenses" --project "$root" > "$out/licenses.txt"
# For the Linux desktop: the menu entry and the icon, put in place by install-linux.sh.
install -m 644 "$here/colormnet-studio.desktop" "$bundle/colormnet-studio.desktop"
install -m 644 "$root/app/resources/colormnet-studio.svg" "$bundle/colormnet-studio.svg"
install -m 755 "$here/install-linux.sh" "$bundle/install-linux.sh"

echo "bundle: $bundle"
"$python" "$here/sizes.py" "$bundle"
