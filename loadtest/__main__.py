"""`python -m loadtest URL`: the chaos suite's load against a stack that is already running.

    make dev &                       # or any local stack
    .venv/bin/python -m loadtest http://127.0.0.1:8000 --duration 60 --clients 50 --users 20

Prints the figures as JSON. With --database-url (the stack's DATABASE_URL) it also waits for the
executor to settle and checks the books; stop the price schedule first for an exact result, as
`make chaos` does, since a resting order may fill while they are counted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from loadtest.workload import run_load


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest", description=__doc__)
    parser.add_argument("url", help="base URL of the API, loopback only")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds (default 60)")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (50)")
    parser.add_argument("--users", type=int, default=20, help="accounts they act for (20)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the clients' choices")
    parser.add_argument("--database-url", help="check the books in this database afterwards")
    args = parser.parse_args(argv)

    report = run_load(
        args.url,
        clients=args.clients,
        users=args.users,
        duration_s=args.duration,
        seed=args.seed,
    )
    summary = report.summary()
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
        from sqlalchemy import select
        from tradebot.db.engine import unit_of_work
        from tradebot.db.models import Trade

        from loadtest.books import check_books

        waiting = select(Trade.id).where(Trade.status == "PENDING").limit(1)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with unit_of_work() as session:
                if session.scalar(waiting) is None:
                    break
            time.sleep(0.5)
        with unit_of_work() as session:
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            books = check_books(
                session, [a.user_id for a in report.accounts], accepted=report.stats.accepted
            )
        summary["books"] = {
            "balanced": books.balanced,
            "trades": books.trades,
            "fills": books.fills,
            "statuses": dict(books.statuses),
            "problems": books.problems[:20],
        }
    json.dump(summary, sys.stdout, indent=2)
    print()
    return 0 if report.errors == 0 and summary.get("books", {}).get("balanced", True) else 1


if __name__ == "__main__":
    sys.exit(main())
