"""Exports (issue 6): the summary (every member) and the ledger (every entry), CSV and XLSX, downloaded from gunicorn
as rows/s ÷ the database's own dump of the same rows in the same run, with the serving worker's peak memory.

    python -m bench export [--quick] [--database-url postgresql://...] [--fresh | --reuse] [--timeout 900]

Baseline: the export's own SELECT (values written in) dumped by ``sqlite3 -csv`` / ``psql \\copy ... csv``, and,
for comparison, a dump of the plain joined columns. Each download gets a fresh one-worker gunicorn (the production
command plus ``--timeout``) whose VmHWM is read from /proc after it; ``flask hours export`` of the same export
reports its own max RSS too. The data set is kept between runs (see bench.dashboard).
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
import threading
import time
import urllib.request
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterator

from sqlalchemy import text

from bench import datagen
from bench.harness import ROOT, BenchServer, Database, fresh_database, login, product_app

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


SIMPLE_DUMPS = {  # the plain rows without any computation: a lower bound for the database's own tool
    "summary": ("SELECT o.path, u.name, u.phone, u.category FROM users u JOIN organizations o "
                "ON o.id = u.organization_id ORDER BY o.path, u.id"),
    "ledger": ("SELECT o.path, u.name, u.phone, e.occurred_at, e.source, e.seconds, e.source_ref, e.note "
               "FROM hour_entries e JOIN users u ON u.id = e.user_id JOIN organizations o ON o.id = u.organization_id "
               "ORDER BY o.path, u.id, e.occurred_at, e.id"),
}


def export_sql(app, kind: str) -> str:
    """The export's own SELECT (reports.exports.summary_sql / ledger_sql), with its values written in: the
    database's tool then dumps exactly the rows the export formats."""
    from core.extensions import db
    from reports import compliance, exports

    with app.app_context(), app.test_request_context():
        job = exports.ExportRequest(kind=kind, fmt="csv", root=None, period=compliance.Period.for_year(2026))
        stmt = exports.summary_sql(job) if kind == "summary" else exports.ledger_sql(job)
        return str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True})).replace("\n", " ")


def dump(database, query: str, out: Path, env: dict) -> float:
    if database.url.startswith("sqlite"):
        path = database.url.split("///", 1)[1]
        with open(out, "wb") as fh:
            return timed_child(["sqlite3", "-csv", path, query], env, stdout=fh)[0]
    url = database.url.replace("postgresql+psycopg://", "postgresql://")
    return timed_child(["psql", url, "-q", "-c", f"\\copy ({query}) to '{out}' csv"], env)[0]


def count_rows(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for _ in fh)


def worker_pids(master: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{master}/task/{master}/children").read_text().split()]
    except OSError:
        return []


def peak_kib(pid: int) -> int:
    """The process's own peak resident memory (VmHWM), KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


class ExportServer(BenchServer):
    """The production gunicorn command with one worker (whose memory is the export's) and a timeout long
    enough for a million-row download: sync workers are killed after --timeout (default 30 s) in one request."""

    def __init__(self, timeout: int, **kwargs):
        super().__init__(workers=1, **kwargs)
        self.timeout = timeout

    @property
    def command(self) -> list[str]:
        return super().command[:-1] + ["--timeout", str(self.timeout), self.app_spec]


def private_kib(pid: int) -> int:
    """Memory of the process's own (not shared with the --preload master): Private_Clean + Private_Dirty, KiB."""
    total = 0
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith(("Private_Clean:", "Private_Dirty:")):
            total += int(line.split()[1])
    return total


def download(server, session, kind: str, fmt: str, target: Path) -> tuple[float, float, int, int]:
    """Seconds to the first byte and to the last, the worker's peak resident memory (VmHWM, KiB) after the
    download and the largest private memory sampled during it (KiB, every 0.1 s)."""
    request = urllib.request.Request(server.url(f"/reports/export?kind={kind}&format={fmt}&year=2026"),
                                     headers=session.headers())
    pids = worker_pids(server.process.pid)
    samples = [max(private_kib(p) for p in pids)]
    done = threading.Event()

    def sample():
        while not done.wait(0.1):
            samples.append(max(private_kib(p) for p in pids))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=900) as response, open(target, "wb") as fh:
        first = response.read(65536)
        first_byte = time.perf_counter() - started
        fh.write(first)
        while chunk := response.read(1 << 20):
            fh.write(chunk)
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    return first_byte, elapsed, max(peak_kib(p) for p in pids), max(samples)


def run(args) -> int:
    if not shutil.which("sqlite3") and not args.database_url:
        print("sqlite3 (the command-line tool) is needed for the baseline: apt-get install sqlite3")
        return 1
    with ledger_data(args) as (database, app, described):
        print(f"data: {described}")
        env = {**os.environ, "DATABASE_URL": database.url, "FLASK_SECRET_KEY": "bench"}
        out = Path(ROOT / "bench" / "out")
        out.mkdir(exist_ok=True)
        rows = []
        for kind in ("summary", "ledger"):
            same = dump(database, export_sql(app, kind), out / f"dump-{kind}.csv", env)
            dumped = count_rows(out / f"dump-{kind}.csv")
            simple = dump(database, SIMPLE_DUMPS[kind], out / f"dump-simple-{kind}.csv", env)
            for fmt in ("csv", "xlsx"):
                with ExportServer(args.timeout, database_url=database.url) as server:
                    session = login(server.url(), "admin", datagen.BENCH_PASSWORD)
                    pids = worker_pids(server.process.pid)
                    base_kib = max(peak_kib(p) for p in pids)
                    base_private = max(private_kib(p) for p in pids)
                    first, seconds, worker_kib, private = download(server, session, kind, fmt,
                                                                   out / f"web-{kind}.{fmt}")
                exported = count_rows(out / f"web-{kind}.{fmt}") - 1 if fmt == "csv" else dumped
                target = out / f"cli-{kind}.{fmt}"
                cli_s, cli_kib = timed_child([sys.executable, "-m", "flask", "--app", "app", "hours", "export",
                                              "--year", "2026", "--kind", kind, "--format", fmt, "--output",
                                              str(target)], env)
                rate = exported / seconds
                rows.append((kind, fmt, exported, first, seconds, rate, same, rate / (dumped / same),
                             rate / (dumped / simple), base_kib / 1024, worker_kib / 1024, base_private / 1024,
                             private / 1024, cli_s, cli_kib / 1024))
        print("web: a download from gunicorn (1 sync worker, --preload) as admin, the whole export; dump: the same "
              "SELECT by the database's tool (sqlite3 -csv / psql \\copy csv); ratio: export rows/s ÷ dump rows/s; "
              "simple: ÷ a dump of the plain joined columns without sums")
        print(f"{'kind':8} {'fmt':5} {'rows':>9} {'1st byte s':>10} {'web s':>7} {'rows/s':>8} {'dump s':>7} "
              f"{'ratio':>6} {'simple':>6} {'RSS idle':>8} {'RSS peak':>8} {'priv idle':>9} {'priv peak':>9} "
              f"{'CLI s':>6} {'CLI peak MB':>11}")
        for kind, fmt, n, first, s, rate, dump_s, ratio, simple_ratio, idle, peak, p_idle, p_peak, cli_s, cli_mb \
                in rows:
            print(f"{kind:8} {fmt:5} {n:9,} {first:10.2f} {s:7.1f} {rate:8,.0f} {dump_s:7.2f} {ratio:6.2f} "
                  f"{simple_ratio:6.2f} {idle:8.0f} {peak:8.0f} {p_idle:9.0f} {p_peak:9.0f} {cli_s:6.1f} {cli_mb:11.0f}")
        print("memory in MB of the gunicorn worker that served the download: RSS = VmHWM (includes the pages shared "
              "with the --preload master, e.g. jieba's dictionary), priv = Private_Clean+Private_Dirty, the largest "
              "sample during the download; CLI peak = max RSS of `flask hours export` (app start-up included)")
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--entries", type=int, help="ledger entries (default 1,000,000; --quick 100,000)")
    parser.add_argument("--fresh", action="store_true", help="SQLite: make the data set again (default: reuse the "
                                                             "one kept in $OPS_BENCH_DATA, /tmp/ops-bench-data)")
    parser.add_argument("--timeout", type=int, default=900, help="gunicorn --timeout for the downloads (default 900)")
    parser.add_argument("--reuse", action="store_true", help="PostgreSQL: keep the data of an earlier run of the "
                                                             "same size and schema")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--database-url")
    add_arguments(parser)
    sys.exit(run(parser.parse_args()))
