"""Issue 18: the waiting room under load — a district's phones open an exam's page before 9:00.

Against gunicorn (production settings, bench/harness.py) on the generated district (``--quick``: 10,000 members),
with an exam opening tomorrow, each measured with wrk as req/s ÷ the same server's trivial route (``GET /livez``
with the same session cookie, measured before the first row and after each one; catalog's method):

1. the waiting room, ``GET /quizzes/<exam>`` as a logged-in member (the page every phone loads once; it then
   counts down by itself, with no request per second);
2. the re-sync, ``GET /api/v1/quizzes/<exam>`` (a phone coming back to the page asks its seconds once);
3. a start before the opening, ``POST /api/v1/quizzes/<exam>/attempts`` with a bearer token: every one must be
   refused (409 not_open_yet) — wrk counts them as status errors, so this row's "refused" must equal its
   requests — and the database must hold no attempt afterwards.

The SQL statements of each are counted in-process. A bare Flask app (bench/baseline_app.py) is measured at the
start and the end for comparison. No target is set by the issue for these; the table is for the note.

    python -m bench waiting [--quick] [--database-url postgresql+psycopg://ops:ops@127.0.0.1:5432/ops_wait_bench]
"""
from __future__ import annotations

import os
import sys
from datetime import timedelta

from bench import datagen
from bench.harness import (USER_AGENT, BenchServer, Row, baseline_server, count_queries, fresh_database, login,
                           machine, product_app, query_counter, report)
from bench.wrk import warm, wrk


def add_arguments(parser) -> None:
    pass


def prepare(database_url: str, quick: bool) -> dict:
    """The district, an exam opening tomorrow (20 drawn questions of the demo bank), the member's API token."""
    from accounts import services as account_services
    from accounts.models import User
    from core import clock
    from core.extensions import db
    from quizzes import demo as quiz_demo
    from quizzes import services
    from quizzes.demo_questions import PARTY_BASICS
    from quizzes.models import Quiz

    app = product_app(database_url)
    generated = datagen.generate(app, datagen.QUICK if quick else datagen.FULL)
    with app.app_context():
        bank = quiz_demo._bank("年度考试题库（压测）", PARTY_BASICS, None, "党的基本知识")
        opens = clock.utcnow().replace(microsecond=0) + timedelta(days=1)
        exam = Quiz(title="年度党员学习测试（压测）", bank_id=bank.id, published=True, is_exam=True,
                    time_limit_seconds=30 * 60, pass_percent=60, opens_at=opens, closes_at=opens + timedelta(hours=2))
        db.session.add(exam)
        db.session.flush()
        services.set_draw_rules(exam, [{"count": 20, "points": 5}])
        token = account_services.issue_token(db.session.get(User, generated.member_id),
                                             "waiting-bench")[1]
        db.session.commit()
        return {"generated": generated, "exam_id": exam.id, "token": token}


def in_process_queries(database_url: str, generated, token: str, exam_id: int) -> dict[str, int]:
    """SQL statements of one warm request of each row, through Flask's test client."""
    from core.extensions import db

    app = product_app(database_url, WTF_CSRF_ENABLED=False)
    client = app.test_client()
    if client.post("/login", data={"identifier": generated.login, "password": generated.password}).status_code != 302:
        raise RuntimeError("in-process login failed")
    counts = {path: count_queries(app, client, path) for path in (f"/quizzes/{exam_id}", f"/api/v1/quizzes/{exam_id}")}
    bearer = {"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT}
    start = f"/api/v1/quizzes/{exam_id}/attempts"
    app.test_client().post(start, headers=bearer)
    with app.app_context():
        engine = db.engine
    with query_counter(engine) as statements:
        response = app.test_client().post(start, headers=bearer)
    if response.status_code != 409 or response.get_json()["error"]["code"] != "not_open_yet":
        raise RuntimeError(f"an early start answered {response.status_code} in-process: {response.get_data()!r}")
    counts[start] = len(statements)
    return counts


def attempts(database_url: str) -> int:
    from sqlalchemy import func, select

    from core.extensions import db
    from quizzes.models import Attempt

    with product_app(database_url).app_context():
        return db.session.scalar(select(func.count()).select_from(Attempt))


def run(args) -> int:
    options = {"duration": args.duration, "connections": args.connections}
    with fresh_database(args.database_url) as database:
        print(f"schema: {database.schema}")
        prepared = prepare(database.url, args.quick)
        generated, exam_id, token = prepared["generated"], prepared["exam_id"], prepared["token"]
        print(f"data: {generated.describe()}")
        queries = in_process_queries(database.url, generated, token, exam_id)
        host = machine()
        with baseline_server() as base, BenchServer(database_url=database.url) as server:
            session = login(server.url(), generated.login, generated.password)
            bearer = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            routes = [  # (name, path, wrk options)
                ("waiting room page", f"/quizzes/{exam_id}", {"headers": session.headers()}),
                ("re-sync GET quiz (API)", f"/api/v1/quizzes/{exam_id}", {"headers": session.headers()}),
                ("early start, refused 409", f"/api/v1/quizzes/{exam_id}/attempts",
                 {"method": "POST", "headers": bearer, "expect_status": 409}),
            ]
            warm(base.url("/"))
            warm(server.url("/livez"), headers=session.headers())
            for _, path, extra in routes:
                warm(server.url(path), **extra)
            bare = [wrk(base.url("/"), **options)]
            trivial = [wrk(server.url("/livez"), headers=session.headers(), **options)]
            rows = []
            for name, path, extra in routes:
                rows.append(Row(name, wrk(server.url(path), **extra, **options), queries=queries[path]))
                trivial.append(wrk(server.url("/livez"), headers=session.headers(), **options))
            bare.append(wrk(base.url("/"), **options))
        refused = rows[-1].result
        created = attempts(database.url)
        bare_rps = sum(run.rps for run in bare) / len(bare)
        neighbours = {row.name: round(row.result.rps / ((trivial[i].rps + trivial[i + 1].rps) / 2), 3)
                      for i, row in enumerate(rows)}
        print("baseline = GET /livez on the product's own server; ratio to the runs just before and after each row: "
              + "; ".join(f"{name} {ratio}" for name, ratio in neighbours.items()))
        print(f"for comparison, bare Flask app (bench/baseline_app.py) {bare_rps:.1f} req/s: "
              + "; ".join(f"{row.name} {row.result.rps / bare_rps:.3f}" for row in rows))
        print(f"early starts: {refused.requests} sent, {refused.status_errors} refused (>= 400), "
              f"attempts in the database afterwards: {created}")
        print(f"load average before/after: {host['loadavg_before']} / {[round(x, 2) for x in os.getloadavg()]} "
              f"({host['cpus']} CPUs)")
        report("waiting", rows, trivial, meta={
            **host, "baseline_route": "GET /livez on the product's server", "database": database.kind,
            "schema": database.schema, "data": generated.describe(), "ratio_to_neighbouring_baselines": neighbours,
            "bare_flask_rps_mean": round(bare_rps, 1), "early_starts": {"sent": refused.requests,
                                                                         "refused": refused.status_errors,
                                                                         "attempts_created": created},
            "command": "python -m bench " + " ".join(sys.argv[1:]),
            "wrk": f"-t2 -c{args.connections} -d{args.duration:g}s",
            "loadavg_after": [round(x, 2) for x in os.getloadavg()]})
    ok = refused.status_errors == refused.requests and not sum(refused.socket_errors.values()) and created == 0
    ok = ok and all(not row.result.errors for row in rows[:-1])
    if not ok:
        print("FAILED: an early start was let through, or a page answered an error", file=sys.stderr)
    return 0 if ok else 1
