import threading

import pytest

from app.media import MediaError, MediaLibrary
from tests.media_factory import make_jpeg, make_png, make_video


def test_ingest_is_content_addressed_and_idempotent(tmp_path):
    library = MediaLibrary(tmp_path / "media")
    first = library.ingest_file(make_png(tmp_path / "a.png", "red"), "a.png")
    again = library.ingest_file(make_png(tmp_path / "copy.png", "red"), "copy.png")
    assert first.sha256 == again.sha256 and first.path == again.path
    assert (
        first.path.suffix == ".png" and first.path.read_bytes() == (tmp_path / "a.png").read_bytes()
    )
    assert (first.kind, first.mime, first.width, first.height) == ("image", "image/png", 64, 48)
    assert len(list((tmp_path / "media" / "blobs").rglob("*.png"))) == 1


def test_video_ingest_records_duration(tmp_path):
    library = MediaLibrary(tmp_path / "media")
    stored = library.ingest_file(make_video(tmp_path / "v.mp4", seconds=3), "holiday.mp4")
    assert stored.kind == "video" and stored.path.suffix == ".mp4"
    assert stored.duration_s == pytest.approx(3, abs=0.5)
    assert stored.filename == "holiday.mp4"
    # Content is shared by everyone who sends the same bytes: it never remembers a name.
    assert library.describe(stored.sha256).filename == ""
    assert (
        "holiday"
        not in (tmp_path / "media")
        .joinpath("blobs", stored.sha256[:2], f"{stored.sha256}.json")
        .read_text()
    )


def test_bad_files_are_refused_before_anything_is_stored(tmp_path):
    library = MediaLibrary(tmp_path / "media")
    fake = tmp_path / "fake.jpg"
    fake.write_text("plain text")
    with pytest.raises(MediaError, match=r"fake\.jpg"):
        library.ingest_file(fake, "fake.jpg")
    big = make_jpeg(tmp_path / "big.jpg", (800, 600))
    with pytest.raises(MediaError, match=r"big\.jpg is .* MB; the limit is"):
        library.ingest_file(big, "big.jpg", max_bytes=1000)
    assert list((tmp_path / "media" / "blobs").rglob("*.*")) == []


def test_normalized_cache_is_byte_identical_across_instances(tmp_path):
    stored = MediaLibrary(tmp_path / "media").ingest_file(
        make_jpeg(tmp_path / "p.jpg", (2000, 1500)), "p.jpg"
    )
    first = MediaLibrary(tmp_path / "media").normalized_image(stored.sha256, "high")
    cached = MediaLibrary(tmp_path / "media").normalized_image(stored.sha256, "high")
    assert first.data == cached.data and (first.width, first.height) == (1512, 1134)
    for derived in (tmp_path / "media" / "cache").iterdir():
        derived.unlink()
    assert (
        MediaLibrary(tmp_path / "media").normalized_image(stored.sha256, "high").data == first.data
    )


def test_concurrent_ingest_of_the_same_file(tmp_path):
    library = MediaLibrary(tmp_path / "media")
    source = make_jpeg(tmp_path / "same.jpg", (1000, 800))
    results, errors = [], []

    def ingest():
        try:
            results.append(library.ingest_file(source, "same.jpg"))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=ingest) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len({r.sha256 for r in results}) == 1
    assert results[0].path.read_bytes() == source.read_bytes()
    assert not list((tmp_path / "media" / "blobs").rglob(".tmp-*"))


def test_frames_and_delete(tmp_path):
    library = MediaLibrary(tmp_path / "media")
    stored = library.ingest_file(make_video(tmp_path / "v.mp4", seconds=4), "v.mp4")
    frames = library.video_frames(stored.sha256, interval_s=2, max_frames=8, detail="low")
    cached = library.video_frames(stored.sha256, interval_s=2, max_frames=8, detail="low")
    assert [f.timestamp_s for f in frames] == [1.0, 3.0]
    assert [f.image.data for f in frames] == [f.image.data for f in cached]
    library.delete(stored.sha256)
    assert library.describe(stored.sha256) is None
    assert list((tmp_path / "media" / "cache").iterdir()) == []


def test_ingest_bytes(tmp_path):
    library = MediaLibrary(tmp_path / "media")
    stored = library.ingest_bytes(make_png(tmp_path / "x.png").read_bytes(), "x.png")
    assert stored.kind == "image" and stored.path.exists()
    video = library.ingest_bytes(make_video(tmp_path / "v.mp4", seconds=1).read_bytes(), "v.mp4")
    assert video.kind == "video" and video.path.exists()


def test_display_path_is_something_a_browser_shows(tmp_path):
    from tests.media_factory import make_heic

    library = MediaLibrary(tmp_path / "media")
    png = library.ingest_file(make_png(tmp_path / "a.png"), "a.png")
    assert library.display_path(png.sha256, png.kind, png.mime) == (png.path, "image/png")
    heic = library.ingest_file(make_heic(tmp_path / "b.heic"), "b.heic")
    path, mime = library.display_path(heic.sha256, heic.kind, heic.mime)
    assert mime == "image/jpeg" and path.read_bytes()[:3] == b"\xff\xd8\xff"
