"""Property tests: colour round trips, the IMAGE@FRAME parser and the project loader on arbitrary input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from colormnet import color
from colormnet.errors import ColorMNetError, ExemplarError, quote_path
from colormnet.exemplar_spec import MAX_FRAME_NUMBER, parse_image_at_frame

rgb8 = arrays(np.uint8, st.tuples(st.integers(1, 6), st.integers(1, 6), st.just(3)))
rgb16 = arrays(np.uint16, st.tuples(st.integers(1, 6), st.integers(1, 6), st.just(3)))


@given(rgb8)
def test_lab_round_trip_of_8_bit_rgb(rgb: np.ndarray) -> None:
    back = color.lab_to_rgb(color.rgb_to_lab(rgb))
    assert np.abs(back * 255 - rgb).max() < 1e-6


@given(rgb16)
def test_lab_round_trip_through_the_normalised_float32_planes(rgb: np.ndarray) -> None:
    planes = color.normalize_lab(color.rgb_to_lab(rgb))  # what the network and the session hold
    back = color.compose_rgb(planes[0] * 50 + 50, planes[1:])
    assert np.abs(back.astype(np.float64) - rgb / 65535.0).max() < 2e-4


@given(st.text(min_size=1, max_size=30).filter(lambda s: "\x00" not in s), st.integers(0, 10**7))
def test_image_at_frame_round_trips(name: str, frame: int) -> None:
    path, parsed = parse_image_at_frame(f"{name}@{frame}")
    assert parsed == frame and str(path) == str(Path(name))


digit_runs = st.text(alphabet="0123456789", max_size=6000)
specs = st.text(max_size=40) | st.builds(lambda name, sep, digits: f"{name}{sep}{digits}", st.text(max_size=20),
                                         st.sampled_from(["@", "@ ", "@@", ""]), digit_runs)


@given(specs)
def test_image_at_frame_never_crashes(spec: str) -> None:
    try:
        path, frame = parse_image_at_frame(spec)
    except ExemplarError as exc:
        assert len(str(exc).splitlines()) == 1 and len(str(exc)) < 400
    else:
        assert 0 <= frame <= MAX_FRAME_NUMBER and spec.endswith(str(frame)) and str(path)


@given(st.text(max_size=60))
def test_quoted_names_are_one_printable_line(name: str) -> None:
    quoted = quote_path(name)
    assert quoted.isprintable() and quoted[0] == quoted[-1] == "'"
    if name.isprintable():
        assert quoted == f"'{name}'"
    for char in set(name) - set(filter(str.isprintable, name)):
        assert char not in quoted and repr(char)[1:-1] in quoted


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
project_like = st.fixed_dictionaries(
    {"format": st.sampled_from(["colormnet-studio-project", "x"]), "version": json_values | st.integers(0, 3)},
    optional={"video": json_values, "exemplars": json_values, "settings": json_values, "files_dir": json_values,
              "in_point": json_values, "out_point": json_values, "playhead": json_values,
              "project_path": json_values, "id": json_values},
)


@settings(max_examples=int(os.environ.get("PROPERTY_EXAMPLES", 150)), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.one_of(json_values, project_like))
def test_project_loader_turns_any_json_into_a_project_or_a_clear_error(tmp_path: Path, data: object) -> None:
    pytest.importorskip("PySide6")
    from app.model.project import Project

    path = tmp_path / "any.cmnproj"
    path.write_text(json.dumps(data))
    try:
        project = Project.load(path)
    except ColorMNetError as exc:
        message = str(exc)
        assert message and len(message.splitlines()) == 1
    else:
        assert isinstance(project, Project)
        json.dumps(project.to_dict())  # what was loaded can be saved again
