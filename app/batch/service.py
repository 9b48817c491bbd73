"""The owner-scoped facade of batch jobs, used by the page and the HTTP API alike.

Every method names the owner and reads or changes only that owner's jobs: another owner's job
id behaves as one that does not exist. Creating a job stores every file first (in the media
library, referenced by the job's rows, so the owner boundary serves their thumbnails to this
owner only and the janitor keeps them), then writes the job and all its rows in one
transaction, then wakes the runner. A file that cannot be used becomes a failed row with the
reason; only a problem every row would share (no files, an unknown model, a model that cannot
see images) refuses the whole job.
"""

from __future__ import annotations

import asyncio
import logging
import zipfile
from pathlib import Path, PurePosixPath

from app.batch.exports import to_csv, to_jsonl
from app.batch.records import Job, JobRow, JobState, NewRow
from app.batch.runner import BatchRunner
from app.config import Settings
from app.core import MediaInput, TurnCore, TurnRejected, check_text_length
from app.core.context import can_take
from app.i18n import record
from app.janitor import Hold, Janitor
from app.media import MediaError, MediaLibrary
from app.store import MediaRef, Store, title_from
from app.templates import template as find_template

log = logging.getLogger(__name__)

MAX_JOB_ROWS = 50_000  # the OpenAI Batch API's own limit per input file


def _skipped_member(info: zipfile.ZipInfo) -> bool:
    """Folders and the files macOS and Windows put in zips (not the person's files)."""
    path = PurePosixPath(info.filename)
    return (
        info.is_dir()
        or path.parts[:1] == ("__MACOSX",)
        or path.name.startswith(".")
        or path.name in ("Thumbs.db", "desktop.ini")
    )


class BatchService:
    """Owner-scoped facade used by the page and the API; every method checks the owner."""

    def __init__(
        self,
        settings: Settings,
        core: TurnCore,
        store: Store,
        library: MediaLibrary,
        janitor: Janitor,
    ):
        self.settings = settings
        self.core = core
        self.store = store
        self.library = library
        self.janitor = janitor
        self.runner = BatchRunner(core, store, janitor, settings.batch_concurrency)

    # -- lifespan ---------------------------------------------------------------------------------
    async def start(self) -> None:
        """Resume every queued or running job (rows a killed process left running included)."""
        await self.runner.start()

    async def stop(self) -> None:
        """Stop the workers; rows in flight go back to pending (a restart runs them, once)."""
        await self.runner.stop()

    # -- creating jobs ----------------------------------------------------------------------------
    async def create_page_job(
        self,
        owner: str,
        *,
        files: list[tuple[Path, str]],
        prompt: str,
        model_id: str | None,
        effort: str | None,
        detail: str,
        template: str | None,
        lang: str,
    ) -> Job:
        """A job of one row per file (zips expanded). `{filename}` in the prompt becomes each
        row's file name. Raises `TurnRejected` for what every row would share."""
        if not files:
            raise TurnRejected("batch.empty")
        spec = self.core.model(model_id or self.core.default_model((self.settings.default_model,)))
        if not can_take(spec, "image"):
            self.core.check_media(spec, [MediaInput("image", files[0][1])])
        tpl = find_template(template)
        prompt = (prompt or "").strip() or (tpl.prompt_in(lang) if tpl else "")
        check_text_length(len(prompt))
        if detail not in ("low", "high"):
            detail = tpl.detail if tpl else "low"
        with self.janitor.hold() as hold:  # until the job's rows refer to the files
            rows, media = await asyncio.to_thread(self._store_files, files, hold)
            if not rows:
                raise TurnRejected("batch.empty")
            job = await asyncio.to_thread(
                self.store.jobs.create,
                owner,
                title=title_from(prompt or files[0][1]),
                source="page",
                model=spec.id,
                effort=spec.effort_for(effort),
                detail=detail,
                prompt=prompt,
                template=tpl.id if tpl else None,
                rows=rows,
                media=media,
                structured=bool(tpl and tpl.structured),
            )
        log.info("batch job %s: %d rows, model %s", job.id, job.counts.total, spec.id)
        self.runner.wake()
        return job

    def _store_files(
        self, files: list[tuple[Path, str]], hold: Hold
    ) -> tuple[list[NewRow], list[MediaRef]]:
        rows: list[NewRow] = []
        media: dict[str, MediaRef] = {}
        limit = self.settings.max_upload_mb * 1024 * 1024

        def add(row: NewRow) -> None:
            if len(rows) >= MAX_JOB_ROWS:
                raise TurnRejected("batch.too_many", count=f"{MAX_JOB_ROWS}+", limit=MAX_JOB_ROWS)
            rows.append(row)

        def stored(stored_media, name: str) -> None:
            ref = MediaRef.from_stored(stored_media, name)
            media.setdefault(ref.sha256, ref)
            add(NewRow(name=name, media_sha=ref.sha256, kind=ref.kind))

        for path, name in files:
            if name.lower().endswith(".zip"):
                self._expand_zip(Path(path), name, limit, hold, add, stored)
                continue
            try:
                stored(self.library.ingest_file(path, name, max_bytes=limit, hold=hold.add), name)
            except MediaError as exc:
                add(NewRow(name=name, error=exc.as_record()))
            except OSError:
                add(NewRow(name=name, error=record("upload.unreadable", name=name)))
        return rows, list(media.values())

    def _expand_zip(self, path: Path, name: str, limit: int, hold: Hold, add, stored) -> None:
        """Each image or video in the zip is a row, in the zip's order; a member that is not
        one becomes a failed row (never silently dropped); folders and OS files are skipped."""
        try:
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError):
            add(NewRow(name=name, error=record("batch.zip_unreadable", name=name)))
            return
        with archive:
            for info in archive.infolist():
                if _skipped_member(info):
                    continue
                member = PurePosixPath(info.filename).name
                if info.file_size > limit:
                    error = record(
                        "media.too_large",
                        name=member,
                        size=info.file_size / 1048576,
                        limit=limit / 1048576,
                    )
                    add(NewRow(name=member, error=error))
                    continue
                try:
                    data = archive.read(info)
                    stored(self.library.ingest_bytes(data, member, hold=hold.add), member)
                except MediaError as exc:
                    add(NewRow(name=member, error=exc.as_record()))
                except (zipfile.BadZipFile, RuntimeError, OSError, EOFError, ValueError):
                    add(NewRow(name=member, error=record("upload.unreadable", name=member)))

    async def create_api_job(
        self,
        owner: str,
        *,
        lines: list[dict],
        cloud_allowed: bool,
        metadata: dict | None,
    ) -> Job:
        """A job of one row per JSONL line ({custom_id, method, url, body}, validated by the
        API); each row's body goes through the same parser, translation and core as
        /api/v1/chat/completions."""
        if not lines:
            raise TurnRejected("batch.empty")
        if len(lines) > MAX_JOB_ROWS:
            raise TurnRejected("batch.too_many", count=len(lines), limit=MAX_JOB_ROWS)
        rows = [
            NewRow(name=str(line.get("custom_id") or index), request=line.get("body") or {})
            for index, line in enumerate(lines)
        ]
        first = lines[0].get("body") or {}
        model = str(first.get("model") or "")
        description = (metadata or {}).get("description")
        job = await asyncio.to_thread(
            self.store.jobs.create,
            owner,
            title=title_from(str(description or f"{model} × {len(rows)}")),
            source="api",
            model=model,
            effort=None,
            detail="low",
            prompt="",
            template=None,
            rows=rows,
            cloud_allowed=cloud_allowed,
            metadata=metadata,
        )
        log.info("batch job %s (api): %d rows", job.id, job.counts.total)
        self.runner.wake()
        return job

    # -- reading ----------------------------------------------------------------------------------
    def jobs(self, owner: str) -> list[Job]:
        """The owner's jobs, newest first."""
        return self.store.jobs.list(owner)

    def job(self, owner: str, job_id: str) -> Job | None:
        """None when there is no such job of this owner's."""
        return self.store.jobs.get(owner, job_id)

    def rows(self, owner: str, job_id: str) -> list[JobRow]:
        """The job's rows in order; [] when it is not this owner's."""
        return self.store.jobs.rows(owner, job_id)

    # -- changing ---------------------------------------------------------------------------------
    async def cancel(self, owner: str, job_id: str) -> Job | None:
        """Rows not started are cancelled, rows in flight are stopped; the job ends CANCELLED
        (one already finished stays as it was). None when it is not this owner's."""
        job = await asyncio.to_thread(self.store.jobs.cancel, owner, job_id)
        if job is None:
            return None
        await self.runner.cancel_job(job_id)
        return await asyncio.to_thread(self.store.jobs.get, owner, job_id)

    async def retry_failed(self, owner: str, job_id: str) -> Job | None:
        """Failed rows run again (those whose file could not be stored stay failed)."""
        job = await asyncio.to_thread(self.store.jobs.retry_failed, owner, job_id)
        if job is not None:
            self.runner.wake()
        return job

    async def delete(self, owner: str, job_id: str) -> bool:
        """Cancel the job if it is still going, then remove it and its rows. False when it is
        not this owner's."""
        job = await asyncio.to_thread(self.store.jobs.get, owner, job_id)
        if job is None:
            return False
        if job.state not in (JobState.DONE, JobState.CANCELLED):
            await self.cancel(owner, job_id)
        return await asyncio.to_thread(self.store.jobs.delete, owner, job_id)

    # -- downloads --------------------------------------------------------------------------------
    def csv_bytes(self, owner: str, job_id: str, lang: str) -> tuple[str, bytes] | None:
        """(file name, UTF-8 CSV with a BOM) of the job's results; None if not this owner's."""
        job = self.job(owner, job_id)
        return to_csv(job, self.rows(owner, job_id), lang) if job else None

    def jsonl_bytes(self, owner: str, job_id: str) -> tuple[str, bytes] | None:
        job = self.job(owner, job_id)
        return to_jsonl(job, self.rows(owner, job_id)) if job else None
