"""`/api/v1/files` and `/api/v1/batches`: the OpenAI Files and Batch API over the batch runner
(`services.batch`). Translation and bookkeeping only: each row runs through the same turn core
as `/chat/completions`.

Everything belongs to the caller's owner (a digest of its API key, app/api/auth.py `caller`):
another key gets the same 404 as an id that does not exist. Files are stored under
`<data dir>/api_files/<id>`, which the page's file route refuses (app/media_access.py).
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from starlette.datastructures import UploadFile
from starlette.types import Message

from app.api.auth import caller
from app.api.batch_format import (
    COMPLETION_WINDOWS,
    ENDPOINTS,
    batch_object,
    check_lines,
    check_metadata,
    result_files,
)
from app.api.errors import ApiError
from app.backend import BackendError
from app.core.problems import TurnRejected
from app.i18n import Problem
from app.services import Services
from app.store.api_files import ApiBatch, ApiFile

FILES_DIR = "api_files"
FILE_ID = re.compile(r"^file-[0-9a-f]{24}$")
PURPOSES = ("batch",)
MULTIPART_SLACK = 64 * 1024  # the form's boundaries and headers around the file


def _file_object(file: ApiFile) -> dict:
    return {
        "id": file.id,
        "object": "file",
        "bytes": file.bytes,
        "created_at": int(file.created_at),
        "filename": file.filename,
        "purpose": file.purpose,
        "status": "processed",
        "status_details": None,
        "expires_at": None,
    }


def _no_such(kind: str, object_id: str) -> ApiError:
    return ApiError(404, f"No such {kind} object: {object_id[:80]}", code=None, param="id")


def _too_large(limit: int) -> ApiError:
    return ApiError(
        413, f"The file is larger than {limit // 1048576} MB.", code="file_too_large", param="file"
    )


class BatchApi:
    def __init__(self, services: Services):
        self.services = services
        self.store = services.store.api_files
        self.dir = services.settings.data_dir / FILES_DIR
        self.file_limit = services.settings.max_upload_mb * 1024 * 1024
        self._finalizing = asyncio.Lock()

    # -- files --------------------------------------------------------------------------------
    def path(self, file_id: str) -> Path:
        if not FILE_ID.match(file_id):  # only ids this module made ever name a path
            raise ValueError(file_id)
        return self.dir / file_id

    def _write(self, file_id: str, source: Any) -> int:
        """Copy an upload (a file object) or bytes into place; returns the size."""
        self.dir.mkdir(parents=True, exist_ok=True)
        target = self.path(file_id)
        partial = target.with_name(target.name + ".part")
        with partial.open("wb") as out:
            if isinstance(source, bytes):
                out.write(source)
            else:
                shutil.copyfileobj(source, out, 1024 * 1024)
        os.replace(partial, target)
        return target.stat().st_size

    async def _owned_file(self, owner: str, file_id: str) -> ApiFile:
        file = await asyncio.to_thread(self.store.file, owner, file_id)
        if file is None:
            raise _no_such("File", file_id)
        return file

    async def upload(self, request: Request) -> dict:
        owner, _ = caller(self.services.settings, request)
        limit = self.file_limit
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit + MULTIPART_SLACK:
            raise _too_large(limit)
        received = 0

        async def counted() -> Message:  # a body without (or lying about) its length
            nonlocal received
            message = await request.receive()
            received += len(message.get("body", b""))
            if received > limit + MULTIPART_SLACK:
                raise _too_large(limit)
            return message

        try:
            form = await Request(request.scope, counted).form(max_files=1, max_fields=8)
        except ApiError:
            raise
        except Exception:  # not multipart, or malformed: the client's fault
            raise ApiError(
                400, "Send the file as multipart/form-data with fields file and purpose."
            ) from None
        try:
            upload, purpose = form.get("file"), form.get("purpose")
            if purpose not in PURPOSES:
                raise ApiError(
                    400,
                    "purpose must be 'batch' (the only purpose this server stores).",
                    code="invalid_request",
                    param="purpose",
                )
            if not isinstance(upload, UploadFile):
                raise ApiError(400, "file is required.", code="invalid_request", param="file")
            if (upload.size or 0) > limit:
                raise _too_large(limit)
            file_id = f"file-{secrets.token_hex(12)}"
            size = await asyncio.to_thread(self._write, file_id, upload.file)
        finally:
            await form.close()
        name = os.path.basename(upload.filename or "") or "upload.jsonl"
        file = ApiFile(file_id, owner, name[:255], str(purpose), size, time.time())
        await asyncio.to_thread(self.store.add_file, file)
        return _file_object(file)

    async def retrieve_file(self, request: Request, file_id: str) -> dict:
        owner, _ = caller(self.services.settings, request)
        return _file_object(await self._owned_file(owner, file_id))

    async def list_files(self, request: Request, purpose: str | None) -> dict:
        owner, _ = caller(self.services.settings, request)
        files = await asyncio.to_thread(self.store.files, owner, purpose)
        return {"object": "list", "data": [_file_object(f) for f in files], "has_more": False}

    async def content(self, request: Request, file_id: str) -> FileResponse:
        owner, _ = caller(self.services.settings, request)
        file = await self._owned_file(owner, file_id)
        path = self.path(file.id)
        if not await asyncio.to_thread(path.is_file):
            raise _no_such("File", file_id)
        return FileResponse(path, media_type="application/jsonl", filename=file.filename)

    async def delete_file(self, request: Request, file_id: str) -> dict:
        owner, _ = caller(self.services.settings, request)
        file = await self._owned_file(owner, file_id)
        await asyncio.to_thread(self.store.delete_file, owner, file.id)
        await asyncio.to_thread(self.path(file.id).unlink, missing_ok=True)
        return {"id": file.id, "object": "file", "deleted": True}

    # -- batches ------------------------------------------------------------------------------
    async def create(self, request: Request) -> dict:
        owner, has_key = caller(self.services.settings, request)
        from app.api.routes import read_body  # routes.py includes this module's routes

        body = await read_body(request, 1024 * 1024)
        input_file_id = body.get("input_file_id")
        if not isinstance(input_file_id, str) or not input_file_id:
            raise ApiError(400, "input_file_id is required.", param="input_file_id")
        endpoint = body.get("endpoint")
        if endpoint not in ENDPOINTS:
            raise ApiError(
                400,
                f"endpoint must be one of {', '.join(ENDPOINTS)}.",
                code="invalid_request",
                param="endpoint",
            )
        window = body.get("completion_window")
        if window not in COMPLETION_WINDOWS:
            raise ApiError(
                400,
                "completion_window must be '24h'.",
                code="invalid_request",
                param="completion_window",
            )
        metadata = check_metadata(body.get("metadata"))
        file = await self._owned_file(owner, input_file_id)
        if file.purpose != "batch":
            raise ApiError(400, "The input file's purpose is not 'batch'.", param="input_file_id")
        raw = await asyncio.to_thread(self.path(file.id).read_bytes)
        lines, errors, _count = await asyncio.to_thread(check_lines, raw)
        del raw
        now = time.time()
        batch_id = f"batch_{secrets.token_hex(16)}"
        job = None
        if not errors:
            try:
                job = await self.services.batch.create_api_job(
                    owner, lines=lines, cloud_allowed=has_key, metadata=metadata
                )
            except (BackendError, Problem) as exc:  # a refusal every row would share
                refusal = ApiError.of(exc) if isinstance(exc, BackendError | TurnRejected) else None
                code = (refusal.code if refusal else None) or "invalid_request"
                errors = [{"code": code, "message": str(exc), "line": None, "param": None}]
        batch = ApiBatch(
            id=batch_id,
            owner=owner,
            job_id=job.id if job else None,
            input_file_id=file.id,
            endpoint=str(endpoint),
            completion_window=str(window),
            metadata=metadata,
            errors=errors or None,
            output_file_id=None,
            error_file_id=None,
            created_at=now,
            failed_at=now if job is None else None,
            finalized_at=None,
        )
        await asyncio.to_thread(self.store.add_batch, batch)
        return batch_object(batch, job)

    async def _owned_batch(self, owner: str, batch_id: str) -> ApiBatch:
        batch = await asyncio.to_thread(self.store.batch, owner, batch_id)
        if batch is None:
            raise _no_such("Batch", batch_id)
        return batch

    async def _render(self, batch: ApiBatch) -> dict:
        """The batch object, writing the result files first once its job has ended."""
        job = None
        if batch.job_id:
            job = await asyncio.to_thread(self.services.batch.job, batch.owner, batch.job_id)
        if (
            job is not None
            and batch.finalized_at is None
            and str(job.state) in ("done", "cancelled")
        ):
            batch = await self._finalize(batch)
        return batch_object(batch, job)

    async def _finalize(self, batch: ApiBatch) -> ApiBatch:
        async with self._finalizing:  # one writer: two polls must not make two output files
            current = await asyncio.to_thread(self.store.batch, batch.owner, batch.id)
            if current is None or current.finalized_at is not None:
                return current or batch
            rows = await asyncio.to_thread(self.services.batch.rows, batch.owner, batch.job_id)
            output, errors = await asyncio.to_thread(result_files, batch.id, rows)
            ids = []
            for data, kind in ((output, "output"), (errors, "error")):
                if data is None:
                    ids.append(None)
                    continue
                file_id = f"file-{secrets.token_hex(12)}"
                size = await asyncio.to_thread(self._write, file_id, data)
                name = f"{batch.id}_{kind}.jsonl"
                file = ApiFile(file_id, batch.owner, name, "batch_output", size, time.time())
                await asyncio.to_thread(self.store.add_file, file)
                ids.append(file_id)
            await asyncio.to_thread(self.store.finalize, batch.owner, batch.id, *ids)
            return await asyncio.to_thread(self.store.batch, batch.owner, batch.id) or batch

    async def retrieve(self, request: Request, batch_id: str) -> dict:
        owner, _ = caller(self.services.settings, request)
        return await self._render(await self._owned_batch(owner, batch_id))

    async def list(self, request: Request, after: str | None, limit_text: str | None) -> dict:
        owner, _ = caller(self.services.settings, request)
        limit = int(limit_text) if limit_text and limit_text.isdigit() else 20
        if not 1 <= limit <= 100 or (limit_text and not limit_text.isdigit()):
            raise ApiError(400, "limit must be between 1 and 100.", param="limit")
        batches = await asyncio.to_thread(
            lambda: self.store.batches(owner, after=after, limit=limit + 1)
        )
        page = [await self._render(batch) for batch in batches[:limit]]
        return {
            "object": "list",
            "data": page,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
            "has_more": len(batches) > limit,
        }

    async def cancel(self, request: Request, batch_id: str) -> dict:
        owner, _ = caller(self.services.settings, request)
        batch = await self._owned_batch(owner, batch_id)
        job = None
        if batch.job_id:
            job = await asyncio.to_thread(self.services.batch.job, owner, batch.job_id)
        if job is None or str(job.state) in ("done", "cancelled"):
            status = batch_object(batch, job)["status"]
            raise ApiError(
                409, f"Cannot cancel a batch with status '{status}'.", code="invalid_state"
            )
        if str(job.state) != "cancelling":
            await self.services.batch.cancel(owner, batch.job_id)
        return await self._render(batch)


def add_batch_routes(router: APIRouter, services: Services) -> None:
    api = BatchApi(services)

    @router.post("/files", summary="Upload a file (purpose 'batch': a Batch API input)")
    async def upload_file(request: Request):
        return await api.upload(request)

    @router.get("/files", summary="The caller's files")
    async def list_files(request: Request, purpose: str | None = None):
        return await api.list_files(request, purpose)

    @router.get("/files/{file_id}", summary="One file's details")
    async def retrieve_file(request: Request, file_id: str):
        return await api.retrieve_file(request, file_id)

    @router.get("/files/{file_id}/content", summary="A file's content (a batch's results)")
    async def file_content(request: Request, file_id: str):
        return await api.content(request, file_id)

    @router.delete("/files/{file_id}", summary="Delete a file")
    async def delete_file(request: Request, file_id: str):
        return await api.delete_file(request, file_id)

    @router.post("/batches", summary="Create a batch of chat completions from an input file")
    async def create_batch(request: Request):
        return await api.create(request)

    @router.get("/batches", summary="The caller's batches, newest first")
    async def list_batches(request: Request, after: str | None = None, limit: str | None = None):
        return await api.list(request, after, limit)

    @router.get("/batches/{batch_id}", summary="One batch's status and result files")
    async def retrieve_batch(request: Request, batch_id: str):
        return await api.retrieve(request, batch_id)

    @router.post("/batches/{batch_id}/cancel", summary="Cancel a batch")
    async def cancel_batch(request: Request, batch_id: str):
        return await api.cancel(request, batch_id)
