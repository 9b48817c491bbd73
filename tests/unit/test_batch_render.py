"""app/ui/batch_render.py: the Batch tab's progress block, results table and list of jobs."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from app.batch.records import Job, JobCounts, JobRow, JobState, RowState
from app.i18n import EN, ZH, record
from app.ui import batch_render as br

NOW = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC


def make_job(**changes) -> Job:
    job = Job(
        id="job-1",
        owner="ada",
        title="10 files · Describe",
        source="page",
        model="Step3-VL-10B",
        effort=None,
        detail="low",
        prompt="Describe {filename}",
        template=None,
        state=JobState.RUNNING,
        counts=JobCounts(total=10, done=6, failed=1, pending=3),
        created_at=NOW - 30,
        started_at=NOW - 25,
        finished_at=None,
        eta_s=12.0,
        paused_until=None,
    )
    return replace(job, **changes)


def make_row(position: int, **changes) -> JobRow:
    row = JobRow(
        job_id="job-1",
        position=position,
        name=f"photo-{position}.png",
        media_sha=f"{position:064x}",
        kind="image",
        state=RowState.DONE,
        answer=f"Answer {position}",
        error=None,
        fields=None,
        fields_ok=None,
        ttft_s=0.2,
        total_s=1.25,
        tokens_in=11,
        tokens_out=7,
        attempts=1,
        request=None,
        response=None,
    )
    return replace(row, **changes)


def text_of(markup: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", markup)).strip()


# -- progress -------------------------------------------------------------------------------------


def test_progress_shows_counts_bar_and_time_left():
    html = br.progress_html(make_job(), EN, NOW)
    assert 'data-done="6"' in html and 'data-failed="1"' in html and 'data-remaining="3"' in html
    assert "width:60.00%" in html and "width:10.00%" in html  # done, failed shares of the bar
    assert 'aria-valuenow="7"' in html and 'aria-valuemax="10"' in html
    words = text_of(html)
    assert "6 done · 1 failed · 3 remaining" in words
    assert "about 12 s left" in words
    assert "Running" in words


def test_progress_before_any_row_finished_estimates_and_after_a_rate_limit_waits():
    fresh = make_job(counts=JobCounts(10, 0, 0, 10), eta_s=None)
    assert "estimating the time left" in text_of(br.progress_html(fresh, EN, NOW))
    paused = make_job(paused_until=NOW + 95)
    words = text_of(br.progress_html(paused, EN, NOW))
    assert "slow down: continuing in 1 min 35 s" in words
    assert "left" not in words  # the pause, not an estimate that ignores it


def test_progress_of_a_finished_job_says_how_long_it_took():
    done = make_job(
        state=JobState.DONE,
        counts=JobCounts(10, 8, 2, 0),
        finished_at=NOW,
        started_at=NOW - 125,
        eta_s=None,
    )
    html = br.progress_html(done, EN, NOW + 500)
    words = text_of(html)
    assert "took 2 min 5 s" in words and "Done" in words
    assert 'data-remaining="0"' in html and 'aria-valuenow="10"' in html
    assert br.finished(done) and not br.finished(make_job())


def test_progress_in_chinese_has_no_english_words_but_the_model_id():
    html = br.progress_html(make_job(paused_until=NOW + 5, title="小票"), ZH, NOW)
    words = text_of(html).replace("Step3-VL-10B", "")
    assert "进行中" in words and "完成 6 · 失败 1 · 剩余 3" in words and "5.0 秒后继续" in words
    assert not re.search(r"[A-Za-z]{3,}", words), words


def test_a_template_job_is_called_by_the_task_in_the_readers_language():
    job = make_job(template="receipt", title="Read this receipt or invoice. Return JSON")
    assert "Receipt / invoice → table" in br.progress_html(job, EN, NOW)
    assert "小票/发票 → 表格" in br.jobs_list([job], None, lang=ZH, tz=None, now=NOW)
    assert "10 files · Describe" in br.progress_html(make_job(), EN, NOW)


def test_long_durations():
    assert br.long_duration(0.4, EN) == "400 ms"
    assert br.long_duration(42.4, EN) == "42 s"
    assert br.long_duration(3725, EN) == "1 h 2 min"
    assert br.long_duration(61, ZH) == "1 分 1 秒"


# -- results table --------------------------------------------------------------------------------


def test_table_lists_rows_in_order_with_status_time_tokens_and_thumbnails():
    rows = [
        make_row(0),
        make_row(
            1, state=RowState.RUNNING, answer="", total_s=None, tokens_in=None, tokens_out=None
        ),
        make_row(
            2, state=RowState.PENDING, answer="", total_s=None, tokens_in=None, tokens_out=None
        ),
    ]
    html = br.results_table(make_job(), rows, EN)
    positions = re.findall(r'data-position="(\d+)"', html)
    assert positions == ["0", "1", "2"]
    first = html.split('data-position="0"')[1].split("</tr>")[0]
    assert "photo-0.png" in first and "Answer 0" in first and "Done" in first
    assert "1.2 s" in first and "11 / 7" in first
    assert f'src="thumbs/{0:064x}.jpg"' in first
    assert "Running" in html and "Waiting" in html


def test_failed_row_says_why_in_the_readers_language():
    why = record("media.damaged", name="broken.png")
    rows = [make_row(0, state=RowState.FAILED, answer="", error=why, media_sha=None, kind=None)]
    english = br.results_table(make_job(), rows, EN)
    chinese = br.results_table(make_job(), rows, ZH)
    assert "broken.png" in text_of(english) and "Failed" in english
    assert "失败" in chinese
    assert text_of(english) != text_of(chinese)
    assert '<span class="batch-thumb none">' in english  # nothing to show, no broken image
    plain = br.results_table(make_job(), [make_row(0, state=RowState.FAILED, error="HTTP 500")], EN)
    assert "HTTP 500" in plain


def test_structured_answers_become_columns_and_a_non_json_answer_is_marked():
    rows = [
        make_row(
            0,
            fields={"merchant": "ACME", "total": 16.95, "items": [{"name": "tea"}]},
            fields_ok=True,
        ),
        make_row(1, answer="Sorry, I cannot read this.", fields=None, fields_ok=False),
        make_row(2, fields={"merchant": "Bäckerei", "date": None}, fields_ok=True),
    ]
    html = br.results_table(make_job(template="receipt"), rows, EN)
    heads = re.findall(r'<th class="c-field">([^<]*)</th>', html)
    assert heads == ["merchant", "total", "items", "date"]
    first = html.split('data-position="0"')[1].split("</tr>")[0]
    assert "ACME" in first and "16.95" in first and "[{&quot;name&quot;: &quot;tea&quot;}]" in first
    second = html.split('data-position="1"')[1].split("</tr>")[0]
    assert 'data-json="false"' in html.split('data-position="1"')[1][:200]
    assert "Not valid JSON" in second and "Sorry, I cannot read this." in second
    third = html.split('data-position="2"')[1].split("</tr>")[0]
    assert "—" in third  # null is shown as a dash, not "None"
    assert "Not valid JSON" not in first + third


def test_names_and_answers_are_escaped():
    rows = [make_row(0, name='<img src=x onerror="alert(1)">.png', answer="<script>x</script>")]
    html = br.results_table(make_job(title="<b>t</b>"), rows, EN)
    assert "<script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;" in html
    assert "<b>t</b>" not in br.progress_html(make_job(title="<b>t</b>"), EN, NOW)


def test_a_large_job_shows_a_bounded_table_and_says_the_downloads_hold_the_rest():
    rows = [make_row(i, answer="word " * 1000) for i in range(br.TABLE_ROWS_MAX + 50)]
    html = br.results_table(make_job(), rows, EN)
    assert html.count('class="batch-row') == br.TABLE_ROWS_MAX
    assert f"first {br.TABLE_ROWS_MAX} of {br.TABLE_ROWS_MAX + 50} files" in text_of(html)
    assert "word " * 200 in html and "word " * 400 not in html  # long answers clipped
    small = br.results_table(make_job(), rows[:3], EN)
    assert "batch-more" not in small


def test_no_job_renders_nothing():
    assert br.results_table(None, [], EN) == ""
    assert br.downloads_html(None, EN) == ""


def test_download_links_are_relative_and_per_job():
    html = br.downloads_html(make_job(id="a/b"), ZH)
    assert 'href="download/batches/a%2Fb.csv"' in html
    assert 'href="download/batches/a%2Fb.jsonl"' in html
    assert "下载 CSV" in html


# -- list of jobs ---------------------------------------------------------------------------------


def test_jobs_list_marks_the_open_job_and_shows_progress_and_time():
    jobs = [
        make_job(id="new", title="Receipts", created_at=NOW - 60),
        make_job(
            id="old",
            title="Photos",
            state=JobState.DONE,
            counts=JobCounts(4, 3, 1, 0),
            created_at=NOW - 3 * 86400,
        ),
    ]
    html = br.jobs_list(jobs, "old", lang=EN, tz="UTC", now=NOW)
    assert re.findall(r'data-id="([^"]+)"', html) == ["new", "old"]
    assert 'class="job-row selected" role="listitem" tabindex="0" data-id="old"' in html
    words = text_of(html)
    assert "Receipts Running 7/10 · 22:12" in words
    assert "Photos Done 4/4 · Nov 11 22:13" in words
    zh = text_of(br.jobs_list(jobs, None, lang=ZH, tz="Asia/Shanghai", now=NOW))
    assert "已完成 4/4 · 11月12日 06:13" in zh


@pytest.mark.parametrize("lang", [EN, ZH])
def test_empty_jobs_list_says_so(lang):
    html = br.jobs_list([], None, lang=lang, tz=None, now=NOW)
    assert "job-empty" in html and text_of(html)


def test_json_shown_as_columns_is_not_repeated_in_the_answer_cell():
    answer = '```json\n{"merchant": "ACME", "total": 16.95}\n```\nThe tax line was hard to read.'
    rows = [make_row(0, answer=answer, fields={"merchant": "ACME", "total": 16.95}, fields_ok=True)]
    cell = br.results_table(make_job(template="receipt"), rows, EN).split('class="c-answer"')[-1]
    cell = cell.split("</td>")[0]
    assert "The tax line was hard to read." in cell
    assert "```" not in cell and "merchant" not in cell
