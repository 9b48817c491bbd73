"""Batch jobs in the store: rows created with their job, claimed once, finished once, recovered
after a crash, per owner."""

import sqlite3
import threading

import pytest

from app.batch.records import JobState, NewRow, RowOutcome, RowState
from app.i18n import record
from app.store import MediaRef, Store

OWNER = "anon:alice"
OTHER = "anon:bob"
IMG = MediaRef(sha256="a" * 64, filename="", kind="image", mime="image/png", size_bytes=10)
IMG2 = MediaRef(sha256="c" * 64, filename="", kind="image", mime="image/png", size_bytes=12)


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "db.sqlite3")


def make_job(store, owner=OWNER, count=3, **kw):
    rows = [NewRow(name=f"f{i}.png", media_sha=IMG.sha256, kind="image") for i in range(count)]
    options = dict(
        title="t",
        source="page",
        model="Step3-VL-10B",
        effort=None,
        detail="low",
        prompt="Describe {filename}",
        template=None,
        rows=rows,
        media=[IMG],
    )
    options.update(kw)
    return store.jobs.create(owner, **options)


def test_create_stores_the_job_and_its_rows_in_order(store):
    job = make_job(store, count=3)
    assert job.state is JobState.QUEUED and job.owner == OWNER
    assert (job.counts.total, job.counts.pending, job.counts.done, job.counts.failed) == (
        3,
        3,
        0,
        0,
    )
    assert job.eta_s is None and job.paused_until is None and job.started_at is None
    rows = store.jobs.rows(OWNER, job.id)
    assert [r.position for r in rows] == [0, 1, 2]
    assert [r.name for r in rows] == ["f0.png", "f1.png", "f2.png"]
    assert all(r.state is RowState.PENDING and r.attempts == 0 for r in rows)
    assert store.jobs.get(OWNER, job.id) == job


def test_a_row_created_with_an_error_is_failed_with_its_reason(store):
    reason = record("media.unsupported", name="notes.txt")
    rows = [NewRow("a.png", IMG.sha256, "image"), NewRow("notes.txt", error=reason)]
    job = make_job(store, rows=rows)
    assert (job.counts.total, job.counts.failed, job.counts.pending) == (2, 1, 1)
    assert store.jobs.rows(OWNER, job.id)[1].error == reason


def test_a_job_whose_rows_all_failed_at_creation_is_done(store):
    job = make_job(store, rows=[NewRow("x.txt", error="unreadable")], media=[])
    assert job.state is JobState.DONE and job.finished_at is not None


def test_create_is_all_or_nothing(store):
    bad = [NewRow("a.png", IMG.sha256, "image"), NewRow("b.png", "f" * 64, "image")]
    with pytest.raises(
        sqlite3.IntegrityError
    ):  # the second row's media was never stored: foreign key
        make_job(store, rows=bad, media=[IMG])
    assert store.jobs.list(OWNER) == []


def test_other_owners_see_nothing(store):
    job = make_job(store)
    assert store.jobs.get(OTHER, job.id) is None
    assert store.jobs.rows(OTHER, job.id) == []
    assert store.jobs.list(OTHER) == []
    assert store.jobs.counts(OTHER, job.id) is None
    assert store.jobs.cancel(OTHER, job.id) is None
    assert store.jobs.retry_failed(OTHER, job.id) is None
    assert store.jobs.get(OWNER, job.id).state is JobState.QUEUED  # untouched


def test_list_is_newest_first(store):
    first, second = make_job(store), make_job(store)
    make_job(store, owner=OTHER)
    assert [j.id for j in store.jobs.list(OWNER)] == [second.id, first.id]


def test_claim_takes_rows_in_order_and_once(store):
    job = make_job(store, count=2)
    a = store.jobs.claim_next()
    b = store.jobs.claim_next()
    assert (a.row.position, b.row.position) == (0, 1)
    assert store.jobs.claim_next() is None
    assert a.job.state is JobState.RUNNING and a.job.started_at is not None
    assert a.row.state is RowState.RUNNING and a.row.attempts == 1
    assert a.media.sha256 == IMG.sha256 and a.media.filename == "f0.png"
    assert store.jobs.get(OWNER, job.id).counts.pending == 2  # running rows are still to come


def test_concurrent_claims_never_take_the_same_row(store):
    make_job(store, count=40)
    taken: list[int] = []
    lock = threading.Lock()

    def worker():
        while (claim := store.jobs.claim_next()) is not None:
            with lock:
                taken.append(claim.row.position)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(taken) == list(range(40))


def test_older_jobs_go_first(store):
    old, new = make_job(store, count=1), make_job(store, count=1)
    assert store.jobs.claim_next().job.id == old.id
    assert store.jobs.claim_next().job.id == new.id


def test_finish_and_fail_settle_the_job(store):
    job = make_job(store, count=2)
    a, b = store.jobs.claim_next(), store.jobs.claim_next()
    outcome = RowOutcome(answer="a cat", ttft_s=0.1, total_s=0.5, tokens_in=11, tokens_out=7)
    assert store.jobs.finish_row(job.id, a.row.position, outcome)
    assert store.jobs.get(OWNER, job.id).state is JobState.RUNNING
    assert store.jobs.fail_row(job.id, b.row.position, record("backend.server_error"), 0.2)
    done = store.jobs.get(OWNER, job.id)
    assert done.state is JobState.DONE and done.finished_at is not None
    assert (done.counts.done, done.counts.failed, done.counts.pending) == (1, 1, 0)
    rows = store.jobs.rows(OWNER, job.id)
    assert (rows[0].answer, rows[0].tokens_in, rows[0].tokens_out) == ("a cat", 11, 7)
    assert rows[1].error == record("backend.server_error")


def test_a_finished_row_is_never_finished_or_claimed_again(store):
    job = make_job(store, count=1)
    claim = store.jobs.claim_next()
    assert store.jobs.finish_row(job.id, 0, RowOutcome(answer="one"))
    assert not store.jobs.finish_row(job.id, 0, RowOutcome(answer="two"))
    assert not store.jobs.fail_row(job.id, 0, "late")
    store.jobs.release_row(job.id, claim.row.position)  # a late release changes nothing
    store.jobs.recover()
    assert store.jobs.claim_next() is None
    assert store.jobs.rows(OWNER, job.id)[0].answer == "one"


def test_recover_puts_running_rows_back_to_pending(store):
    job = make_job(store, count=3)
    store.jobs.claim_next()
    store.jobs.claim_next()
    store.jobs.finish_row(job.id, 0, RowOutcome(answer="done"))
    # the process dies here: row 1 stays running
    reopened = Store(store.path)
    assert reopened.jobs.recover() == 1
    assert reopened.jobs.active_ids() == [job.id]
    again = reopened.jobs.claim_next()
    assert again.row.position == 1 and again.row.attempts == 2
    assert reopened.jobs.claim_next().row.position == 2


def test_pause_holds_the_job_until_it_ends(store):
    job = make_job(store, count=2)
    claim = store.jobs.claim_next()
    store.jobs.pause(job.id, 1000.0)
    store.jobs.release_row(job.id, claim.row.position)
    assert store.jobs.claim_next(now=999.0) is None
    assert store.jobs.next_wake(now=999.0) == 1000.0
    assert store.jobs.get(OWNER, job.id).paused_until == 1000.0
    resumed = store.jobs.claim_next(now=1000.5)
    assert resumed.row.position == 0 and resumed.row.attempts == 2
    assert store.jobs.get(OWNER, job.id).paused_until is None


def test_cancel_cancels_pending_rows_and_waits_for_running_ones(store):
    job = make_job(store, count=3)
    claim = store.jobs.claim_next()
    cancelling = store.jobs.cancel(OWNER, job.id)
    assert cancelling.state is JobState.CANCELLING
    assert store.jobs.claim_next() is None
    store.jobs.release_row(job.id, claim.row.position)  # the runner stopped the row in flight
    cancelled = store.jobs.get(OWNER, job.id)
    assert cancelled.state is JobState.CANCELLED and cancelled.finished_at is not None
    assert [r.state for r in store.jobs.rows(OWNER, job.id)] == [RowState.CANCELLED] * 3


def test_cancel_with_nothing_in_flight_ends_at_once_and_a_done_job_stays_done(store):
    job = make_job(store, count=1)
    assert store.jobs.cancel(OWNER, job.id).state is JobState.CANCELLED
    other = make_job(store, count=1)
    store.jobs.claim_next()
    store.jobs.finish_row(other.id, 0, RowOutcome(answer="x"))
    assert store.jobs.cancel(OWNER, other.id).state is JobState.DONE


def test_a_crash_while_cancelling_finishes_the_cancel_at_start(store):
    job = make_job(store, count=2)
    store.jobs.claim_next()
    store.jobs.cancel(OWNER, job.id)
    store.jobs.recover()
    assert store.jobs.get(OWNER, job.id).state is JobState.CANCELLED
    assert store.jobs.claim_next() is None


def test_retry_failed_runs_failed_rows_again_but_not_files_that_were_never_stored(store):
    rows = [NewRow("a.png", IMG.sha256, "image"), NewRow("bad.png", error="corrupt")]
    job = make_job(store, rows=rows)
    store.jobs.claim_next()
    store.jobs.fail_row(job.id, 0, record("backend.server_error"))
    assert store.jobs.get(OWNER, job.id).state is JobState.DONE
    retried = store.jobs.retry_failed(OWNER, job.id)
    assert retried.state is JobState.QUEUED and retried.finished_at is None
    assert (retried.counts.pending, retried.counts.failed) == (1, 1)
    again = store.jobs.claim_next()
    assert again.row.position == 0 and again.row.error is None and again.row.attempts == 2
    store.jobs.finish_row(job.id, 0, RowOutcome(answer="ok"))
    assert store.jobs.get(OWNER, job.id).state is JobState.DONE


def test_api_rows_keep_their_request_and_response(store):
    body = {"model": "Step3-VL-10B", "messages": [{"role": "user", "content": "hi"}]}
    job = make_job(store, source="api", prompt="", rows=[NewRow("req-1", request=body)], media=[])
    claim = store.jobs.claim_next()
    assert claim.media is None and claim.row.request == body
    store.jobs.finish_row(job.id, 0, RowOutcome(answer="hello", response={"id": "chatcmpl-1"}))
    row = store.jobs.rows(OWNER, job.id)[0]
    assert row.response == {"id": "chatcmpl-1"} and row.name == "req-1"


def test_fields_are_stored_with_whether_they_parsed(store):
    job = make_job(store, count=2, structured=True)
    store.jobs.claim_next(), store.jobs.claim_next()
    store.jobs.finish_row(job.id, 0, RowOutcome(answer="{}", fields={"a.b": 1}, fields_ok=True))
    store.jobs.finish_row(job.id, 1, RowOutcome(answer="nope", fields=None, fields_ok=False))
    rows = store.jobs.rows(OWNER, job.id)
    assert (rows[0].fields, rows[0].fields_ok) == ({"a.b": 1}, True)
    assert (rows[1].fields, rows[1].fields_ok) == (None, False)
    assert store.jobs.get(OWNER, job.id).structured


def test_eta_comes_from_the_pace_of_finished_rows(store):
    job = make_job(store, count=4)
    store.jobs.claim_next()
    store.jobs.finish_row(job.id, 0, RowOutcome(answer="x", total_s=2.0))
    assert store.jobs.get(OWNER, job.id).eta_s == pytest.approx(3 * 2.0)
    with store.db.tx() as tx:  # two rows finished 1 s apart
        tx.execute("UPDATE job_rows SET finished_at=100 WHERE position=0")
    store.jobs.claim_next()
    store.jobs.finish_row(job.id, 1, RowOutcome(answer="y", total_s=2.0))
    with store.db.tx() as tx:
        tx.execute("UPDATE job_rows SET finished_at=101 WHERE position=1")
    assert store.jobs.get(OWNER, job.id).eta_s == pytest.approx(2 * 1.0)


def test_job_rows_make_their_media_the_owners_and_keep_them_from_the_sweep(store):
    job = make_job(store, count=1)
    assert store.media.owned_by(OWNER, IMG.sha256)
    assert not store.media.owned_by(OTHER, IMG.sha256)
    assert IMG.sha256 in store.media.referenced()
    assert store.media.forget_unreferenced([IMG.sha256]) == []
    with store.db.tx() as tx:
        store.media.insert(tx, [IMG2])
    assert store.media.forget_unreferenced([IMG2.sha256]) == [IMG2.sha256]
    assert job.counts.total == 1


def test_delete_only_a_finished_job_of_the_owner(store):
    job = make_job(store, count=1)
    assert not store.jobs.delete(OWNER, job.id)  # still queued: cancel first
    store.jobs.cancel(OWNER, job.id)
    assert not store.jobs.delete(OTHER, job.id)
    assert store.jobs.delete(OWNER, job.id)
    assert store.jobs.get(OWNER, job.id) is None and store.jobs.rows(OWNER, job.id) == []
    assert IMG.sha256 not in store.media.referenced()
