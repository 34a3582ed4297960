"""Video and image-sequence I/O with PyAV: frame-accurate reading of video files and image folders.

:class:`VideoReader` opens a video file or a folder of images and gives frame-accurate random access and sequential
or reverse iteration; :func:`probe` describes a source. Nothing here imports torch.
"""

from colormnet.video.info import StreamInfo, VideoInfo
from colormnet.video.reader import REVERSE_CHUNK, VideoReader, probe
from colormnet.video.sequence_source import IMAGE_EXTENSIONS

__all__ = [
    "IMAGE_EXTENSIONS",
    "REVERSE_CHUNK",
    "StreamInfo",
    "VideoInfo",
    "VideoReader",
    "probe",
]
