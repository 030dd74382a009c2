"""Issue 5: heartbeats of many learners at once, against the trivial route.

Generates the catalog data set (``--quick``: 10,000 members), opens a study session for each of
``--learners`` members (default 2,000) on a text lecture, serves the app with gunicorn (2 sync workers)
and drives ``POST /api/v1/lectures/<id>/heartbeat`` with wrk: every request is the next heartbeat
(sequence + 1) of the next learner in turn, so each one is a real credit (read the session row, one
compare-and-set UPDATE, one ledger INSERT, commit, on ``engine.begin()``) rather
than a cheap refusal. The ratio is heartbeat req/s ÷ the baseline's req/s (measured before and after); SQL
statements per heartbeat are counted in-process. The load average before and after is printed: the machine
is shared, and a busy one slows the CPU-bound baseline more than the disk-bound PostgreSQL heartbeat.
Targets: ≥ 0.45 on SQLite, ≥ 0.30 on PostgreSQL, ≤ 3 statements (4 on PostgreSQL: SET LOCAL first).

At 30-second intervals a server sustaining R heartbeats/s carries 30 × R learners studying at once.

    python -m bench heartbeat [--quick] [--view] [--learners 2000] [--database-url postgresql+psycopg://...]
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile

from bench import datagen
from bench.harness import (
    USER_AGENT,
    BenchServer,
    Row,
    baseline_server,
    fresh_database,
    machine,
    product_app,
    query_counter,
    report,
)
from bench.wrk import lua_string, parse_wrk, warm, wrk, wrk_script

TARGETS = {"sqlite": 0.45, "postgresql": 0.30}
MAX_STATEMENTS = {"sqlite": 3, "postgresql": 4}  # PostgreSQL: SET LOCAL synchronous_commit = off first


def add_arguments(parser) -> None:
    parser.add_argument("--learners", type=int, default=2000, help="study sessions driven in turn")
    parser.add_argument("--view", action="store_true",
                        help="answer heartbeats by the Flask view (HEARTBEAT_FAST_PATH off): what the fast path earns")


def open_sessions(database_url: str, lecture_id: int, learners: int) -> list[str]:
    """Start a study session for each of ``learners`` members (as their lecture pages would)."""
    from sqlalchemy import select

    from accounts.models import User
    from core.extensions import db
    from core.permissions import Role
    from courses.models import Lecture
    from learning import study

    app = product_app(database_url)
    with app.app_context(), app.test_request_context():
        lecture = db.session.get(Lecture, lecture_id)
        lecture.reading_seconds = 24 * 3600  # no cap is reached during the run
        members = db.session.scalars(select(User).where(User.role == Role.MEMBER).order_by(User.id)
                                     .limit(learners)).all()
        credentials = [study.start_session(member, lecture, client=USER_AGENT)[1] for member in members]
        db.session.commit()
    return credentials


def statements_per_heartbeat(database_url: str, lecture_id: int) -> list[str]:
    """The SQL of one steady-state heartbeat, in-process."""
    import time

    from sqlalchemy import select

    from accounts.models import User
    from core.extensions import db
    from core.permissions import Role
    from courses.models import Lecture
    from learning import study

    app = product_app(database_url)
    with app.app_context(), app.test_request_context():
        member = db.session.scalar(select(User).where(User.role == Role.MEMBER).order_by(User.id.desc()))
        credential = study.start_session(member, db.session.get(Lecture, lecture_id))[1]
        db.session.commit()
        engine = db.engine
    client = app.test_client()
    path = f"/api/v1/lectures/{lecture_id}/heartbeat"
    body = {"session": credential, "visible": True, "idle_seconds": 1}
    client.post(path, json={**body, "seq": 1})
    time.sleep(1.1)  # a whole second later, so the heartbeat credits (and inserts) something
    with query_counter(engine) as statements:
        response = client.post(path, json={**body, "seq": 2})
    data = response.get_json()
    if response.status_code != 200 or data["credited_seconds"] < 1:
        raise RuntimeError(f"in-process heartbeat did not credit: {response.status_code} {data}")
    return statements


def heartbeat_script(lecture_id: int, credentials: list[str], threads: int) -> str:
    """wrk Lua: each thread takes every ``threads``-th learner; each request is that learner's next beat."""
    path = f"/api/v1/lectures/{lecture_id}/heartbeat"
    table = ",\n".join(lua_string(c) for c in credentials)
    done = wrk_script("POST", None, {"Content-Type": "application/json", "User-Agent": USER_AGENT})
    return f"""{done}
credentials = {{
{table}
}}
local next_thread = 0
setup = function(thread)
  thread:set("offset", next_thread)
  next_thread = next_thread + 1
end
init = function(args)
  position = offset
  seqs = {{}}
  checked = offset ~= 0
end
request = function()
  if not checked then
    -- wrk calls request() once in its first thread before connecting, to check the script, and never sends
    -- that request: answer it with one that consumes no learner's sequence number
    checked = true
    return wrk.format("POST", {lua_string(path)}, nil, "{{}}")
  end
  local n = (position % #credentials) + 1
  position = position + {threads}
  seqs[n] = (seqs[n] or 0) + 1
  local body = '{{"session":"' .. credentials[n] .. '","seq":' .. seqs[n] .. ',"visible":true,"idle_seconds":1}}'
  return wrk.format("POST", {lua_string(path)}, nil, body)
end
"""


def run_heartbeats(url: str, script: str, *, duration: float, threads: int, connections: int):
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="ops-bench-hb-", delete=False) as handle:
        handle.write(script)
    try:
        completed = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration:g}s", "--timeout=10s",
                                    "--latency", "-s", handle.name, url],
                                   capture_output=True, text=True, timeout=duration + 60)
    finally:
        os.unlink(handle.name)
    return parse_wrk(url, completed.stdout, completed.stderr)


def credited_summary(database_url: str) -> dict:
    """What the learners' sessions accepted and what the ledger holds, checked heartbeat by heartbeat: every
    accepted heartbeat (sequence 1 to the session's last; each one credits seconds here) must have its ledger
    entry, and the entries must sum to the seconds the sessions counted. (The in-process statement count's
    session is left out: its first heartbeat comes a moment after the start and credits nothing.)"""
    from sqlalchemy import select

    from core.extensions import db
    from learning.models import HourEntry, StudySession

    app = product_app(database_url)
    with app.app_context():
        sessions = db.session.execute(select(StudySession.id, StudySession.last_seq, StudySession.credited_seconds)
                                      .where(StudySession.client == USER_AGENT)).all()
        ledger = dict(db.session.execute(select(HourEntry.source_ref, HourEntry.seconds)
                                         .where(HourEntry.source_ref.like("session:%"))).all())
    ids = {s.id for s in sessions}
    learners = {ref: seconds for ref, seconds in ledger.items() if int(ref.split(":")[1]) in ids}
    missing = [f"session {s.id} seq {n}" for s in sessions for n in range(1, s.last_seq + 1)
               if f"session:{s.id}:seq:{n}" not in learners]
    return {"accepted_heartbeats": sum(s.last_seq for s in sessions), "ledger_entries": len(learners),
            "credited_seconds": sum(learners.values()), "session_seconds": sum(s.credited_seconds for s in sessions),
            "heartbeats_without_entry": len(missing), "heartbeats_without_entry_sample": missing[:10]}


def run(args) -> int:
    scale = datagen.QUICK if args.quick else datagen.FULL
    threads = 2
    options = {"duration": args.duration, "connections": args.connections}
    with fresh_database(args.database_url) as database:
        print(f"schema: {database.schema}")
        generated = datagen.generate(product_app(database.url), scale)
        print(f"data: {generated.describe()}")
        lecture_id = generated.text_lecture_id
        statements = statements_per_heartbeat(database.url, lecture_id)
        credentials = open_sessions(database.url, lecture_id, args.learners)
        print(f"learners: {len(credentials)} open study sessions on lecture {lecture_id}")
        url_path = f"/api/v1/lectures/{lecture_id}/heartbeat"
        host = machine()  # the load average before the runs: the machine is shared, a busy one skews the ratio
        with baseline_server() as base, BenchServer(
                database_url=database.url, env={"FLASK_HEARTBEAT_FAST_PATH": "false"} if args.view else None) as server:
            warm(base.url("/"))
            baselines = [wrk(base.url("/"), **options)]
            result = run_heartbeats(server.url(url_path), heartbeat_script(lecture_id, credentials, threads),
                                    duration=args.duration, threads=threads, connections=args.connections)
            baselines.append(wrk(base.url("/"), **options))
        target = TARGETS.get(database.kind, TARGETS["sqlite"])
        max_statements = MAX_STATEMENTS.get(database.kind, MAX_STATEMENTS["sqlite"])
        credited = credited_summary(database.url)
        payload = report("heartbeat", [Row(f"heartbeat POST {url_path}", result, queries=len(statements),
                                           target=target)], baselines,
                         meta={**host, "loadavg_after": [round(x, 2) for x in os.getloadavg()],
                               "database": database.kind, "schema": database.schema, "data": generated.describe(),
                               "learners": len(credentials), "statements": statements, **credited,
                               "command": "python -m bench heartbeat " + " ".join(sys.argv[2:]),
                               "wrk": f"-t{threads} -c{args.connections} -d{args.duration:g}s"})
    row = payload["rows"][0]
    print(f"statements per heartbeat: {len(statements)} (target ≤ {max_statements}): "
          + " | ".join(" ".join(s.split())[:60] for s in statements))
    print(f"ledger: {credited['ledger_entries']:,} entries from {credited['accepted_heartbeats']:,} accepted "
          f"heartbeats, {credited['credited_seconds']:,} s credited (sessions counted {credited['session_seconds']:,} s); "
          f"accepted heartbeats without an entry: {credited['heartbeats_without_entry']} "
          f"{credited['heartbeats_without_entry_sample'] or ''}")
    print(f"at 30 s intervals, {row['rps']:.0f} heartbeats/s carry about {30 * row['rps']:,.0f} learners at once")
    print(f"load average before/after: {payload['loadavg_before']} / {payload['loadavg_after']} "
          f"({payload['cpus']} CPUs)")
    ok = (row["ratio"] >= target and len(statements) <= max_statements and row["status_errors"] == 0
          and credited["heartbeats_without_entry"] == 0 and credited["credited_seconds"] == credited["session_seconds"])
    return 0 if ok else 1
