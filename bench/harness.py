"""The benchmark harness: a fresh database, a real gunicorn, wrk, and a baseline in the same run.

Every scenario in ``bench/`` is built from these pieces::

    from bench.harness import BenchServer, Row, baseline_server, fresh_database, login, product_app, report
    from bench.wrk import wrk

    with fresh_database(url) as database:                 # SQLite in a temp dir, or the given PostgreSQL URL
        app = product_app(database.url)                   # create_app() on that database
        ... fill it (bench.datagen.generate(app, ...)) ...
        with baseline_server() as base, BenchServer(database_url=database.url) as server:
            session = login(server.url(), "13900000000", "password")   # session cookie + CSRF token
            before = wrk(base.url("/"))                                 # the trivial route
            page = wrk(server.url("/courses/"), headers=session.headers())
            post = wrk(server.url("/api/v1/x"), method="POST", body='{"a": 1}',
                       headers=session.headers({"Content-Type": "application/json",
                                                "X-CSRFToken": session.csrf_token}))
            after = wrk(base.url("/"))
        report("myscenario", [Row("page", page), Row("post", post)], [before, after], meta={...})

* ``fresh_database(url=None)`` creates the schema: it runs the migrations (``flask db upgrade``)
  and, when they do not cover every model or column yet, drops everything and uses
  ``db.create_all()`` instead; ``database.schema`` says which, and ``report`` prints it.
  With a PostgreSQL URL, the ``public`` schema of that database is emptied first.
* ``BenchServer`` runs the production command, ``gunicorn --workers 2 --preload 'app:create_app()'``
  (sync workers) on 127.0.0.1 and a free port, with ``DATABASE_URL`` and ``FLASK_SECRET_KEY`` set,
  and waits for ``/healthz``. ``baseline_server()`` serves ``bench/baseline_app.py`` the same way.
* ``bench.wrk.wrk(url, ...)`` runs ``wrk -t2 -c32 -d10s --latency`` with a generated Lua script (method,
  body, headers) and returns a ``WrkResult``: requests/s, p50/p90/p95/p99 latency in ms, error
  counts (HTTP status >= 400 and socket errors). It first makes one request itself and refuses
  to measure a route that does not answer with the expected status (a redirect to the login
  page would otherwise look fast).
* ``report(...)`` prints a table of ratios (route req/s ÷ mean baseline req/s) and writes JSON
  to ``bench/out/<scenario>-<time>.json``.
* ``count_queries(app, client, path)`` counts the SQL statements one in-process request sends;
  ``breakdown(app, client, path)`` times it in-process: CPU ms, SQL ms, template ms, statements.

The machines are shared and noisy: only ratios measured in the same run mean something.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from http.cookiejar import CookieJar
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    from bench.wrk import WrkResult

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "bench" / "out"
USER_AGENT = "ops-bench/1"  # the same for login and wrk, as a browser would keep it
WORKERS = 2
if str(ROOT) not in sys.path:  # the product's packages, when run from elsewhere
    sys.path.insert(0, str(ROOT))


# --- the database ------------------------------------------------------------------------------

@dataclass
class Database:
    url: str
    schema: str = ""  # how the schema was made: migrations or create_all (and why)
    kind: str = "sqlite"


def product_app(database_url: str, **config):
    """The product's app on ``database_url`` (for generating data and counting queries in-process)."""
    from app import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "bench", **config})


@contextmanager
def fresh_database(url: str | None = None) -> Iterator[Database]:
    """An empty database with the current schema: a SQLite file in a temp dir, or ``url`` emptied."""
    tmpdir = None
    if url:
        from core.config import normalise_database_url

        database = Database(normalise_database_url(url), kind=url.split(":", 1)[0].split("+")[0])
    else:
        tmpdir = tempfile.mkdtemp(prefix="ops-bench-")
        database = Database("sqlite:///" + os.path.join(tmpdir, "bench.sqlite3"))
    try:
        database.schema = build_schema(database.url)
        yield database
    finally:
        if tmpdir:
            shutil.rmtree(tmpdir, ignore_errors=True)


def build_schema(url: str) -> str:
    import logging

    from flask_migrate import upgrade
    from sqlalchemy import inspect, text

    from core.extensions import db

    app = product_app(url)
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        logging.disable(logging.INFO)  # alembic's progress lines
        try:
            upgrade()
            missing = schema_gaps(inspect(db.engine), db.metadata)
        except Exception as error:  # a migration that does not apply is also a gap
            missing = [f"upgrade failed: {error.__class__.__name__}"]
        finally:
            logging.disable(logging.NOTSET)
        if not missing:
            return "migrations (flask db upgrade)"
        db.session.remove()
        with db.engine.begin() as conn:
            db.metadata.drop_all(conn)
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.create_all()
        shown = ", ".join(missing[:6]) + (f" and {len(missing) - 6} more" if len(missing) > 6 else "")
        return f"db.create_all() (the migrations miss {shown})"


def schema_gaps(inspector, metadata) -> list[str]:
    """Tables and columns of the models that the migrated database lacks."""
    gaps = []
    existing = set(inspector.get_table_names())
    for table in metadata.sorted_tables:
        if table.name not in existing:
            gaps.append(table.name)
            continue
        columns = {c["name"] for c in inspector.get_columns(table.name)}
        gaps += [f"{table.name}.{c.name}" for c in table.columns if c.name not in columns]
    return gaps


# --- gunicorn ----------------------------------------------------------------------------------

def free_port() -> int:
    """A free port: any (the system's choice), or one in ``OPS_PORTS`` ("8100-8199") on a shared machine."""
    low, _, high = os.environ.get("OPS_PORTS", "0-0").partition("-")
    for port in range(int(low), int(high or low) + 1):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise OSError(f"no free port in OPS_PORTS={os.environ.get('OPS_PORTS')}")


class BenchServer:
    """``gunicorn --workers 2 --preload APP`` on 127.0.0.1:<free port>, as a context manager."""

    def __init__(self, app_spec: str = "app:create_app()", *, database_url: str | None = None,
                 env: dict | None = None, workers: int = WORKERS, health_path: str = "/healthz",
                 startup_timeout: float = 60):
        self.app_spec = app_spec
        self.workers = workers
        self.health_path = health_path
        self.startup_timeout = startup_timeout
        self.port = free_port()
        self.env = {**os.environ, "FLASK_SECRET_KEY": secrets.token_hex(32), **(env or {})}
        if database_url:
            self.env["DATABASE_URL"] = database_url
        self.process: subprocess.Popen | None = None
        self.log = tempfile.NamedTemporaryFile(prefix="ops-bench-gunicorn-", suffix=".log", delete=False)

    @property
    def command(self) -> list[str]:
        return [sys.executable, "-m", "gunicorn", "--workers", str(self.workers), "--worker-class", "sync",
                "--preload", "--bind", f"127.0.0.1:{self.port}", "--log-level", "warning", self.app_spec]

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> "BenchServer":
        self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=self.log, stderr=self.log,
                                        start_new_session=True)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.process.returncode}):\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url(self.health_path), timeout=2) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        self.__exit__(None, None, None)
        raise RuntimeError(f"gunicorn did not answer {self.health_path} in time:\n{self.log_tail()}")

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()

    def log_tail(self, lines: int = 40) -> str:
        self.log.flush()
        return "\n".join(Path(self.log.name).read_text(errors="replace").splitlines()[-lines:])


def baseline_server(**kwargs) -> BenchServer:
    """The trivial app of ``bench/baseline_app.py`` under the same gunicorn settings."""
    return BenchServer("bench.baseline_app:app", health_path="/", **kwargs)


# --- logging in --------------------------------------------------------------------------------

@dataclass
class Session:
    cookie: str  # the Cookie header value
    csrf_token: str

    def headers(self, extra: dict | None = None) -> dict:
        return {"Cookie": self.cookie, "User-Agent": USER_AGENT, **(extra or {})}


CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def login(base_url: str, identifier: str, password: str) -> Session:
    """Log in through the real form (CSRF token scraped from it); return the session cookie."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", USER_AGENT)]
    with opener.open(base_url.rstrip("/") + "/login", timeout=10) as response:
        page = response.read().decode()
    match = CSRF_INPUT.search(page)
    if not match:
        raise RuntimeError("no csrf_token input on the login form")
    token = match.group(1) or match.group(2)
    form = urllib.parse.urlencode({"identifier": identifier, "password": password, "csrf_token": token})
    with opener.open(base_url.rstrip("/") + "/login", data=form.encode(), timeout=10) as response:
        response.read()
    cookies = {c.name: c.value for c in jar}
    if "session" not in cookies:
        raise RuntimeError("login did not set a session cookie")
    session = Session("; ".join(f"{k}={v}" for k, v in cookies.items()), token)
    status, body = fetch(base_url.rstrip("/") + "/profile", headers=session.headers())
    if status != 200:
        raise RuntimeError(f"login as {identifier} failed: /profile answered {status}")
    return session


def fetch(url: str, *, method: str = "GET", body: str | bytes | None = None,
          headers: dict | None = None) -> tuple[int, bytes]:
    """One request without following redirects: (status, body)."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    data = body.encode() if isinstance(body, str) else body
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


# --- counting queries --------------------------------------------------------------------------

@contextmanager
def query_counter(engine) -> Iterator[list[str]]:
    """Collect the SQL statements sent on ``engine`` inside the block."""
    from sqlalchemy import event

    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def count_queries(app, client, path: str, *, expect_status: int = 200) -> int:
    """SQL statements of one warm request (the page is requested once before counting)."""
    from core.extensions import db

    client.get(path, headers={"User-Agent": USER_AGENT})
    with app.app_context():
        engine = db.engine
    with query_counter(engine) as statements:
        response = client.get(path, headers={"User-Agent": USER_AGENT})
    if response.status_code != expect_status:
        raise RuntimeError(f"{path} answered {response.status_code} in-process, expected {expect_status}")
    return len(statements)


def breakdown(app, client, path: str, *, repeat: int = 30) -> dict:
    """Where one in-process request's time goes: CPU ms in total, in SQL (DBAPI execute), in
    rendering templates, and the statement count; best of five rounds of ``repeat`` requests."""
    from flask import before_render_template, template_rendered

    from core.extensions import db

    with app.app_context():
        engine = db.engine
    # SQLite runs in this process: CPU time is the honest measure on a busy machine; a server is waited for.
    clock = time.process_time if engine.dialect.name == "sqlite" else time.perf_counter
    spent = {"sql": 0.0, "template": 0.0, "statements": 0}
    marks: list[float] = []

    def before_sql(*args):
        marks.append(clock())

    def after_sql(*args):
        spent["sql"] += clock() - marks.pop()
        spent["statements"] += 1

    depth = []

    def before_template(sender, template, context, **extra):
        depth.append(clock())

    def after_template(sender, template, context, **extra):
        started = depth.pop()
        if not depth:  # the outermost template only; includes run inside it
            spent["template"] += clock() - started

    from sqlalchemy import event

    event.listen(engine, "before_cursor_execute", before_sql)
    event.listen(engine, "after_cursor_execute", after_sql)
    before_render_template.connect(before_template, app)
    template_rendered.connect(after_template, app)
    headers = {"User-Agent": USER_AGENT}
    try:
        for _ in range(3):
            client.get(path, headers=headers)
        best = None
        for _ in range(5):
            spent.update(sql=0.0, template=0.0, statements=0)
            started, cpu = time.perf_counter(), time.process_time()
            for _ in range(repeat):
                client.get(path, headers=headers)
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            row = {"cpu_ms": cpu / repeat * 1000, "wall_ms": wall / repeat * 1000,
                   "sql_ms": spent["sql"] / repeat * 1000, "template_ms": spent["template"] / repeat * 1000,
                   "statements": spent["statements"] // repeat}
            if best is None or row["cpu_ms"] < best["cpu_ms"]:
                best = row
    finally:
        event.remove(engine, "before_cursor_execute", before_sql)
        event.remove(engine, "after_cursor_execute", after_sql)
        before_render_template.disconnect(before_template, app)
        template_rendered.disconnect(after_template, app)
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in best.items()}


# --- the report --------------------------------------------------------------------------------

@dataclass
class Row:
    name: str
    result: WrkResult
    queries: int | None = None
    target: float | None = None  # minimum ratio to the baseline, if the issue sets one


def machine() -> dict:
    return {"cpus": os.cpu_count(), "loadavg_before": [round(x, 2) for x in os.getloadavg()],
            "python": sys.version.split()[0], "workers": WORKERS}


def report(scenario: str, rows: list[Row], baselines: list[WrkResult], *, meta: dict | None = None,
           out_dir: Path = OUT_DIR) -> dict:
    """Print the ratio table and write it as JSON; return the JSON payload."""
    base_rps = sum(b.rps for b in baselines) / len(baselines)
    payload = {
        "scenario": scenario, "at": time.strftime("%Y-%m-%dT%H:%M:%S"), **(meta or {}),
        "baseline": {"rps_mean": round(base_rps, 1), "runs": [asdict(b) for b in baselines]},
        "rows": [{"name": r.name, "ratio": round(r.result.rps / base_rps, 3) if base_rps else None,
                  "target": r.target, "queries": r.queries, **asdict(r.result)} for r in rows],
    }
    print(format_table(payload))
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{scenario}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2))
    print(f"JSON: {path}")
    payload["path"] = str(path)
    return payload


def format_table(payload: dict) -> str:
    header = f"{'route':<28} {'req/s':>8} {'ratio':>6} {'target':>6} {'p50ms':>7} {'p95ms':>7} {'p99ms':>7} " \
             f"{'errors':>6} {'SQL':>4}"
    lines = [f"== {payload['scenario']} ==" + "".join(f"  {k}: {v}" for k, v in payload.items()
                                                     if k in ("database", "schema", "data"))]
    lines += [header, "-" * len(header)]
    for run in payload["baseline"]["runs"]:
        lines.append(f"{'baseline (trivial route)':<28} {run['rps']:>8.1f} {'':>6} {'':>6} "
                     f"{run['latency_ms']['p50']:>7.1f} {run['latency_ms']['p95']:>7.1f} "
                     f"{run['latency_ms']['p99']:>7.1f} {run['status_errors'] + sum(run['socket_errors'].values()):>6}")
    for row in payload["rows"]:
        target = f"{row['target']:.2f}" if row["target"] is not None else ""
        verdict = "" if row["target"] is None else ("  ok" if row["ratio"] >= row["target"] else "  BELOW TARGET")
        errors = row["status_errors"] + sum(row["socket_errors"].values())
        queries = "" if row["queries"] is None else str(row["queries"])
        lines.append(f"{row['name']:<28} {row['rps']:>8.1f} {row['ratio']:>6.3f} {target:>6} "
                     f"{row['latency_ms']['p50']:>7.1f} {row['latency_ms']['p95']:>7.1f} "
                     f"{row['latency_ms']['p99']:>7.1f} {errors:>6} {queries:>4}{verdict}")
    lines.append(f"ratio = route req/s ÷ mean baseline req/s ({payload['baseline']['rps_mean']:.1f})")
    return "\n".join(lines)
