import io
import time

import pytest
from PIL import Image

from app.media import MediaError, normalize_image
from app.media.detect import detect
from app.media.images import target_size, validate_image
from tests.media_factory import (
    make_animated_gif,
    make_decompression_bomb,
    make_heic,
    make_jpeg,
    make_photo,
    make_transparent_png,
    make_truncated_jpeg,
)


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    return image


def test_24mp_photo_with_exif_orientation_6(tmp_path):
    path = make_jpeg(tmp_path / "phone.jpg", (6000, 4000), orientation=6, gps=True)
    low = normalize_image(path.read_bytes(), "low", "phone.jpg")
    assert (low.width, low.height) == (485, 728)  # rotated to portrait, longest side 728
    image = decoded(low.data)
    assert image.size == (485, 728)
    assert not image.getexif()  # orientation and GPS are gone
    assert b"Exif" not in low.data[:200]
    high = normalize_image(path.read_bytes(), "high", "phone.jpg")
    assert max(high.width, high.height) == 2016 and max(high.width, high.height) % 504 == 0


def test_same_input_gives_byte_identical_output(tmp_path):
    data = make_jpeg(tmp_path / "a.jpg", (1200, 900)).read_bytes()
    assert normalize_image(data, "low").data == normalize_image(data, "low").data
    assert normalize_image(data, "high").data == normalize_image(data, "high").data


@pytest.mark.parametrize(
    ("size", "detail", "expected"),
    [
        ((4000, 3000), "low", (728, 546)),
        ((300, 200), "low", (300, 200)),  # never upscaled
        ((4000, 3000), "high", (2016, 1512)),
        ((1100, 800), "high", (1008, 733)),
        ((300, 200), "high", (300, 200)),
    ],
)
def test_target_sizes(size, detail, expected):
    assert target_size(*size, detail) == expected


def test_transparency_becomes_white_not_black(tmp_path):
    data = make_transparent_png(tmp_path / "logo.png").read_bytes()
    image = decoded(normalize_image(data, "low").data).convert("RGB")
    corner = image.getpixel((2, 2))
    centre = image.getpixel((50, 50))
    assert all(channel > 245 for channel in corner)
    assert centre[2] > 200 and centre[0] < 60


def test_animated_gif_sends_first_frame_and_says_so(tmp_path):
    data = make_animated_gif(tmp_path / "anim.gif").read_bytes()
    result = normalize_image(data, "low", "anim.gif")
    assert result.animated  # the resolver words it as a note, with the name of the asker
    red, green, _ = decoded(result.data).convert("RGB").getpixel((25, 25))
    assert red > 200 and green < 60


def test_heic_photo(tmp_path):
    path = make_heic(tmp_path / "iphone.heic")
    assert detect(path.read_bytes()[:64], "iphone.heic") == ("image", "image/heic")
    result = normalize_image(path.read_bytes(), "low", "iphone.heic")
    assert (result.width, result.height) == (320, 240)


def test_decompression_bomb_is_refused_quickly(tmp_path):
    data = make_decompression_bomb(tmp_path / "bomb.png").read_bytes()
    assert len(data) < 1000
    start = time.perf_counter()
    with pytest.raises(MediaError, match=r"bomb\.png declares .*megapixel limit"):
        normalize_image(data, "low", "bomb.png")
    just_over = make_decompression_bomb(tmp_path / "b2.png", 10_000, 9_000).read_bytes()
    with pytest.raises(MediaError, match=r"b2\.png declares .*89-megapixel limit"):
        validate_image(just_over, "b2.png")
    with pytest.raises(MediaError):
        validate_image(data, "bomb.png")
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize(
    ("maker", "name", "message"),
    [
        (make_truncated_jpeg, "cut.jpg", "cut.jpg is damaged or incomplete"),
    ],
)
def test_damaged_files(tmp_path, maker, name, message):
    data = maker(tmp_path / name).read_bytes()
    with pytest.raises(MediaError) as err:
        validate_image(data, name)
    assert message in str(err.value)


def test_text_renamed_jpg_and_empty_file(tmp_path):
    with pytest.raises(MediaError) as err:
        detect(b"hello, I am a text file", "notes.jpg")
    assert "notes.jpg is not a file this app can read" in str(err.value)
    assert "JPEG, PNG, WebP, GIF, BMP, TIFF, HEIC" in str(err.value)
    with pytest.raises(MediaError, match=r"empty\.png is empty \(0 bytes\)"):
        detect(b"", "empty.png")


@pytest.mark.parametrize(
    ("fmt", "mime"),
    [
        ("PNG", "image/png"),
        ("WEBP", "image/webp"),
        ("GIF", "image/gif"),
        ("BMP", "image/bmp"),
        ("TIFF", "image/tiff"),
        ("JPEG", "image/jpeg"),
    ],
)
def test_every_accepted_format_is_identified_by_content(tmp_path, fmt, mime):
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "orange").save(buffer, fmt)
    data = buffer.getvalue()
    assert detect(data[:64], "no-extension") == ("image", mime)
    result = normalize_image(data, "low")
    assert (result.width, result.height) == (40, 30)


def test_a_photo_that_already_fits_goes_up_no_larger_than_it_came(tmp_path):
    """A 1600×1200 JPEG at high detail used to go up re-encoded, larger than the original."""
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0)}  # where it was taken
    path = tmp_path / "photo.jpg"
    make_photo((1600, 1200)).save(path, "JPEG", quality=70, exif=exif.tobytes())
    original = path.read_bytes()
    sent = normalize_image(original, "high", "photo.jpg")
    assert sent.mime == "image/jpeg" and (sent.width, sent.height) == (1600, 1200)
    assert len(original) - 200 < len(sent.data) < len(original)  # only the metadata removed
    assert b"Exif" not in sent.data
    with Image.open(io.BytesIO(sent.data)) as kept, Image.open(path) as given:
        assert kept.tobytes() == given.tobytes()  # the same pixels: nothing was re-encoded
    assert normalize_image(original, "high", "photo.jpg").data == sent.data  # every turn alike
    low = normalize_image(original, "low", "photo.jpg")
    assert max(low.width, low.height) == 728  # too large for low detail: scaled as before
    # Whichever way it goes, never more bytes than the file the person gave.
    finer = make_jpeg(tmp_path / "q90.jpg", (1600, 1200)).read_bytes()
    assert len(normalize_image(finer, "high").data) <= len(finer)


def test_what_needs_changing_is_still_re_encoded(tmp_path):
    turned = normalize_image(
        make_jpeg(tmp_path / "t.jpg", (640, 480), orientation=6).read_bytes(), "high"
    )
    assert turned.width < turned.height and turned.mime == "image/jpeg"
    clear = normalize_image(make_transparent_png(tmp_path / "a.png").read_bytes(), "high")
    assert clear.mime == "image/jpeg"  # flattened onto white, so re-encoded
