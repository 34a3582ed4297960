"""The frozen bundle's one entry script: the executable's own name picks the program.

PyInstaller builds ``colormnet-studio`` and ``colormnet`` from this one script and one analysis, so both programs
share every library in the folder; each then runs the entry point that pip would give it. The name is read from
``sys.argv[0]``, not ``sys.executable``: on Linux and macOS ``colormnet`` is a symbolic link to ``colormnet-studio``
(packaging/build.sh), and the bootloader resolves ``sys.executable`` through it.
"""

from __future__ import annotations

import sys
from pathlib import Path


def program_name(executable: str) -> str:
    """``colormnet-studio`` or ``colormnet`` from the path the program was started by (any platform's suffix)."""
    return Path(executable).stem.lower()


def run() -> None:
    """Start the program the executable is named after."""
    if program_name(sys.argv[0]) == "colormnet-studio":
        from app.main import main

        sys.exit(main())
    from colormnet.cli import entry

    entry()


if __name__ == "__main__":
    run()
