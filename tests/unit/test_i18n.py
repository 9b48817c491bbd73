"""app/i18n.py and the string table in app/strings.py."""

from __future__ import annotations

import re
import string

import pytest

from app.i18n import EN, ZH, Problem, language_of, record, render_record, t, table
from app.strings import STRINGS

CJK = re.compile(r"[\u2e80-\u9fff\u3000-\u303f\uf900-\ufaff\uff00-\uffef]")
# What may stay English inside a Chinese string: quoted code, URLs, environment variables and
# other identifiers, file names such as .env, model ids and numbers with units.
CODE = re.compile(
    r"""'[^']*'|"[^"]*"|`[^`]*`"""  # quoted
    r"|\w+://\S*"  # URLs and schemes
    r"|\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b(?:=\S*)?"  # STEP_API_KEY=...
    r"|\.\w+\b"  # .env
    r"|\b\w*[\d_]\w*\b"  # ids and names with digits or underscores: image_url, step-3.7
)
ENGLISH_RUN = re.compile(r"[A-Za-z]+(?:[ ,]+[A-Za-z]+){3,}")  # four or more words in a row


def placeholders(template: str) -> set[tuple[str, str, str | None]]:
    return {
        (name, spec, conversion)
        for _, name, spec, conversion in string.Formatter().parse(template)
        if name is not None
    }


def english_sentence_in(chinese: str) -> str | None:
    """A run of four or more English words outside placeholders and code, if there is one."""
    text = CODE.sub(" ", re.sub(r"\{[^{}]*\}", " ", chinese))
    found = ENGLISH_RUN.search(text)
    return found.group(0) if found else None


def sample_params(template: str) -> dict:
    """A value for every placeholder that its format spec accepts."""
    return {
        name: 1234.5 if spec else "X"
        for name, spec, _ in placeholders(template)
        if name  # a positional field would be a table bug caught elsewhere
    }


# -- language_of ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        ("zh-CN", ZH),
        ("zh-TW", ZH),  # Traditional readers get Simplified rather than English
        ("zh", ZH),
        ("ZH-cn", ZH),
        ("zh-Hans-CN", ZH),
        ("en-US", EN),
        ("en", EN),
        ("en-US,en;q=0.9,zh-CN;q=0.8", EN),
        ("zh-CN,zh;q=0.9,en;q=0.8", ZH),
        ("en-GB;q=0.7, zh-CN;q=0.8", ZH),  # by weight, not by position
        ("fr-FR,de;q=0.9,zh;q=0.3", ZH),  # the only one of ours the reader takes
        ("fr-FR,de;q=0.9,en;q=0.3,zh;q=0.2", EN),
        ("en;q=0.5,zh;q=0.5", EN),  # a tie: the earlier entry
        ("zh;q=0.5,en;q=0.5", ZH),
        ("zh-CN;q=0,en;q=0.1", EN),
        ("en-US,zh;q=0", EN),
        ("", EN),
        (None, EN),
        ("*", EN),
        ("fr-FR", EN),
        ("garbage;;;,,,==q=", EN),
        ("zh;q=abc,en", EN),
        ("\x00\udcff, ;q=1", EN),
    ],
)
def test_language_of(header, lang):
    assert language_of(header) == lang


@pytest.mark.parametrize("header", ["zh-CN;q=0", "fr, zh;q=0", "de;q=1, zh-TW;q=0.0"])
def test_q_zero_means_not_acceptable(header):
    assert language_of(header) == EN


# -- t and records -----------------------------------------------------------------------------


def test_t_fills_in_parameters_in_each_language():
    assert t("media.empty", EN, name="cat.png") == "cat.png is empty (0 bytes)."
    assert t("media.empty", ZH, name="cat.png") == "cat.png 是空文件（0 字节）。"
    assert t("media.too_large", EN, name="v.mp4", size=700.4, limit=512) == (
        "v.mp4 is 700 MB; the limit is 512 MB."
    )
    assert t("text.too_long", EN, count=1_234_567, limit=1_000_000).startswith(
        "The message is 1,234,567 characters long; the limit is 1,000,000."
    )
    assert t("model.unknown", EN, model="gpt", known="a, b") == (
        "Unknown model 'gpt'. Available: a, b."
    )
    assert t("answer.thinking", ZH) == "思考过程"
    assert t("answer.thinking", "fr") == "Thinking"  # any other language: English


def test_t_renders_records_as_parameters_in_the_same_language():
    where = record("backend.where.local", host="gpu:8000")
    assert t("backend.unreachable", EN, where=where) == (
        "Cannot reach the self-hosted model server at gpu:8000. Is it running?"
    )
    assert (
        t("backend.unreachable", ZH, where=where)
        == "无法连接位于 gpu:8000 的本地模型服务，请确认它正在运行。"
    )
    why = record("video.why.model", model="tiny-vl")
    frames = {"name": "a.mp4", "why": why, "count": 4, "length": "0:08", "interval": "2"}
    assert t("video.frames", EN, **frames).startswith(
        "a.mp4: tiny-vl does not take video directly;"
    )
    assert t("video.frames", ZH, **frames).startswith("a.mp4：tiny-vl 不能直接读取视频，")


def test_a_record_is_plain_data():
    assert record("media.empty", name="x") == {"key": "media.empty", "params": {"name": "x"}}


def test_render_record():
    stored = record("media.empty", name="cat.png")
    assert render_record(stored, EN) == "cat.png is empty (0 bytes)."
    assert render_record(stored, ZH) == "cat.png 是空文件（0 字节）。"
    # Older rows hold plain English text: shown as it is, in any language.
    assert render_record("Sent 3 frames.", ZH) == "Sent 3 frames."
    # A record whose parameters do not fit its text (an older version's) shows its key.
    assert render_record(record("media.empty", file="x"), EN) == "media.empty"
    assert render_record(record("media.too_large", name="x", size="big", limit=1), EN) == (
        "media.too_large"
    )


def test_render_record_with_an_unknown_key_does_not_raise():
    text = render_record(record("no.such.key", name="x"), ZH)
    assert isinstance(text, str) and "no.such.key" in text


def test_render_record_with_an_unknown_key_shows_the_key():
    assert render_record(record("no.such.key", name="x"), EN) == "no.such.key"


def test_problem_is_english_for_logs_and_worded_per_reader():
    problem = Problem("upload.expired", name="cat.png")
    assert str(problem).startswith("cat.png is no longer on the server")
    assert problem.text(ZH).startswith("cat.png 已不在服务器上")
    assert render_record(problem.as_record(), ZH) == problem.text(ZH)


def test_table_for_the_front_end():
    assert table(ZH, {"thinking": "answer.thinking"}) == {"thinking": "思考过程"}
    everything = table(EN)
    assert set(everything) == set(STRINGS) and everything["notice.not_sent"] == "Not sent"


# -- the whole table ------------------------------------------------------------------------------


def test_every_entry_has_english_and_chinese():
    for key, entry in STRINGS.items():
        assert isinstance(entry, tuple) and len(entry) == 2, key
        english, chinese = entry
        assert english.strip() and chinese.strip(), key
        assert english != chinese or not re.search("[A-Za-z]", english), key


def test_both_languages_have_the_same_placeholders():
    for key, (english, chinese) in STRINGS.items():
        assert placeholders(english) == placeholders(chinese), key
        assert all(name for name, _, _ in placeholders(english)), key  # all named


def test_every_entry_formats_in_both_languages():
    for key, (english, _chinese) in STRINGS.items():
        params = sample_params(english)
        for lang in (EN, ZH):
            text = t(key, lang, **params)
            assert "{" not in text and "}" not in text, (key, lang, text)


def test_no_english_text_holds_chinese():
    for key, (english, _) in STRINGS.items():
        assert not CJK.search(english), (key, english)


def test_no_chinese_text_holds_an_english_sentence():
    for key, (_, chinese) in STRINGS.items():
        assert english_sentence_in(chinese) is None, (key, english_sentence_in(chinese))
        assert CJK.search(chinese), key


def test_the_english_sentence_guard_itself():
    assert english_sentence_in("请稍后再试。Please try again later.") == "Please try again later"
    assert english_sentence_in("对话太长。{said} Start a new chat") == "Start a new chat"
    # Code, names and placeholders are not sentences.
    assert english_sentence_in("请在 .env 中填写 STEP_API_KEY=... 后重启。") is None
    assert english_sentence_in("请在请求中携带 'Authorization: Bearer <密钥>'。") is None
    assert english_sentence_in("{model} 无法观看视频（{name} {other} {where} {why}）。") is None
    assert english_sentence_in("支持 MP4、MOV、MKV 和 WebM。") is None
    assert english_sentence_in("image_url 中是视频，请改用 video_url。") is None
