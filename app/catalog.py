"""Model catalog: what each model can do, decided by a capability table, never by its name.

Built-in entries cover StepFun's cloud models and the self-hosted Step3-VL-10B. Self-hosted
ids come from `LOCAL_MODELS` or from the server's `GET /models` (see `local_spec` for ids the
catalog does not know); `WEBUI_MODELS_FILE` (JSON) overrides or adds entries field by field.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
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
    # False for a model a server lists that neither the catalog nor WEBUI_MODELS_FILE knows:
    # text is sent, media are refused with advice instead of failing upstream.
    known: bool = True
    # The self-hosted model expected before its server has been reached; never answered.
    placeholder: bool = False
    # Sampling the model is meant to run with (None: the server's own default).
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None

    def sampling_defaults(self) -> dict[str, float | int | None]:
        return {"temperature": self.temperature, "top_p": self.top_p, "max_tokens": self.max_tokens}

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

    def as_public_dict(self) -> dict[str, Any]:
        return {
            "images": self.images,
            "video": self.video.value,
            "reasoning_efforts": list(self.efforts),
            "default_reasoning_effort": self.default_effort,
            "max_images": self.max_images if self.images else None,
            "capabilities_known": self.known,
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
    temperature=1.0,  # the vendor's demo (api-facts.md)
    top_p=1.0,
)

_OVERRIDABLE = {
    "temperature",
    "top_p",
    "max_tokens",
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
            elif key in ("max_images", "max_tokens"):
                changes[key] = int(value)
            elif key in ("temperature", "top_p"):
                changes[key] = float(value)
            else:
                changes[key] = value
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{source}: model {base.id!r}: {exc}") from None
    spec = replace(base, **changes)
    if not spec.images:
        spec = replace(spec, max_images=0)
    elif spec.max_images <= 0:
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


def local_spec(model_id: str) -> ModelSpec:
    """What a self-hosted model id can do. The rule for ids the catalog does not list itself:
    an id that names a catalog entry once an organisation prefix is removed
    (`stepfun-ai/Step3-VL-10B`) takes that entry's capabilities; any other id is text-only with
    its capabilities marked unknown, until WEBUI_MODELS_FILE declares them."""
    name = model_id.rsplit("/", 1)[-1].lower()
    if name == LOCAL_VL_TEMPLATE.id.lower():
        label = LOCAL_VL_TEMPLATE.label if model_id == LOCAL_VL_TEMPLATE.id else model_id
        return replace(LOCAL_VL_TEMPLATE, id=model_id, label=label)
    return ModelSpec(id=model_id, backend=Backend.LOCAL, label=model_id, known=False)


@dataclass(frozen=True)
class Catalog:
    """An immutable snapshot of the models this process offers, in display order.

    Discovery never changes a snapshot: `ModelRegistry` swaps in a new one.
    """

    models: tuple[ModelSpec, ...] = ()

    def get(self, model_id: str | None) -> ModelSpec | None:
        return next((m for m in self.models if m.id == model_id), None)

    def __iter__(self) -> Iterator[ModelSpec]:
        return iter(self.models)

    def __len__(self) -> int:
        return len(self.models)


def build_catalog(settings: Settings, discovered_local: Iterable[str] | None = None) -> Catalog:
    """The models to offer: StepFun's when a key is set, and the self-hosted ones, which are
    `LOCAL_MODELS`, else what the server listed (`discovered_local`), else, before the server
    has been reached, a placeholder for Step3-VL-10B that is never answered."""
    models: dict[str, ModelSpec] = {}
    if settings.stepfun_enabled:
        models.update((spec.id, spec) for spec in STEPFUN_MODELS)
    if settings.local_models:
        local = [local_spec(i) for i in settings.local_models]
    elif discovered_local is not None:
        local = [local_spec(i) for i in dict.fromkeys(discovered_local)]
    else:
        local = [replace(LOCAL_VL_TEMPLATE, placeholder=True)]
    models.update((spec.id, spec) for spec in local)
    for raw in load_overrides(settings.models_file):
        model_id = raw["id"]
        base = models.get(model_id) or next(
            (s for s in STEPFUN_MODELS if s.id == model_id),
            replace(LOCAL_VL_TEMPLATE, id=model_id, label=model_id),
        )
        spec = _apply_override(base, raw, settings.models_file)  # type: ignore[arg-type]
        if spec.backend is Backend.STEPFUN and not settings.stepfun_enabled:
            continue
        listed = settings.local_models or discovered_local or ()
        if spec.backend is Backend.LOCAL and model_id not in models and model_id not in listed:
            continue  # a declared self-hosted model is offered once the server lists it
        models[model_id] = replace(spec, known=True)
    return Catalog(tuple(models.values()))


class ModelRegistry:
    """The current catalog snapshot, swapped whole when the self-hosted server lists its models.

    Readers call `get`/iterate on whatever snapshot is current; nothing is mutated in place.
    """

    def __init__(self, settings: Settings):
        self._settings = settings
        self.current = build_catalog(settings)

    def get(self, model_id: str | None) -> ModelSpec | None:
        return self.current.get(model_id)

    def __iter__(self) -> Iterator[ModelSpec]:
        return iter(self.current)

    def __len__(self) -> int:
        return len(self.current)

    def discovered(self, model_ids: Iterable[str]) -> list[str]:
        """The self-hosted server listed these ids; returns the ids that are new."""
        if self._settings.local_models:
            return []
        before = {m.id for m in self.current}
        self.current = build_catalog(self._settings, list(model_ids))
        return [m.id for m in self.current if m.id not in before]
