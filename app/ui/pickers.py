"""The model picker and what depends on the chosen model, for the chat's header and the Batch
tab alike: effort levels (hidden when the model has none), image detail (hidden when it cannot
see images), the capability badges."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from app.catalog import ModelRegistry, ModelSpec
from app.status import StatusMonitor
from app.ui import render


@dataclass(frozen=True)
class ModelControls:
    spec: ModelSpec | None
    model: dict[str, Any]
    effort: dict[str, Any]
    detail: dict[str, Any]
    badges: str


def model_controls(
    catalog: ModelRegistry,
    monitor: StatusMonitor,
    model_id: str | None,
    effort: str | None,
    detail: str | None,
    lang: str,
) -> ModelControls:
    spec = catalog.get(model_id)
    availability = monitor.model_status(spec.id).availability if spec else None
    efforts = render.effort_choices(spec, lang)
    return ModelControls(
        spec=spec,
        model=gr.update(choices=render.model_choices(catalog, monitor, lang), value=model_id),
        effort=gr.update(
            choices=efforts,
            value=spec.effort_for(effort) if spec and efforts else None,
            visible=bool(efforts),
        ),
        detail=gr.update(
            choices=render.detail_choices(lang),
            value=detail if detail in ("low", "high") else "low",
            visible=bool(spec and spec.sees_media),
        ),
        badges=render.model_badges(spec, availability, lang),
    )
