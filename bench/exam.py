"""Issue 4: the yearly-exam burst — 500 members start the same exam, save 20 answers each, submit.

Against gunicorn (production settings, via bench/harness.py) on SQLite or PostgreSQL, in three phases
measured with wrk, each a fixed list of requests replayed once (``bench.wrk.wrk_replay``: a Lua script
reads the list from a file, each connection takes the next request, and each wrk thread stops when its
share is answered, so the rate is over the burst's own duration):

1. start:  POST /api/v1/quizzes/<exam>/attempts          × 500 (every member creates an attempt);
2. save:   PUT  /api/v1/attempts/<id>/answers/<n>         × 10,000 (question by question, all members);
3. submit: POST /api/v1/attempts/<id>/submit               × 1,000 (each attempt submitted TWICE at the
           same moment from two wrk threads: the race that must grade it once).

Members authenticate with API bearer tokens issued in-process beforehand (logging 500 members in
through the form would measure password hashing). Each phase's req/s is divided by the trivial route's
(bench/baseline_app.py, same gunicorn settings, measured before and after). Afterwards the database is
checked: 500 attempts, all submitted, every one graded exactly once (grade_count = 1), 10,000 answers
saved, one hour-ledger credit per passed attempt and none for failed ones.

    python -m bench exam [--quick] [--members 500] [--database-url postgresql+psycopg://ops:ops@127.0.0.1:5432/ops_e]

Issue 18 adds two modes:

* ``--ramp SECONDS``: the exam-day burst. The start phase is open-loop instead of wrk's closed loop: member i
  starts at ``i × SECONDS / members`` (64 client threads, one request each, latency measured from the
  scheduled moment, so a slow server shows as queueing); the start latency p50/p95/p99 and errors are
  printed. Saves and submits follow as above. E.g. ``--members 5000 --ramp 60 --database-url …`` on
  PostgreSQL with the production's two gunicorn workers.
* ``--bank-size N``: the exam draws from a bank of N questions (the demo bank plus generated single-choice
  questions), to compare 100 with 5,000: a start must cost the same.

``--floor`` measures what any Flask implementation could reach: after the product's three phases, the same burst
runs on freshly regenerated data (a second ``fresh_database`` + ``prepare``: the same starting state, with the
product's rows neither in the way nor leaving dead tuples, for about a second of generating) against
``bench/exam_floor_app.py`` (plain Flask and SQLAlchemy Core doing only the product's quick paths' statements),
verified the same way; the table gets ``floor …`` rows and a line per phase prints product ÷ floor.
"""
from __future__ import annotations

import json
import random
import sys
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from bench import datagen
from bench.harness import (USER_AGENT, BenchServer, Database, Row, baseline_server, fetch, fresh_database, product_app,
                           report)
from bench.wrk import Replay, WrkResult, warm, wrk, wrk_replay

QUESTIONS = 20


def add_arguments(parser) -> None:
    parser.add_argument("--members", type=int, default=500, help="members in the burst (default 500)")
    parser.add_argument("--ramp", type=float, default=None,
                        help="burst mode: the members start spread over this many seconds (open loop)")
    parser.add_argument("--bank-size", type=int, default=None,
                        help="questions in the exam's bank (default: the demo bank's)")
    parser.add_argument("--floor", action="store_true",
                        help="then the same burst on regenerated data against bench/exam_floor_app.py (product ÷ floor)")


def fill_bank(bank, size: int) -> None:
    """Generated single-choice questions until the bank holds ``size``."""
    from quizzes import banks
    from quizzes.models import Difficulty, QuestionKind

    have = len(banks.bank_questions(bank.id))
    for i in range(have, size):
        banks.add_question(bank, banks.QuestionData(
            QuestionKind.SINGLE, f"压测题{i}：下列说法哪一项正确？",
            [(f"说法{i}甲", True), (f"说法{i}乙", False), (f"说法{i}丙", False), (f"说法{i}丁", False)], [],
            "", ["压测"], Difficulty.MEDIUM))


def prepare(database_url: str, members: int, quick: bool, seed: int = 4, bank_size: int | None = None) -> dict:
    """Generate the district, the exam (20 drawn from the demo bank, 30 minutes, open now) and one API
    token per member. Returns what the phases need."""
    from sqlalchemy import select

    from accounts import services as account_services
    from accounts.models import User
    from core import clock
    from core.extensions import db
    from core.permissions import Role
    from quizzes import demo as quiz_demo
    from quizzes.demo_questions import PARTY_BASICS
    from quizzes.models import Quiz, ReviewPolicy

    app = product_app(database_url)
    generated = datagen.generate(app, datagen.QUICK if quick else datagen.FULL)
    with app.app_context():
        bank = quiz_demo._bank("年度考试题库（压测）", PARTY_BASICS, None, "党的基本知识")
        if bank_size:
            fill_bank(bank, bank_size)
        now = clock.utcnow()
        exam = Quiz(title="年度党章党规知识考试（压测）", bank_id=bank.id, published=True, is_exam=True,
                    time_limit_seconds=30 * 60, pass_percent=60, opens_at=now - timedelta(hours=1),
                    closes_at=now + timedelta(hours=3), review_policy=ReviewPolicy.AFTER_CLOSE,
                    credit_seconds=30 * 60, shuffle_questions=True, shuffle_options=True)
        db.session.add(exam)
        db.session.flush()
        from quizzes import services

        services.set_draw_rules(exam, [{"count": QUESTIONS, "points": 5}])
        users = db.session.scalars(select(User).where(User.role == Role.MEMBER, User.is_active_flag.is_(True))
                                   .order_by(User.id).limit(members)).all()
        if len(users) < members:
            raise SystemExit(f"only {len(users)} members generated; need {members}")
        tokens = [account_services.issue_token(user, "exam-bench")[1] for user in users]
        db.session.commit()
        return {"exam_id": exam.id, "tokens": tokens, "user_ids": [u.id for u in users],
                "data": generated.describe()}


def answers_plan(database_url: str, exam_id: int, user_ids: list[int], seed: int = 7) -> list[tuple]:
    """After the start phase: (user index, attempt id, position, response) for every question, ordered
    question by question so all members progress together."""
    from sqlalchemy import select

    from core.extensions import db
    from quizzes.models import Attempt, QuestionKind

    rng = random.Random(seed)
    app = product_app(database_url)
    plan = []
    with app.app_context():
        attempts = {a.user_id: a for a in db.session.scalars(select(Attempt).where(Attempt.quiz_id == exam_id))}
        rows = []
        for index, user_id in enumerate(user_ids):
            attempt = attempts.get(user_id)
            if attempt is None:
                raise SystemExit(f"member {user_id} has no attempt after the start phase")
            for answer in attempt.answers:
                question = answer.question
                if question.kind == QuestionKind.BLANK:
                    right = rng.random() < 0.7
                    response = (question.accepted_answers[0] if right else "不知道")
                elif question.kind == QuestionKind.MULTIPLE:
                    correct = sorted(question.correct_public_ids)
                    response = correct if rng.random() < 0.6 else rng.sample(answer.option_order, 2)
                else:
                    correct = sorted(question.correct_public_ids)
                    response = correct if rng.random() < 0.7 else [rng.choice(answer.option_order)]
                rows.append((answer.position, index, attempt.id, response))
        rows.sort(key=lambda r: (r[0], r[1]))
        plan = [(index, attempt_id, position, response) for position, index, attempt_id, response in rows]
    return plan


def attempt_ids(database_url: str, exam_id: int, user_ids: list[int]) -> list[int]:
    from sqlalchemy import select

    from core.extensions import db
    from quizzes.models import Attempt

    app = product_app(database_url)
    with app.app_context():
        by_user = dict(db.session.execute(select(Attempt.user_id, Attempt.id).where(Attempt.quiz_id == exam_id)).all())
    return [by_user[u] for u in user_ids]


def verify(database_url: str, exam_id: int, members: int) -> dict:
    """What the database holds after the burst."""
    from sqlalchemy import func, select

    from core.extensions import db
    from learning.models import HourEntry, HourSource
    from quizzes.models import Attempt, AttemptAnswer, AttemptStatus

    app = product_app(database_url)
    with app.app_context():
        attempts = db.session.scalars(select(Attempt).where(Attempt.quiz_id == exam_id)).all()
        ids = [a.id for a in attempts]
        saved = db.session.scalar(select(func.count()).select_from(AttemptAnswer).where(
            AttemptAnswer.attempt_id.in_(ids), AttemptAnswer.saved_at.is_not(None))) if ids else 0
        credits = db.session.scalars(select(HourEntry.source_ref).where(HourEntry.source == HourSource.QUIZ)).all()
        passed = {f"attempt:{a.id}" for a in attempts if a.passed}
        result = {
            "attempts": len(attempts),
            "submitted": sum(a.status == AttemptStatus.SUBMITTED for a in attempts),
            "graded_exactly_once": sum(a.grade_count == 1 for a in attempts),
            "graded_more_than_once": sum(a.grade_count > 1 for a in attempts),
            "answers_saved": saved,
            "passed": len(passed),
            "hour_credits": len(credits),
            "hour_credits_match_passes": sorted(credits) == sorted(passed),
        }
    result["ok"] = (result["attempts"] == members == result["submitted"] == result["graded_exactly_once"]
                    and result["answers_saved"] == members * QUESTIONS and result["hour_credits_match_passes"])
    return result


def ramped_starts(url: str, exam_id: int, tokens: list[str], ramp: float, threads: int = 64):
    """Member i starts at ``i × ramp / len(tokens)`` seconds; latency counts from that moment. Returns a
    ``WrkResult`` (rate over the whole burst, latency percentiles, status and socket errors)."""
    import urllib.error
    import urllib.request

    from bench.wrk import PERCENTILES, WrkResult

    latencies: list[float] = []
    statuses: list[int] = []
    failures: dict[str, int] = {}
    lock = threading.Lock()
    count = len(tokens)
    t0 = time.monotonic() + 1
    next_index = iter(range(count))

    def worker():
        while True:
            with lock:
                i = next(next_index, None)
            if i is None:
                return
            due = t0 + i * ramp / count
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            request = urllib.request.Request(url + f"/api/v1/quizzes/{exam_id}/attempts", data=b"{}", method="POST",
                                             headers={"Authorization": f"Bearer {tokens[i]}",
                                                      "Content-Type": "application/json",
                                                      "Accept": "application/json", "User-Agent": USER_AGENT})
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    response.read()
                    status = response.status
            except urllib.error.HTTPError as error:
                status = error.code
            except OSError as error:
                with lock:
                    failures[type(error).__name__] = failures.get(type(error).__name__, 0) + 1
                continue
            with lock:
                latencies.append((time.monotonic() - due) * 1000)
                statuses.append(status)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    seconds = time.monotonic() - t0
    ordered = sorted(latencies) or [0.0]

    def pct(p):
        return round(ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))], 1)

    latency = {f"p{p}": pct(p) for p in PERCENTILES}
    latency.update(max=round(ordered[-1], 1), mean=round(sum(ordered) / len(ordered), 1))
    return WrkResult(url=url, requests=len(statuses), seconds=round(seconds, 2), rps=round(len(statuses) / seconds, 1),
                     latency_ms=latency, status_errors=sum(s >= 400 for s in statuses), socket_errors=failures)


PRODUCT_APP, FLOOR_APP = "app:create_app()", "bench.exam_floor_app:app"


@dataclass
class Burst:
    """One app's three phases on its own freshly generated data, and what its database held afterwards."""

    start: WrkResult
    save: WrkResult
    submit: WrkResult
    requests: dict
    checked: dict
    database: Database
    data: str

    @property
    def errors(self) -> int:
        return self.start.errors + self.save.errors + self.submit.errors


def burst(args, app_spec: str) -> Burst:
    """Generate the district, its exam and tokens in a fresh database, serve ``app_spec`` on it under gunicorn,
    replay start, save and submit, and check the database."""
    members = args.members
    with fresh_database(args.database_url) as database:
        print(f"{app_spec}: generating data and {members} API tokens …", flush=True)
        prepared = prepare(database.url, members, args.quick, bank_size=args.bank_size)
        tokens, exam_id = prepared["tokens"], prepared["exam_id"]
        with BenchServer(app_spec, database_url=database.url) as server:
            warm(server.url("/healthz"))

            def replay(requests):
                return wrk_replay(server.url("/"), [Replay(method, path, body or "{}", {
                    "Authorization": f"Bearer {token}", "Content-Type": "application/json",
                    "Accept": "application/json", "User-Agent": USER_AGENT}) for method, path, token, body in requests],
                    connections=args.connections, max_seconds=3600 if args.ramp else 900)  # 100,000 saves: > 15 min

            starts = [("POST", f"/api/v1/quizzes/{exam_id}/attempts", token, None) for token in tokens]
            if args.ramp:
                start = ramped_starts(server.url("").rstrip("/"), exam_id, tokens, args.ramp)
                print(f"start (ramp {args.ramp:g} s): {start.requests} responses, {start.rps} req/s, errors "
                      f"{start.errors}, latency p50/p95/p99 {start.latency_ms['p50']}/{start.latency_ms['p95']}/"
                      f"{start.latency_ms['p99']} ms", flush=True)
            else:
                start = replay(starts)
                print(f"start: {start.requests} responses, {start.rps} req/s, errors {start.errors}", flush=True)
            if start.errors:
                print(server.log_tail(), file=sys.stderr)
            plan = answers_plan(database.url, exam_id, prepared["user_ids"])
            saves = [("PUT", f"/api/v1/attempts/{attempt_id}/answers/{position}", tokens[index],
                      json.dumps({"response": response}, ensure_ascii=False))
                     for index, attempt_id, position, response in plan]
            save = replay(saves)
            print(f"save: {save.requests} responses, {save.rps} req/s, errors {save.errors}", flush=True)
            ids = attempt_ids(database.url, exam_id, prepared["user_ids"])
            # each attempt twice in a row: entries 2k and 2k+1 go to different wrk threads, at once
            submits = [("POST", f"/api/v1/attempts/{attempt_id}/submit", tokens[i], None)
                       for i, attempt_id in enumerate(ids) for _ in range(2)]
            submit = replay(submits)
            print(f"submit: {submit.requests} responses, {submit.rps} req/s, errors {submit.errors}", flush=True)
            if app_spec == PRODUCT_APP:  # the floor has no result page
                status, _body = fetch(server.url(f"/api/v1/attempts/{ids[0]}/result"),
                                      headers={"Authorization": f"Bearer {tokens[0]}"})
        checked = verify(database.url, exam_id, members)
        if app_spec == PRODUCT_APP:
            checked["result_status"] = status
    return Burst(start, save, submit, {"start": len(starts), "save": len(saves), "submit": len(submits)}, checked,
                 database, prepared["data"])


def run(args) -> int:
    started = time.monotonic()
    with baseline_server() as base:
        warm(base.url("/"))
        baselines = [wrk(base.url("/"), duration=args.duration, connections=args.connections)]
        product = burst(args, PRODUCT_APP)
        baselines.append(wrk(base.url("/"), duration=args.duration, connections=args.connections))
        floor = None
        if args.floor:  # the same burst on the same (regenerated) data, served by the hand-trimmed floor app
            floor = burst(args, FLOOR_APP)
            baselines.append(wrk(base.url("/"), duration=args.duration, connections=args.connections))
    requests = product.requests
    names = (f"start ×{requests['start']}" + (f" ramp {args.ramp:g}s" if args.ramp else ""),
             f"save ×{requests['save']}", f"submit ×{requests['submit']} (2 per attempt)")
    rows = [Row(name, result) for name, result in zip(names, (product.start, product.save, product.submit))]
    if floor:
        rows += [Row(f"floor {phase} ×{requests[phase]}", getattr(floor, phase)) for phase in ("start", "save", "submit")]
    meta = {"database": product.database.kind, "schema": product.database.schema, "data": product.data,
            "members": args.members, "questions": QUESTIONS, "verified": product.checked,
            "floor_verified": floor.checked if floor else None, "ramp_seconds": args.ramp,
            "bank_size": args.bank_size, "requests": requests,
            "command": "python -m bench exam " + " ".join(sys.argv[2:]),
            "wrk": f"replay: -t2 -c{args.connections}, each request once (bench.wrk.wrk_replay)"}
    report("exam", rows, baselines, meta=meta)
    print("verified:", ", ".join(f"{k}={v}" for k, v in product.checked.items()))
    if floor:
        print("floor verified:", ", ".join(f"{k}={v}" for k, v in floor.checked.items()))
        for phase in ("start", "save", "submit"):
            ours, best = getattr(product, phase).rps, getattr(floor, phase).rps
            print(f"product ÷ floor, {phase}: {ours:.1f} ÷ {best:.1f} req/s = {ours / best:.2f}" if best else
                  f"product ÷ floor, {phase}: the floor answered nothing")
    print(f"total {time.monotonic() - started:.0f} s")
    failed = [b for b in (product, floor) if b and (b.errors or not b.checked["ok"])]
    for b in failed:
        print(f"FAILED ({'floor' if b is floor else 'product'}): {b.errors} error responses; "
              f"verification ok={b.checked['ok']}", file=sys.stderr)
    return 1 if failed else 0
