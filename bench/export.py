"""Exports (issue 6): ``flask hours export`` of the summary (every member) and the ledger (every entry), CSV and
XLSX, as rows/s ÷ the database's own dump of the same rows (``sqlite3 -csv`` / ``psql \\copy ... csv``) in the
same run, and the CLI process's peak memory (max RSS).

    python -m bench.export [--quick] [--database-url postgresql://...]
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from bench import datagen
from bench.harness import ROOT, fresh_database, product_app

SOURCES = ["online"] * 70 + ["offline"] * 15 + ["quiz"] * 10 + ["manual"] * 5


def add_ledger(app, entries: int, seed: int = 6) -> int:
    """``entries`` ledger rows in 2026 over the members (some members with none)."""
    from core.extensions import db

    rng = random.Random(seed)
    with app.app_context():
        with db.engine.begin() as conn:
            member_ids = [r[0] for r in conn.execute(text("SELECT id FROM users WHERE role = 'member'"))]
            first = conn.execute(text("SELECT COALESCE(MAX(id), 0) FROM hour_entries")).scalar() + 1
            table = db.metadata.tables["hour_entries"]
            start = datetime(2026, 1, 1)
            batch = []
            for n in range(entries):
                source = rng.choice(SOURCES)
                batch.append({"id": first + n, "user_id": rng.choice(member_ids), "seconds": rng.randint(60, 1800),
                              "source": source, "source_ref": f"bench:{first + n}",
                              "occurred_at": start + timedelta(seconds=rng.randint(0, 150 * 86400)),
                              "course_id": None, "lecture_id": None, "recorded_by_id": None, "note": ""})
                if len(batch) == 20_000:
                    conn.execute(table.insert(), batch)
                    batch = []
            if batch:
                conn.execute(table.insert(), batch)
            if db.engine.dialect.name == "postgresql":
                conn.execute(text("SELECT setval(pg_get_serial_sequence('hour_entries', 'id'), "
                                  "(SELECT MAX(id) FROM hour_entries))"))
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE"))
    return entries


def timed_child(argv: list[str], env: dict, stdout=None) -> tuple[float, int]:
    """Wall seconds and max RSS (KiB) of one child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=stdout or subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    if status != 0:
        raise RuntimeError(f"{argv} failed: {proc.stderr.read().decode()[-2000:]}")
    return elapsed, usage.ru_maxrss


DUMPS = {
    "summary": ("SELECT o.path, u.name, u.phone, u.category FROM users u JOIN organizations o "
                "ON o.id = u.organization_id ORDER BY o.path, u.id"),
    "ledger": ("SELECT o.path, u.name, u.phone, e.occurred_at, e.source, e.seconds, e.source_ref, e.note "
               "FROM hour_entries e JOIN users u ON u.id = e.user_id JOIN organizations o ON o.id = u.organization_id "
               "ORDER BY o.path, u.id, e.occurred_at, e.id"),
}


def dump(database, kind: str, out: Path, env: dict) -> float:
    query = DUMPS[kind]
    if database.url.startswith("sqlite"):
        path = database.url.split("///", 1)[1]
        with open(out, "wb") as fh:
            return timed_child(["sqlite3", "-csv", path, query], env, stdout=fh)[0]
    url = database.url.replace("postgresql+psycopg://", "postgresql://")
    return timed_child(["psql", url, "-q", "-c", f"\\copy ({query}) to '{out}' csv"], env)[0]


def in_process(app, kind: str, fmt: str, target: Path) -> float:
    """Seconds for the export itself (the same build_export the CLI calls), without process start-up."""
    from learning import exports, reports

    with app.app_context():
        started = time.perf_counter()
        job = exports.ExportRequest(kind=kind, fmt=fmt, root=None, period=reports.Period.for_year(2026))
        with open(target, "wb") as fh:
            exports.write_to(exports.build_export(job, channel="bench"), fh)
        return time.perf_counter() - started


def count_rows(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for _ in fh)


def run(args) -> int:
    scale = datagen.QUICK if args.quick else datagen.FULL
    entries = args.entries or (100_000 if args.quick else 1_000_000)
    if not shutil.which("sqlite3") and not args.database_url:
        print("sqlite3 (the command-line tool) is needed for the baseline: apt-get install sqlite3")
        return 1
    with fresh_database(args.database_url) as database:
        app = product_app(database.url)
        generated = datagen.generate(app, scale)
        add_ledger(app, entries)
        print(f"data: {generated.describe()}, {entries:,} ledger entries; schema: {database.schema}")
        env = {**os.environ, "DATABASE_URL": database.url, "FLASK_SECRET_KEY": "bench"}
        out = Path(ROOT / "bench" / "out")
        out.mkdir(exist_ok=True)
        rows = []
        for kind in ("summary", "ledger"):
            baseline = dump(database, kind, out / f"dump-{kind}.csv", env)
            dumped = count_rows(out / f"dump-{kind}.csv")
            for fmt in ("csv", "xlsx"):
                target = out / f"export-{kind}.{fmt}"
                seconds, rss = timed_child([sys.executable, "-m", "flask", "--app", "app", "hours", "export",
                                            "--year", "2026", "--kind", kind, "--format", fmt, "--output",
                                            str(target)], env)
                exported = count_rows(target) - 1 if fmt == "csv" else dumped
                inside = in_process(app, kind, fmt, out / f"inproc-{kind}.{fmt}")
                rows.append((kind, fmt, exported, seconds, inside, exported / inside, baseline, dumped / baseline,
                             (exported / inside) / (dumped / baseline), rss / 1024))
        print("CLI s: the whole `flask hours export` process (with app start-up); export s: the export itself, "
              "in process; ratio: export rows/s ÷ dump rows/s")
        print(f"{'kind':8} {'fmt':5} {'rows':>9} {'CLI s':>7} {'export s':>8} {'rows/s':>9} {'dump s':>7} "
              f"{'dump/s':>9} {'ratio':>6} {'CLI maxRSS MB':>13}")
        for kind, fmt, n, s, inside, rate, base_s, base_rate, ratio, mb in rows:
            print(f"{kind:8} {fmt:5} {n:9,} {s:7.2f} {inside:8.2f} {rate:9,.0f} {base_s:7.2f} {base_rate:9,.0f} "
                  f"{ratio:6.2f} {mb:13.1f}")
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--entries", type=int, help="ledger entries (default 1,000,000; --quick 100,000)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--database-url")
    add_arguments(parser)
    sys.exit(run(parser.parse_args()))
