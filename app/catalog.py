"""Model catalog: what each model can do, decided by a capability table, never by its name.

Built-in entries cover StepFun's cloud models and the self-hosted Step3-VL-10B. Self-hosted
ids come from `LOCAL_MODELS` or from the server's `GET /models`; `WEBUI_MODELS_FILE` (JSON)
overrides or adds entries field by field.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any

from app.config import ConfigError, Settings


class Backend(str, Enum):
    STEPFUN = "stepfun"
    LOCAL = "local"


class VideoMode(str, Enum):
    NATIVE = "native"  # the model takes video_url parts
    FRAMES = "frames"  # we sample frames and send them as images
    NONE = "none"  # the model sees no video at all


EFFORT_LEVELS = ("low", "medium", "high")


@dataclass(frozen=True)
class ModelSpec:
    id: str
    backend: Backend
    label: str = ""
    images: bool = False
    video: VideoMode = VideoMode.NONE
    efforts: tuple[str, ...] = ()
    default_effort: str | None = None
    max_images: int = 0
    description: str = ""

    @property
    def sees_media(self) -> bool:
        return self.images or self.video is not VideoMode.NONE

    def effort_for(self, requested: str | None) -> str | None:
        """The effort to send: the requested level if this model takes it, else its default."""
        if not self.efforts:
            return None
        if requested in self.efforts:
            return requested
        return self.default_effort or self.efforts[-1]

    def capability_summary(self) -> str:
        parts = []
        parts.append(f"images (≤{self.max_images})" if self.images else "text only")
        if self.video is VideoMode.NATIVE:
            parts.append("video")
        elif self.video is VideoMode.FRAMES:
            parts.append("video as frames")
        if self.efforts:
            parts.append("effort " + "/".join(self.efforts))
        return ", ".join(parts)

    def as_public_dict(self) -> dict[str, Any]:
        return {
            "images": self.images,
            "video": self.video.value,
            "reasoning_efforts": list(self.efforts),
            "default_reasoning_effort": self.default_effort,
            "max_images": self.max_images,
            "backend": self.backend.value,
        }


STEPFUN_MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        id="step-3.7-flash",
        backend=Backend.STEPFUN,
        label="Step 3.7 Flash",
        images=True,
        video=VideoMode.NATIVE,
        efforts=("low", "medium", "high"),
        default_effort="medium",
        max_images=60,
        description="StepFun's multimodal reasoning model: images and video.",
    ),
    ModelSpec(
        id="step-3.5-flash-2603",
        backend=Backend.STEPFUN,
        label="Step 3.5 Flash 2603",
        efforts=("low", "high"),
        default_effort="high",
        description="Text only; fast agent-oriented reasoning.",
    ),
    ModelSpec(
        id="step-3.5-flash",
        backend=Backend.STEPFUN,
        label="Step 3.5 Flash",
        description="Text only; sparse MoE reasoning model.",
    ),
    ModelSpec(
        id="step-router-v1",
        backend=Backend.STEPFUN,
        label="Step Router v1",
        description="Text only; routes between models (Step Plan path).",
    ),
)

LOCAL_VL_TEMPLATE = ModelSpec(
    id="Step3-VL-10B",
    backend=Backend.LOCAL,
    label="Step3-VL-10B (self-hosted)",
    images=True,
    video=VideoMode.FRAMES,
    max_images=32,
    description="Self-hosted vision-language model; videos are sent as sampled frames.",
)

_OVERRIDABLE = {
    "label",
    "images",
    "video",
    "efforts",
    "default_effort",
    "max_images",
    "description",
    "backend",
}


def _apply_override(base: ModelSpec, raw: Mapping[str, Any], source: Path) -> ModelSpec:
    unknown = set(raw) - _OVERRIDABLE - {"id"}
    if unknown:
        raise ConfigError(f"{source}: unknown field(s) {sorted(unknown)} for model {base.id!r}")
    changes: dict[str, Any] = {}
    try:
        for key, value in raw.items():
            if key == "id":
                continue
            if key == "backend":
                changes[key] = Backend(value)
            elif key == "video":
                changes[key] = VideoMode(value)
            elif key == "efforts":
                levels = tuple(value)
                if any(level not in EFFORT_LEVELS for level in levels):
                    raise ValueError(f"efforts must be among {EFFORT_LEVELS}")
                changes[key] = levels
            elif key == "images":
                changes[key] = bool(value)
            elif key == "max_images":
                changes[key] = int(value)
            else:
                changes[key] = value
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{source}: model {base.id!r}: {exc}") from None
    spec = replace(base, **changes)
    if spec.images and spec.max_images <= 0:
        spec = replace(spec, max_images=LOCAL_VL_TEMPLATE.max_images)
    return spec


def load_overrides(path: Path | None) -> list[Mapping[str, Any]]:
    if path is None:
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"WEBUI_MODELS_FILE={str(path)!r} is not readable JSON ({exc})") from None
    entries = data.get("models") if isinstance(data, dict) else data
    if not isinstance(entries, list) or not all(
        isinstance(e, dict) and isinstance(e.get("id"), str) for e in entries
    ):
        raise ConfigError(
            f"WEBUI_MODELS_FILE={str(path)!r} must hold a list of objects with an 'id' "
            '(e.g. {"models": [{"id": "my-model", "backend": "local", "images": true}]})'
        )
    return entries


@dataclass
class Catalog:
    """The models this process knows about, in display order. Built once at start."""

    models: dict[str, ModelSpec] = field(default_factory=dict)

    def get(self, model_id: str) -> ModelSpec | None:
        return self.models.get(model_id)

    def __iter__(self):
        return iter(self.models.values())

    def __len__(self) -> int:
        return len(self.models)

    def by_backend(self, backend: Backend) -> list[ModelSpec]:
        return [m for m in self.models.values() if m.backend is backend]

    def add_local(self, model_ids: Iterable[str]) -> list[ModelSpec]:
        """Add self-hosted ids found at run time (discovery); known ids are kept as they are."""
        added = []
        for model_id in model_ids:
            if model_id not in self.models:
                spec = replace(LOCAL_VL_TEMPLATE, id=model_id, label=f"{model_id} (self-hosted)")
                self.models[model_id] = spec
                added.append(spec)
        return added


def build_catalog(settings: Settings, discovered_local: Iterable[str] = ()) -> Catalog:
    catalog = Catalog()
    if settings.stepfun_enabled:
        for spec in STEPFUN_MODELS:
            catalog.models[spec.id] = spec
    local_ids = list(settings.local_models) or list(discovered_local) or [LOCAL_VL_TEMPLATE.id]
    catalog.add_local(local_ids)
    if LOCAL_VL_TEMPLATE.id in catalog.models:
        catalog.models[LOCAL_VL_TEMPLATE.id] = LOCAL_VL_TEMPLATE
    for raw in load_overrides(settings.models_file):
        model_id = raw["id"]
        base = catalog.models.get(model_id) or next(
            (s for s in STEPFUN_MODELS if s.id == model_id),
            replace(LOCAL_VL_TEMPLATE, id=model_id, label=model_id),
        )
        spec = _apply_override(base, raw, settings.models_file)  # type: ignore[arg-type]
        if spec.backend is Backend.STEPFUN and not settings.stepfun_enabled:
            continue
        catalog.models[model_id] = spec
    return catalog
