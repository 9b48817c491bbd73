"""What every bench script shares, so `bench/run_all.py` can run them all and compare checkouts.

The protocol (a new `bench/bench_*.py` joins `run_all.py` without edits by following it):

* import this module before anything from `app` (`from bench import harness`), so that with
  `BENCH_APP_ROOT` set the `app` package comes from that other checkout;
* expose `figures(quick: bool = False) -> dict[str, dict]`, one entry per figure, each made by
  `figure(...)` below (plain numbers are accepted too); `quick` means fewer iterations;
* start servers with `start_server` below (it runs the checkout's own `webui.py`), and wrap code
  that an older checkout may lack in `try`/`except` returning `unavailable(...)` for that figure.

Each figure sits beside a reference measured in the same run (the fake upstream directly, Gradio's
default, a quiet run, ...), so a busy machine moves both and the comparison still holds.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
ENV_ROOT = "BENCH_APP_ROOT"


def app_root() -> Path:
    """The checkout whose `app` and `webui.py` are measured (this one unless BENCH_APP_ROOT)."""
    return Path(os.environ.get(ENV_ROOT) or REPO).resolve()


def _use_app_root() -> None:
    """Load `app` from BENCH_APP_ROOT while `bench` and `tests` (the fake upstream, the media
    factory) stay this checkout's: both checkouts are measured by the same bench code."""
    root = app_root()
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    if root == REPO or "app" in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(
        "app", root / "app" / "__init__.py", submodule_search_locations=[str(root / "app")]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["app"] = module
    spec.loader.exec_module(module)


_use_app_root()


def figure(
    label: str,
    value: float | None,
    unit: str = "ms",
    *,
    reference: float | None = None,
    reference_label: str = "",
    target: str = "",
    limit: float | None = None,
    lower_is_better: bool = True,
    note: str = "",
) -> dict[str, Any]:
    """One measured figure. `limit` makes the target checkable: met when value <= limit (or >=
    when not lower_is_better); `target` says it in words, with the issue it comes from."""
    return {
        "label": label,
        "value": value,
        "unit": unit,
        "reference": reference,
        "reference_label": reference_label,
        "target": target,
        "limit": limit,
        "lower_is_better": lower_is_better,
        "note": note,
    }


def unavailable(label: str, reason: str, **target: Any) -> dict[str, Any]:
    """A figure this checkout cannot produce (e.g. an older app without the function)."""
    return figure(label, None, note=f"n/a: {reason}", **target)


def met(entry: dict[str, Any]) -> bool | None:
    """Whether the figure meets its target; None when it has no checkable target or no value."""
    if entry.get("met") is not None:
        return bool(entry["met"])
    value, limit = entry.get("value"), entry.get("limit")
    if value is None or limit is None:
        return None
    return value <= limit if entry.get("lower_is_better", True) else value >= limit


def app_python() -> str:
    """The interpreter of the measured checkout (its .venv), else this one."""
    candidate = app_root() / ".venv" / "bin" / "python"
    return str(candidate) if candidate.exists() else sys.executable


def start_server(fake, data_dir: Path, log_dir: Path, **extra: str):
    """tests.conftest.start_server, but running the measured checkout's webui.py (Python puts
    its directory first on the path) with that checkout's interpreter."""
    from tests.conftest import LiveServer, upstream_env, wait_healthy
    from tests.fake_upstream import free_port

    root = app_root()
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("WEBUI_", "STEP_", "LOCAL_", "STEPFUN_", "BENCH_"))
    }
    env.update(upstream_env(fake, data_dir, **extra))
    env["GRADIO_ANALYTICS_ENABLED"] = "False"
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"server-{port}.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [app_python(), str(root / "webui.py"), "--host", "127.0.0.1", "--port", str(port)],
            cwd=log_dir,  # as the tests do: no .env or data of the checkout is picked up
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, log_path)
    except BaseException:
        process.kill()
        process.wait(10)
        raise
    return LiveServer(url, port, data_dir, process, log_path)


def print_figures(results: dict[str, dict[str, Any]]) -> None:
    """A bench script's own CLI output: each figure beside its reference."""
    for entry in results.values():
        if not isinstance(entry, dict):
            print(entry)
            continue
        value = entry["value"]
        shown = "n/a" if value is None else f"{value:.2f} {entry['unit']}"
        line = f"{entry['label']}: {shown}"
        if entry.get("reference") is not None:
            line += f"  (reference, {entry['reference_label']}: {entry['reference']:.2f} {entry['unit']})"
        if entry.get("target"):
            verdict = {True: "met", False: "NOT met", None: "—"}[met(entry)]
            line += f"  [target {entry['target']}: {verdict}]"
        if entry.get("note"):
            line += f"  {entry['note']}"
        print(line)
