"""The JSON in a structured answer (receipt, chart...), as flat columns for the results table.

Models wrap JSON in a ```json fence, add a sentence before or after it, or (as the receipt
template asks) follow it with CSV. The first fenced block that parses wins; else the first
balanced `{...}` (or `[...]`) in the text that parses. Nested objects become dotted columns
(`merchant.name`); lists stay one cell, as JSON, so rows keep the same columns.
"""

from __future__ import annotations

import json
import re
from typing import Any

_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\n(.*?)```", re.S)
_DECODER = json.JSONDecoder()
MAX_STARTS = 200  # brackets tried as the start of bare JSON (bounds the work on long answers)


def _candidates(answer: str) -> list[str]:
    return [block.strip() for block in _FENCE.findall(answer)]


def prose(answer: str) -> str:
    """The answer without its fenced code blocks: what is left to read once its JSON is shown
    as columns (often nothing, sometimes a remark or the same data as CSV)."""
    return re.sub(r"```.*?```", "", answer, flags=re.S).strip()


def extract_json(answer: str) -> Any | None:
    """The first JSON object or array in `answer`, or None when there is none that parses."""
    for block in _candidates(answer):
        try:
            value = json.loads(block)
        except ValueError:
            continue
        if isinstance(value, dict | list):
            return value
    starts = (index for index, char in enumerate(answer) if char in "{[")
    for tried, index in enumerate(starts):
        if tried >= MAX_STARTS:
            break
        try:
            value, _end = _DECODER.raw_decode(answer, index)
        except ValueError:
            continue
        if isinstance(value, dict | list):
            return value
    return None


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested objects as dotted keys; lists and scalars as they are (lists to one cell)."""
    if not isinstance(value, dict):
        return {prefix or "value": value}
    flat: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(item, dict) and item:
            flat.update(flatten(item, name))
        else:
            flat[name] = item
    return flat


def parse_fields(answer: str) -> tuple[dict[str, Any] | None, bool]:
    """(flat fields, whether the answer held valid JSON). A top-level list is one `value`
    column; no JSON: (None, False), and the row keeps its answer."""
    value = extract_json(answer)
    if value is None:
        return None, False
    return flatten(value), True


def cell(value: Any) -> str:
    """One field as table text: lists and objects as compact JSON, null as empty."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
