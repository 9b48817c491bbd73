"""Probe videos, sample timestamped frames, and split long videos without re-encoding (PyAV).

Nothing here runs a shell command: file names never reach a command line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import av

from app.media.errors import MediaError
from app.media.images import Detail, NormalizedImage, normalize_pil

VIDEO_CONTAINERS = ("mp4", "mov", "matroska", "webm")
PROBE_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class VideoInfo:
    duration_s: float
    width: int
    height: int
    video_codec: str
    container: str
    size_bytes: int
    has_audio: bool


@dataclass(frozen=True)
class VideoFrame:
    timestamp_s: float
    image: NormalizedImage


def format_timestamp(seconds: float) -> str:
    """00:42, 12:05, 1:02:03."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def _open(path: Path, filename: str, timeout_s: float = PROBE_TIMEOUT_S):
    try:
        container = av.open(str(path), timeout=timeout_s)
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError):
        raise MediaError("video.unreadable", name=filename) from None
    if not any(name in container.format.name for name in VIDEO_CONTAINERS):
        container.close()
        raise MediaError(
            "video.wrong_container",
            name=filename,
            container=container.format.long_name or container.format.name,
        )
    if not container.streams.video:
        container.close()
        raise MediaError("video.no_track", name=filename)
    return container


def _duration(container, stream) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    if stream.frames and stream.average_rate:
        return float(stream.frames / stream.average_rate)
    return 0.0


def probe_video(path: Path, filename: str, timeout_s: float = PROBE_TIMEOUT_S) -> VideoInfo:
    container = _open(path, filename, timeout_s)
    try:
        stream = container.streams.video[0]
        duration = _duration(container, stream)
        try:  # a header alone is not enough: the first frame must decode
            next(container.decode(stream))
        except (av.FFmpegError, StopIteration, OSError, ValueError):
            raise MediaError("video.undecodable", name=filename) from None
        if duration <= 0:
            raise MediaError("video.no_length", name=filename)
        return VideoInfo(
            duration_s=duration,
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            video_codec=stream.codec_context.name,
            container=container.format.name,
            size_bytes=path.stat().st_size,
            has_audio=bool(container.streams.audio),
        )
    finally:
        container.close()


def frame_times(duration_s: float, interval_s: float, max_frames: int) -> list[float]:
    """Evenly spaced sample points, each in the middle of its share of the video."""
    count = min(max_frames, max(1, math.ceil(duration_s / interval_s)))
    step = duration_s / count
    return [round(step * (i + 0.5), 3) for i in range(count)]


def sample_frames(
    path: Path, *, interval_s: float, max_frames: int, detail: Detail, filename: str = "video"
) -> list[VideoFrame]:
    container = _open(path, filename)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        times = frame_times(_duration(container, stream), interval_s, max_frames)
        base = stream.time_base
        start = float(stream.start_time * base) if stream.start_time is not None else 0.0
        frames: list[VideoFrame] = []
        for t in times:
            container.seek(int((start + t) / base), stream=stream, backward=True)
            chosen = None
            for frame in container.decode(stream):
                chosen = frame
                if frame.time is not None and frame.time - start >= t:
                    break
            if chosen is None:
                continue
            image = normalize_pil(chosen.to_image(), detail)
            frames.append(VideoFrame(t, image))
        if not frames:
            raise MediaError("video.no_frames", name=filename)
        return frames
    except av.FFmpegError:
        raise MediaError("video.frames_damaged", name=filename) from None
    finally:
        container.close()


def _plan_cuts(
    packets: list[tuple[float, int, bool]], max_seconds: float, max_bytes: int, filename: str
) -> list[float]:
    """Segment start times, cut only at keyframes, every segment within both limits.

    `packets` are (time, bytes, keyframe) of the video track in presentation order.
    """
    times = [t for t, _, _ in packets]
    cumulative = [0]
    for _, size, _ in packets:
        cumulative.append(cumulative[-1] + size)
    keys = [i for i, (_, _, key) in enumerate(packets) if key]
    if not keys:
        raise MediaError("video.no_keyframes", name=filename)
    end_time = times[-1] + (times[-1] - times[-2] if len(times) > 1 else 0)

    def fits(start: int, stop: int) -> bool:
        stop_time = end_time if stop == len(times) else times[stop]
        return (
            stop_time - times[start] <= max_seconds
            and cumulative[stop] - cumulative[start] <= max_bytes
        )

    cuts = [keys[0]]
    previous: int | None = None
    for stop in [*keys[1:], len(times)]:
        if not fits(cuts[-1], stop):
            if previous is None:
                raise MediaError("video.keyframes_too_far", name=filename)
            cuts.append(previous)
            if not fits(previous, stop):
                raise MediaError("video.keyframes_too_far", name=filename)
        previous = stop
    return [times[i] for i in cuts]


def split_video(
    path: Path, *, max_seconds: float, max_bytes: int, out_dir: Path, filename: str = "video"
) -> list[Path]:
    """Cut into MP4 parts at keyframes by copying packets (no re-encode); parts in order."""
    source = _open(path, filename)
    try:
        video = source.streams.video[0]
        packets = [
            (float(p.pts * p.time_base), p.size, p.is_keyframe)
            for p in source.demux(video)
            if p.pts is not None
        ]
    finally:
        source.close()
    if not packets:
        raise MediaError("video.no_packets", name=filename)
    packets.sort(key=lambda item: item[0])
    cuts = _plan_cuts(packets, max_seconds, max_bytes, filename)
    if len(cuts) == 1:
        return [path]

    out_dir.mkdir(parents=True, exist_ok=True)
    outputs: list[Path] = []
    source = _open(path, filename)
    try:
        streams = [source.streams.video[0]] + (
            [source.streams.audio[0]] if source.streams.audio else []
        )
        current = None
        out_streams: dict[int, object] = {}
        offsets: dict[int, int] = {}
        segment = -1
        for packet in source.demux(streams):
            if packet.pts is None or packet.dts is None:
                continue
            when = float(packet.pts * packet.time_base)
            is_video = packet.stream.type == "video"
            next_cut = cuts[segment + 1] if segment + 1 < len(cuts) else None
            if is_video and packet.is_keyframe and next_cut is not None and when >= next_cut - 1e-6:
                if current is not None:
                    current.close()
                segment += 1
                target = out_dir / f"part-{segment:03d}.mp4"
                outputs.append(target)
                current = av.open(str(target), "w", format="mp4")
                out_streams = {s.index: current.add_stream_from_template(s) for s in streams}
                offsets = {}
            if current is None:
                continue
            index = packet.stream.index
            if index not in offsets:
                offsets[index] = packet.dts
            packet.pts -= offsets[index]
            packet.dts -= offsets[index]
            if packet.dts < 0:
                continue
            packet.stream = out_streams[index]
            current.mux(packet)
        if current is not None:
            current.close()
    except av.FFmpegError:
        raise MediaError("video.split_failed", name=filename) from None
    finally:
        source.close()
    return outputs
