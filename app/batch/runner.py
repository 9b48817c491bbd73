"""The batch runner: one dispatcher per process, `WEBUI_BATCH_CONCURRENCY` rows in flight across
all jobs, each row one call of the turn core (the same as a chat turn: capability checks, media
resolution, Files API upload-once and its one re-upload, errors), and the row's outcome stored.

What survives a restart is the store's row states: a row is claimed (pending -> running) before
it is sent and stored done after, so a row stored done is never sent again. Rows in flight when
the server stops go back to pending (`stop`), and so do rows a killed process left running
(`start`). A 429 pauses the row's job for the upstream's Retry-After (10 s if it said nothing,
at most 120 s) and the row waits its turn again; any other failure fails the row with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import replace
from typing import Any

from app.backend import BackendError
from app.batch.fields import parse_fields
from app.batch.records import JobRow, RowOutcome
from app.core import MediaInput, TurnCore, TurnMessage, TurnRejected, TurnRequest
from app.events import TurnResult
from app.janitor import Janitor
from app.store import Claim, Store

log = logging.getLogger(__name__)

DEFAULT_RETRY_AFTER_S = 10.0
MAX_RETRY_AFTER_S = 120.0
RATE_LIMITED = 429
# With nothing to wake it, the dispatcher still looks for work this often: rows another process
# put back (a retry written to the same database) and any wake-up that was missed.
IDLE_POLL_S = 2.0


def retry_wait(exc: BackendError) -> float:
    """How long a 429 holds the job: the upstream's Retry-After, else 10 s; at most 120 s."""
    wait = exc.retry_after if exc.retry_after is not None else DEFAULT_RETRY_AFTER_S
    return min(max(wait, 0.0), MAX_RETRY_AFTER_S)


def page_text(prompt: str, name: str) -> str:
    """A page row's question: the job's prompt with `{filename}` replaced by the row's file."""
    return prompt.replace("{filename}", name)


class BatchRunner:
    def __init__(self, core: TurnCore, store: Store, janitor: Janitor, concurrency: int):
        self.core = core
        self.store = store
        self.janitor = janitor
        self.concurrency = concurrency
        self._tasks: dict[tuple[str, int], asyncio.Task] = {}
        self._dispatcher: asyncio.Task | None = None
        self._wake: asyncio.Event | None = None
        self._stopping = False

    # -- lifecycle --------------------------------------------------------------------------------
    async def start(self) -> None:
        """Rows a killed process left running go back to pending; then work starts."""
        if self._dispatcher is not None:
            return
        moved = await asyncio.to_thread(self.store.jobs.recover)
        if moved:
            log.info("batch: %d row(s) interrupted by the last stop will run again", moved)
        self._stopping = False
        self._wake = asyncio.Event()
        self._dispatcher = asyncio.get_running_loop().create_task(self._dispatch())

    async def stop(self) -> None:
        """Stop claiming, stop the rows in flight and put them back to pending (they run again,
        once, after a restart)."""
        self._stopping = True
        if self._dispatcher is not None:
            self._dispatcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._dispatcher
            self._dispatcher = None
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.to_thread(self.store.jobs.recover)

    def wake(self) -> None:
        """New work (a job created, rows to retry): look for rows to claim now."""
        if self._wake is not None:
            self._wake.set()

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def cancel_job(self, job_id: str) -> None:
        """Stop the job's rows in flight (the store has already cancelled its pending ones)."""
        tasks = {key: task for key, task in self._tasks.items() if key[0] == job_id}
        for task in tasks.values():
            task.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)
        # A task cancelled before its first step never ran `_run`'s clean-up: its row would stay
        # running (the job stuck in CANCELLING) and its slot taken for good. Release it here
        # (a no-op for rows the task already settled).
        for key in tasks:
            self._tasks.pop(key, None)
            await asyncio.to_thread(self.store.jobs.release_row, job_id, key[1], cancelled=True)

    # -- dispatching ------------------------------------------------------------------------------
    async def _dispatch(self) -> None:
        assert self._wake is not None
        while not self._stopping:
            try:
                self._wake.clear()
                while len(self._tasks) < self.concurrency and not self._stopping:
                    claim = await asyncio.to_thread(self.store.jobs.claim_next)
                    if claim is None:
                        break
                    key = (claim.job.id, claim.row.position)
                    self._tasks[key] = asyncio.get_running_loop().create_task(self._run(claim))
                wake_at = await asyncio.to_thread(self.store.jobs.next_wake)
            except asyncio.CancelledError:
                raise
            except Exception:  # the store failed (disk full?): try again shortly, never die
                log.exception("batch dispatcher failed; retrying")
                wake_at = time.time() + 5
            timeout = IDLE_POLL_S if wake_at is None else min(IDLE_POLL_S, wake_at - time.time())
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that lands
            # as its timeout expires, and stop() would then wait for this loop forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.05, timeout)):
                    await self._wake.wait()

    async def _run(self, claim: Claim) -> None:
        job, row = claim.job, claim.row
        jobs = self.store.jobs
        started = time.monotonic()
        try:
            outcome = await self._answer(claim)
            await asyncio.to_thread(jobs.finish_row, job.id, row.position, outcome)
        except asyncio.CancelledError:
            # Stopped: by cancel (the row is cancelled) or by a server stop (back to pending).
            await asyncio.shield(asyncio.to_thread(jobs.release_row, job.id, row.position))
            raise
        except BackendError as exc:
            if exc.status == RATE_LIMITED or exc.kind == "rate_limited":
                wait = retry_wait(exc)
                log.info("batch job %s: rate limited; pausing %.1f s", job.id, wait)
                await asyncio.to_thread(jobs.pause, job.id, time.time() + wait)
                await asyncio.to_thread(jobs.release_row, job.id, row.position)
            else:
                log.warning("batch job %s row %d failed: %s", job.id, row.position, exc.kind)
                await asyncio.to_thread(
                    jobs.fail_row,
                    job.id,
                    row.position,
                    exc.as_record(),
                    time.monotonic() - started,
                )
        except TurnRejected as exc:
            if exc.key == "model.starting":  # the model is loading: wait, as for a 429
                await asyncio.to_thread(jobs.pause, job.id, time.time() + DEFAULT_RETRY_AFTER_S)
                await asyncio.to_thread(jobs.release_row, job.id, row.position)
                return
            await asyncio.to_thread(
                jobs.fail_row, job.id, row.position, exc.as_record(), time.monotonic() - started
            )
        except Exception as exc:  # a row must never take the runner down
            log.exception("batch job %s row %d: unexpected error", job.id, row.position)
            await asyncio.to_thread(
                jobs.fail_row, job.id, row.position, f"{type(exc).__name__}: {exc}"
            )
        finally:
            self._tasks.pop((job.id, row.position), None)
            self.wake()

    # -- one row ----------------------------------------------------------------------------------
    async def _answer(self, claim: Claim) -> RowOutcome:
        job, row = claim.job, claim.row
        if row.request is not None:
            request = self._api_request(row, job.cloud_allowed)
        else:
            if claim.media is None:
                raise TurnRejected("upload.unreadable", name=row.name)
            media = MediaInput(kind=claim.media.kind, name=row.name, ref=claim.media)  # type: ignore[arg-type]
            request = TurnRequest(
                model_id=job.model,
                messages=(TurnMessage("user", page_text(job.prompt, row.name), (media,)),),
                effort=job.effort,
                detail=job.detail,
                stream=True,
                cloud_allowed=job.cloud_allowed,
            )
        result = TurnResult()
        with self.janitor.hold() as hold:
            async for event in self.core.run(request, hold):
                result.add(event)
        fields, fields_ok = (None, None)
        if job.structured:
            fields, fields_ok = parse_fields(result.answer)
        timing = result.timing
        usage = result.usage
        return RowOutcome(
            answer=result.answer,
            fields=fields,
            fields_ok=fields_ok,
            ttft_s=round(timing.first_token_s, 3) if timing and timing.first_token_s else None,
            total_s=round(timing.total_s, 3) if timing else None,
            tokens_in=usage.prompt_tokens if usage else None,
            tokens_out=usage.completion_tokens if usage else None,
            response=self._api_response(request, result) if row.request is not None else None,
        )

    @staticmethod
    def _api_request(row: JobRow, cloud_allowed: bool) -> TurnRequest:
        """An API line's body, through the same parser and translation as
        /api/v1/chat/completions; answered in one piece (a batch output holds whole answers)."""
        from app.api.errors import ApiError  # the API package imports the services: not at load
        from app.api.schema import parse_chat_request
        from app.api.translate import turn_request

        try:
            turn = turn_request(parse_chat_request(row.request or {}), cloud_allowed=cloud_allowed)
        except ApiError as exc:
            raise TurnRejected("batch.request_invalid", why=exc.message) from None
        return replace(turn, stream=False)

    @staticmethod
    def _api_response(request: TurnRequest, result: TurnResult) -> dict[str, Any]:
        from app.api.routes import ChatCompletions

        return ChatCompletions._completion(str(request.model_id), result)
