"""The Batch tab's handlers: Gradio values in, `services.batch` (the owner-scoped BatchService)
calls, the tab's components out. The service does the work and checks the owner of every job;
these only translate (see batch_wiring.py for what triggers each).

Every value here came from the client: file paths must be this owner's uploads
(`owned_upload`), a job id picked in the list is looked up as this owner's (another owner's id
finds nothing), and the job on show is held in server-side state (`BatchView`).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import gradio as gr

from app.batch.records import Job, JobState
from app.batch.service import BatchService
from app.core import TurnRejected
from app.gradio_adapter import event_payload
from app.i18n import Problem, t
from app.services import Services
from app.templates import template, templates
from app.ui import batch_render
from app.ui.batch_layout import BatchLayout, BatchView
from app.ui.page_input import batch_files, request_language, request_owner
from app.ui.pickers import model_controls

# A batch asks about one file at a time: a template about two images at once does not fit.
NOT_FOR_BATCH = {"compare"}


def _signature(job: Job) -> tuple:
    return (str(job.state), job.counts)


class BatchHandlers:
    def __init__(self, services: Services, ui: BatchLayout):
        self.services = services
        self.ui = ui

    @property
    def service(self) -> BatchService:
        return self.services.batch

    # -- the form -------------------------------------------------------------------------------
    def model_controls(
        self, model_id: str | None, effort: str | None, detail: str | None, lang: str
    ) -> dict:
        """As the chat's header: the model picker, its badges, effort levels (hidden when the
        model has none) and image detail."""
        ui, services = self.ui, self.services
        controls = model_controls(
            services.catalog, services.monitor, model_id, effort, detail, lang
        )
        return {
            ui.model: controls.model,
            ui.badges: controls.badges,
            ui.effort: controls.effort,
            ui.detail: controls.detail,
        }

    def _default_model(self) -> str | None:
        """The chat's default model if it sees images, else the first one that does."""
        engine_default = self.services.engine.default_model(None)
        spec = self.services.catalog.get(engine_default)
        if spec is not None and spec.sees_media:
            return spec.id
        able = next((s.id for s in self.services.catalog if s.sees_media), None)
        return able or engine_default

    def form(self, lang: str) -> dict:
        ui = self.ui
        choices = [(t("batch.template.none", lang), "")] + [
            (tpl.title_in(lang), tpl.id) for tpl in templates() if tpl.id not in NOT_FOR_BATCH
        ]
        return {
            ui.template: gr.update(choices=choices, value=""),
            ui.prompt: gr.update(
                placeholder=t("batch.prompt.placeholder", lang, filename="{filename}"),
                info=t("batch.prompt.info", lang, filename="{filename}"),
            ),
            **self.model_controls(self._default_model(), None, "low", lang),
        }

    def model_changed(
        self, model_id: str | None, effort: str | None, detail: str | None, request: gr.Request
    ) -> dict:
        return self.model_controls(model_id, effort, detail, request_language(request))

    def template_picked(
        self,
        template_id: str | None,
        model_id: str | None,
        effort: str | None,
        request: gr.Request,
    ) -> dict:
        """A task fills the question (still editable) in the page's language and sets the
        image detail it needs; "my own question" leaves the question as it is."""
        lang = request_language(request)
        tpl = template(template_id) if isinstance(template_id, str) else None
        if tpl is None or tpl.id in NOT_FOR_BATCH:
            return {self.ui.notice: ""}
        return {
            self.ui.prompt: tpl.prompt_in(lang),
            self.ui.notice: "",
            **self.model_controls(model_id, effort, tpl.detail, lang),
        }

    # -- the tab shown ----------------------------------------------------------------------------
    def opened(self, view: BatchView, timezone: str | None, request: gr.Request) -> dict:
        """The tab shown: the first time, the form in the page's language and the newest job
        (a job keeps running while no page shows it); every time, the job and the list as they
        are now. Nothing of this runs for a page that never opens the tab."""
        owner, lang = request_owner(request), request_language(request)
        first = not view.opened
        view.opened = True
        if isinstance(timezone, str) and timezone:
            view.timezone = timezone
        update = self.form(lang) if first else {}
        jobs = self.service.jobs(owner)
        if first or (view.job_id is not None and self.service.job(owner, view.job_id) is None):
            view.job_id = jobs[0].id if jobs else None
        return {**update, **self._show(owner, view, lang, jobs=jobs)}

    # -- showing a job ----------------------------------------------------------------------------
    def _show(
        self,
        owner: str,
        view: BatchView,
        lang: str,
        *,
        job: Job | None = None,
        jobs: list[Job] | None = None,
        force: bool = True,
    ) -> dict:
        """Everything that shows the job in `view` (its progress, buttons, table) and the list.
        With force=False only what changed since the last call is sent (a tick)."""
        ui, service, now = self.ui, self.service, time.time()
        if job is None and view.job_id is not None:
            job = service.job(owner, view.job_id)
        if job is None:
            view.job_id, view.seen, view.progress = None, None, ""
        update: dict[Any, Any] = {ui.view: view}
        signature = _signature(job) if job is not None else None
        changed = force or signature != view.seen
        progress = batch_render.progress_html(job, lang, now) if job is not None else ""
        if force or progress != view.progress:
            update[ui.progress] = progress
            view.progress = progress
        if changed:
            view.seen = signature
            rows = service.rows(owner, job.id) if job is not None else []
            running = job is not None and not batch_render.finished(job)
            update.update(
                {
                    ui.intro: gr.update(visible=job is None),
                    ui.job_panel: gr.update(visible=job is not None),
                    ui.results: batch_render.results_table(job, rows, lang),
                    ui.downloads: batch_render.downloads_html(job, lang),
                    ui.retry: gr.update(
                        visible=not running and any(row.can_run_again for row in rows)
                    ),
                    ui.cancel: gr.update(visible=running and job.state != JobState.CANCELLING),
                    ui.timer: gr.Timer(active=running),
                }
            )
            if jobs is None:
                jobs = service.jobs(owner)
        if jobs is not None:
            update[ui.jobs] = batch_render.jobs_list(
                jobs, view.job_id, lang=lang, tz=view.timezone, now=now
            )
        return update

    def open_job(self, view: BatchView, event: gr.EventData, request: gr.Request) -> dict:
        """A job picked in the list (its id from the client: looked up as this owner's)."""
        owner, lang = request_owner(request), request_language(request)
        job_id = event_payload(event).get("id")
        job = self.service.job(owner, job_id) if isinstance(job_id, str) else None
        if job is None:
            gr.Warning(t("batch.not_found", lang))
            return {self.ui.view: view}
        view.job_id = job.id
        return self._show(owner, view, lang, job=job)

    def tick(self, view: BatchView, request: gr.Request) -> dict:
        """While a job runs: one read of the job; its rows only when a count or its state
        changed; the timer stops once the job has finished."""
        owner, lang = request_owner(request), request_language(request)
        if view.job_id is None:
            return {self.ui.view: view, self.ui.timer: gr.Timer(active=False)}
        return self._show(owner, view, lang, force=False)

    # -- start, retry, cancel -----------------------------------------------------------------------
    async def start(
        self,
        view: BatchView,
        files: Any,
        template_id: Any,
        prompt: Any,
        model_id: Any,
        effort: Any,
        detail: Any,
        request: gr.Request,
    ) -> dict:
        """A new job from the dropped files (each one this owner's upload), the question or
        task, and the model settings; the job then runs in the server, page open or not."""
        owner, lang = request_owner(request), request_language(request)
        ui = self.ui
        try:
            chosen = await asyncio.to_thread(batch_files, files, owner, self.services.store)
            if not chosen:
                raise TurnRejected("batch.empty")
            job = await self.service.create_page_job(
                owner,
                files=chosen,
                prompt=prompt if isinstance(prompt, str) else "",
                model_id=model_id if isinstance(model_id, str) else None,
                effort=effort if isinstance(effort, str) else None,
                detail=detail if detail in ("low", "high") else "low",
                template=template_id if isinstance(template_id, str) and template_id else None,
                lang=lang,
            )
        except Problem as exc:  # TurnRejected included
            return {ui.notice: batch_render.notice(exc.text(lang))}
        view.job_id = job.id
        shown = await asyncio.to_thread(self._show, owner, view, lang, job=job)
        return {**shown, ui.files: None, ui.notice: ""}

    async def retry(self, view: BatchView, request: gr.Request) -> dict:
        owner, lang = request_owner(request), request_language(request)
        if view.job_id is None:
            return {self.ui.view: view}
        job = await self.service.retry_failed(owner, view.job_id)
        return await asyncio.to_thread(self._show, owner, view, lang, job=job)

    async def cancel(self, view: BatchView, request: gr.Request) -> dict:
        owner, lang = request_owner(request), request_language(request)
        if view.job_id is None:
            return {self.ui.view: view}
        job = await self.service.cancel(owner, view.job_id)
        return await asyncio.to_thread(self._show, owner, view, lang, job=job)
