"""Video and image-sequence I/O with PyAV: frame-accurate reading and atomic writing with audio passthrough.

Reading: :class:`VideoReader` opens a video file or a folder of images and gives frame-accurate random access and
sequential or reverse iteration; :func:`probe` describes a source. Writing: :class:`VideoWriter` encodes RGB frames
in one of :data:`CODECS`, keeping the source's timestamps and audio; :func:`check_output_path` validates an output
before work starts. Nothing here imports torch.
"""

from colormnet.video.codecs import CODECS, DEFAULT_CODEC, IMAGE_SEQUENCE_CODECS, CodecSpec, check_output_path
from colormnet.video.info import StreamInfo, VideoInfo
from colormnet.video.reader import REVERSE_CHUNK, VideoReader, probe
from colormnet.video.sequence_source import IMAGE_EXTENSIONS
from colormnet.video.writer import VideoWriter

__all__ = [
    "CODECS",
    "DEFAULT_CODEC",
    "IMAGE_EXTENSIONS",
    "IMAGE_SEQUENCE_CODECS",
    "REVERSE_CHUNK",
    "CodecSpec",
    "StreamInfo",
    "VideoInfo",
    "VideoReader",
    "VideoWriter",
    "check_output_path",
    "probe",
]
