"""How much of the bundle is PyTorch (its CUDA build with NVIDIA's libraries) and how much is everything else.

Usage: ``python packaging/sizes.py BUNDLE [--limit-other MB]``, with the Python of the build environment (it reads
the executable's module archive with PyInstaller's reader). Counts each file once: a symbolic link (``colormnet``)
costs nothing. With ``--limit-other`` it exits with 1 when everything but torch takes more than that.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PyInstaller.archive.readers import CArchiveReader

# Top-level names of torch and of the Python packages that only torch requires, and of NVIDIA's CUDA libraries.
TORCH_PARTS = ("torch", "torchgen", "functorch", "nvidia", "cuda", "sympy", "mpmath", "networkx", "fsspec",
               "filelock", "jinja2", "markupsafe", "isympy")


def is_torch(name: str) -> bool:
    """Whether a path below ``_internal`` or a module name belongs to torch."""
    top = name.replace("\\", "/").split("/")[0].split(".")[0].lower()
    return top in TORCH_PARTS or top.startswith(("torch-", "nvidia_", "cuda_"))


def measure(bundle: Path) -> tuple[int, int]:
    """Bytes of the whole bundle and of its torch part."""
    total = torch_bytes = 0
    for path in bundle.rglob("*"):
        if path.is_symlink() or not path.is_file():
            continue
        size = path.stat().st_size
        total += size
        parts = path.relative_to(bundle).parts
        if parts[0] == "_internal" and len(parts) > 1 and is_torch(parts[1]):
            torch_bytes += size
    executables = [p for p in bundle.iterdir() if p.is_file() and not p.is_symlink() and p.suffix in ("", ".exe")]
    for exe in executables:  # torch's modules in each executable's archive
        archive = CArchiveReader(str(exe)).open_embedded_archive("PYZ.pyz")
        torch_bytes += sum(entry[2] for name, entry in archive.toc.items() if is_torch(name))
    return total, torch_bytes


def main() -> None:
    """Print the three figures in MB; exit 1 when everything but torch exceeds ``--limit-other``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--limit-other", type=float, metavar="MB", help="most MB for everything but torch")
    args = parser.parse_args()
    total, torch_bytes = measure(args.bundle)
    mb = 1024 * 1024
    other = (total - torch_bytes) / mb
    print(f"size: {total / mb:.0f} MB in all; torch with its CUDA libraries {torch_bytes / mb:.0f} MB; "
          f"everything else {other:.0f} MB")
    if args.limit_other is not None and other > args.limit_other:
        sys.exit(f"everything but torch takes {other:.0f} MB, over the {args.limit_other:.0f} MB budget")


if __name__ == "__main__":
    main()
