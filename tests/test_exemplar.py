"""Exemplar images: reading every kind of image file, refusing grayscale ones, and keyframe detection.

Every input is generated in ``tmp_path`` from real frames of the test clips.
"""

from __future__ import annotations

import io
import logging
import struct
import warnings
import zlib
from collections.abc import Callable
from functools import cache
from pathlib import Path

import av
import numpy as np
import pytest
import tifffile
from PIL import Image, ImageCms, ImageEnhance, ImageOps
from skimage.color import rgb2lab
from skimage.metrics import structural_similarity as skimage_ssim

from colormnet.errors import ExemplarError
from colormnet.exemplar import _read_rgb, is_grayscale, load_exemplar_image
from colormnet.exemplar_kind import KEYFRAME_SSIM_THRESHOLD, classify_exemplar, rgb_to_luma_l
from colormnet.exemplar_spec import parse_image_at_frame
from colormnet.metrics import ssim

CLIPS = Path(__file__).parent / "data" / "clips"


@cache
def clip_frame(name: str, index: int) -> np.ndarray:
    """Frame ``index`` of a test clip as uint8 RGB (read-only, shared between tests)."""
    with av.open(str(CLIPS / name)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i == index:
                rgb = frame.to_ndarray(format="rgb24")
                rgb.setflags(write=False)
                return rgb
    raise IndexError(index)


def movie() -> np.ndarray:
    return clip_frame("movie.mp4", 20)  # 560x320 Lego model, strong colours


def film() -> np.ndarray:
    return clip_frame("shepard_calais_1906_bw.ogv", 40)  # a real black-and-white film, 214x160


def luma_gray(rgb: np.ndarray) -> np.ndarray:
    """The BT.601 luma of a colour frame as three equal channels."""
    return np.asarray(Image.fromarray(rgb).convert("L").convert("RGB"))


def sepia(rgb: np.ndarray) -> np.ndarray:
    level = np.asarray(Image.fromarray(rgb).convert("L"), dtype=np.float64) / 255
    return np.round(255 * np.stack([level, 0.85 * level, 0.65 * level], axis=-1)).astype(np.uint8)


def png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def write_png16(path: Path, array: np.ndarray) -> None:
    """Writes uint16 RGB or RGBA as a 16-bit PNG, encoded here by hand so that no image library is involved."""
    height, width, channels = array.shape
    header = struct.pack(">IIBBBBB", width, height, 16, {3: 2, 4: 6}[channels], 0, 0, 0)
    rows = b"".join(b"\x00" + row.astype(">u2").tobytes() for row in array)
    chunks = png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(rows)) + png_chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunks)


def sixteen_bit(rgb: np.ndarray, seed: int = 0) -> np.ndarray:
    """A frame widened to 16 bits with random low bytes, so 8-bit decoding would lose information."""
    low = np.random.default_rng(seed).integers(0, 256, rgb.shape)
    return (rgb.astype(np.uint16) << 8 | low).astype(np.uint16)


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0.04045, ((x + 0.055) / 1.055) ** 2.4, x / 12.92)


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0.0031308, 1.055 * x ** (1 / 2.4) - 0.055, 12.92 * x)


def linear_rgb_icc_profile() -> bytes:
    """A minimal ICC v2 display profile: sRGB primaries with a linear (gamma 1.0) tone curve."""

    def s15(values: tuple[float, ...]) -> bytes:
        return b"".join(struct.pack(">i", round(v * 65536)) for v in values)

    text = b"Linear RGB test profile"
    tags = {
        b"desc": b"desc" + bytes(4) + struct.pack(">I", len(text) + 1) + text + bytes(1 + 8 + 3 + 67),
        b"cprt": b"text" + bytes(4) + b"No copyright\x00",
        b"wtpt": b"XYZ " + bytes(4) + s15((0.9642, 1.0, 0.8249)),
        # sRGB colorants adapted to D50 (Bradford), as in every sRGB profile.
        b"rXYZ": b"XYZ " + bytes(4) + s15((0.4360747, 0.2225045, 0.0139322)),
        b"gXYZ": b"XYZ " + bytes(4) + s15((0.3850649, 0.7168786, 0.0971045)),
        b"bXYZ": b"XYZ " + bytes(4) + s15((0.1430804, 0.0606169, 0.7141733)),
        b"rTRC": b"curv" + bytes(4) + struct.pack(">IHxx", 1, 0x0100),
    }
    tags[b"gTRC"] = tags[b"bTRC"] = tags[b"rTRC"]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for signature, body in tags.items():
        body += bytes(-len(body) % 4)
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = (
        struct.pack(">I", size) + bytes(4) + struct.pack(">I", 0x02100000) + b"mntrRGB XYZ " + bytes(12) + b"acsp"
        + bytes(24) + struct.pack(">I", 0) + s15((0.9642, 1.0, 0.8249)) + bytes(48)
    )  # fmt: skip
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data


# --- load_exemplar_image: formats -----------------------------------------------------------------------------


def test_8bit_png_is_read_exactly(tmp_path: Path) -> None:
    path = tmp_path / "frame.png"
    Image.fromarray(movie()).save(path)
    rgb = load_exemplar_image(path)
    assert rgb.dtype == np.float32 and rgb.shape == (320, 560, 3)
    np.testing.assert_allclose(rgb, movie() / 255.0, atol=1e-7)


def test_jpeg_is_read_as_decoded(tmp_path: Path) -> None:
    path = tmp_path / "frame.jpg"
    Image.fromarray(movie()).save(path, quality=92)
    rgb = load_exemplar_image(str(path))
    np.testing.assert_allclose(rgb, np.asarray(Image.open(path)) / 255.0, atol=1e-7)
    assert np.abs(rgb - movie() / 255.0).mean() < 0.01


@pytest.mark.parametrize("channels", [3, 4])
def test_16bit_png_keeps_its_precision(tmp_path: Path, channels: int) -> None:
    stored = sixteen_bit(movie())
    if channels == 4:
        alpha = np.full((*stored.shape[:2], 1), 65535, np.uint16)
        alpha[:10] = 0
        stored = np.concatenate([stored, alpha], axis=-1)
    path = tmp_path / "frame16.png"
    write_png16(path, stored)
    rgb = load_exemplar_image(path)
    visible = slice(10, None) if channels == 4 else slice(None)
    np.testing.assert_array_equal(np.round(rgb[visible].astype(np.float64) * 65535), stored[visible, :, :3])
    if channels == 4:
        np.testing.assert_array_equal(rgb[:10], 0.5)


@pytest.mark.parametrize("compression", [None, "zlib"])
def test_16bit_tiff_keeps_its_precision(tmp_path: Path, compression: str | None) -> None:
    stored = sixteen_bit(movie(), seed=1)
    path = tmp_path / "frame16.tif"
    tifffile.imwrite(path, stored, photometric="rgb", compression=compression)
    rgb = load_exemplar_image(path)
    np.testing.assert_array_equal(np.round(rgb.astype(np.float64) * 65535), stored)


def test_16bit_tiff_orientation_is_applied(tmp_path: Path) -> None:
    stored = sixteen_bit(movie(), seed=2)
    path = tmp_path / "rotated16.tif"
    tifffile.imwrite(path, stored, photometric="rgb", extratags=[(274, "H", 1, 6, True)])  # 6: rotate 90° CW
    rgb = load_exemplar_image(path)
    np.testing.assert_array_equal(np.round(rgb.astype(np.float64) * 65535), np.rot90(stored, k=-1))


def test_rgba_keeps_visible_colours_and_neutralizes_fully_transparent_ones(tmp_path: Path) -> None:
    rgba = np.concatenate([movie(), np.full((320, 560, 1), 255, np.uint8)], axis=-1)
    rgba[:40, :, :3] = (0, 255, 0)  # garbage colour under a transparent border
    rgba[:40, :, 3] = 0
    rgba[100:200, 100:200, 3] = 90  # partly transparent: its colour is the pixel's true colour
    path = tmp_path / "cutout.png"
    Image.fromarray(rgba).save(path)
    rgb = load_exemplar_image(path)
    np.testing.assert_array_equal(rgb[:40], 0.5)
    np.testing.assert_allclose(rgb[40:], movie()[40:] / 255.0, atol=1e-7)


@pytest.mark.parametrize("depth", [8, 16])
def test_a_fully_transparent_image_is_refused_as_such(tmp_path: Path, depth: int) -> None:
    rgba = np.concatenate([movie(), np.zeros((320, 560, 1), np.uint8)], axis=-1)  # colours, none of them shown
    path = tmp_path / "invisible.png"
    if depth == 8:
        Image.fromarray(rgba).save(path)
    else:
        frame = av.VideoFrame.from_ndarray(rgba.astype(np.uint16) * 257, format="rgba64le")
        with av.open(str(path), "w", format="image2") as out:
            stream = out.add_stream("png", rate=1)
            stream.width, stream.height, stream.pix_fmt = 560, 320, "rgba64be"
            for packet in (*stream.encode(frame), *stream.encode()):
                out.mux(packet)
    with pytest.raises(ExemplarError, match=r"'invisible\.png' is fully transparent: an exemplar must show"):
        load_exemplar_image(path)


def test_palette_png_with_transparency(tmp_path: Path) -> None:
    palette = Image.fromarray(movie()).quantize(colors=64)
    palette.info["transparency"] = 0
    path = tmp_path / "palette.png"
    palette.save(path, transparency=0)
    expected = np.asarray(palette.convert("RGB")) / 255.0
    transparent = np.asarray(palette) == 0
    assert 0 < transparent.mean() < 0.5
    rgb = load_exemplar_image(path)
    np.testing.assert_allclose(rgb[~transparent], expected[~transparent], atol=1e-7)
    np.testing.assert_array_equal(rgb[transparent], 0.5)


def test_cmyk_jpeg_comes_back_close_to_the_rgb_original(tmp_path: Path) -> None:
    path = tmp_path / "print.jpg"
    Image.fromarray(movie()).convert("CMYK").save(path, quality=95)
    assert Image.open(path).mode == "CMYK"
    error = np.abs(load_exemplar_image(path) - movie() / 255.0)
    assert error.mean() < 1.5 / 255 and error.max() < 16 / 255


def test_foreign_icc_profile_is_converted_to_srgb(tmp_path: Path) -> None:
    srgb = movie() / 255.0
    linear = np.round(srgb_to_linear(srgb) * 255).astype(np.uint8)  # pixel values meant as linear light
    path = tmp_path / "linear.png"
    Image.fromarray(linear).save(path, icc_profile=linear_rgb_icc_profile())
    expected = linear_to_srgb(linear / 255.0)
    assert np.abs(linear / 255.0 - expected).mean() > 0.1  # ignoring the profile would be far off
    assert np.abs(load_exemplar_image(path) - expected).mean() < 1.5 / 255


@pytest.mark.parametrize(
    "icc", [ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes(), b"not an ICC profile"]
)
def test_srgb_or_unreadable_profile_leaves_pixels_alone(tmp_path: Path, icc: bytes) -> None:
    path = tmp_path / "tagged.png"
    Image.fromarray(movie()).save(path, icc_profile=icc)
    np.testing.assert_allclose(load_exemplar_image(path), movie() / 255.0, atol=1e-7)


@pytest.mark.parametrize("suffix", [".gif", ".png", ".tif"])
def test_animated_or_multipage_file_gives_its_first_frame(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, suffix: str
) -> None:
    sources = [clip_frame("movie.mp4", 20), clip_frame("cockatoo.mp4", 0), clip_frame("realshort.mp4", 0)]
    frames = [Image.fromarray(rgb).resize((320, 240)).quantize(colors=128).convert("RGB") for rgb in sources]
    path = tmp_path / f"animation{suffix}"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100)
    with caplog.at_level(logging.INFO, logger="colormnet.exemplar"):
        rgb = load_exemplar_image(path)
    first = np.asarray(frames[0]) / 255.0
    assert np.abs(rgb - first).mean() < 0.5 / 255
    assert np.abs(rgb - np.asarray(frames[1]) / 255.0).mean() > 5 / 255
    assert "3 frames" in caplog.text


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_like_pillow(tmp_path: Path, orientation: int) -> None:
    image = Image.fromarray(np.ascontiguousarray(movie()[:48, :80]))
    exif = image.getexif()
    exif[0x0112] = orientation
    path = tmp_path / "oriented.png"
    image.save(path, exif=exif)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(path))) / 255.0
    np.testing.assert_allclose(load_exemplar_image(path), expected, atol=1e-7)


def test_one_pixel_colour_image_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "dot.png"
    Image.fromarray(np.array([[[200, 40, 30]]], np.uint8)).save(path)
    np.testing.assert_allclose(load_exemplar_image(path), [[[200 / 255, 40 / 255, 30 / 255]]], atol=1e-7)


# --- load_exemplar_image: refusals ----------------------------------------------------------------------------


@pytest.mark.parametrize("side", [12_000, 20_000])  # in Pillow's warning zone, and beyond its own hard limit
def test_image_over_the_pixel_cap_is_refused_without_decoding(tmp_path: Path, side: int) -> None:
    path = tmp_path / "huge.png"
    header = struct.pack(">IIBBBBB", side, side, 1, 3, 0, 0, 0)  # 1-bit palette: never decoded anyway
    chunks = png_chunk(b"IHDR", header) + png_chunk(b"PLTE", bytes(6)) + png_chunk(b"IDAT", zlib.compress(b""))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunks + png_chunk(b"IEND", b""))
    assert path.stat().st_size < 200
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Pillow's DecompressionBombWarning must not leak either
        with pytest.raises(ExemplarError, match=r"^'huge\.png' .*megapixels.*downscale it first\.$"):
            load_exemplar_image(path)


def test_missing_file_and_folder_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ExemplarError, match=r"^Exemplar image '.*nothere\.png' does not exist: check the path\.$"):
        load_exemplar_image(tmp_path / "nothere.png")
    with pytest.raises(ExemplarError, match=r"is a folder, not an image file"):
        load_exemplar_image(tmp_path)


def encoded(rgb: np.ndarray, image_format: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, image_format)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("half.png", lambda: encoded(movie(), "PNG")[:20_000], "damaged or truncated"),
        ("half.jpg", lambda: encoded(movie(), "JPEG")[:5_000], "damaged or truncated"),
        ("noise.png", lambda: np.random.default_rng(0).bytes(4096), "not an image in a readable format"),
        ("notes.jpg", lambda: b"Reel 3, shot 12: the car is dark red.\n", "not an image in a readable format"),
        ("empty.png", lambda: b"", "not an image in a readable format"),
    ],
)
def test_unreadable_files_are_refused_with_one_sentence(
    tmp_path: Path, name: str, content: Callable[[], bytes], message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content())
    with pytest.raises(ExemplarError) as error:
        load_exemplar_image(path)
    text = str(error.value)
    assert text.startswith(f"'{name}' ") and message in text and text.endswith(".") and ". " not in text


def test_truncated_16bit_png_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "half16.png"
    write_png16(path, sixteen_bit(movie()))
    path.write_bytes(path.read_bytes()[:300_000])
    with pytest.raises(ExemplarError, match="damaged or truncated"):
        load_exemplar_image(path)


GRAY_MESSAGE = r"^'{}' is a grayscale image: an exemplar must carry colour\.$"


@pytest.mark.parametrize("mode", ["L", "RGB", "LA", "P"])
def test_grayscale_png_is_refused(tmp_path: Path, mode: str) -> None:
    path = tmp_path / f"gray_{mode}.png"
    Image.fromarray(movie()).convert("L").convert(mode).save(path)
    with pytest.raises(ExemplarError, match=GRAY_MESSAGE.format(f"gray_{mode}\\.png")):
        load_exemplar_image(path)


@pytest.mark.parametrize("quality", [95, 70, 20])
def test_grayscale_jpeg_is_refused(tmp_path: Path, quality: int) -> None:
    path = tmp_path / "gray.jpg"
    Image.fromarray(luma_gray(clip_frame("cockatoo.mp4", 0))).save(path, quality=quality, subsampling="4:2:0")
    assert Image.open(path).mode == "RGB"
    with pytest.raises(ExemplarError, match=GRAY_MESSAGE.format("gray\\.jpg")):
        load_exemplar_image(path)


def test_frame_of_a_real_black_and_white_film_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "film.png"
    Image.fromarray(film()).save(path)
    with pytest.raises(ExemplarError, match="grayscale"):
        load_exemplar_image(path)


def test_high_range_single_channel_modes_are_read_and_refused_as_gray(tmp_path: Path) -> None:
    gray16 = sixteen_bit(np.asarray(Image.fromarray(movie()).convert("L")))
    files = {"gray16.png": Image.fromarray(gray16), "gray32.tif": Image.fromarray(gray16.astype(np.int32))}
    files["grayf.tif"] = Image.fromarray((gray16 / 65535.0).astype(np.float32))
    for name, image in files.items():
        image.save(tmp_path / name)
        assert Image.open(tmp_path / name).mode in ("I;16", "I", "F")
        rgb = _read_rgb(tmp_path / name)
        np.testing.assert_allclose(rgb[..., 1], gray16 / 65535.0, atol=1e-6)
        with pytest.raises(ExemplarError, match="grayscale"):
            load_exemplar_image(tmp_path / name)


def test_sepia_toned_image_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "sepia.jpg"
    Image.fromarray(sepia(movie())).save(path, quality=80)
    assert load_exemplar_image(path).shape == (320, 560, 3)


# --- is_grayscale ---------------------------------------------------------------------------------------------


def test_colour_frames_are_colour_and_film_frames_gray() -> None:
    for name, index in [("cockatoo.mp4", 0), ("cockatoo.mp4", 120), ("realshort.mp4", 0), ("movie.mp4", 20)]:
        assert not is_grayscale(clip_frame(name, index)), (name, index)
    for index in (0, 40, 120, 200, 287):
        assert is_grayscale(clip_frame("shepard_calais_1906_bw.ogv", index)), index


def test_faint_uniform_tint_counts_as_colour_until_the_tolerance_covers_it() -> None:
    level = luma_gray(movie()) / 255.0
    tinted = np.clip(level + np.array([0.03, 0.0, -0.04]), 0, 1)  # a warm cast of chroma about 6-8
    assert not is_grayscale(tinted)
    assert is_grayscale(tinted, tolerance=15.0)
    assert is_grayscale(level)


def test_colour_on_less_than_one_percent_of_the_picture_counts_as_gray() -> None:
    gray = luma_gray(movie()).copy()
    gray[:10, :10] = (220, 30, 30)  # 0.05 % of the pixels
    assert is_grayscale(gray)
    gray[:40, :100] = (220, 30, 30)  # 2.2 %
    assert not is_grayscale(gray)


def test_is_grayscale_accepts_float_uint8_and_2d() -> None:
    assert not is_grayscale(movie()) and not is_grayscale(movie() / 255.0)
    assert is_grayscale(np.zeros((5, 7)))


# --- parse_image_at_frame -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("shot.png@3", (Path("shot.png"), 3)),
        ("colour/shot@2x.png@120", (Path("colour/shot@2x.png"), 120)),
        ("a@b@0", (Path("a@b"), 0)),
        ("still.jpg@ 7", (Path("still.jpg"), 7)),
    ],
)
def test_parse_image_at_frame(spec: str, expected: tuple[Path, int]) -> None:
    assert parse_image_at_frame(spec) == expected


@pytest.mark.parametrize(
    "spec", ["shot.png", "shot.png@", "@5", "shot.png@-3", "shot.png@1.5", "shot.png@x", "shot@2x.png", "a.png@+3"]
)
def test_parse_image_at_frame_refuses(spec: str) -> None:
    with pytest.raises(ExemplarError, match=r"^Expected IMAGE@FRAME .*, got '.*'\.$"):
        parse_image_at_frame(spec)


# --- luminance and SSIM ---------------------------------------------------------------------------------------


def test_rgb_to_luma_l_matches_scikit_image() -> None:
    rgb = clip_frame("realshort.mp4", 0) / 255.0
    lightness = rgb_to_luma_l(rgb)
    assert lightness.dtype == np.float32 and lightness.shape == rgb.shape[:2]
    np.testing.assert_allclose(lightness, rgb2lab(rgb)[..., 0], atol=2e-3)
    np.testing.assert_allclose(rgb_to_luma_l(np.array([[[0.0] * 3, [1.0] * 3]])), [[0.0, 100.0]], atol=1e-3)


def less_contrast(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(ImageEnhance.Contrast(Image.fromarray(rgb)).enhance(0.7))


SSIM_CASES: dict[str, Callable[[], tuple[np.ndarray, np.ndarray]]] = {
    "contrast-reduced copy": lambda: (movie(), less_contrast(movie())),
    "frames 1.2 s apart, odd size": lambda: (
        clip_frame("realshort.mp4", 0)[:131, 7:300],
        clip_frame("realshort.mp4", 35)[:131, 7:300],
    ),
    "unrelated, 11 pixels high": lambda: (clip_frame("cockatoo.mp4", 0)[100:111, :37], movie()[100:111, :37]),
}


def wang_ssim(a: np.ndarray, b: np.ndarray) -> float:
    """The SSIM classify_exemplar compares luminance with: Gaussian window, population statistics, L* range."""
    return ssim(a, b, data_range=100.0, gaussian_sigma=1.5, sample_covariance=False)


@pytest.mark.parametrize("case", SSIM_CASES)
def test_gaussian_ssim_matches_scikit_image(case: str) -> None:
    a, b = (rgb_to_luma_l(rgb) for rgb in SSIM_CASES[case]())
    ours = wang_ssim(a, b)
    theirs = skimage_ssim(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=100.0)
    assert abs(ours - theirs) < 1e-4
    assert wang_ssim(a, a) == pytest.approx(1.0)
    assert ours < 0.999


def test_gaussian_ssim_refuses_bad_shapes() -> None:
    with pytest.raises(ValueError):
        wang_ssim(np.zeros((20, 20)), np.zeros((20, 21)))
    with pytest.raises(ValueError):
        wang_ssim(np.zeros((10, 20)), np.zeros((10, 20)))  # smaller than the 11x11 window


# --- classify_exemplar ----------------------------------------------------------------------------------------


def graded(rgb: np.ndarray) -> np.ndarray:
    """A colourist's version: gamma 1.25, more saturation, 2 pixels of misregistration, JPEG q=70."""
    image = ImageEnhance.Color(Image.fromarray(np.round(255 * (rgb / 255) ** 1.25).astype(np.uint8))).enhance(1.3)
    shifted = np.pad(np.asarray(image), ((2, 0), (2, 0), (0, 0)), mode="edge")[: rgb.shape[0], : rgb.shape[1]]
    buffer = io.BytesIO()
    Image.fromarray(shifted).save(buffer, "JPEG", quality=70)
    return np.asarray(Image.open(buffer))


@pytest.mark.parametrize(
    ("clip", "index"), [("movie.mp4", 20), ("realshort.mp4", 0), ("cockatoo.mp4", 40), ("cockatoo.mp4", 0)]
)
def test_colorized_frame_is_a_keyframe(clip: str, index: int) -> None:
    colour = clip_frame(clip, index)
    frame = luma_gray(colour)
    kind, score = classify_exemplar(colour / 255.0, frame / 255.0)
    assert kind == "keyframe" and score > 0.95
    kind, score = classify_exemplar(graded(colour), frame)
    assert kind == "keyframe" and score > KEYFRAME_SSIM_THRESHOLD + 0.15
    half = np.asarray(Image.fromarray(colour).resize((colour.shape[1] // 2, colour.shape[0] // 2)))
    assert classify_exemplar(half, frame)[0] == "keyframe"


def test_toned_film_frame_is_a_keyframe_of_it() -> None:
    kind, score = classify_exemplar(sepia(film()), film())
    assert kind == "keyframe" and score > 0.95


@pytest.mark.parametrize(
    ("exemplar", "frame"),
    [
        (("cockatoo.mp4", 40), ("cockatoo.mp4", 0)),  # 2 s later, hand-held camera
        (("realshort.mp4", 35), ("realshort.mp4", 0)),
        (("movie.mp4", 20), ("realshort.mp4", 0)),  # another clip, other aspect ratio
        (("cockatoo.mp4", 0), ("shepard_calais_1906_bw.ogv", 40)),
        (("realshort.mp4", 0), ("movie.mp4", 20)),
    ],
)
def test_other_pictures_are_references(exemplar: tuple[str, int], frame: tuple[str, int]) -> None:
    kind, score = classify_exemplar(clip_frame(*exemplar), luma_gray(clip_frame(*frame)))
    assert kind == "reference" and score < KEYFRAME_SSIM_THRESHOLD - 0.2


def test_classification_does_not_depend_on_the_input_dtype() -> None:
    colour, frame = clip_frame("realshort.mp4", 0), luma_gray(clip_frame("realshort.mp4", 0))
    by_uint8 = classify_exemplar(graded(colour), frame)
    by_float = classify_exemplar(graded(colour) / 255.0, frame[..., 0].astype(np.float32) / 255.0)
    assert by_uint8[0] == by_float[0] and by_uint8[1] == pytest.approx(by_float[1], abs=1e-4)


def test_a_pipe_named_as_exemplar_is_refused_not_waited_on(tmp_path: Path) -> None:
    import os

    pipe = tmp_path / "still.png"
    os.mkfifo(pipe)  # nobody writes it: opening it to read would wait for ever
    with pytest.raises(ExemplarError, match="is a pipe or a device, not an image file"):
        load_exemplar_image(pipe)
