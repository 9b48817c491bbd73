"""The Batch tab's components and where they sit; nothing here reacts to anything (see
batch_wiring.py).

    ┌ new batch ───────────────────┐ ┌ the open job ───────────────────────────────────────┐
    │ drop zone (files or a zip)   │ │ title · state · progress bar · counts · time left   │
    │ task · question              │ │ Retry failed · Cancel · Download CSV · JSONL        │
    │ model · badges · effort ·    │ │ results: thumbnail, file, status, answer, fields,   │
    │ detail · Start               │ │          time, tokens (fills in as rows finish)     │
    │ your batch jobs (click one)  │ └─────────────────────────────────────────────────────┘
    └──────────────────────────────┘
On a phone the two columns stack; the table's rows become cards.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from app.gradio_adapter import LenientRadio
from app.ui.labels import L

BATCH_FILES = ["image", "video", ".zip", ".heic", ".heif", ".mkv", ".webm", ".mov"]
TICK_S = 1.0  # the open job's progress: one store read per tick while it runs

JOBS_JS = """
element.addEventListener('click', (event) => {
  const row = event.target.closest('.job-row');
  if (row) trigger('job', {id: row.dataset.id});
});
element.addEventListener('keydown', (event) => {
  const row = event.target.closest('.job-row');
  if (row && event.key === 'Enter') trigger('job', {id: row.dataset.id});
});
"""

# A long answer is clamped in the table; a click on it shows it all.
RESULTS_JS = """
element.addEventListener('click', (event) => {
  const cell = event.target.closest('.answer-text, .row-error');
  if (cell && !window.getSelection().toString()) cell.classList.toggle('open');
});
"""


@dataclass
class BatchView:
    """What one page's Batch tab remembers (server-held, per page): the job it shows and what
    of it was last sent, so a tick that finds nothing new sends nothing."""

    job_id: str | None = None
    seen: tuple | None = None  # (state, counts) when the table was last rendered
    progress: str = ""  # the progress block last sent
    timezone: str | None = None
    opened: bool = False  # the tab was shown once: its form is filled in


@dataclass
class BatchLayout:
    tab: gr.Tab
    view: gr.State
    timer: gr.Timer
    files: gr.File
    template: gr.Dropdown
    prompt: gr.Textbox
    model: gr.Dropdown
    badges: gr.HTML
    effort: gr.Radio
    detail: gr.Radio
    notice: gr.HTML
    start: gr.Button
    jobs: gr.HTML
    intro: gr.Markdown
    job_panel: gr.Column
    progress: gr.HTML
    retry: gr.Button
    cancel: gr.Button
    downloads: gr.HTML
    results: gr.HTML


def render_batch_layout() -> BatchLayout:
    """Builds the Batch tab and its components inside the current Tabs."""
    with gr.Tab(L("batch.ui.tab"), id="batch", elem_id="batch-tab", scale=1) as tab:
        # Inside the Tab: anything placed directly in the Tabs would show as a tab of its own.
        view = gr.State(BatchView())
        timer = gr.Timer(TICK_S, active=False)
        with gr.Row(elem_id="batch", equal_height=False):
            with gr.Column(scale=0, min_width=300, elem_id="batch-form"):
                files = gr.File(
                    label=L("batch.ui.files"),
                    file_count="multiple",
                    file_types=BATCH_FILES,
                    elem_id="batch-files",
                    height=170,
                )
                template = gr.Dropdown(
                    label=L("batch.ui.template"),
                    elem_id="batch-template",
                    choices=[],
                    interactive=True,
                    allow_custom_value=True,  # the handler checks it; no Gradio error toast
                )
                prompt = gr.Textbox(
                    label=L("batch.ui.prompt"), elem_id="batch-prompt", lines=3, max_lines=6
                )
                with gr.Row(elem_id="batch-model-row", equal_height=False):
                    with gr.Column(min_width=0, elem_id="batch-model-column"):
                        model = gr.Dropdown(
                            label=L("ui.model"),
                            elem_id="batch-model",
                            choices=[],
                            interactive=True,
                            allow_custom_value=True,
                        )
                        badges = gr.HTML(elem_id="batch-badges", min_height=0)
                    with gr.Column(min_width=0, elem_id="batch-effort-column"):
                        effort = LenientRadio(
                            label=L("ui.effort"), elem_id="batch-effort", choices=[], visible=False
                        )
                detail = gr.Radio(
                    label=L("ui.detail"),
                    elem_id="batch-detail",
                    choices=[],
                    info=L("ui.detail.info"),
                )
                notice = gr.HTML(elem_id="batch-notice")
                start = gr.Button(L("batch.ui.start"), variant="primary", elem_id="batch-start")
                gr.Markdown(L("batch.ui.jobs"), elem_id="batch-jobs-title")
                jobs = gr.HTML(elem_id="batch-jobs", js_on_load=JOBS_JS)
            with gr.Column(scale=1, min_width=0, elem_id="batch-view"):
                intro = gr.Markdown(L("batch.ui.intro"), elem_id="batch-intro")
                with gr.Column(visible=False, elem_id="batch-job") as job_panel:
                    progress = gr.HTML(elem_id="batch-progress")
                    with gr.Row(elem_id="batch-actions"):
                        retry = gr.Button(
                            L("batch.ui.retry"), size="sm", elem_id="batch-retry", visible=False
                        )
                        cancel = gr.Button(
                            L("batch.ui.cancel"),
                            size="sm",
                            variant="stop",
                            elem_id="batch-cancel",
                            visible=False,
                        )
                        downloads = gr.HTML(elem_id="batch-downloads", min_height=0)
                    results = gr.HTML(elem_id="batch-results", js_on_load=RESULTS_JS)
    return BatchLayout(
        tab=tab,
        view=view,
        timer=timer,
        files=files,
        template=template,
        prompt=prompt,
        model=model,
        badges=badges,
        effort=effort,
        detail=detail,
        notice=notice,
        start=start,
        jobs=jobs,
        intro=intro,
        job_panel=job_panel,
        progress=progress,
        retry=retry,
        cancel=cancel,
        downloads=downloads,
        results=results,
    )
