"""``python -m bench SCENARIO [options]`` (``make bench BENCH_ARGS="catalog --quick"``).

Each scenario is a module in ``bench/`` with ``add_arguments(parser)`` and ``run(args)``;
add yours to ``SCENARIOS`` with one line.
"""
from __future__ import annotations

import argparse
import importlib
import sys

SCENARIOS = {
    "catalog": "bench.catalog",  # issue 3: catalog, course and lecture pages
    "exam": "bench.exam",  # issue 4: 500 members start, answer and submit the same exam
    "heartbeat": "bench.heartbeat",  # issue 5: study heartbeats of many learners
    "dashboard": "bench.dashboard",  # issue 6: the compliance dashboard at 100,000 members, 1,000,000 entries
    "export": "bench.export",  # issue 6: summary and ledger exports vs the database's own dump, peak memory
    "cluster": "bench.cluster",  # issue 14: two servers behind nginx vs one server alone, pages and heartbeats
    "waiting": "bench.waiting",  # issue 18: an exam's waiting room, its re-sync and early starts (all refused)
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="scenario", required=True, metavar="SCENARIO")
    for name, module_name in SCENARIOS.items():
        module = importlib.import_module(module_name)
        scenario = sub.add_parser(name, help=(module.__doc__ or "").strip().splitlines()[0])
        scenario.add_argument("--quick", action="store_true", help="a small data set and short runs (smoke test)")
        scenario.add_argument("--database-url", help="PostgreSQL URL (its public schema is emptied); "
                                                     "default: a SQLite file in a temp dir")
        scenario.add_argument("--duration", type=float, help="seconds per wrk run (default 10, --quick 3)")
        scenario.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
        module.add_arguments(scenario)
        scenario.set_defaults(run=module.run)
    args = parser.parse_args(argv)
    if args.duration is None:
        args.duration = 3 if args.quick else 10
    return args.run(args) or 0


if __name__ == "__main__":
    sys.exit(main())
