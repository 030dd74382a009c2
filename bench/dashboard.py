"""Compliance dashboard (issue 6): the root of a 4-level grid with 100,000 members and 1,000,000 ledger entries
renders in under 1 s with a constant number of SQL statements (same count on a small and the full grid).

    python -m bench dashboard [--quick] [--database-url postgresql://...] [--fresh | --reuse]

In process (statements, median wall time of five, a CPU/SQL breakdown), then through gunicorn as deployed. The data
set (bench.export.ledger_data) is made once and kept: a SQLite file in $OPS_BENCH_DATA (/tmp/ops-bench-data).
"""
from __future__ import annotations

import argparse
import sys
import time
import urllib.request

from bench import datagen
from bench.export import add_arguments as export_arguments, ledger_data
from bench.harness import BenchServer, breakdown, count_queries, login

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
        with BenchServer(database_url=database.url) as server:  # the production command: gunicorn, 2 sync workers
            session = login(server.url(), "admin", datagen.BENCH_PASSWORD)
            for path in PAGES[:2]:
                times = []
                for _ in range(7):
                    started = time.perf_counter()
                    request = urllib.request.Request(server.url(path), headers=session.headers())
                    with urllib.request.urlopen(request, timeout=60) as response:
                        assert response.status == 200 and b"<svg" in response.read()
                    times.append((time.perf_counter() - started) * 1000)
                times.sort()
                print(f"gunicorn {path:36} wall ms: median {times[3]:.0f}, max {times[-1]:.0f} (7 requests)")
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    export_arguments(parser)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--database-url")
    add_arguments(parser)
    sys.exit(run(parser.parse_args()))
