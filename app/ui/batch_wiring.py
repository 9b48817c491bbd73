"""Which event of the Batch tab calls which handler (as wiring.py does for the chat). Every
listener is private, and every handler checks what it is given (see ui/batch.py)."""

from __future__ import annotations

import gradio as gr

from app.ui.assets import TIMEZONE_JS
from app.ui.batch import BatchHandlers
from app.ui.batch_layout import BatchLayout
from app.ui.wiring import PRIVATE, QUIET

# On a phone the open job is below the form: bring it into view once a job starts.
SHOW_JOB_JS = """() => { if (window.innerWidth <= 768)
  setTimeout(() => document.querySelector('#batch-view')?.scrollIntoView({behavior: 'smooth'}), 300); }"""


def wire_batch(ui: BatchLayout, batch: BatchHandlers, timezone: gr.Textbox) -> None:
    job_view = [
        ui.view,
        ui.intro,
        ui.job_panel,
        ui.progress,
        ui.results,
        ui.downloads,
        ui.retry,
        ui.cancel,
        ui.timer,
        ui.jobs,
    ]
    form = [ui.template, ui.prompt, ui.model, ui.badges, ui.effort, ui.detail]
    model_controls = [ui.model, ui.badges, ui.effort, ui.detail]

    # Filled in when the tab is first shown, not at page load: the chat's load stays as it was.
    ui.tab.select(
        batch.opened,
        [ui.view, timezone],
        [*job_view, *form, ui.start, ui.notice],
        js=TIMEZONE_JS,
        **QUIET,
    )
    ui.model.input(batch.model_changed, [ui.model, ui.effort, ui.detail], model_controls, **QUIET)
    ui.template.input(
        batch.template_picked,
        [ui.template, ui.model, ui.effort],
        [ui.prompt, ui.notice, *model_controls],
        **QUIET,
    )
    # Not preprocessed: the File value keeps the name each file had in the browser.
    ui.start.click(
        batch.start,
        [ui.view, ui.files, ui.template, ui.prompt, ui.model, ui.effort, ui.detail],
        [*job_view, ui.files, ui.notice],
        preprocess=False,
        trigger_mode="once",  # a second click while the job is being made does nothing
        **QUIET,
    ).then(None, None, None, js=SHOW_JOB_JS, **PRIVATE)
    ui.jobs.job(batch.open_job, [ui.view], job_view, **QUIET)
    # Outside the queue: a tick is one store read, and open pages' ticks must never fill the
    # queue that questions and answers wait in (its size is bounded).
    ui.timer.tick(batch.tick, [ui.view], job_view, queue=False, **QUIET)
    ui.retry.click(batch.retry, [ui.view], job_view, **QUIET)
    ui.cancel.click(batch.cancel, [ui.view], job_view, **QUIET)
