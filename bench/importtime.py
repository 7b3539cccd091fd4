"""Reading `python -X importtime`: the heaviest modules, and who pulled each package in."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Row:
    self_us: int
    cumulative_us: int
    module: str
    depth: int


def parse_importtime(text: str, *, between_marks: bool = False) -> list[Row]:
    """The rows, in the order Python prints them (children before their parent).

    `between_marks`: only the rows between the child's "bench: import starts/ends" lines.
    """
    rows = []
    inside = not between_marks
    for line in text.splitlines():
        if line.startswith("bench: import "):
            inside = line.endswith("starts")
            continue
        if not inside or not line.startswith("import time:") or "self [us]" in line:
            continue
        try:
            _, rest = line.split(":", 1)
            self_us, cumulative_us, name = rest.split("|", 2)
        except ValueError:
            continue
        indent = len(name) - len(name.lstrip())
        rows.append(Row(int(self_us), int(cumulative_us), name.strip(), max(0, (indent - 1) // 2)))
    return rows


def _parents(rows: list[Row]) -> list[int | None]:
    """Index of each row's importer: the next row printed at a smaller depth."""
    parents: list[int | None] = [None] * len(rows)
    open_rows: list[int] = []  # rows still waiting for their parent, innermost last
    for index, row in enumerate(rows):
        while open_rows and rows[open_rows[-1]].depth > row.depth:
            parents[open_rows.pop()] = index
        open_rows.append(index)
    return parents


def _package(module: str) -> str:
    return module.split(".", 1)[0]


def attribute(function_rows: list[Row], floor_rows: list[Row]) -> dict[str, Any]:
    """Self time per top-level package, the packages the floor does without, and their importers."""
    per_package: dict[str, int] = defaultdict(int)
    for row in function_rows:
        per_package[_package(row.module)] += row.self_us
    floor_packages: dict[str, int] = defaultdict(int)
    for row in floor_rows:
        floor_packages[_package(row.module)] += row.self_us
    parents = _parents(function_rows)
    first_seen: dict[str, int] = {}
    for index, row in enumerate(function_rows):
        first_seen.setdefault(_package(row.module), index)

    def chain(index: int) -> list[str]:
        names: list[str] = []
        current: int | None = index
        while current is not None and len(names) < 8:
            names.append(function_rows[current].module)
            current = parents[current]
        return names

    # A package's outermost first import is the one whose importer is outside the package.
    def entry_point(package: str) -> int:
        index = first_seen[package]
        while (parent := parents[index]) is not None and _package(
            function_rows[parent].module
        ) == package:
            index = parent
        return index

    extra: list[dict[str, Any]] = []
    for package, self_us in per_package.items():
        surplus = self_us - floor_packages.get(package, 0)
        if package in floor_packages and surplus < 5000:
            continue  # in the floor too, at about the same cost
        if surplus < 1000:
            continue
        extra.append(
            {
                "package": package,
                "self_ms": surplus / 1000,
                "in_floor": package in floor_packages,
                "pulled_in_by": " <- ".join(chain(entry_point(package))[:6]),
            }
        )
    extra.sort(key=lambda e: -float(e["self_ms"]))
    top = sorted(function_rows, key=lambda r: -r.cumulative_us)
    return {
        "total_ms": sum(r.self_us for r in function_rows) / 1000,
        "floor_total_ms": sum(r.self_us for r in floor_rows) / 1000,
        "top_cumulative": [
            {
                "module": r.module,
                "cumulative_ms": r.cumulative_us / 1000,
                "self_ms": r.self_us / 1000,
            }
            for r in top[:25]
        ],
        "packages": [
            {"package": p, "self_ms": s / 1000}
            for p, s in sorted(per_package.items(), key=lambda item: -item[1])[:20]
        ],
        "extra_packages": extra[:15],
    }
