"""Issue 3: catalog, course and lecture pages as a logged-in member, against the trivial route.

Generates 1,000 courses / 10,000 lectures / 100,000 members (``--quick``: 200 / 2,000 / 10,000),
serves them with gunicorn and measures ``/courses/``, ``/courses/<id>`` and ``/lectures/<id>``
(a text and a video lecture) with wrk, as req/s ÷ the same server's trivial route (``GET /livez``: a constant
answer through the product's whole request stack, with the same session cookie), measured before the first page
and after every page; the table's ratio uses their mean, and a line gives each page's ratio to the two trivial
runs around it. For comparison, a bare Flask app with one route (bench/baseline_app.py, the baseline of the other
scenarios) is measured at the start and the end, and each page's ratio to it is printed and kept in the JSON.
The SQL statements per page are counted in-process on the same database.
Targets (issue 14): every page ≥ 0.30 of the same server's trivial route with the default cache (SimpleCache in
each process), ≥ 0.25 with ``--redis`` (a redis-server started for the run, REDIS_URL set in the server).

The pages are measured warm: the warm-up requests fill the shared cache (courses/cache.py: catalog ids and facets,
syllabus, outline, due dates, keyed by the content version); each page still reads its rows and the viewer's
facts afresh and renders its templates per request.

    python -m bench catalog [--quick] [--breakdown] [--redis [--redis-port 8490]]
                            [--database-url postgresql+psycopg://ops:ops@127.0.0.1:5432/ops_bench]
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager, nullcontext
from dataclasses import asdict

from bench import datagen
from bench.harness import (BenchServer, Row, baseline_server, breakdown, count_queries, fresh_database, login,
                           machine, product_app, query_counter, report)
from bench.wrk import warm, wrk

TARGET = 0.30
TARGET_REDIS = 0.25


def add_arguments(parser) -> None:
    parser.add_argument("--show-queries", action="store_true", help="print each page's SQL statements")
    parser.add_argument("--reference", action="store_true",
                        help="also measure /healthz and /profile (a small logged-in page), without a target")
    parser.add_argument("--breakdown", action="store_true",
                        help="also time each page in-process: CPU, SQL and template ms (no gunicorn)")
    parser.add_argument("--redis", action="store_true",
                        help="the shared cache in Redis (a redis-server started on --redis-port for the run)")
    parser.add_argument("--redis-port", type=int, default=8490)


def pages(generated: datagen.Generated) -> list[tuple[str, str]]:
    return [("catalog /courses/", "/courses/"),
            (f"course /courses/{generated.course_id}", f"/courses/{generated.course_id}"),
            (f"text lecture /lectures/{generated.text_lecture_id}", f"/lectures/{generated.text_lecture_id}"),
            (f"video lecture /lectures/{generated.video_lecture_id}", f"/lectures/{generated.video_lecture_id}")]


def in_process_queries(database_url: str, generated: datagen.Generated, paths: list[str],
                       show: bool = False, timings: bool = False, redis_url: str | None = None) -> dict[str, int]:
    """SQL statements per page, as the logged-in bench member, through Flask's test client."""
    from core.extensions import db

    app = product_app(database_url, WTF_CSRF_ENABLED=False, **({"REDIS_URL": redis_url} if redis_url else {}))
    if timings:
        add_floor_routes(app)
    client = app.test_client()
    response = client.post("/login", data={"identifier": generated.login, "password": generated.password})
    if response.status_code != 302:
        raise RuntimeError(f"in-process login failed ({response.status_code})")
    counts = {path: count_queries(app, client, path) for path in paths}
    if timings:
        from bench.baseline_app import app as trivial

        print(f"{'in-process, best of 5 x 30':<28} {'cpu ms':>7} {'wall ms':>7} {'SQL ms':>7} {'tmpl ms':>7} {'SQL':>4}")
        for path, (flask_app, flask_client) in [("baseline /", (trivial, trivial.test_client()))] + \
                [(path, (app, client)) for path in FLOOR_PATHS + paths]:
            row = breakdown(flask_app, flask_client, path.split(" ")[-1]) if flask_app is app else \
                trivial_breakdown(flask_client)
            print(f"{path:<28} {row['cpu_ms']:>7.2f} {row['wall_ms']:>7.2f} {row['sql_ms']:>7.2f} "
                  f"{row['template_ms']:>7.2f} {row['statements']:>4}")
    if show:
        with app.app_context():
            engine = db.engine
        for path in paths:
            with query_counter(engine) as statements:
                client.get(path)
            print(f"--- {path}: {len(statements)} statements")
            for statement in statements:
                print("   ", " ".join(statement.split())[:300])
    return counts


FLOOR_PATHS = ["/_bench/user", "/_bench/empty-page"]


def add_floor_routes(app) -> None:
    """In-process only: what every logged-in page pays before its own work — loading the user
    (``/_bench/user`` returns their name) and rendering base.html around nothing (``/_bench/empty-page``)."""
    from flask import render_template
    from flask_login import current_user

    from core.permissions import login_required

    empty = app.jinja_env.from_string('{% extends "base.html" %}{% block content %}{% endblock %}')

    def bench_user():
        return current_user.name

    def bench_empty_page():
        return render_template(empty)

    app.add_url_rule("/_bench/user", view_func=login_required(bench_user))
    app.add_url_rule("/_bench/empty-page", view_func=login_required(bench_empty_page))


def trivial_breakdown(client, repeat: int = 30) -> dict:
    import time

    best = None
    for _ in range(5):
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(repeat):
            client.get("/")
        row = {"cpu_ms": (time.process_time() - cpu) / repeat * 1000,
               "wall_ms": (time.perf_counter() - started) / repeat * 1000, "sql_ms": 0.0, "template_ms": 0.0,
               "statements": 0}
        best = row if best is None or row["cpu_ms"] < best["cpu_ms"] else best
    return best


@contextmanager
def redis_server(port: int):
    """A throw-away redis-server on 127.0.0.1:``port`` for the run (no persistence)."""
    process = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                                "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(50):
            if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


def run(args) -> int:
    with (redis_server(args.redis_port) if args.redis else nullcontext()) as redis_url:
        return measure(args, redis_url)


def measure(args, redis_url: str | None) -> int:
    target = TARGET_REDIS if redis_url else TARGET
    scale = datagen.QUICK if args.quick else datagen.FULL
    options = {"duration": args.duration, "connections": args.connections}
    with fresh_database(args.database_url) as database:
        print(f"schema: {database.schema}")
        generated = datagen.generate(product_app(database.url), scale)
        print(f"data: {generated.describe()}")
        routes = pages(generated)
        references = [("reference /healthz", "/healthz"), ("reference /profile", "/profile")] \
            if args.reference else []
        queries = in_process_queries(database.url, generated, [path for _, path in routes + references],
                                     args.show_queries, args.breakdown, redis_url=redis_url)
        server_env = {"FLASK_REDIS_URL": redis_url} if redis_url else {}
        host = machine()
        with baseline_server() as base, BenchServer(database_url=database.url, env=server_env) as server:
            session = login(server.url(), generated.login, generated.password)
            warm(base.url("/"))
            for _, path in routes + references:
                warm(server.url(path), headers=session.headers())
            # The server's trivial route is measured before the first page and after every page: on a shared
            # machine the load drifts, and each page also gets a ratio to the two trivial runs around it.
            bare = [wrk(base.url("/"), **options)]
            trivial = [wrk(server.url("/livez"), headers=session.headers(), **options)]
            rows = []
            for name, path in routes + references:
                rows.append(Row(name, wrk(server.url(path), headers=session.headers(), **options),
                                queries=queries[path], target=target if (name, path) in routes else None))
                trivial.append(wrk(server.url("/livez"), headers=session.headers(), **options))
            bare.append(wrk(base.url("/"), **options))
        neighbours = {row.name: round(row.result.rps / ((trivial[i].rps + trivial[i + 1].rps) / 2), 3)
                      for i, row in enumerate(rows)}
        bare_rps = sum(run.rps for run in bare) / len(bare)
        to_bare = {row.name: round(row.result.rps / bare_rps, 3) for row in rows}
        print("baseline = GET /livez on the product's own server (the issue's 'same server's trivial route')")
        print("ratio to the trivial runs just before and after each page: "
              + ", ".join(f"{name.split(' ')[0]} {ratio}" for name, ratio in neighbours.items()))
        print(f"for comparison, ratio to a bare Flask app (bench/baseline_app.py, {bare_rps:.1f} req/s; "
              f"/livez ÷ bare = {sum(run.rps for run in trivial) / len(trivial) / bare_rps:.3f}): "
              + ", ".join(f"{name.split(' ')[0]} {ratio}" for name, ratio in to_bare.items()))
        print(f"load average before/after: {host['loadavg_before']} / {[round(x, 2) for x in os.getloadavg()]} "
              f"({host['cpus']} CPUs); cache: {'RedisCache' if redis_url else 'SimpleCache'}")
        payload = report("catalog", rows, trivial, meta={**host,
            "baseline_route": "GET /livez on the product's server",
            "ratio_to_neighbouring_baselines": neighbours,
            "bare_flask_baseline": {"rps_mean": round(bare_rps, 1), "runs": [asdict(run) for run in bare]},
            "ratio_to_bare_flask": to_bare,
            "database": database.kind, "schema": database.schema, "data": generated.describe(),
            "command": "python -m bench " + " ".join(sys.argv[1:]),
            "wrk": f"-t2 -c{args.connections} -d{args.duration:g}s",
            "cache": "RedisCache" if redis_url else "SimpleCache", "loadavg_after": [round(x, 2) for x in os.getloadavg()]})
    below = [row["name"] for row in payload["rows"] if row["target"] and row["ratio"] < row["target"]]
    if below:
        print(f"below the {target} target: {', '.join(below)}")
    return 1 if below else 0
