"""Compliance dashboard (issue 6): the root of a 4-level grid with 100,000 members and 1,000,000 ledger entries
renders in under 1 s with a constant number of SQL statements (same count on a small and the full grid).

    python -m bench.dashboard [--quick] [--database-url postgresql://...]
"""
from __future__ import annotations

import argparse
import sys
import time

from bench import datagen
from bench.export import add_arguments as export_arguments, ledger_data
from bench.harness import breakdown, count_queries

PAGES = ["/reports/?org=1&year=2026", "/reports/?org=2&year=2026", "/reports/?org=1&year=2026&basis=at_time",
         "/reports/members?org=1&year=2026", "/reports/reminders?org=1&year=2026"]


def run(args) -> int:
    with ledger_data(args) as (database, app, described):
        print(f"data: {described}")
        app.config["WTF_CSRF_ENABLED"] = False  # in-process client: log in without fetching a form first
        client = app.test_client()
        response = client.post("/login", data={"identifier": "admin", "password": datagen.BENCH_PASSWORD})
        assert response.status_code == 302, response.status_code
        print(f"{'page':45} {'statements':>10} {'wall ms (median of 5)':>22}")
        for path in PAGES:
            statements = count_queries(app, client, path)
            times = []
            for _ in range(5):
                started = time.perf_counter()
                assert client.get(path).status_code == 200
                times.append((time.perf_counter() - started) * 1000)
            times.sort()
            print(f"{path:45} {statements:10d} {times[2]:22.0f}")
        print("breakdown of the root page:", breakdown(app, client, PAGES[0], repeat=1))
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    export_arguments(parser)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--database-url")
    add_arguments(parser)
    sys.exit(run(parser.parse_args()))
