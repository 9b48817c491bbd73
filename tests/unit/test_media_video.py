import io

import av
import pytest
from PIL import Image

from app.media import MediaError, probe_video, sample_frames
from app.media.detect import detect
from app.media.video import format_timestamp, frame_times, split_video
from tests.media_factory import make_video


@pytest.fixture(scope="module")
def ten_seconds(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("v") / "ten.mp4", seconds=10, fps=5)


@pytest.fixture(scope="module")
def six_minutes(tmp_path_factory):
    # Tiny frames at 1 fps with a keyframe every 10 s keep this cheap to make.
    return make_video(
        tmp_path_factory.mktemp("v") / "long.mp4", seconds=360, fps=1, size=(32, 32), gop=10
    )


def test_probe_10_second_mp4(ten_seconds):
    info = probe_video(ten_seconds, "ten.mp4")
    assert 9.5 <= info.duration_s <= 10.5
    assert (info.width, info.height) == (160, 120)
    assert info.video_codec == "h264" and "mp4" in info.container
    assert info.size_bytes == ten_seconds.stat().st_size


def test_mkv_is_accepted(tmp_path):
    path = make_video(tmp_path / "clip.mkv", seconds=2, container="matroska")
    assert detect(path.read_bytes()[:64], "clip.mkv") == ("video", "video/x-matroska")
    assert probe_video(path, "clip.mkv").container.startswith("matroska")


def test_webm_is_accepted(tmp_path):
    if "libvpx" not in av.codecs_available:
        pytest.skip("this PyAV build has no VP8 encoder")
    path = make_video(tmp_path / "clip.webm", seconds=1, container="webm", codec="libvpx")
    assert detect(path.read_bytes()[:64], "clip.webm") == ("video", "video/webm")
    assert probe_video(path, "clip.webm").duration_s > 0.5


def test_frames_are_evenly_spaced_and_timestamped(ten_seconds):
    frames = sample_frames(ten_seconds, interval_s=2, max_frames=16, detail="low")
    assert [f.timestamp_s for f in frames] == [1.0, 3.0, 5.0, 7.0, 9.0]
    shades = [
        Image.open(io.BytesIO(f.image.data)).convert("RGB").getpixel((5, 5))[0] for f in frames
    ]
    assert shades == sorted(shades) and shades[-1] - shades[0] > 150  # frames really differ


def test_frame_count_is_capped(six_minutes):
    frames = sample_frames(six_minutes, interval_s=2, max_frames=16, detail="low")
    assert len(frames) == 16
    assert frames[0].timestamp_s == pytest.approx(360 / 32, abs=1)
    assert frame_times(360, 2, 16)[-1] == pytest.approx(360 - 360 / 32, abs=0.01)


def test_six_minute_video_splits_under_five_minutes_without_reencoding(six_minutes, tmp_path):
    parts = split_video(six_minutes, max_seconds=300, max_bytes=128 * 1024**2, out_dir=tmp_path)
    assert len(parts) == 2
    durations = [probe_video(p, p.name).duration_s for p in parts]
    assert all(d <= 300 for d in durations)
    assert sum(durations) == pytest.approx(360, abs=2)
    with av.open(str(parts[0])) as part, av.open(str(six_minutes)) as original:
        assert (
            part.streams.video[0].codec_context.name == original.streams.video[0].codec_context.name
        )


def test_split_by_size(six_minutes, tmp_path):
    size = six_minutes.stat().st_size
    parts = split_video(six_minutes, max_seconds=1e9, max_bytes=size // 3, out_dir=tmp_path)
    assert len(parts) >= 3
    assert all(p.stat().st_size <= size // 3 + 4096 for p in parts)


def test_short_video_is_not_split(ten_seconds, tmp_path):
    assert split_video(ten_seconds, max_seconds=300, max_bytes=10**9, out_dir=tmp_path) == [
        ten_seconds
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is not a video this app can read"),
        (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200, "is not a video this app can read"),
    ],
)
def test_broken_videos_are_refused(tmp_path, content, message):
    path = tmp_path / "broken.mp4"
    path.write_bytes(content)
    with pytest.raises(MediaError) as err:
        probe_video(path, "broken.mp4")
    assert "broken.mp4" in str(err.value) and message in str(err.value)


def test_truncated_video_is_refused(ten_seconds, tmp_path):
    path = tmp_path / "cut.mp4"
    path.write_bytes(ten_seconds.read_bytes()[:2000])
    with pytest.raises(MediaError, match=r"cut\.mp4"):
        probe_video(path, "cut.mp4")


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "00:00"), (42.7, "00:42"), (725, "12:05"), (3723, "1:02:03")]
)
def test_format_timestamp(seconds, text):
    assert format_timestamp(seconds) == text
