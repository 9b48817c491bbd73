"""The task template table (app/templates.json): every template complete in both languages."""

from __future__ import annotations

import re

import pytest

from app.i18n import EN, ZH
from app.samples import sample_file
from app.templates import templates

CJK = re.compile(r"[\u4e00-\u9fff]")
TEMPLATES = templates()


def test_the_tasks_the_issue_names_are_there():
    ids = {tpl.id for tpl in TEMPLATES}
    assert {"describe", "whiteboard", "chart", "receipt", "ui_code", "screen_recording"} <= ids
    assert "compare" in ids
    assert len(ids) == len(TEMPLATES)  # ids are unique


@pytest.mark.parametrize("tpl", TEMPLATES, ids=lambda tpl: tpl.id)
def test_each_template_has_both_languages_a_detail_and_what_it_needs(tpl, tmp_path):
    for lang in (EN, ZH):
        assert tpl.title_in(lang).strip() and tpl.prompt_in(lang).strip()
        assert tpl.title.get(lang) and tpl.prompt.get(lang), f"{tpl.id} lacks {lang}"
    assert CJK.search(tpl.prompt[ZH]) and CJK.search(tpl.title[ZH])
    assert not CJK.search(tpl.prompt[EN]) and not CJK.search(tpl.title[EN])
    assert tpl.detail in ("low", "high")
    assert tpl.needs and set(tpl.needs) <= {"image", "video"}
    for name in tpl.sample:  # the starter cards' samples are drawn by the project itself
        assert sample_file(name, tmp_path).is_file()


def test_reading_small_print_asks_for_high_detail():
    by_id = {tpl.id: tpl for tpl in TEMPLATES}
    assert by_id["receipt"].detail == "high"
    assert by_id["ui_code"].detail == "high"
    assert by_id["receipt"].structured and by_id["chart"].structured
