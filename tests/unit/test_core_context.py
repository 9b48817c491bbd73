"""app/core/context.py: a turn's messages → the upstream `messages`, with the real media resolver
over a real library and store. A self-hosted model gets data URLs, so nothing leaves the
process."""

from __future__ import annotations

import asyncio
import base64
import io
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from PIL import Image

from app.backend import BackendClient
from app.catalog import LOCAL_VL_TEMPLATE, ModelSpec, VideoMode, local_spec
from app.config import Settings, load_settings
from app.core import MediaInput, TurnMessage, TurnRejected
from app.core.context import BuiltRequest, build_request
from app.core.media import MediaResolver
from app.i18n import EN, ZH
from app.media import MediaLibrary
from app.store import MediaRef, Store
from tests.media_factory import make_animated_gif, make_png, make_video

COLORS = {
    "red": (255, 0, 0),
    "green": (0, 128, 0),
    "blue": (0, 0, 255),
    "yellow": (255, 255, 0),
    "cyan": (0, 255, 255),
    "magenta": (255, 0, 255),
}
VL = LOCAL_VL_TEMPLATE


@dataclass
class Env:
    tmp: Path
    settings: Settings
    library: MediaLibrary
    store: Store
    backend: BackendClient
    resolver: MediaResolver

    def image(self, color: str, name: str | None = None) -> MediaInput:
        """A real PNG of one colour in the library, named as a message would name it."""
        path = make_png(self.tmp / f"{color}.png", color)
        stored = self.library.ingest_file(path, f"upload-{color}.png")
        name = name or f"{color}.png"
        return MediaInput("image", name, ref=MediaRef.from_stored(stored, name))

    def gif(self, name: str) -> MediaInput:
        stored = self.library.ingest_file(make_animated_gif(self.tmp / "a.gif"), "upload-77.gif")
        return MediaInput("image", name, ref=MediaRef.from_stored(stored, name))

    def video(self, name: str = "clip.mp4", seconds: float = 4) -> MediaInput:
        path = make_video(self.tmp / "v.mp4", seconds=seconds, fps=5)
        stored = self.library.ingest_file(path, "upload-v.mp4")
        return MediaInput("video", name, ref=MediaRef.from_stored(stored, name))


@pytest.fixture(scope="module")
def settings_and_backend(tmp_path_factory):
    """Settings and a backend client for the module: the client's construction is the slow part
    (TLS contexts), and it makes no request; a self-hosted model never needs the Files API."""
    root = tmp_path_factory.mktemp("context")
    settings = load_settings(
        [],
        environ={"WEBUI_DATA_DIR": str(root / "data"), "LOCAL_BASE_URL": "http://127.0.0.1:9/v1"},
        env_file=root / "none",
    )
    backend = BackendClient(settings)
    yield settings, backend
    asyncio.run(backend.aclose())


@pytest.fixture
def env(tmp_path, settings_and_backend):
    """A fresh library and store for each test."""
    settings, backend = settings_and_backend
    library = MediaLibrary(tmp_path / "media")
    store = Store(tmp_path / "webui.sqlite3")
    resolver = MediaResolver(settings, library, store, backend)
    return Env(tmp_path, settings, library, store, backend, resolver)


def build(
    env: Env,
    spec: ModelSpec,
    messages: list[TurnMessage],
    newest: int | None = None,
    detail: str = "low",
) -> BuiltRequest:
    newest = len(messages) - 1 if newest is None else newest
    return asyncio.run(build_request(spec, tuple(messages), newest, detail, env.resolver))


def user(text: str = "", *media: MediaInput) -> TurnMessage:
    return TurnMessage("user", text, tuple(media))


def assistant(text: str) -> TurnMessage:
    return TurnMessage("assistant", text)


def color_of(part: dict) -> str:
    """The colour of the image a data-URL part carries (decoded, not taken on trust)."""
    url = part["image_url"]["url"]
    assert url.startswith(("data:image/jpeg;base64,", "data:image/png;base64,"))
    image = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB")
    pixel = image.getpixel((image.width // 2, image.height // 2))
    return min(
        COLORS, key=lambda c: sum((a - b) ** 2 for a, b in zip(COLORS[c], pixel, strict=True))
    )


def colors(content) -> list[str]:
    """The colours of the images in one message's content, in order ([] for a plain string)."""
    if isinstance(content, str):
        return []
    return [color_of(p) for p in content if p["type"] == "image_url"]


def note_keys(built: BuiltRequest) -> list[str]:
    return [note.record["key"] for note in built.notes]


# -- shape -------------------------------------------------------------------------------------


def test_text_only_messages_go_as_plain_strings(env):
    messages = [
        TurnMessage("system", "Be brief."),
        user("Hello"),
        assistant("Hi."),
        user("What is 2+2?"),
    ]
    built = build(env, VL, messages)
    assert built.messages == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": "Hi."},
        {"role": "user", "content": "What is 2+2?"},
    ]
    assert built.notes == [] and built.file_ids == []


def test_media_parts_come_before_the_text(env):
    built = build(env, VL, [user("Which colours?", env.image("red"), env.image("green"))])
    content = built.messages[0]["content"]
    assert [p["type"] for p in content] == ["image_url", "image_url", "text"]
    assert colors(content) == ["red", "green"]
    assert content[-1] == {"type": "text", "text": "Which colours?"}
    assert all(p["image_url"]["detail"] == "low" for p in content[:2])
    assert built.file_ids == []  # data URLs, no Files API for a self-hosted server


def test_media_without_text_and_the_detail_levels(env):
    blue = replace(env.image("blue"), detail="high")  # the item's own level wins
    built = build(env, VL, [user("", env.image("red"), blue)], detail="low")
    content = built.messages[0]["content"]
    assert [p["type"] for p in content] == ["image_url", "image_url"]  # no empty text part
    assert [p["image_url"]["detail"] for p in content] == ["low", "high"]
    assert colors(content) == ["red", "blue"]


def test_earlier_turns_keep_their_images(env):
    built = build(
        env,
        VL,
        [
            user("What colour?", env.image("red")),
            assistant("Red."),
            user("And this?", env.image("blue")),
            assistant("Blue."),
            user("Which came first?"),
        ],
    )
    assert [colors(m["content"]) for m in built.messages] == [["red"], [], ["blue"], [], []]
    assert built.messages[4]["content"] == "Which came first?"
    assert built.messages[1] == {"role": "assistant", "content": "Red."}


def test_a_video_goes_as_timestamped_frames_with_a_note(env):
    built = build(env, VL, [user("What happens?", env.video("holiday.mp4"))])
    content = built.messages[0]["content"]
    kinds = [p["type"] for p in content]
    assert kinds == ["text", "text", "image_url", "text", "image_url", "text"]
    assert content[0]["text"].startswith("Video holiday.mp4 (length ")
    assert content[1]["text"].startswith("[") and content[-1]["text"] == "What happens?"
    assert note_keys(built) == ["video.frames"]
    note = built.notes[0]
    assert note.record["params"]["count"] == 2 and note.record["params"]["name"] == "holiday.mp4"
    assert "Step3-VL-10B does not take video directly" in note.text(EN)
    assert "holiday.mp4" in note.text(ZH) and "不能直接读取视频" in note.text(ZH)


# -- the image-limit rule ----------------------------------------------------------------------


def test_the_newest_message_over_the_limit_is_refused(env):
    spec = replace(VL, max_images=2)
    messages = [user("three", env.image("red"), env.image("green"), env.image("blue"))]
    with pytest.raises(TurnRejected) as err:
        build(env, spec, messages)
    assert err.value.key == "model.too_many_images"
    assert err.value.params == {"model": "Step3-VL-10B", "limit": 2, "count": 3}
    assert str(err.value).startswith("Step3-VL-10B takes at most 2 images per request;")


def test_video_frames_count_toward_the_limit_of_the_newest_message(env):
    spec = replace(VL, max_images=2)  # the 4 s video becomes 2 frames: 2 + 1 image = 3
    with pytest.raises(TurnRejected) as err:
        build(env, spec, [user("both", env.video(), env.image("red"))])
    assert err.value.params["count"] == 3
    assert build(env, spec, [user("only the video", env.video())]).notes  # 2 frames fit


def test_older_images_are_left_out_oldest_first(env):
    messages = [
        user("first", env.image("red"), env.image("green")),
        assistant("ok"),
        user("second", env.image("blue")),
        assistant("ok"),
        user("third", env.image("yellow"), env.image("cyan")),
    ]
    built = build(env, replace(VL, max_images=3), messages)
    assert [colors(m["content"]) for m in built.messages] == [
        [],
        [],
        ["blue"],
        [],
        ["yellow", "cyan"],
    ]
    assert built.messages[0]["content"] == "first"  # its text stays, as a plain string
    assert note_keys(built) == ["context.dropped_images"]
    assert built.notes[0].record["params"] == {"count": 2, "model": "Step3-VL-10B", "limit": 3}
    assert built.notes[0].text(EN) == (
        "2 of the oldest images were left out: Step3-VL-10B takes at most 3 images per request."
    )
    # One more allowed: only the very oldest goes.
    built = build(env, replace(VL, max_images=4), messages)
    assert [colors(m["content"]) for m in built.messages][::2] == [
        ["green"],
        ["blue"],
        ["yellow", "cyan"],
    ]
    assert built.notes[0].record["params"]["count"] == 1


def test_the_newest_message_is_never_trimmed(env):
    messages = [
        user("old", env.image("red")),
        assistant("ok"),
        user("new", env.image("green"), env.image("blue")),
    ]
    built = build(env, replace(VL, max_images=2), messages)
    assert colors(built.messages[0]["content"]) == []
    assert colors(built.messages[2]["content"]) == ["green", "blue"]
    # The message the turn is about need not be the last one: its images are the ones kept.
    built = build(env, replace(VL, max_images=1), messages, newest=0)
    assert [colors(m["content"]) for m in built.messages] == [["red"], [], []]
    assert built.notes[0].record["params"]["count"] == 2


def test_within_the_limit_nothing_is_left_out(env):
    messages = [user("a", env.image("red")), assistant("ok"), user("b", env.image("green"))]
    built = build(env, replace(VL, max_images=2), messages)
    assert [colors(m["content"]) for m in built.messages] == [["red"], [], ["green"]]
    assert built.notes == []


# -- media a model cannot take, and notes ----------------------------------------------------------


def test_older_media_a_text_only_model_cannot_see_are_skipped(env):
    spec = local_spec("SmolLM2-135M-Instruct")
    assert not spec.images and spec.video is VideoMode.NONE
    messages = [
        user("Look", env.image("red"), env.video()),
        assistant("I cannot see it."),
        user("Just text now"),
    ]
    built = build(env, spec, messages)
    assert built.messages[0] == {"role": "user", "content": "Look"}  # a string, not parts
    assert note_keys(built) == ["context.skipped_media"]
    assert built.notes[0].record["params"] == {"count": 2, "model": "SmolLM2-135M-Instruct"}
    assert built.notes[0].text(EN) == (
        "2 earlier attachment(s) were not sent: SmolLM2-135M-Instruct cannot see them."
    )


def test_a_model_without_video_keeps_the_images_and_skips_the_video(env):
    spec = replace(VL, video=VideoMode.NONE)
    messages = [user("Both", env.image("red"), env.video()), assistant("ok"), user("More?")]
    built = build(env, spec, messages)
    content = built.messages[0]["content"]
    assert [p["type"] for p in content] == ["image_url", "text"] and colors(content) == ["red"]
    assert note_keys(built) == ["context.skipped_media"]
    assert built.notes[0].record["params"]["count"] == 1


def test_notes_only_for_the_newest_messages_media(env):
    older = build(env, VL, [user("old", env.gif("party.gif")), assistant("ok"), user("next")])
    assert older.notes == []  # the older GIF is sent, but said about when it was sent
    built = build(env, VL, [user("new", env.gif("party.gif"))])
    assert note_keys(built) == ["media.first_frame_only"]
    # Named the way the message named it, not the way the library first stored it.
    assert built.notes[0].text(EN) == "party.gif: only the first frame of the animation is sent."
    assert built.notes[0].text(ZH) == "party.gif：动图只发送了第一帧。"
    assert colors(built.messages[0]["content"]) == ["red"]  # the first frame


def test_the_same_image_gives_byte_identical_data_urls(env):
    messages = [user("What colour?", env.image("magenta")), assistant("Magenta."), user("Sure?")]
    first = build(env, VL, messages)
    second = build(env, VL, messages)
    assert first.messages == second.messages
    # Also when the cached form is gone and a new process makes it again.
    shutil.rmtree(env.library.cache)
    library = MediaLibrary(env.tmp / "media")
    resolver = MediaResolver(env.settings, library, env.store, env.backend)
    third = asyncio.run(build_request(VL, tuple(messages), 2, "low", resolver))
    assert third.messages == first.messages
    assert colors(third.messages[0]["content"]) == ["magenta"]
