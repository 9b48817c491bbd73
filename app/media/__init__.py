"""The media pipeline: identify, validate, normalize, sample and split. No Gradio, no network."""

from app.media.detect import MediaKind, detect
from app.media.errors import MediaError
from app.media.images import IMAGE_FORMATS, MAX_PIXELS, NormalizedImage, normalize_image
from app.media.library import MediaLibrary, StoredMedia
from app.media.video import VideoFrame, VideoInfo, format_timestamp, probe_video, sample_frames

__all__ = [
    "IMAGE_FORMATS",
    "MAX_PIXELS",
    "MediaError",
    "MediaKind",
    "MediaLibrary",
    "NormalizedImage",
    "StoredMedia",
    "VideoFrame",
    "VideoInfo",
    "detect",
    "format_timestamp",
    "normalize_image",
    "probe_video",
    "sample_frames",
]
