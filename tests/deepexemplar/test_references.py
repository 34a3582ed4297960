"""Several reference images for one exemplar: through the session and the command line, on a small canvas."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colormnet.cli import main
from colormnet.engines.deepexemplar.backend import DeepExemplarBackend
from colormnet.errors import ExemplarError
from colormnet.session import Exemplar, Session, SessionConfig
from colormnet.video import VideoReader

from .conftest import CLIPS

REALSHORT = CLIPS / "realshort.mp4"


@pytest.fixture(scope="module")
def pictures() -> dict[int, np.ndarray]:
    """Frames of the clip (and one of another clip, as 99) as float RGB exemplar images."""
    with VideoReader(REALSHORT) as reader:
        frames = {i: reader.read(i).astype(np.float32) / 255 for i in (0, 3, 30)}
    with VideoReader(CLIPS / "movie.mp4") as reader:
        frames[99] = reader.read(10).astype(np.float32) / 255
    return frames


def _run(weights: Path, exemplars: list[Exemplar], frames: list[int]) -> tuple[list[str], dict[int, np.ndarray]]:
    """The segment keys and the colorized ``frames`` of a deepexemplar session."""
    config = SessionConfig(engine="deepexemplar", device="cpu")
    with Session(REALSHORT, weights=weights, config=config) as session:
        session.set_exemplars(exemplars)
        keys = [session.segment_key(segment) for segment in session.segments()]
        return keys, {r.index: r.rgb for r in session.colorize(frames)}


@pytest.mark.usefixtures("small_deepexemplar_canvas")
def test_an_extra_reference_changes_its_own_segment_and_key_only(de_weights_dir: Path, pictures) -> None:
    first = Exemplar(frame=1, image=pictures[0], kind="reference")
    second = Exemplar(frame=2, image=pictures[30], kind="reference")
    keys, plain = _run(de_weights_dir, [first, second], [1, 2])
    with_extra = Exemplar(frame=2, image=pictures[30], kind="reference", references=(pictures[99],))
    extra_keys, extra = _run(de_weights_dir, [first, with_extra], [1, 2])
    assert extra_keys[0] == keys[0] and np.array_equal(extra[1], plain[1])
    assert extra_keys[1] != keys[1] and not np.array_equal(extra[2], plain[2])
    other = Exemplar(frame=2, image=pictures[30], kind="reference", references=(pictures[3],))
    other_keys, _ = _run(de_weights_dir, [first, other], [1])
    assert other_keys[1] not in (keys[1], extra_keys[1])  # the key follows the references' content


@pytest.mark.usefixtures("small_deepexemplar_canvas")
def test_the_session_hands_the_references_to_the_engine(
    de_weights_dir: Path, pictures, monkeypatch: pytest.MonkeyPatch
) -> None:
    alone = Exemplar(frame=0, image=pictures[0], kind="reference")
    _, plain = _run(de_weights_dir, [alone], [0, 1])
    _, through_session = _run(de_weights_dir, [Exemplar(frame=0, image=pictures[0], kind="reference",
                                                        references=(pictures[99],))], [0, 1])
    _, doubled = _run(de_weights_dir, [Exemplar(frame=0, image=pictures[0], kind="reference",
                                                references=(pictures[0],))], [0, 1])
    # The single-image exemplar again, with the extra reference given to the engine directly.
    new_engine = DeepExemplarBackend.new_engine
    monkeypatch.setattr(DeepExemplarBackend, "new_engine",
                        lambda self, config=None, references=(): new_engine(self, config, references=[pictures[99]]))
    _, direct = _run(de_weights_dir, [alone], [0, 1])
    assert all(np.array_equal(through_session[i], direct[i]) for i in (0, 1))
    assert not np.array_equal(through_session[1], plain[1])
    # The exemplar again as its own extra reference matches the same positions twice: nothing changes (SPEC 9.1).
    assert all(np.array_equal(doubled[i], plain[i]) for i in (0, 1))


@pytest.mark.parametrize("engine", ["colormnet", "propagate"])
def test_single_image_engines_refuse_extra_references_in_one_line(engine: str, pictures) -> None:
    exemplar = Exemplar(frame=0, image=pictures[0], references=(pictures[3],))
    with Session(REALSHORT, config=SessionConfig(engine=engine, device="cpu")) as session:
        with pytest.raises(ExemplarError, match="only the deepexemplar engine takes several references") as info:
            session.set_exemplars([exemplar])
        assert "\n" not in str(info.value)
        if engine == "propagate":  # exemplars that got past set_exemplars are refused when the run starts
            session.exemplars = (exemplar,)
            with pytest.raises(ExemplarError, match="Only the deepexemplar engine takes several references"):
                next(session.colorize([0]))


def test_a_grayscale_extra_reference_is_refused(pictures) -> None:
    gray = np.repeat(pictures[0].mean(-1, keepdims=True), 3, -1)
    exemplar = Exemplar(frame=0, image=pictures[0], name="still.png", references=(pictures[3], gray))
    with (Session(REALSHORT, config=SessionConfig(engine="deepexemplar", device="cpu")) as session,
          pytest.raises(ExemplarError, match=r"Further reference 2 of still\.png is a grayscale image")):
        session.set_exemplars([exemplar])


def _still(picture: np.ndarray, path: Path) -> Path:
    Image.fromarray((picture * 255 + 0.5).astype(np.uint8)).save(path)
    return path


def _png_frames(folder: Path) -> list[np.ndarray]:
    return [np.asarray(Image.open(p)) for p in sorted(folder.glob("*.png"))]


@pytest.mark.usefixtures("small_deepexemplar_canvas")
def test_cli_extra_reference_end_to_end(capsys, de_weights_dir: Path, pictures, tmp_path: Path) -> None:
    exemplar, extra = _still(pictures[0], tmp_path / "ex.png"), _still(pictures[99], tmp_path / "extra.png")
    common = ["colorize", str(REALSHORT), "-e", f"{exemplar}@0:reference", "--engine", "deepexemplar",
              "--weights", str(de_weights_dir), "--frames", "0:2", "--device", "cpu"]
    assert main([*common, "-o", str(tmp_path / "plain")]) == 0, capsys.readouterr().err
    code = main([*common, "--extra-reference", f"{extra}@0", "-o", str(tmp_path / "extra")])
    assert code == 0, capsys.readouterr().err
    plain, with_extra = _png_frames(tmp_path / "plain"), _png_frames(tmp_path / "extra")
    assert len(plain) == len(with_extra) == 2 and not np.array_equal(plain[1], with_extra[1])

    capsys.readouterr()
    code = main([*common, "--extra-reference", f"{extra}@5", "-o", str(tmp_path / "bad")])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "no -e exemplar is pinned to frame 5" in err
    assert not (tmp_path / "bad").exists()
