"""Run every benchmark and print one table: each figure, its reference measured in the same run,
the target from the issues, and whether it is met.

    .venv/bin/python bench/run_all.py                       # everything, about 5 minutes
    .venv/bin/python bench/run_all.py --quick               # fewer iterations, a smoke test
    .venv/bin/python bench/run_all.py --only api,store      # some (names or unique prefixes)
    .venv/bin/python bench/run_all.py --json out.json       # the figures as JSON too
    .venv/bin/python bench/run_all.py --compare ../wt-before  # before/after columns

A benchmark is any bench/bench_<name>.py with a top-level `def figures(quick=False)` (see
bench/harness.py for the protocol); a new one joins without edits here. Each runs in its own
process, so one benchmark's globals (Gradio's static paths, environment) never reach another.
With --compare, each benchmark then runs again against the other checkout, right after this
one's, so both see the same machine load: that checkout's `app` and `webui.py` (its server run
from its own directory with its own interpreter) measured by this checkout's bench code and fake
upstream. What the older app cannot do is shown as n/a with the reason.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(REPO))

FUNCTION = re.compile(r"^def figures\(", re.MULTILINE)
TIMEOUT_S = {True: 180, False: 900}  # per benchmark and checkout, quick and full


def discover() -> dict[str, Path]:
    """name -> script, for every bench/bench_<name>.py (with the function or not)."""
    return {path.stem.removeprefix("bench_"): path for path in sorted(BENCH_DIR.glob("bench_*.py"))}


def has_function(path: Path) -> bool:
    return bool(FUNCTION.search(path.read_text(encoding="utf-8", errors="replace")))


# -- one benchmark in its own process ------------------------------------------------------------
def worker(name: str, out: Path, quick: bool) -> None:
    """Entry of the child process: import the benchmark (which imports bench.harness first, so
    BENCH_APP_ROOT picks the app), run it and write its figures as JSON."""
    import importlib

    module = importlib.import_module(f"bench.bench_{name}")
    started = time.perf_counter()
    results = module.figures(quick=quick)
    import app  # already imported by the benchmark, from the checkout measured

    payload = {
        "figures": results,
        "seconds": time.perf_counter() - started,
        "app": str(Path(app.__file__).resolve().parent.parent),
    }
    out.write_text(json.dumps(payload, default=str))


def python_for(root: Path) -> str:
    candidate = root / ".venv" / "bin" / "python"
    return str(candidate) if candidate.exists() else sys.executable


def run_one(name: str, root: Path, quick: bool, logs: Path) -> dict[str, Any]:
    """Run one benchmark against one checkout: {"figures": ...} or {"error": why}."""
    tag = "current" if root == REPO else root.name
    out = logs / f"{name}-{tag}.json"
    log = logs / f"{name}-{tag}.log"
    script = str(Path(__file__).resolve())
    command = [python_for(root), script, "--worker", name, "--out", str(out)]
    if quick:
        command.append("--quick")
    env = dict(os.environ, BENCH_APP_ROOT=str(root), PYTHONUNBUFFERED="1")
    started = time.perf_counter()
    with log.open("wb") as log_file:
        try:
            process = subprocess.run(
                command,
                cwd=REPO,
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                timeout=TIMEOUT_S[quick],
            )
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {TIMEOUT_S[quick]} s (log: {log})"}
    took = time.perf_counter() - started
    if process.returncode != 0 or not out.exists():
        lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
        last = lines[-1].strip() if lines else f"exit status {process.returncode}"
        return {"error": f"{last[:160]} (log: {log})", "seconds": took}
    result = json.loads(out.read_text())
    result["seconds"] = took
    return result


# -- the table -----------------------------------------------------------------------------------
def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "ms":
        digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2
    elif unit in ("s", "kB"):
        digits = 2 if unit == "s" else 1
    else:
        digits = 0 if float(value).is_integer() else 2
    return f"{value:.{digits}f} {unit}".strip()


def met(entry: dict[str, Any] | None) -> str:
    from bench.harness import met as verdict

    if entry is None:
        return "n/a"
    return {True: "yes", False: "NO", None: "—"}[verdict(entry)]


def as_entry(value: Any) -> dict[str, Any]:
    """Accept plain numbers from a benchmark that does not use harness.figure."""
    if isinstance(value, dict):
        return value
    return {"label": "", "value": value, "unit": "", "reference": None, "reference_label": ""}


def rows_for(name: str, results: list[dict[str, Any]], compare: bool) -> list[list[str]]:
    """Table rows of one benchmark; `results` is [current] or [current, other checkout]."""
    errors = [r.get("error") for r in results]
    figure_sets = [{key: as_entry(v) for key, v in r.get("figures", {}).items()} for r in results]
    keys = list(dict.fromkeys(key for figures in figure_sets for key in figures))
    if not keys:
        reason = "; ".join(f"n/a: {e}" for e in errors if e)
        width = 8 if compare else 6
        return [[name, "(no figures)", *["n/a"] * (width - 3), reason]]
    rows = []
    for key in keys:
        entries = [figures.get(key) for figures in figure_sets]
        first = next(e for e in entries if e is not None)
        unit = first.get("unit", "")
        label = first.get("label") or key
        values = [fmt(e.get("value"), unit) if e else "n/a" for e in entries]
        ref_label = first.get("reference_label", "")
        refs = [fmt(e.get("reference"), unit) if e else "n/a" for e in entries]
        said = [
            f"n/a: {error or 'not measured by this checkout'}"
            if entry is None
            else entry.get("note", "")
            for entry, error in zip(entries, errors, strict=True)
        ]
        if len(set(said)) == 1:  # one checkout, or the same note for both: say it once
            notes = [said[0]] if said[0] else []
        else:
            notes = [
                f"{which}: {note}"
                for which, note in zip(("after", "before"), said, strict=True)
                if note
            ]
        if all(e is None or e.get("reference") is None for e in entries):
            reference = "—"
        else:
            reference = " / ".join(reversed(refs)) if compare else refs[0]
            reference += f" ({ref_label})" if ref_label else ""
        target = first.get("target") or "—"
        if compare:
            after, before = values
            met_cell = f"{met(entries[1])} → {met(entries[0])}"
            rows.append([name, label, before, after, reference, target, met_cell, "; ".join(notes)])
        else:
            rows.append(
                [name, label, values[0], reference, target, met(entries[0]), "; ".join(notes)]
            )
    return rows


def table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table, aligned so that it also reads well in a terminal."""
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=True)]

    def line(cells):
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def git_describe(root: Path) -> str:
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "log", "-1", "--format=%h %cs"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
        ).stdout.splitlines()
        if not changed:
            return head
        paths = [line[3:] for line in changed]
        shown = ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
        return f"{head} (uncommitted changes: {shown})"
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations (a smoke test)")
    parser.add_argument("--only", help="comma-separated benchmark names, e.g. api,store")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--compare", type=Path, help="another checkout to measure in the same run")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.out, args.quick)
        return 0

    available = discover()
    names = list(available)
    if args.only:
        names = []
        for asked in (n.strip().removeprefix("bench_") for n in args.only.split(",")):
            matches = [n for n in available if n == asked] or [
                n for n in available if n.startswith(asked)
            ]
            if not asked or len(matches) != 1:
                parser.error(
                    f"{asked!r} names {len(matches)} benchmarks; "
                    f"available: {', '.join(available)} (a unique prefix will do)"
                )
            names.append(matches[0])
    roots = [REPO]
    if args.compare:
        other = args.compare.resolve()
        if not (other / "webui.py").exists() or not (other / "app").is_dir():
            parser.error(f"{other} is not a checkout of this project (no webui.py and app/)")
        roots.append(other)

    info = machine()
    print(
        f"machine: {info['cpus']} CPUs, load average {info['load_average']}, Python "
        f"{info['python']}, {info['platform']}, {info['date']}"
    )
    for root in roots:
        print(
            f"{'after ' if len(roots) > 1 and root == REPO else ''}"
            f"{'before' if root != REPO else 'checkout'}: {root} at {git_describe(root)}"
        )
    print(f"mode: {'quick' if args.quick else 'full'}; benchmarks: {', '.join(names)}", flush=True)

    started = time.perf_counter()
    results: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-") as logs_name:
        logs = Path(logs_name)
        for name in names:
            if not has_function(available[name]):
                results[name] = [
                    {"error": f"bench_{name}.py has no figures(quick) function"} for _ in roots
                ]
                continue
            results[name] = []
            for root in roots:
                result = run_one(name, root, args.quick, logs)
                results[name].append(result)
                where = "" if root == REPO else f" against {root.name}"
                status = "failed" if "error" in result else "done"
                print(
                    f"  {name}{where}: {status} in {result.get('seconds', 0):.0f} s",
                    file=sys.stderr,
                    flush=True,
                )
                if "error" in result:
                    log = logs / f"{name}-{'current' if root == REPO else root.name}.log"
                    sys.stderr.write(log.read_text(errors="replace")[-3000:])
    compare = len(roots) > 1
    if compare:
        header = [
            "benchmark",
            "figure",
            "before",
            "after",
            "reference (same run, before / after)",
            "target",
            "met (before → after)",
            "notes",
        ]
    else:
        header = ["benchmark", "figure", "value", "reference (same run)", "target", "met", "notes"]
    rows = [row for name in names for row in rows_for(name, results[name], compare)]
    print()
    print(table(header, rows))
    total = time.perf_counter() - started
    print(
        f"\n{len(rows)} figures in {total:.0f} s; load average now "
        f"{[round(x, 2) for x in os.getloadavg()]}"
    )
    if args.json:
        payload = {
            "machine": info,
            "quick": args.quick,
            "seconds": total,
            "checkouts": {
                ("after" if compare else "current") if root == REPO else "before": {
                    "path": str(root),
                    "commit": git_describe(root),
                    "results": {name: results[name][i] for name in names},
                }
                for i, root in enumerate(roots)
            },
        }
        args.json.write_text(json.dumps(payload, indent=2, default=str))
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
