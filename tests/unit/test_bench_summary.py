"""bench/summary.json's merge, and the README table rendered from it."""

from __future__ import annotations

from typing import Any

import pytest

from bench.readme import DASH, END, START, TIMES, UnknownFigure, fill, render, rewritten
from bench.report import Figure, Results
from bench.summary import merged

MACHINE = {"date": "2026-11-28T10:00:00+00:00", "git_commit": "abc1234", "mode": "quick",
           "cores": 2, "cpu_model": "CPU", "memory_gib": 8, "python": "3.12.1",
           "database": "PostgreSQL 15.20 at 127.0.0.1:5432 (pg8000)",
           "redis": "Redis 7.0.15 at 127.0.0.1:6379"}  # fmt: skip
TABLE = {"header": ["measure", "value", "floor / target"], "rows": [["a", "1 ms", "met"]]}


def _old() -> dict[str, Any]:
    old_run = {"date": "2026-11-25", "commit": "0000000", "machine": "m", "mode": "full"}
    return {
        "runs": {"2026-11-25 0000000 full": old_run},
        "figures": [
            {"name": "warm: auth_me p99", "value": 3.0, "run": "2026-11-25 0000000 full"},
            {"name": "cold: health import", "value": 480.0, "run": "2026-11-25 0000000 full"},
        ],
        "table": TABLE,
    }


def test_a_run_replaces_the_figures_it_measured_and_keeps_the_others() -> None:
    results = Results(machine=MACHINE)
    results.add(Figure("warm", "auth_me p99", 1.91234, "ms", floor=0.95, target="10", met=True))

    document = merged(_old(), results)

    by_name = {f["name"]: f for f in document["figures"]}
    run = "2026-11-28 abc1234 quick"
    assert by_name["warm: auth_me p99"] == {
        "name": "warm: auth_me p99", "value": 1.912, "unit": "ms", "floor": 0.95,
        "target": "10", "verdict": "met", "run": run,
    }  # fmt: skip
    assert by_name["cold: health import"]["value"] == 480.0
    assert set(document["runs"]) == {"2026-11-25 0000000 full", run}
    assert document["runs"][run]["machine"].startswith("2 cores CPU, 8 GiB; PostgreSQL 15.20;")
    assert document["table"] == TABLE


def test_a_section_run_whole_replaces_all_of_that_sections_figures() -> None:
    results = Results(machine={**MACHINE, "whole_sections": ["warm"]})
    results.add(Figure("warm", "trades_list p99", 5.0, "ms", met=None))

    names = {f["name"] for f in merged(_old(), results)["figures"]}

    assert names == {"warm: trades_list p99", "cold: health import"}  # auth_me's is gone


def test_a_run_no_figure_points_at_is_dropped() -> None:
    results = Results(machine=MACHINE)
    for name in ("auth_me p99", "health import"):
        section = "warm" if "p99" in name else "cold"
        results.add(Figure(section, name, 1.0, "ms", met=None))
    assert list(merged(_old(), results)["runs"]) == ["2026-11-28 abc1234 quick"]


def test_the_table_is_rewritten_between_the_markers_only() -> None:
    readme = f"# T\n\nbefore\n\n{START}\n| stale |\n{END}\n\nafter\n"
    document = {**_old(), "table": TABLE}
    assert rewritten(readme, document) == (
        f"# T\n\nbefore\n\n{START}\n"
        "| measure | value | floor / target |\n| --- | --- | --- |\n| a | 1 ms | met |\n"
        f"{END}\n\nafter\n"
    )
    assert render(document).count("\n") == 2


def test_a_readme_without_the_markers_is_refused() -> None:
    with pytest.raises(SystemExit):
        rewritten("# no markers\n", {**_old(), "table": TABLE})


def _measured() -> dict[str, Any]:
    run = "2026-11-28 abc1234 full"
    figures = [
        ("cold: a import", 436.4, "ms", 354.3, "missed"),
        ("cold: b import", 521.2, "ms", 354.3, "missed"),
        ("warm: auth_me p99", 1.904, "ms", 0.95, "met"),
        ("cost: monthly", 139.3, "USD/month", None, ""),
    ]  # fmt: skip
    return {
        "runs": {run: {"date": "2026-11-28"}},
        "figures": [
            {"name": n, "value": v, "unit": u, "floor": fl, "verdict": vd, "target": "", "run": run}
            for n, v, u, fl, vd in figures
        ],
        "table": TABLE,
    }


@pytest.mark.parametrize(
    ("cell", "text"),
    [
        ("{warm: auth_me p99}", "1.90 ms"),
        ("{warm: auth_me p99|number} of {warm: auth_me p99|floor}", "1.90 of 0.95 ms"),
        ("{warm: auth_me p99|ratio}, {warm: auth_me p99|verdict}", f"2.00{TIMES}, met"),
        ("{cold: * import|range}; {cold: a import|verdict}", f"436{DASH}521 ms; **missed**"),
        ("{cost: monthly} ({cost: monthly|date})", "$139/month (2026-11-28)"),
        ("{cold: * import but not cold: b import|range}", "436 ms"),
        ("{cold: a import or warm: auth_me p99|verdicts}", "1 of 2 met"),
        ("{warm: * p99|verdicts}, {cold: * import|ratios}", f"met by all 1, 1.23{DASH}1.47{TIMES}"),
        ("no placeholder", "no placeholder"),
    ],
)
def test_a_cell_is_filled_from_the_figures_it_names(cell: str, text: str) -> None:
    assert fill(cell, _measured()) == text


@pytest.mark.parametrize(
    "cell", ["{warm: trades_list p99}", "{cold: * import}", "{warm: auth_me p99|p50}"]
)
def test_a_placeholder_naming_no_single_figure_fails_the_rendering(cell: str) -> None:
    with pytest.raises(UnknownFigure):
        fill(cell, _measured())
