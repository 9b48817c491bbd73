import io
import json
import zipfile

import pytest

from app.exports import ImportRejected, export_json, export_markdown_zip, import_json
from app.media import MediaLibrary
from app.store import COMPLETE, STOPPED, MediaRef, Store
from tests.media_factory import make_png, make_video

OWNER = "anon:exporter"


@pytest.fixture
def filled(tmp_path):
    store = Store(tmp_path / "db.sqlite3")
    library = MediaLibrary(tmp_path / "media")
    picture = library.ingest_file(make_png(tmp_path / "invoice.png", "white"), "invoice.png")
    clip = library.ingest_file(make_video(tmp_path / "rec.mp4", seconds=2), "rec.mp4")
    conv = store.conversations.create(OWNER, model="step-3.7-flash", effort="high", detail="high")
    store.messages.add_user(
        OWNER,
        conv.id,
        "Extract the invoice",
        [MediaRef.from_stored(picture), MediaRef.from_stored(clip)],
    )
    answer = store.messages.start_answer(conv.id, model="step-3.7-flash", effort="high")
    store.messages.save_answer(
        answer,
        text="| total | 42 |",
        thinking="reading numbers",
        status=COMPLETE,
        notes=["rec.mp4 sent natively"],
        usage={"prompt_tokens": 3, "completion_tokens": 4},
    )
    store.messages.add_user(OWNER, conv.id, "And the date?")
    second = store.messages.start_answer(conv.id, model="step-3.7-flash", effort="high")
    store.messages.save_answer(second, text="2026-", thinking="", status=STOPPED)
    store.conversations.update(OWNER, conv.id, title="Invoice from ACME")
    return store, library, conv


def comparable(store, owner, conversation_id):
    return [
        (
            m.role,
            m.text,
            m.thinking,
            m.status,
            m.notes,
            m.usage,
            m.model,
            [(r.sha256, r.filename, r.kind, r.mime) for r in m.media],
        )
        for m in store.messages.list(owner, conversation_id)
    ]


def test_json_round_trip_is_lossless(filled, tmp_path):
    store, library, conv = filled
    name, data = export_json(store, library, OWNER, conv.id)
    assert name == "Invoice_from_ACME.json"
    other_store = Store(tmp_path / "other.sqlite3")
    other_library = MediaLibrary(tmp_path / "other-media")
    imported = import_json(other_store, other_library, "anon:someone-else", data)
    assert imported.title == "Invoice from ACME" and imported.model == "step-3.7-flash"
    assert (imported.effort, imported.detail) == ("high", "high")
    assert comparable(other_store, "anon:someone-else", imported.id) == comparable(
        store, OWNER, conv.id
    )
    for message in other_store.messages.list("anon:someone-else", imported.id):
        for ref in message.media:
            assert (
                other_library.blob_path(ref.sha256).read_bytes()
                == library.blob_path(ref.sha256).read_bytes()
            )


def test_exports_hold_no_secrets_or_server_paths(filled, tmp_path):
    store, library, conv = filled
    _, data = export_json(store, library, OWNER, conv.id)
    text = data.decode()
    assert str(tmp_path) not in text and "/media/" not in text and "sk-" not in text
    assert OWNER not in text
    _, archive = export_markdown_zip(store, library, OWNER, conv.id)
    with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
        names = zipped.namelist()
        markdown = zipped.read("conversation.md").decode()
    assert "conversation.md" in names and sum(n.startswith("media/") for n in names) == 2
    assert "# Invoice from ACME" in markdown and "| total | 42 |" in markdown
    assert "![invoice.png](media/" in markdown and "reading numbers" in markdown
    assert str(tmp_path) not in markdown


def test_other_owners_cannot_export(filled):
    store, library, conv = filled
    with pytest.raises(KeyError):
        export_json(store, library, "anon:intruder", conv.id)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff\xfe", "not a JSON conversation export"),
        (b'{"format": "something-else"}', "not a conversation exported by this app"),
        (json.dumps({"format": "vlm-webui.conversation", "version": 99}).encode(), "Unsupported"),
        (
            json.dumps(
                {
                    "format": "vlm-webui.conversation",
                    "version": 1,
                    "messages": [{"role": "user", "media": [{"data_base64": "!!"}]}],
                }
            ).encode(),
            "damaged",
        ),
    ],
)
def test_bad_imports(tmp_path, data, message):
    with pytest.raises(ImportRejected, match=message):
        import_json(Store(tmp_path / "db"), MediaLibrary(tmp_path / "m"), OWNER, data)
