"""The argument parser of ``colormnet``: one subparser per command, each naming the function that runs it (``run``).

What the engines can do comes from :mod:`colormnet.engines.registry` (their names, summaries, which take further
references, which need weights and in what layout), so a new engine appears in ``--engine``, its help and the
``weights`` commands without a line here. Building the parser imports no torch.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import NoReturn

from colormnet import __version__
from colormnet.cli import colorize, commands, weights
from colormnet.cli.colorize import DEFAULT_ENGINE
from colormnet.engines.registry import ENGINES, FALLBACK_ENGINE, available_engines
from colormnet.errors import UsageError, one_line, quote_path, shorten
from colormnet.exemplar_spec import KINDS
from colormnet.plan import TRANSITIONS
from colormnet.video.sequence_source import MAX_SEQUENCE_FPS

COMMAND = "COMMAND"  # how usage lines and errors name a command group's command

_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]{1,12}")  # more digits than that is no count of frames or pixels


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and exit code 1 like every other error, not usage and 2."""

    def error(self, message: str) -> NoReturn:
        """Raises the mistake as a UsageError naming the subcommand's help (argparse prints the usage instead)."""
        if message.endswith(f"required: {COMMAND}"):  # a command group without its command: list them
            commands = next((", ".join(action.choices or ()) for action in self._actions
                             if isinstance(action, argparse._SubParsersAction)), "")
            message = f"choose a command: {commands}"
        raise UsageError(f"{one_line(message)} (see `{self.prog} --help`).")


def refuse_empty(words: Sequence[str]) -> None:
    """Raises UsageError for an empty argument: no name or value of this program is empty, and ``Path("")`` is the
    current folder, which a script's unset variable (``-o "$OUT"``) would otherwise have read or written."""
    for i, word in enumerate(words):
        option, equals, value = word.partition("=")
        given = option if word.startswith("-") and equals else ""  # --output= and -o= alike
        if not (value if given else word).strip():
            what = (f"{given}= is given nothing" if given else
                    f"an empty argument after {shorten(words[i - 1])}" if i else "the first argument is empty")
            raise UsageError(f"{what} (an unset variable?): give the name or value it stands for.")


def whole_number(least: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``least``, or an error saying so."""

    def parse(text: str) -> int:
        if not _WHOLE_NUMBER.fullmatch(text.strip()):
            raise argparse.ArgumentTypeError(
                f"expected a whole number of at least {least}, got {shorten(quote_path(text))}"
            )
        value = int(text)
        if value < least:
            raise argparse.ArgumentTypeError(f"must be at least {least}, got {value}")
        return value

    return parse


def frame_rate(text: str) -> Fraction:
    """An argparse type: frames per second as a number or a ratio (``18``, ``23.976``, ``24000/1001``)."""
    try:
        rate = Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(
            f"expected frames per second such as 18 or 24000/1001, got {shorten(quote_path(text))}") from None
    if not 0 < rate <= MAX_SEQUENCE_FPS:
        raise argparse.ArgumentTypeError(
            f"must be above 0 and at most {MAX_SEQUENCE_FPS} frames per second, got {text.strip()}")
    return rate


def _engines_that(capable: Callable[[str], bool]) -> str:
    """The available engines for which ``capable(name)`` holds, as ``a/b`` for help texts."""
    return "/".join(name for name in available_engines() if capable(name)) or "no installed engine"


def add_render_options(p: argparse.ArgumentParser, *, engine_default: str | None, engine_help: str) -> None:
    """The options of a render (``colorize`` and ``demo``): engine, weights, device, precision, shots, output."""
    p.add_argument("--engine", choices=available_engines(), default=engine_default, help=engine_help)
    p.add_argument("--framing", choices=("fit", "official"),
                   help=f"{_engines_that(lambda name: bool(ENGINES[name].options))} only: fit (every pixel, "
                   "default) or official (the reference's cover-crop)")
    p.add_argument("--weights", help="checkpoint path (default: $COLORMNET_WEIGHTS or the per-user data folder)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="where the engine runs (default auto: a CUDA GPU when there is one, else the CPU)")
    p.add_argument("--precision", choices=("auto", "fp32", "fp16", "bf16"), default="auto",
                   help="auto: fp16 autocast on CUDA, fp32 on the CPU; bf16: autocast on CUDA or on a CPU with "
                        "AMX or AVX512-BF16 (fp32 on any other)")
    p.add_argument("--process-size", type=whole_number(16), default=540, metavar="N",
                   help="cap on the short side at which the model runs (default 540, at least 16)")
    p.add_argument("--mem-every", type=whole_number(1), default=5, help=argparse.SUPPRESS)
    p.add_argument("--top-k", type=whole_number(1), default=30, help=argparse.SUPPRESS)
    p.add_argument("--shots", default="auto", metavar="auto|off|FILE",
                   help="shots bound the memory: auto (found in the video, cached), off (one shot), or a shot list "
                        "(JSON, CSV or EDL as `colormnet shots` writes; a CSV needs only the columns start and "
                        "stop, each shot then opening at a cut)")
    p.add_argument("--transition", choices=TRANSITIONS, default="blend",
                   help="how two exemplars of one shot meet: blend (a forward and a backward pass fused smoothly), "
                        "memory (one pass from the shot's first exemplar holding the others too; colormnet and "
                        "deepexemplar only) or cut (each exemplar up to the next)")
    p.add_argument("--no-audio", action="store_true", help="do not copy the source's audio")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")


def _add_colorize(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    from colormnet.cli.cluster import add_arguments as add_cluster_arguments
    from colormnet.video import CODECS

    p = sub.add_parser("colorize", parents=[common], help="colorize a video or an image sequence from exemplars")
    p.set_defaults(run=colorize.cmd_colorize)
    p.add_argument("input", help="video file or folder of numbered images")
    p.add_argument("-e", "--exemplar", action="append", required=True, metavar="IMAGE@FRAME[:KIND]",
                   help="a colour image pinned to a frame (repeat for several); KIND overrides --kind for this one")
    p.add_argument("--extra-reference", action="append", default=[], metavar="IMAGE@FRAME",
                   help=f"{_engines_that(lambda name: ENGINES[name].takes_references)} only: a further colour image "
                   "matched jointly with the -e exemplar at FRAME (repeat for several)")
    p.add_argument("-o", "--output", required=True, help="output file, or folder for an image-sequence codec")
    p.add_argument("--codec", choices=sorted(CODECS), help="default: h264 for a file name, png for a folder")
    p.add_argument("--frames", metavar="A:B", help="only frames A to B-1 (default: all)")
    p.add_argument("--kind", choices=KINDS, default="auto",
                   help="keyframe: the exemplar is that frame colorized; reference: any colour photo (default auto)")
    add_render_options(p, engine_default=DEFAULT_ENGINE, engine_help="; ".join(
        f"{name}: {ENGINES[name].summary}" for name in available_engines()))
    p.add_argument("--fps", type=frame_rate, metavar="RATE",  # not the demo's: its clip is a video file
                   help="the frame rate of an image-sequence input (default 24; silent film scans often run at "
                        "16-20), e.g. 18 or 24000/1001")
    add_cluster_arguments(p)


def _add_demo(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("demo", parents=[common], help="colorize the bundled demo clip from its first frame's colours")
    p.set_defaults(run=commands.cmd_demo, codec=None, frames=None, extra_reference=[])
    p.add_argument("output", help="a movie file (H.264 for .mp4, .mov, .mkv), e.g. demo.mp4, or a folder of PNG frames")
    add_render_options(p, engine_default=None, engine_help=f"default: {DEFAULT_ENGINE} when its weights are "
                       f"installed, else {FALLBACK_ENGINE}")


def _add_weights(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    with_weights = [name for name in available_engines() if ENGINES[name].needs_weights]
    p = sub.add_parser("weights", parents=[common], help="download, locate or create checkpoints")
    p.set_defaults(run=weights.cmd_weights)
    wsub = p.add_subparsers(dest="weights_command", metavar=COMMAND, required=True)
    d = wsub.add_parser("download", help="download the official weights (licence shown first)")
    d.add_argument("--dest", help="where to save them (default: the engine's variable or the per-user data folder)")
    r = wsub.add_parser("init-random", help="write randomly initialised weights (tests and demos)")
    r.add_argument("path", help=" or ".join(f"a {ENGINES[name].weights_layout} ({name})" for name in with_weights))
    r.add_argument("--seed", type=whole_number(0), default=0, help="the same seed writes the same weights "
                   "(default 0)")
    r.add_argument("--overwrite", action="store_true", help="replace existing weights")
    w = wsub.add_parser("path", help="show where the weights are looked for (exit status 1 unless usable ones are "
                                          "there)")
    w.add_argument("--weights", metavar="PATH",
                   help="check this path instead of the default (as --weights of colorize)")
    for sp in (d, r, w):
        sp.add_argument("--engine", choices=with_weights, default=DEFAULT_ENGINE,
                        help=f"whose weights (default {DEFAULT_ENGINE})")


def build_parser() -> argparse.ArgumentParser:
    """The whole ``colormnet`` parser; each subcommand's namespace carries ``run(args, cancel) -> exit code``."""
    from colormnet.cli.evaluate import add_eval_parser
    from colormnet.shots.command import add_shots_parser, cmd_shots

    parser = _Parser(prog="colormnet", description="Exemplar-based colorization of black-and-white film.")
    parser.add_argument("--version", action="version", version=f"colormnet {__version__}")
    # also before the command (colormnet -v colorize ...), where every command takes it; a dest of its own, as a
    # subcommand's default would otherwise replace it
    parser.add_argument("-v", "--verbose", dest="verbose_first", action="store_true", help="log what happens")
    common = _Parser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = parser.add_subparsers(dest="command", metavar=COMMAND, required=True)
    _add_colorize(sub, common)

    p = sub.add_parser("info", parents=[common], help="describe a video or image sequence")
    p.set_defaults(run=commands.cmd_info)
    p.add_argument("input", help="video file or folder of numbered images")
    p.add_argument("--json", action="store_true", help="print everything as one JSON object")

    _add_demo(sub, common)

    p = sub.add_parser("extract-frame", parents=[common],
                       help="save one frame as an image (to colorize elsewhere and pin back as a keyframe)")
    p.set_defaults(run=commands.cmd_extract_frame)
    p.add_argument("input", help="video file or folder of numbered images")
    p.add_argument("frame", type=whole_number(0), help="the frame's number, counted from 0 (as -e IMAGE@FRAME "
                   "and `colormnet shots` count)")
    p.add_argument("-o", "--output", required=True, help="a .png, .tif or .jpg file")
    p.add_argument("--overwrite", action="store_true", help="replace an existing file")

    add_eval_parser(sub, [common])
    add_shots_parser(sub, [common])
    sub.choices["shots"].set_defaults(run=cmd_shots)
    _add_weights(sub, common)
    return parser
