"""bench/summary.json: the committed record of the bench, small enough to review in a diff.

It holds two things. `figures`: every figure's latest value, with its floor, target, verdict,
and the run (date, machine, mode) that measured it; a run replaces the figures it measured and
keeps the others. `table`: the README's Performance table, row by row, as written for readers
(`python -m bench.readme` renders it into README.md; tests/unit/test_bench_readme.py checks
the README matches). The full results of a run (details, profiles' summaries, notes) go to
bench/results.json, which is not committed.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from bench.report import Figure, Results

PATH = Path(__file__).resolve().parent / "summary.json"


def verdict(met: bool | None) -> str:
    """met / missed / "" (no target)."""
    return "" if met is None else "met" if met else "missed"


def run_of(machine: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """The run's key in `runs` and what is kept of it: date, machine, mode."""
    date = str(machine.get("date", ""))[:10]
    commit = str(machine.get("git_commit", ""))
    described = (
        f"{machine.get('cores')} cores {machine.get('cpu_model')}, {machine.get('memory_gib')} "
        f"GiB; {str(machine.get('database', '')).split(' at ')[0]}; "
        f"{str(machine.get('redis', '')).split(' at ')[0]}; Python {machine.get('python')}"
    )
    mode = str(machine.get("mode", ""))
    return f"{date} {commit} {mode}".strip(), {
        "date": date,
        "commit": commit,
        "machine": described,
        "mode": mode,
    }


def _number(value: float | None) -> float | None:
    if value is None or math.isnan(value):
        return None
    return float(f"{value:.4g}")  # four significant digits: what the table shows


def figure_entry(figure: Figure, run: str) -> dict[str, Any]:
    """What the summary keeps of one figure."""
    return {
        "name": f"{figure.section}: {figure.name}",
        "value": _number(figure.value),
        "unit": figure.unit,
        "floor": _number(figure.floor),
        "target": figure.target,
        "verdict": verdict(figure.met),
        "run": run,
    }


def load(path: Path = PATH) -> dict[str, Any]:
    if not path.exists():
        return {"runs": {}, "figures": [], "table": {"header": [], "rows": []}}
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def write(document: dict[str, Any], path: Path = PATH) -> None:
    """One run, figure or table row a line, so a run's diff reads figure by figure."""

    def block(name: str, items: list[str], last: bool = False) -> list[str]:
        opening, closing = ("{", "}") if name == "runs" else ("[", "]")
        return [f'  "{name}": {opening}', ",\n".join(items), f"  {closing}" + ("" if last else ",")]

    def line(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    table = document["table"]
    lines = ["{"]
    lines += block("runs", [f"    {line(k)}: {line(v)}" for k, v in document["runs"].items()])
    lines += block("figures", [f"    {line(f)}" for f in document["figures"]])
    lines += ['  "table": {', f'    "header": {line(table["header"])},', '    "rows": [']
    lines.append(",\n".join(f"      {line(row)}" for row in table["rows"]))
    lines += ["    ]", "  }", "}"]
    path.write_text("\n".join(lines) + "\n")


def merged(document: dict[str, Any], results: Results) -> dict[str, Any]:
    """`document` with a run's figures in it: those it measured replace the earlier ones of the
    same name, and a section it ran whole (`whole_sections`) replaces all of that section's, so
    a figure no run makes any more does not linger; the others stay. Runs no figure points at
    any more are dropped."""
    run, described = run_of(results.machine)
    fresh = [figure_entry(f, run) for f in results.figures]
    names = {f["name"] for f in fresh}
    whole = set(results.machine.get("whole_sections", []))
    kept = [
        f
        for f in document["figures"]
        if f["name"] not in names and f["name"].split(":", 1)[0] not in whole
    ]
    figures = sorted(kept + fresh, key=lambda f: str(f["name"]))
    runs = {**document["runs"], run: described}
    used = {f["run"] for f in figures}
    return {
        **document,
        "runs": {k: v for k, v in sorted(runs.items()) if k in used},
        "figures": figures,
    }


def record(results: Results, path: Path = PATH) -> None:
    """Merge a run's figures into the summary at `path`."""
    write(merged(load(path), results), path)
