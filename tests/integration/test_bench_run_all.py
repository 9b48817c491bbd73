"""bench/run_all.py: the one benchmark command runs, prints its table with numbers, writes JSON,
picks up any bench_*.py that follows the protocol, and shows what a checkout cannot measure as
n/a with the reason. Not a timing assertion: figures belong in bench/, not in tests."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from bench import run_all

REPO = Path(__file__).resolve().parent.parent.parent
NUMBER = r"-?\d+(\.\d+)? ms"


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def test_quick_run_of_the_cheapest_benchmark_prints_the_table_with_numbers(tmp_path):
    out = tmp_path / "figures.json"
    process = subprocess.run(
        [sys.executable, "bench/run_all.py", "--quick", "--only", "store", "--json", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert process.returncode == 0, process.stdout + process.stderr
    lines = process.stdout.splitlines()
    header = next(line for line in lines if line.startswith("| benchmark"))
    assert cells(header) == [
        "benchmark",
        "figure",
        "value",
        "reference (same run)",
        "target",
        "met",
        "notes",
    ]
    rows = [cells(line) for line in lines if line.startswith("| store")]
    assert len(rows) == 5
    for row in rows:
        assert re.fullmatch(NUMBER, row[2]), row
        assert re.match(NUMBER + r" \(same for 10 conversations\)$", row[3]), row
    figures = json.loads(out.read_text())["checkouts"]["current"]["results"]["store"]["figures"]
    assert set(figures) == {
        "store_list",
        "store_search_title",
        "store_search_text",
        "store_switch",
        "store_latest",
    }
    assert all(entry["value"] > 0 for entry in figures.values())


def test_any_bench_script_with_the_function_joins(tmp_path, monkeypatch):
    (tmp_path / "bench_new.py").write_text("def figures(quick: bool = False) -> dict:\n    ...\n")
    (tmp_path / "bench_old_style.py").write_text("def main() -> None:\n    print(1)\n")
    (tmp_path / "helpers.py").write_text("def figures(quick=False): ...\n")
    monkeypatch.setattr(run_all, "BENCH_DIR", tmp_path)
    found = run_all.discover()
    assert sorted(found) == ["new", "old_style"]
    assert run_all.has_function(found["new"])
    assert not run_all.has_function(found["old_style"])


def test_compare_rows_say_before_after_and_why_a_figure_is_missing():
    after = {
        "figures": {
            "api": {
                "label": "API added",
                "value": 1.5,
                "unit": "ms",
                "reference": 1.0,
                "reference_label": "direct",
                "target": "≤ 3 ms",
                "limit": 3,
                "note": "",
            },
            "new_only": {"label": "a figure the old app lacks", "value": 2.0, "unit": "ms"},
        }
    }
    before = {
        "figures": {"api": {**after["figures"]["api"], "value": 7.0, "reference": 1.1}},
    }
    rows = run_all.rows_for("api_latency", [after, before], compare=True)
    assert rows[0][:7] == [
        "api_latency",
        "API added",
        "7.00 ms",
        "1.50 ms",
        "1.10 ms / 1.00 ms (direct)",
        "≤ 3 ms",
        "NO → yes",
    ]
    assert rows[1][2:4] == ["n/a", "2.00 ms"]
    assert "before: n/a" in rows[1][-1]

    failed = run_all.rows_for("ui", [after, {"error": "ImportError: no gradio_adapter"}], True)
    assert failed[0][2] == "n/a"
    assert "ImportError: no gradio_adapter" in failed[0][-1]
