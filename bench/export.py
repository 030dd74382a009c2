"""Exports (issue 6): ``flask hours export`` of the summary (every member) and the ledger (every entry), CSV and
XLSX, as rows/s ÷ the database's own dump of the same rows (``sqlite3 -csv`` / ``psql \\copy ... csv``) in the
same run, and the CLI process's peak memory (max RSS).

    python -m bench.export [--quick] [--database-url postgresql://...]
"""
from __future__ import annotations

import argparse
import gc
import hashlib
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterator

from sqlalchemy import text

from bench import datagen
from bench.harness import ROOT, Database, fresh_database, product_app

SOURCES = ["online"] * 70 + ["offline"] * 15 + ["quiz"] * 10 + ["manual"] * 5


def add_ledger(app, entries: int, seed: int = 6) -> int:
    """``entries`` ledger rows in 2026 over the members (some members with none), written with the driver's
    bulk path (SQLite ``executemany`` of tuples, PostgreSQL ``COPY``): a million rows in seconds."""
    from core.extensions import db
    from learning import totals

    rng = random.Random(seed)
    columns = ("id", "user_id", "seconds", "source", "source_ref", "occurred_at", "course_id", "lecture_id",
               "recorded_by_id", "note")
    with app.app_context():
        with db.engine.begin() as conn:
            member_ids = [r[0] for r in conn.execute(text("SELECT id FROM users WHERE role = 'member'"))]
            first = conn.execute(text("SELECT COALESCE(MAX(id), 0) FROM hour_entries")).scalar() + 1
            start = datetime(2026, 1, 1)
            raw = conn.connection.driver_connection
            postgres = db.engine.dialect.name == "postgresql"
            for statement in totals.drop_trigger_ddl(db.engine.dialect.name):  # rebuilt once at the end
                conn.exec_driver_sql(statement)
            insert = f"INSERT INTO hour_entries ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            for chunk_start in range(0, entries, 50_000):
                batch = []
                for n in range(chunk_start, min(entries, chunk_start + 50_000)):
                    batch.append((first + n, rng.choice(member_ids), rng.randint(60, 1800), rng.choice(SOURCES),
                                  f"bench:{first + n}", start + timedelta(seconds=rng.randint(0, 150 * 86400)),
                                  None, None, None, ""))
                if postgres:
                    with raw.cursor().copy(f"COPY hour_entries ({', '.join(columns)}) FROM STDIN") as copy:
                        for row in batch:
                            copy.write_row(row)
                else:
                    raw.executemany(insert, [(*row[:5], f"{row[5]:%Y-%m-%d %H:%M:%S.%f}", *row[6:]) for row in batch])
            if postgres:
                conn.execute(text("SELECT setval(pg_get_serial_sequence('hour_entries', 'id'), "
                                  "(SELECT MAX(id) FROM hour_entries))"))
            totals.rebuild(conn)  # the triggers back, and the sums of what was loaded
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE"))
        else:
            with db.engine.connect() as conn:
                conn.execute(text("ANALYZE"))
    return entries


# --- a data set made once and reused -------------------------------------------------------------------------

DATA_DIR = Path(os.environ.get("OPS_BENCH_DATA", "/tmp/ops-bench-data"))


def schema_fingerprint() -> str:
    """Changes whenever a model or a migration changes: a kept data set of an older schema is made again."""
    from core.extensions import db

    parts = [p.name for p in sorted((ROOT / "migrations" / "versions").glob("*.py"))]
    for table in db.metadata.sorted_tables:
        parts.append(table.name + ":" + ",".join(c.name for c in table.columns) + ":" +
                     ",".join(sorted(i.name or "" for i in table.indexes)))
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:10]


@contextmanager
def ledger_data(args) -> Iterator[tuple]:
    """(database, app, description): the grid and its ledger at the chosen size. On SQLite the file is kept in
    ``$OPS_BENCH_DATA`` (/tmp/ops-bench-data) and reused by later runs of the same size and schema; with
    ``--fresh`` it is made again. On PostgreSQL, ``--reuse`` keeps the database when it holds the same size."""
    from core.extensions import db

    scale = datagen.QUICK if args.quick else datagen.FULL
    entries = args.entries or (100_000 if args.quick else 1_000_000)
    size = f"{scale.members} members, {entries:,} ledger entries"
    if args.database_url:
        app = product_app(normalise(args.database_url))
        with app.app_context():
            stamp = f"{schema_fingerprint()}-{scale.members}-{entries}"
            if getattr(args, "reuse", False) and kept_stamp(db) == stamp:
                yield Database(app.config["SQLALCHEMY_DATABASE_URI"], "kept from an earlier run", "postgresql"), \
                    app, f"{size} (kept)"
                return
        with fresh_database(args.database_url) as database:
            app = product_app(database.url)
            described = fill(app, scale, entries, stamp)
            yield database, app, f"{described}, {entries:,} ledger entries; schema: {database.schema}"
        return
    app = product_app("sqlite://")
    with app.app_context():
        stamp = f"{schema_fingerprint()}-{scale.members}-{entries}"
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / f"reports-{stamp}.sqlite3"
    if path.exists() and not getattr(args, "fresh", False):
        yield Database(f"sqlite:///{path}", "kept from an earlier run"), product_app(f"sqlite:///{path}"), \
            f"{size} (kept in {path})"
        return
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    with fresh_database(f"sqlite:///{partial}") as database:
        app = product_app(database.url)
        described = fill(app, scale, entries, stamp)
        schema = database.schema
    with app.app_context():
        db.engine.dispose()
    gc.collect()  # the schema step's engine, too: no connection may hold the WAL open
    raw = sqlite3.connect(partial)
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file before it is renamed
    raw.close()
    os.replace(partial, path)
    yield Database(f"sqlite:///{path}", schema), product_app(f"sqlite:///{path}"), \
        f"{described}, {entries:,} ledger entries; schema: {schema}"


def normalise(url: str) -> str:
    from core.config import normalise_database_url

    return normalise_database_url(url)


def fill(app, scale, entries: int, stamp: str) -> str:
    from core.extensions import db

    started = time.perf_counter()
    generated = datagen.generate(app, scale)
    add_ledger(app, entries)
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS bench_stamp (value VARCHAR(100))"))
        conn.execute(text("DELETE FROM bench_stamp"))
        conn.execute(text("INSERT INTO bench_stamp (value) VALUES (:v)"), {"v": stamp})
    return f"{generated.describe()} (with the ledger {time.perf_counter() - started:.0f} s)"


def kept_stamp(db) -> str | None:
    try:
        with db.engine.connect() as conn:
            return conn.execute(text("SELECT value FROM bench_stamp")).scalar()
    except Exception:  # no such table: not a kept data set
        return None


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
    parser.add_argument("--fresh", action="store_true", help="SQLite: make the data set again (default: reuse the "
                                                             "one kept in $OPS_BENCH_DATA, /tmp/ops-bench-data)")
    parser.add_argument("--reuse", action="store_true", help="PostgreSQL: keep the data of an earlier run of the "
                                                             "same size and schema")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--database-url")
    add_arguments(parser)
    sys.exit(run(parser.parse_args()))
