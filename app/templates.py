"""Task templates: what to ask of a receipt, a chart, a whiteboard... One data file
(templates.json) holds every template's wording in both languages, the image detail the task
needs and what it needs the model to see; adding a template touches only that file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from app.i18n import EN

DATA = Path(__file__).with_name("templates.json")


@dataclass(frozen=True)
class Template:
    id: str
    title: dict[str, str]
    prompt: dict[str, str]
    detail: str  # "low" or "high": what the task needs to be read well
    needs: tuple[str, ...]  # "image", "video": what the model must be able to take
    structured: bool  # the answer holds JSON (batch results get columns from it)
    sample: tuple[str, ...]  # sample images drawn by app/samples.py, for the starter cards

    def title_in(self, lang: str) -> str:
        return self.title.get(lang) or self.title[EN]

    def prompt_in(self, lang: str) -> str:
        return self.prompt.get(lang) or self.prompt[EN]


@cache
def templates() -> tuple[Template, ...]:
    raw = json.loads(DATA.read_text(encoding="utf-8"))["templates"]
    return tuple(
        Template(
            id=entry["id"],
            title=entry["title"],
            prompt=entry["prompt"],
            detail=entry["detail"],
            needs=tuple(entry["needs"]),
            structured=bool(entry["structured"]),
            sample=tuple(entry["sample"]),
        )
        for entry in raw
    )


def template(template_id: str | None) -> Template | None:
    return next((tpl for tpl in templates() if tpl.id == template_id), None)
