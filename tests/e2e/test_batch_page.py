"""The Batch tab as a person uses it, in headless Chromium against a real server and the fake
model; and the same tab's handlers and downloads driven by a hostile client over raw HTTP."""

from __future__ import annotations

import csv
import io
import re
import time

import httpx
import pytest

from tests.conftest import start_server
from tests.e2e.browser import open_page, wait_until
from tests.fake_upstream import Reply
from tests.media_factory import make_png, make_truncated_jpeg
from tests.raw_gradio import RawPage

pytestmark = pytest.mark.e2e

PROMPT = "Describe {filename}"
COLOURS = ["red", "green", "blue", "orange", "purple", "teal", "navy", "olive"]


@pytest.fixture
def server(fake_upstream, tmp_path):
    server = start_server(fake_upstream, tmp_path / "data", tmp_path, WEBUI_BATCH_CONCURRENCY="3")
    yield server
    server.stop()


def question_text(body: dict) -> str:
    """The text of the newest user message of a chat request (what the fake reads)."""
    content = [m for m in body["messages"] if m.get("role") == "user"][-1]["content"]
    if isinstance(content, list):
        return " ".join(str(p.get("text") or "") for p in content if isinstance(p, dict)).strip()
    return str(content)


def answers_given(upstream, replies: list[str]) -> dict[str, str]:
    """File name → the answer the fake gave its (last) successful request. The fake answers
    requests in the order they arrive with the scripted replies; a FAULT question's first
    request fails without taking one."""
    given: dict[str, str] = {}
    faulted: set[str] = set()
    index = 0
    for body in upstream.chat_requests():
        text = question_text(body)
        name = text.strip().removeprefix("Describe ").strip()
        if "FAULT:" in text and text not in faulted:
            faulted.add(text)
            continue
        given[name] = replies[index]
        index += 1
    return given


def progress(page) -> dict[str, str]:
    block = page.locator("#batch-progress .batch-progress")
    if block.count() == 0:
        return {}
    return block.evaluate("node => ({...node.dataset})")


def wait_for_progress(page, timeout_s: float = 60, **expected: str) -> dict[str, str]:
    wait_until(
        lambda: all(progress(page).get(k) == v for k, v in expected.items()),
        timeout_s,
        lambda: f"progress is {progress(page)}, expected {expected}",
    )
    return progress(page)


def table_rows(page) -> list[dict[str, str]]:
    return page.evaluate(
        """() => [...document.querySelectorAll('#batch-results tr.batch-row')].map((row) => ({
            name: row.dataset.name, state: row.dataset.state,
            answer: row.querySelector('.c-answer')?.innerText || '',
            thumb: row.querySelector('img.batch-thumb')?.getAttribute('src') || '',
            thumbLoaded: !!row.querySelector('img.batch-thumb')?.naturalWidth,
        }))"""
    )


def test_ten_files_one_failing_once_and_one_corrupt_then_retry_and_csv(
    browser, server, upstream, tmp_path
):
    folder = tmp_path / "files"
    folder.mkdir()
    files = [make_png(folder / f"photo-{i + 1}.png", color=c) for i, c in enumerate(COLOURS)]
    files.insert(3, make_png(folder / "FAULT:500.png", color="black"))  # fails once upstream
    files.append(make_truncated_jpeg(folder / "broken.jpg"))  # cannot be opened at all
    replies = [f"Answer number {n}: a picture." for n in range(1, 11)]
    # About a second per answer, three at a time: the page shows the job part-way. The 9th
    # answer (the retried FAULT row's) takes two seconds: the timer ticks while it runs.
    upstream.script(
        *(
            Reply(content=text, chunk_size=4, delay_s=0.3 if n == 8 else 0.12)
            for n, text in enumerate(replies)
        )
    )

    page = open_page(browser, server.url)
    page.click("#batch-tab-button")
    page.set_input_files("#batch-files input[type=file]", [str(f) for f in files])
    wait_until(
        lambda: page.locator("#batch-files tr.file").count() == 10,
        30,
        lambda: f"uploaded: {page.locator('#batch-files tr.file').all_inner_texts()}",
    )
    page.fill("#batch-prompt textarea", PROMPT)
    page.click("#batch-start")

    # The table fills in as rows finish (the timer's updates), then the progress reaches the
    # end: 8 answered, the FAULT file and the corrupt one failed.
    partway: list[list[str]] = []

    def finished() -> bool:
        states = [r["state"] for r in table_rows(page)]
        if "done" in states and ("pending" in states or "running" in states):
            partway.append(states)
        return progress(page).get("state") == "done"

    wait_until(finished, 60, lambda: f"progress is {progress(page)}")
    assert partway, "the table never showed some rows answered and others still to come"
    done = wait_for_progress(page, state="done", remaining="0")
    assert (done["total"], done["done"], done["failed"]) == ("10", "8", "2")
    bar = page.locator("#batch-progress .bp-bar")
    assert bar.get_attribute("aria-valuenow") == bar.get_attribute("aria-valuemax") == "10"
    assert page.locator("#batch-cancel").is_hidden()  # nothing left to cancel

    rows = table_rows(page)
    assert [r["name"] for r in rows] == [f.name for f in files]  # in the order given
    by_name = {r["name"]: r for r in rows}
    failed = {name for name, r in by_name.items() if r["state"] == "failed"}
    assert failed == {"FAULT:500.png", "broken.jpg"}
    assert "500" in by_name["FAULT:500.png"]["answer"]  # says why: the service's error
    assert "internal error" in by_name["FAULT:500.png"]["answer"]
    assert "broken.jpg" in by_name["broken.jpg"]["answer"]  # says why: this file is damaged
    assert by_name["broken.jpg"]["thumb"] == ""
    given = answers_given(upstream, replies)
    for name, row in by_name.items():
        if name not in failed:
            assert row["state"] == "done" and row["answer"] == given.get(name), (name, given)
            assert row["thumb"].startswith("thumbs/")
    wait_until(lambda: all(r["thumbLoaded"] for r in table_rows(page) if r["thumb"]), 10)

    # Retry failed: the FAULT file is asked again and answered; the corrupt one stays failed
    # (it never reached the model: nothing to send).
    calls: list[str] = []  # the page's calls to the server's events (a tick is one)
    page.on(
        "request",
        lambda r: calls.append(r.url) if r.method == "POST" and "/gradio_api/" in r.url else None,
    )
    assert page.locator("#batch-retry").is_visible()
    page.click("#batch-retry")
    after = wait_for_progress(page, state="done", done="9", failed="1", remaining="0")
    assert len(calls) >= 2, calls  # the click, then the timer's ticks while the row ran
    assert after["total"] == "10"
    by_name = {r["name"]: r for r in table_rows(page)}
    given = answers_given(upstream, replies)
    assert by_name["FAULT:500.png"]["state"] == "done"
    assert by_name["FAULT:500.png"]["answer"] == given["FAULT:500.png"]
    assert by_name["broken.jpg"]["state"] == "failed"
    assert page.locator("#batch-retry").is_hidden()  # a damaged file cannot be sent again
    sent = [question_text(b) for b in upstream.chat_requests()]
    assert len(sent) == 10 and sent.count("Describe FAULT:500.png") == 2  # no row sent twice
    assert not any("broken.jpg" in text for text in sent)

    # The CSV download (UTF-8 with BOM, for Excel) holds the answers the fake gave.
    with page.expect_download() as download:
        page.click("#batch-downloads a[data-format=csv]")
    raw = download.value.path().read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    header, *lines = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(lines) == 10
    csv_answers = {line[0]: line[2] for line in lines}
    assert csv_answers == {name: given.get(name, "") for name in [f.name for f in files]}, (
        "the CSV's answers are the fake's answers, file by file"
    )
    assert header[:3] and len(set(header)) == len(header)

    # A finished job is not polled: the timer stopped.
    calls.clear()
    time.sleep(2.5)
    assert calls == []

    # The job is listed with its state; the JSONL download has one line per file.
    job_row = page.locator("#batch-jobs .job-row")
    assert job_row.count() == 1 and job_row.get_attribute("data-state") == "done"
    with page.expect_download() as download:
        page.click("#batch-downloads a[data-format=jsonl]")
    assert len(download.value.path().read_text().splitlines()) == 10

    # After a reload the tab opens on the job again, and picking it in the list shows it.
    page.reload()
    page.click("#batch-tab-button")
    wait_for_progress(page, state="done", done="9", failed="1")
    page.click("#batch-jobs .job-row")
    wait_until(lambda: len(table_rows(page)) == 10)
    assert page.locator("#batch-jobs .job-row.selected").count() == 1


def batch_load(page: RawPage) -> dict:
    """What the Batch tab shows when it is opened (its `select` event)."""
    return page.trigger("batch-tab", "select")


def _job_id(outputs: dict) -> str:
    found = re.search(r'data-job="([^"]+)"', str(outputs.get("batch-progress") or ""))
    assert found, outputs
    return found.group(1)


def test_another_browser_cannot_see_retry_cancel_or_download_a_job(server, upstream, tmp_path):
    owner, other = RawPage(server.url), RawPage(server.url)
    batch_load(owner)
    batch_load(other)
    picture = owner.upload(make_png(tmp_path / "mine.png", color="red"))
    upstream.script(Reply(content="Owner's secret answer.", delay_s=0.05))
    started = owner.trigger(
        "batch-start", "click", **{"batch-files": [picture], "batch-prompt": PROMPT}
    )
    job_id = _job_id(started)
    url = f"{server.url}/download/batches/{job_id}.csv"

    def owner_csv() -> httpx.Response:
        return owner.http.get(url)

    wait_until(lambda: "Owner's secret answer." in owner_csv().text, 30)
    # Positive controls: the owner gets the download, the JSONL and the thumbnail.
    assert owner_csv().status_code == 200
    assert owner.http.get(url.replace(".csv", ".jsonl")).status_code == 200
    sha = re.search(r"thumbs/([0-9a-f]{64})\.jpg", str(batch_load(owner)))
    assert sha, "the owner's table shows a thumbnail"
    thumb = f"{server.url}/thumbs/{sha.group(1)}.jpg"
    assert owner.http.get(thumb).headers["content-type"] == "image/jpeg"

    # Another browser: the same URLs are not found, as for a job that does not exist.
    for target in (url, url.replace(".csv", ".jsonl"), thumb):
        response = other.http.get(target)
        assert response.status_code == 404 and "secret" not in response.text, target
    assert httpx.get(url).status_code == 404  # no cookie at all

    # Its handlers, called with the owner's job id, find nothing and change nothing.
    opened = other.trigger("batch-jobs", "job", event_data={"id": job_id})
    assert "secret" not in str(opened) and job_id not in str(opened)
    for button in ("batch-retry", "batch-cancel"):
        result = other.trigger(button, "click")
        assert job_id not in str(result)
    loaded = batch_load(other)
    assert job_id not in str(loaded) and "secret" not in str(loaded)
    # Nor can it start a job on the owner's uploaded file.
    refused = other.trigger(
        "batch-start", "click", **{"batch-files": [picture], "batch-prompt": PROMPT}
    )
    assert "data-job=" not in str(refused)  # no job was made
    assert "mine.png" in str(refused.get("batch-notice"))  # says which file was refused
    assert job_id not in str(batch_load(other))

    # The owner's job is untouched: still done, still one answer.
    time.sleep(0.3)
    reader = csv.reader(io.StringIO(owner_csv().content.decode("utf-8-sig")))
    (_, line) = list(reader)
    assert line[0] == "mine.png" and line[2] == "Owner's secret answer."


DROP_JS = """async (bytes) => {
  const transfer = new DataTransfer();
  transfer.items.add(new File([new Uint8Array(bytes)], 'dropped.png', {type: 'image/png'}));
  const target = document.querySelector('#batch-intro');
  for (const type of ['dragenter', 'dragover', 'drop']) {
    target.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: transfer}));
  }
}"""


def test_files_dropped_anywhere_on_the_batch_tab_go_to_its_drop_zone(page, tmp_path):
    picture = make_png(tmp_path / "dropped.png").read_bytes()
    tabs = page.locator("#tabs .tab-container:not(.visually-hidden) > button:visible")
    assert tabs.all_inner_texts() == ["Chat", "Batch"]  # two tabs, nothing else in the bar
    page.click("#batch-tab-button")
    page.evaluate(DROP_JS, list(picture))
    wait_until(lambda: page.locator("#batch-files tr.file").count() == 1, 20)
    assert page.get_attribute("#batch-files td.filename", "aria-label") == "dropped.png"
    page.click("#chat-tab-button")
    assert page.locator("#composer .thumbnail-item").count() == 0  # not the chat's composer
