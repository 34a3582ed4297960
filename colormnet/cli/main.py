"""Running the command line: parse, dispatch to the subcommand, turn every failure into one line and an exit code."""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import signal
import sys
import threading
import traceback
from collections.abc import Iterator, Sequence

from colormnet import interrupts
from colormnet.cli.parser import build_parser, refuse_empty
from colormnet.engines.base import RANDOM_WEIGHTS_LOGGER
from colormnet.errors import ColorMNetError, one_line
from colormnet.fileio import describe_os_error
from colormnet.progress import clear_bars

EXIT_ERROR = 1
_OUTPUTS = ("output", "csv", "edl", "dest")  # where the commands that write take what they write


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit code (see :func:`entry` for interruptions during start-up)."""
    cancel = interrupts.Cancel()  # a signal whose exception got lost on its way still stops the loops
    verbose = False
    args = None
    interrupts.forget()
    try:
        words = [str(word) for word in (sys.argv[1:] if argv is None else argv)]
        refuse_empty(words)
        args = build_parser().parse_args(words)
        verbose = bool(getattr(args, "verbose", False) or getattr(args, "verbose_first", False))
        logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s: %(message)s")
        with _commands_tell_random_weights():
            return int(args.run(args, cancel))
    except KeyboardInterrupt as exc:
        return _cancelled(exc, cancel, _writes(args))
    except Exception as exc:
        stop = interrupts.received()
        if stop is not None:  # the interruption, turned into another error on its way out (torch.save)
            return _cancelled(stop, cancel, _writes(args))
        return _failure(exc, verbose)


@contextlib.contextmanager
def _commands_tell_random_weights() -> Iterator[None]:
    """Turns down the engines' random-weights warning while a command runs: a render says so itself, once and in
    its own words, from the engine's ``is_random``, however often it loads the weights (again for its record)."""
    log = logging.getLogger(RANDOM_WEIGHTS_LOGGER)
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def _writes(args: argparse.Namespace | None) -> bool:
    """Whether the command names a file or folder it writes (a command that only reports names none)."""
    if args is None:  # interrupted while the arguments were read
        return False
    if getattr(args, "command", None) == "weights":
        return getattr(args, "weights_command", None) != "path"
    return any(getattr(args, name, None) for name in _OUTPUTS)


def _cancelled(exc: KeyboardInterrupt, cancel: threading.Event, writes: bool) -> int:
    cancel.set()
    clear_bars()
    exc = interrupts.received() or exc  # what the signal was, where a loop stopped for it
    told = ": nothing was written under the output name." if writes else "."
    print(f"\n{interrupts.what_stopped(exc)}{told}", file=sys.stderr)
    return interrupts.exit_status(exc)


def _failure(exc: Exception, verbose: bool) -> int:
    """One line for an error: what the user can act on, or, for a bug, that it is one (the traceback under -v)."""
    if isinstance(exc, ColorMNetError):
        return _fail(str(exc))
    if isinstance(exc, OSError):  # e.g. disk full while writing: still one line
        return _fail(describe_os_error(exc))
    if isinstance(exc, RuntimeError) and str(exc).startswith("Symlink loop from"):  # what Path.resolve raises
        return _fail(f"{exc}: the link leads back to itself; give the file or folder it should name.")
    if isinstance(exc, MemoryError):
        return _fail("Out of memory: close other programs, or lower --process-size or the exemplars' size.")
    if verbose:
        traceback.print_exception(exc, file=sys.stderr)
    hint = "" if verbose else "; run `colormnet -v ...` for details"
    return _fail(f"unexpected {type(exc).__name__}: {exc} (a bug in colormnet{hint}).")


def _fail(message: str) -> int:
    """Prints an error as one line on stderr (a progress bar on screen cleared first); returns the exit code."""
    clear_bars()
    print(f"colormnet: error: {one_line(message)}", file=sys.stderr)
    return EXIT_ERROR


def entry() -> None:
    """Console-script entry point: Ctrl+C or SIGTERM from the first moment on ends with one line, 130 or 143."""
    try:
        interrupts.install()  # inside: a signal landing while it installs is handled below too
        if hasattr(signal, "SIGPIPE"):
            signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        code = main()
    except KeyboardInterrupt as exc:  # during start-up (imports, parsing), before main() guards the work
        print(f"\n{interrupts.what_stopped(exc)} while starting: nothing was written.", file=sys.stderr)
        code = interrupts.exit_status(exc)
    # The command's files are written and closed. The interpreter's teardown then runs the cycle collector over
    # every object still alive (torch alone leaves about 200 000): 0.3-0.4 s of each exit. Frozen, they are left
    # to the teardown's reference counting and to the system.
    gc.freeze()
    sys.exit(code)
