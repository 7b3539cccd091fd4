"""README.md's Performance table is the one bench/summary.json holds (`make bench-readme`)."""

from __future__ import annotations

from bench import summary
from bench.readme import README, rewritten


def test_the_readme_performance_table_matches_the_bench_summary() -> None:
    current = README.read_text()
    assert rewritten(current, summary.load()) == current, "run `make bench-readme`"
