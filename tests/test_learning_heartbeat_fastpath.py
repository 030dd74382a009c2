"""The heartbeat's WSGI fast path and hot path answer exactly as the view would, and a failed write leaves
nothing behind: the session does not advance, the ledger gains nothing, the next heartbeat credits normally."""
from __future__ import annotations

import pytest
from flask import request_started
from sqlalchemy import event, func, select

from core.extensions import db
from learning.heartbeat_api import reply_body
from learning.models import HourEntry, HourSource, StudySession
from learning.study import BeatResult
from tests.conftest import ON_POSTGRES
from tests import learning_fixtures
from tests.learning_fixtures import Learner, ledger_seconds

# heartbeats are credited on a connection of their own (learning.study): they need real commits
pytestmark = pytest.mark.usefixtures("committing_app")

INTERVAL = 30
setup = learning_fixtures.setup  # the fixture: a logged-in member, a course, a movable clock



def test_fast_answer_has_the_views_headers_and_json(setup, app):
    clock, member, text, _, client = setup
    page = Learner(client, text)
    path = f"/api/v1/lectures/{text.id}/heartbeat"
    cycles = []

    def started(sender, **extra):
        cycles.append(1)

    request_started.connect(started, app)
    try:
        clock.advance(INTERVAL)
        fast = client.post(path, json={"session": page.session, "seq": 1, "visible": True, "idle_seconds": 2})
        assert cycles == []
        clock.advance(INTERVAL)
        # a body over the fast path's limit goes to the view, which answers it like any heartbeat
        view = client.post(path, json={"session": page.session, "seq": 2, "visible": True, "idle_seconds": 2,
                                       "padding": "x" * 5000})
        assert cycles == [1]
    finally:
        request_started.disconnect(started, app)
    assert fast.status_code == view.status_code == 200
    assert fast.get_json()["credited_seconds"] == view.get_json()["credited_seconds"] == INTERVAL
    assert fast.get_json().keys() == view.get_json().keys()
    assert fast.get_data() == app.json.response(fast.get_json()).get_data()  # byte for byte what jsonify gives

    def shown(response):  # Vary: Cookie only where the cookie was read (the view's cycle); the length differs
        return {k: v for k, v in response.headers.items() if k not in ("Content-Length", "Vary")}

    assert shown(fast) == shown(view)
    assert int(fast.headers["Content-Length"]) == len(fast.get_data())
    assert ledger_seconds(member) == 2 * INTERVAL


@pytest.mark.parametrize("result", [
    BeatResult("credited", 30, 60, 3600, False, None),
    BeatResult("capped", 0, 3600, 3600, True, None),
    BeatResult("credited", 30, 570, 1100, True, 0.9512),
    BeatResult("hidden", 0, 0, 1100, False, 0.0),
    BeatResult("day_capped", 0, 12, 1100, False, 1.0),
    BeatResult("conflict", 0, 12, 60, False, 0.3333),
])
def test_reply_body_is_what_jsonify_gives(app, result):
    assert reply_body(result) == app.json.response(result.as_json()).get_data()


def test_failed_write_leaves_nothing_and_the_next_heartbeat_credits(setup, app):
    """The ledger INSERT fails (an entry already names this heartbeat): the session's UPDATE is undone with it,
    the fast path hands over, the view answers 500, and the connection goes back to the pool clean."""
    clock, member, text, _, client = setup
    page = Learner(client, text)
    session_id = int(page.session.split(".")[0])
    db.session.add(HourEntry(user_id=member.id, seconds=7, source=HourSource.ONLINE,
                             source_ref=f"session:{session_id}:seq:1", course_id=text.course_id,
                             lecture_id=text.id))
    db.session.commit()
    clock.advance(INTERVAL)
    failed = client.post(f"/api/v1/lectures/{text.id}/heartbeat",
                         json={"session": page.session, "seq": 1, "visible": True, "idle_seconds": 1})
    assert failed.status_code == 500 and failed.get_json()["error"]["code"] == "server_error"
    db.session.expire_all()
    assert db.session.get(StudySession, session_id).last_seq == 0  # not advanced
    assert ledger_seconds(member) == 7
    clock.advance(INTERVAL)
    assert page.beat(seq=2)["credited_seconds"] == INTERVAL  # one interval: the gap since the last accepted one
    assert ledger_seconds(member) == 7 + INTERVAL
    assert db.session.scalar(select(func.count(HourEntry.id))) == 2


@pytest.mark.skipif(not ON_POSTGRES, reason="PostgreSQL only: asynchronous commit is a PostgreSQL setting")
@pytest.mark.parametrize("async_commit", [True, False])
def test_async_commit_credits_the_same_and_leaves_other_writes_durable(setup, app, async_commit):
    """Asynchronous commit is for the heartbeat's own transaction only: the connection goes back to the pool
    with ``synchronous_commit`` as the server has it, so an exam submission on it still waits for the disk."""
    app.config["HEARTBEAT_ASYNC_COMMIT"] = async_commit
    clock, member, text, _, client = setup
    page = Learner(client, text)
    executed = []

    def record(conn, cursor, statement, parameters, context, executemany):
        executed.append((statement, parameters))

    event.listen(db.engine, "after_cursor_execute", record)
    try:
        for seq in range(1, 4):
            clock.advance(INTERVAL)
            assert page.beat(seq=seq)["credited_seconds"] == INTERVAL
    finally:
        event.remove(db.engine, "after_cursor_execute", record)
    assert ledger_seconds(member) == 3 * INTERVAL
    # the hot path's statements per heartbeat (no fall back to the view): SELECT, then one statement writing the
    # session and the ledger entry (with set_config('synchronous_commit', 'off', true) when asynchronous)
    assert len(executed) == 3 * 2
    asynchronous = [statement for statement, parameters in executed
                    if "set_config(" in statement and "synchronous_commit" in parameters.values()]
    assert len(asynchronous) == (3 if async_commit else 0)
    idle = [db.engine.raw_connection() for _ in range(db.engine.pool.checkedin())]
    try:
        for connection in idle:
            assert connection.driver_connection.autocommit is False  # pooled connections stay transactional
            cursor = connection.driver_connection.cursor()
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone()[0] == "on"
    finally:
        for connection in idle:
            connection.close()


@pytest.mark.skipif(not ON_POSTGRES, reason="PostgreSQL only: a server connection that can be dropped")
def test_a_connection_the_database_dropped_is_discarded_and_the_heartbeat_still_credits(setup, app):
    import psycopg

    clock, member, text, _, client = setup
    page = Learner(client, text)
    idle = [db.engine.raw_connection() for _ in range(db.engine.pool.checkedin())]
    victim, others = idle[0], idle[1:]
    pid = victim.driver_connection.info.backend_pid
    victim.close()  # the only idle connection: the next heartbeat's checkout gets it
    try:
        with psycopg.connect(db.engine.url.render_as_string(hide_password=False).replace("+psycopg", ""),
                             autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        clock.advance(INTERVAL)
        assert page.beat()["credited_seconds"] == INTERVAL  # the fast path's attempt failed; the view's did not
    finally:
        for connection in others:
            connection.close()
    assert ledger_seconds(member) == INTERVAL


def test_the_fast_answer_carries_the_security_headers(setup, app):
    """The fast path answers outside Flask; core.security's WSGI wrapper still gives it every security header."""
    clock, member, text, _, client = setup
    page = Learner(client, text)
    clock.advance(INTERVAL)
    response = client.post(f"/api/v1/lectures/{text.id}/heartbeat",
                           json={"session": page.session, "seq": 1, "visible": True, "idle_seconds": 2})
    assert response.get_json()["credited_seconds"] == INTERVAL
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
