"""The figures every section produces, printed as one table and written to results.json."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any, TextIO


@dataclass
class Figure:
    """One measured value beside its floor and its target."""

    section: str
    name: str
    value: float | None
    unit: str
    floor: float | None = None
    target: str = ""
    met: bool | None = None  # None: no target, or not measured
    note: str = ""
    n: int | None = None

    @property
    def ratio(self) -> float | None:
        """value / floor, when both are there."""
        if self.value is None or not self.floor or math.isnan(self.value):
            return None
        return self.value / self.floor

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ratio"] = None if self.ratio is None else round(self.ratio, 3)
        for name in ("value", "floor"):
            if isinstance(data[name], float):
                data[name] = None if math.isnan(data[name]) else round(data[name], 4)
        return data


@dataclass
class Results:
    """Everything a run measured: the figures, and each section's details for results.json."""

    machine: dict[str, Any] = field(default_factory=dict)
    figures: list[Figure] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        return figure

    def write(self, path: Path) -> None:
        document = {
            "machine": self.machine,
            "figures": [f.as_json() for f in self.figures],
            "targets": {
                "met": sum(1 for f in self.figures if f.met is True),
                "missed": [f"{f.section}: {f.name}" for f in self.figures if f.met is False],
            },
            "notes": self.notes,
            "details": self.details,
        }
        path.write_text(json.dumps(document, indent=2, default=_jsonable) + "\n")


def _jsonable(value: object) -> object:
    if isinstance(value, float) and math.isnan(value):
        return None
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    return str(value)


def _number(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def render_table(figures: list[Figure]) -> str:
    """A plain-text table: section, measure, value, floor, ratio, target, verdict."""
    header = ("section", "measure", "value", "unit", "floor", "ratio", "target", "met", "note")
    rows = [header]
    for f in figures:
        verdict = {True: "yes", False: "NO", None: ""}[f.met]
        ratio = f"{f.ratio:.2f}x" if f.ratio is not None else ""
        rows.append(
            (
                f.section,
                f.name,
                _number(f.value),
                f.unit,
                _number(f.floor) if f.floor is not None else "",
                ratio,
                f.target,
                verdict,
                f.note,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = []
    for index, row in enumerate(rows):
        cells = [
            cell.rjust(widths[i]) if i in (2, 4, 5) else cell.ljust(widths[i])
            for i, cell in enumerate(row[:-1])
        ]
        lines.append("  ".join(cells) + ("  " + row[-1] if row[-1] else ""))
        if index == 0:
            lines.append("  ".join("-" * w for w in widths) + "  ----")
    return "\n".join(line.rstrip() for line in lines)


def print_table(results: Results, out: TextIO) -> None:
    """The table, then the targets missed and the notes."""
    print(render_table(results.figures), file=out)
    missed = [f for f in results.figures if f.met is False]
    met = sum(1 for f in results.figures if f.met is True)
    print(f"\ntargets: {met} met, {len(missed)} missed", file=out)
    for f in missed:
        print(
            f"  missed  {f.section}: {f.name} = {_number(f.value)} {f.unit} ({f.target})", file=out
        )
    if results.notes:
        print("\nnotes:", file=out)
        for note in results.notes:
            print(f"  - {note}", file=out)
