"""The ``colormnet`` command line: colorize, demo, info, extract-frame, eval, shots and weights.

It runs over the same session API as the GUI. Every error a user can cause ends the program with one line on stderr
and a non-zero exit code, never a traceback; outputs appear under their final name only when complete. Ctrl+C and
SIGTERM at any moment, start-up included, end it with one line and exit status 130 or 143
(:mod:`colormnet.interrupts`); the modules here therefore import only light modules at the top, the heavy ones
(numpy, torch, PyAV) where they are used, and ``colormnet --help`` or ``--version`` never load torch.

* :mod:`~colormnet.cli.main`: :func:`main` and the console-script entry point :func:`entry`.
* :mod:`~colormnet.cli.parser`: the argument parser, its engine choices read from :mod:`colormnet.engines.registry`.
* :mod:`~colormnet.cli.colorize`: ``colorize`` and the render the demo shares; :mod:`~colormnet.cli.commands`:
  ``info``, ``extract-frame`` and ``demo``; :mod:`~colormnet.cli.weights`; :mod:`~colormnet.cli.evaluate`.
* ``shots`` (:mod:`colormnet.shots.command`) and the chunked runs (:mod:`colormnet.cli.cluster`) plug in here.
"""

from colormnet.cli.colorize import parse_frame_range, shot_list_option
from colormnet.cli.main import entry, main
from colormnet.cli.parser import build_parser

__all__ = ["build_parser", "entry", "main", "parse_frame_range", "shot_list_option"]
