"""One frame saved as a still image (PNG, TIFF or JPEG, 8 or 16 bits), written atomically beside its final name."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
from PIL import Image

from colormnet.fileio import owned_temp_file

__all__ = ["STILL_SUFFIXES", "write_still"]

#: The file name endings a still may have.
STILL_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg")


def write_still(rgb: np.ndarray, output: Path) -> None:
    """Writes ``rgb`` (HxWx3, ``uint8`` or ``uint16``) to ``output``; JPEG gets 8 bits, PNG and TIFF keep 16.

    The image goes to a temporary name first (:func:`~colormnet.fileio.owned_temp_file`) and is renamed onto
    ``output`` when complete, so a failure (a full disk) leaves ``output`` as it was and nothing beside it.

    Raises:
        OSError: The folder cannot be written.
    """
    suffix = output.suffix.lower()
    if rgb.dtype != np.uint8 and suffix in (".jpg", ".jpeg"):
        rgb = (rgb >> 8).astype(np.uint8)
    tmp = owned_temp_file(output)
    try:
        if rgb.dtype == np.uint8:
            Image.fromarray(rgb).save(tmp)
        else:  # 16-bit: Pillow cannot write 16-bit RGB, PyAV's image encoders can
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb48le")
            with av.open(str(tmp), "w", format="image2") as container:
                png = suffix == ".png"
                stream = container.add_stream("png") if png else container.add_stream("tiff")
                pix_fmt = "rgb48be" if png else "rgb48le"  # what each encoder takes
                stream.width, stream.height, stream.pix_fmt = rgb.shape[1], rgb.shape[0], pix_fmt
                for packet in stream.encode(frame):
                    container.mux(packet)
                for packet in stream.encode():
                    container.mux(packet)
        tmp.replace(output)
    finally:
        tmp.unlink(missing_ok=True)
