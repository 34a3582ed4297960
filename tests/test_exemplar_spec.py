"""The command line's exemplar grammar: each ``IMAGE@FRAME[:KIND]`` argument parsed once into one object."""

from __future__ import annotations

from pathlib import Path

import pytest

from colormnet.errors import ExemplarError
from colormnet.exemplar_spec import ExemplarSpec, parse_exemplar, parse_exemplars


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a@b.png@3:keyframe", ExemplarSpec(Path("a@b.png"), 3, "keyframe")),
        ("shot.png@7:reference", ExemplarSpec(Path("shot.png"), 7, "reference")),
        ("c:/x.png@3", ExemplarSpec(Path("c:/x.png"), 3, "auto")),  # a drive letter starts no kind
        ("still.png@4:sideways", None),  # a word after the frame: a kind this program does not know
        ("still.png@4:ref", None),
        ("still.png@x:keyframe", None),  # the frame is malformed
    ],
)
def test_an_exemplar_argument_is_one_spec(text: str, expected: ExemplarSpec | None) -> None:
    if expected is None:
        bad_frame = "@x" in text
        with pytest.raises(ExemplarError, match="IMAGE@FRAME" if bad_frame else "Unknown exemplar kind '[a-z]+' in"):
            parse_exemplar(text)
    else:
        assert parse_exemplar(text) == expected


def test_the_default_kind_applies_without_one_and_must_be_a_kind() -> None:
    assert parse_exemplar("x.png@2", "reference").kind == "reference"
    assert parse_exemplar("x.png@2:keyframe", "reference").kind == "keyframe"
    with pytest.raises(ExemplarError, match="Unknown exemplar kind"):
        parse_exemplar("x.png@2", "sepia")


def test_extra_references_join_the_exemplar_at_their_frame_in_order() -> None:
    specs = parse_exemplars(["a.png@0:keyframe", "b.png@20"], ["r1.png@20", "r2.png@0", "r3.png@20"], "auto")
    assert specs == [
        ExemplarSpec(Path("a.png"), 0, "keyframe", (Path("r2.png"),)),
        ExemplarSpec(Path("b.png"), 20, "auto", (Path("r1.png"), Path("r3.png"))),
    ]
    assert specs[1].files == (Path("b.png"), Path("r1.png"), Path("r3.png"))


def test_an_extra_reference_without_its_exemplar_is_refused() -> None:
    with pytest.raises(ExemplarError, match="no -e exemplar is pinned to frame 3"):
        parse_exemplars(["a.png@0"], ["r.png@5", "q.png@3"])
    with pytest.raises(ExemplarError, match="IMAGE@FRAME"):
        parse_exemplars(["a.png@0"], ["r.png"])
