"""Sample images for the starter cards, drawn here (no third-party images): a receipt, a bar
chart, a whiteboard, an app screenshot and two versions of a design. Deterministic, so every
start draws the same bytes (stored once in the media library)."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont


def _font(size: int) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def receipt() -> Image.Image:
    image = Image.new("RGB", (480, 760), "white")
    draw = ImageDraw.Draw(image)
    big, text, small = _font(30), _font(20), _font(16)
    draw.text((240, 40), "CORNER CAFE", font=big, fill="black", anchor="mm")
    draw.text((240, 78), "12 Harbour Road, Lisbon", font=small, fill="black", anchor="mm")
    draw.text((30, 120), "2026-11-03  14:26", font=text, fill="black")
    draw.text((30, 150), "Invoice no. 000482", font=text, fill="black")
    draw.line((30, 185, 450, 185), fill="black", width=2)
    rows = [
        ("Flat white", 2, 3.20),
        ("Croissant", 1, 2.50),
        ("Orange juice", 1, 3.90),
        ("Water", 2, 1.10),
    ]
    y = 205
    for name, quantity, price in rows:
        draw.text((30, y), f"{quantity} x {name}", font=text, fill="black")
        draw.text((450, y), f"{quantity * price:.2f}", font=text, fill="black", anchor="ra")
        y += 38
    draw.line((30, y + 5, 450, y + 5), fill="black", width=2)
    subtotal = sum(q * p for _, q, p in rows)
    for label, value in (
        ("Subtotal", subtotal),
        ("VAT 13%", subtotal * 0.13),
        ("TOTAL EUR", subtotal * 1.13),
    ):
        y += 40
        draw.text((30, y), label, font=text, fill="black")
        draw.text((450, y), f"{value:.2f}", font=text, fill="black", anchor="ra")
    draw.text((240, y + 80), "Thank you!", font=text, fill="black", anchor="mm")
    return image


def chart() -> Image.Image:
    image = Image.new("RGB", (720, 480), "white")
    draw = ImageDraw.Draw(image)
    draw.text(
        (360, 30), "Monthly active users (thousands)", font=_font(22), fill="black", anchor="mm"
    )
    left, bottom, top = 80, 420, 70
    draw.line((left, top, left, bottom), fill="black", width=2)
    draw.line((left, bottom, 690, bottom), fill="black", width=2)
    for value in range(0, 61, 10):
        y = bottom - (bottom - top) * value / 60
        draw.line((left - 5, y, 690, y), fill=(225, 225, 225))
        draw.text((left - 10, y), str(value), font=_font(15), fill="black", anchor="rm")
    values = [("Jan", 18), ("Feb", 24), ("Mar", 31), ("Apr", 29), ("May", 42), ("Jun", 55)]
    for index, (month, value) in enumerate(values):
        x = left + 30 + index * 100
        y = bottom - (bottom - top) * value / 60
        draw.rectangle((x, y, x + 56, bottom - 1), fill=(70, 110, 200))
        draw.text((x + 28, bottom + 16), month, font=_font(15), fill="black", anchor="mm")
    return image


def whiteboard() -> Image.Image:
    image = Image.new("RGB", (800, 560), (246, 246, 240))
    draw = ImageDraw.Draw(image)
    draw.text((40, 30), "Launch plan - Q1", font=_font(34), fill=(30, 60, 160))
    notes = [
        (
            (40, 110),
            "Goals",
            ["- beta in Feb", "- 500 testers", "- app store in March"],
            (200, 40, 40),
        ),
        (
            (420, 110),
            "Tasks",
            ["Landing page - Mia - Jan 20", "Pricing - ?", "Beta invites - Tom"],
            (20, 120, 60),
        ),
        ((40, 330), "Risks", ["payments not ready", "translations late"], (120, 60, 160)),
    ]
    for (x, y), title, lines, colour in notes:
        draw.rectangle((x - 10, y - 10, x + 330, y + 40 + 36 * len(lines)), outline=colour, width=3)
        draw.text((x, y), title, font=_font(26), fill=colour)
        for number, line in enumerate(lines):
            draw.text((x, y + 44 + 36 * number), line, font=_font(20), fill=(40, 40, 40))
    draw.line((380, 120, 405, 150), fill=(30, 60, 160), width=3)
    return image


def ui() -> Image.Image:
    image = Image.new("RGB", (420, 760), (244, 246, 250))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 420, 64), fill=(52, 84, 209))
    draw.text((20, 32), "My Trips", font=_font(24), fill="white", anchor="lm")
    for index, (place, dates) in enumerate(
        (("Kyoto", "Apr 3 - Apr 9"), ("Lisbon", "Jun 12 - Jun 18"), ("Oslo", "Aug 1 - Aug 4"))
    ):
        y = 90 + index * 120
        draw.rounded_rectangle(
            (16, y, 404, y + 100), radius=14, fill="white", outline=(220, 224, 232)
        )
        draw.ellipse((32, y + 22, 88, y + 78), fill=(255, 196, 61))
        draw.text((104, y + 30), place, font=_font(22), fill=(20, 20, 30))
        draw.text((104, y + 62), dates, font=_font(16), fill=(110, 115, 130))
    draw.rounded_rectangle((16, 680, 404, 736), radius=28, fill=(52, 84, 209))
    draw.text((210, 708), "+ Plan a new trip", font=_font(20), fill="white", anchor="mm")
    return image


def _design(accent: tuple[int, int, int], badge: bool) -> Image.Image:
    image = Image.new("RGB", (640, 400), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 640, 56), fill=accent)
    draw.text((24, 28), "Spring Sale", font=_font(26), fill="white", anchor="lm")
    draw.rounded_rectangle((40, 96, 300, 340), radius=16, outline=(210, 210, 210), width=2)
    draw.text((170, 210), "Sneakers", font=_font(22), fill="black", anchor="mm")
    draw.text((170, 250), "49.00", font=_font(28 if badge else 22), fill=accent, anchor="mm")
    if badge:
        draw.ellipse((250, 80, 320, 150), fill=(230, 60, 60))
        draw.text((285, 115), "-30%", font=_font(18), fill="white", anchor="mm")
    draw.rounded_rectangle((360, 260, 600, 320), radius=30, fill=accent)
    draw.text(
        (480, 290), "Buy now" if badge else "Add to cart", font=_font(20), fill="white", anchor="mm"
    )
    return image


def design_v1() -> Image.Image:
    return _design((60, 120, 90), badge=False)


def design_v2() -> Image.Image:
    return _design((200, 90, 40), badge=True)


SAMPLES: dict[str, Callable[[], Image.Image]] = {
    "receipt": receipt,
    "chart": chart,
    "whiteboard": whiteboard,
    "ui": ui,
    "design_v1": design_v1,
    "design_v2": design_v2,
}


@cache
def thumbnail_url(name: str, size: int = 96) -> str:
    """A small PNG of the sample as a data URL, for a starter card."""
    image = SAMPLES[name]()
    image.thumbnail((size, size))
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def sample_file(name: str, folder: Path) -> Path:
    """The sample as a PNG file in `folder`, drawn the first time it is asked for."""
    path = folder / f"{name}.png"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        SAMPLES[name]().save(tmp, "PNG")
        tmp.replace(path)
    return path
