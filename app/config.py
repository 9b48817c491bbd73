"""Settings: environment, `.env` and command-line flags, validated once at start.

Precedence: flags > real environment > `.env` in the working directory > defaults.
Anything invalid raises `ConfigError` with one line a person can act on; `webui.py`
prints it and exits instead of showing a traceback.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from dotenv import dotenv_values

DEFAULT_STEP_BASE_URL = "https://api.stepfun.com/v1"
DEFAULT_LOCAL_BASE_URL = "http://127.0.0.1:8000/v1"


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    host: str = "0.0.0.0"
    port: int = 7860
    data_dir: Path = Path("data")
    step_api_key: str | None = None
    step_base_url: str = DEFAULT_STEP_BASE_URL
    local_base_url: str = DEFAULT_LOCAL_BASE_URL
    local_api_key: str = "EMPTY"
    local_models: tuple[str, ...] = ()
    default_model: str | None = None
    auth: tuple[tuple[str, str], ...] = ()
    api_keys: tuple[str, ...] = ()
    models_file: Path | None = None
    concurrency: int = 64
    batch_concurrency: int = 3  # batch rows in flight at once, all jobs together
    connect_timeout: float = 10.0
    read_timeout: float = 300.0
    max_retries: int = 2
    max_upload_mb: int = 512
    video_frame_interval: float = 2.0
    video_max_frames: int = 16
    model_poll_interval: float = 5.0
    media_orphan_hours: float = 24.0
    model_server_autostart: bool = False
    shutdown_grace_s: float = 20.0  # supervisord's stopwaitsecs (30) must stay above this
    log_level: str = "INFO"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "webui.sqlite3"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def upload_dir(self) -> Path:
        """Where the page's uploads land (Gradio's upload folder, owner-checked like media)."""
        return self.data_dir / "uploads"

    @property
    def stepfun_enabled(self) -> bool:
        return bool(self.step_api_key)

    def __repr__(self) -> str:  # never print secrets, even by accident
        return (
            f"Settings(host={self.host!r}, port={self.port}, data_dir={str(self.data_dir)!r}, "
            f"stepfun={'on' if self.stepfun_enabled else 'off'}, local={self.local_base_url!r})"
        )


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="webui.py",
        description="Web UI and OpenAI-compatible API for vision-language models.",
    )
    parser.add_argument("--host", help="bind address (WEBUI_HOST, default 0.0.0.0)")
    parser.add_argument("--port", help="port of the UI and the API (WEBUI_PORT, default 7860)")
    parser.add_argument("--data-dir", help="database and stored media (WEBUI_DATA_DIR)")
    return parser.parse_args(argv)


def _merged_environment(environ: Mapping[str, str] | None, env_file: Path | None) -> dict[str, str]:
    env_path = env_file if env_file is not None else Path.cwd() / ".env"
    from_file = {k: v for k, v in dotenv_values(env_path).items() if v is not None}
    real = dict(os.environ if environ is None else environ)
    return {**from_file, **real}


def _text(env: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    value = env.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip()


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = _text(env, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={value} is out of range ({low}..{high})")
    return value


def _float(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = _text(env, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={value} is out of range ({low}..{high})")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = _text(env, name)
    if raw is None:
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={raw!r} must be true or false")


def _port(raw: str, source: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{source}={raw!r} is not a port number (1-65535)") from None
    if not 1 <= value <= 65535:
        raise ConfigError(f"{source}={value} is not a port number (1-65535)")
    return value


def _url(env: Mapping[str, str], name: str, default: str) -> str:
    value = (_text(env, name) or default).rstrip("/")
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"{name}={value!r} must be an http(s) URL such as {default}")
    return value


def _csv(raw: str | None) -> tuple[str, ...]:
    if not raw:
        return ()
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _auth_pairs(raw: str | None) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in _csv(raw):
        user, sep, password = item.partition(":")
        if not sep or not user or not password:
            raise ConfigError("WEBUI_AUTH must be user:password pairs separated by commas")
        pairs.append((user, password))
    return tuple(pairs)


def _usable_data_dir(raw: str) -> Path:
    path = Path(raw).expanduser().resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
        (path / "media").mkdir(exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-check-"):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConfigError(
            f"WEBUI_DATA_DIR={raw!r} is not a writable directory ({reason})"
        ) from None
    return path


def load_settings(
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
    env_file: Path | None = None,
) -> Settings:
    """Build validated settings; raises ConfigError with a one-line explanation."""
    args = _parse_args(argv)
    env = _merged_environment(environ, env_file)

    host = args.host or _text(env, "WEBUI_HOST", "0.0.0.0")
    port = (
        _port(args.port, "--port")
        if args.port
        else _port(_text(env, "WEBUI_PORT", "7860"), "WEBUI_PORT")
    )
    data_dir = _usable_data_dir(args.data_dir or _text(env, "WEBUI_DATA_DIR", "data"))

    models_file_raw = _text(env, "WEBUI_MODELS_FILE")
    models_file = Path(models_file_raw).expanduser() if models_file_raw else None
    if models_file is not None and not models_file.is_file():
        raise ConfigError(f"WEBUI_MODELS_FILE={models_file_raw!r} does not exist")

    log_level = (_text(env, "WEBUI_LOG_LEVEL", "INFO") or "INFO").upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"WEBUI_LOG_LEVEL={log_level!r} must be DEBUG, INFO, WARNING or ERROR")

    return Settings(
        host=host,
        port=port,
        data_dir=data_dir,
        step_api_key=_text(env, "STEP_API_KEY") or _text(env, "STEPFUN_API_KEY"),
        step_base_url=_url(env, "STEP_BASE_URL", DEFAULT_STEP_BASE_URL),
        local_base_url=_url(env, "LOCAL_BASE_URL", DEFAULT_LOCAL_BASE_URL),
        local_api_key=_text(env, "LOCAL_API_KEY", "EMPTY") or "EMPTY",
        local_models=_csv(_text(env, "LOCAL_MODELS")),
        default_model=_text(env, "WEBUI_DEFAULT_MODEL"),
        auth=_auth_pairs(_text(env, "WEBUI_AUTH")),
        api_keys=_csv(_text(env, "WEBUI_API_KEYS")),
        models_file=models_file,
        concurrency=_int(env, "WEBUI_CONCURRENCY", 64, 1, 4096),
        batch_concurrency=_int(env, "WEBUI_BATCH_CONCURRENCY", 3, 1, 256),
        connect_timeout=_float(env, "WEBUI_CONNECT_TIMEOUT", 10.0, 0.1, 600),
        read_timeout=_float(env, "WEBUI_READ_TIMEOUT", 300.0, 1, 3600),
        max_retries=_int(env, "WEBUI_MAX_RETRIES", 2, 0, 10),
        max_upload_mb=_int(env, "WEBUI_MAX_UPLOAD_MB", 512, 1, 16384),
        video_frame_interval=_float(env, "WEBUI_VIDEO_FRAME_INTERVAL", 2.0, 0.1, 600),
        video_max_frames=_int(env, "WEBUI_VIDEO_MAX_FRAMES", 16, 1, 64),
        model_poll_interval=_float(env, "WEBUI_MODEL_POLL_INTERVAL", 5.0, 0.2, 3600),
        media_orphan_hours=_float(env, "WEBUI_MEDIA_ORPHAN_HOURS", 24.0, 0.02, 24 * 365),
        model_server_autostart=_bool(env, "MODEL_SERVER_AUTOSTART", False),
        shutdown_grace_s=_float(env, "WEBUI_SHUTDOWN_GRACE", 20.0, 0, 25),
        log_level=log_level,
    )
