"""Concurrent heartbeats of one member credit exactly one interval (file SQLite and PostgreSQL), and a
heartbeat costs at most three SQL statements."""
from __future__ import annotations

import threading
from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select, text

from core.extensions import db
from learning.models import HourEntry
from tests.conftest import ON_POSTGRES, IsolatedClient, shared_database_app
from tests.learning_fixtures import Clock, Learner, ledger_seconds, make_course

INTERVAL = 30


@pytest.fixture
def file_app(tmp_path):
    """The app on a real file database (SQLite file, or PostgreSQL when DATABASE_URL names one): threads
    need separate connections that see each other's commits, which an in-memory SQLite cannot give."""
    with shared_database_app(tmp_path, connections=50) as application:
        application.instance_path = str(tmp_path / "instance")
        application.test_client_class = IsolatedClient
        yield application


def test_fifty_simultaneous_heartbeats_credit_one_interval(file_app, make_org, make_member, monkeypatch):
    clock = Clock(monkeypatch)
    _, lecture, _ = make_course()
    member = make_member(make_org())
    client = file_app.test_client()
    client.post("/login", data={"identifier": member.phone, "password": "correct-horse-42"})
    page = Learner(client, lecture)
    clock.advance(INTERVAL)

    barrier = threading.Barrier(50)
    results, errors = [], []

    def send(seq: int):
        try:
            own = file_app.test_client()  # a connection of its own; the credential is in the body
            barrier.wait()
            response = own.post(f"/api/v1/lectures/{lecture.id}/heartbeat",
                                json={"session": page.session, "seq": seq, "visible": True, "idle_seconds": 1})
            results.append((response.status_code, response.get_json()))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=send, args=(2 + i % 25,)) for i in range(50)]  # repeats and distinct
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert all(status == 200 for status, _ in results), results
    credited = [body for _, body in results if body["credited_seconds"] > 0]
    assert len(credited) == 1 and credited[0]["credited_seconds"] == INTERVAL
    assert ledger_seconds(member) == INTERVAL
    assert db.session.scalar(select(func.count(HourEntry.id))) == 1


@contextmanager
def count_statements():
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", before)


@pytest.mark.parametrize("kind", ["text", "video"])
def test_a_heartbeat_costs_at_most_three_statements(committing_app, app, grid, auth, client, monkeypatch, kind):
    clock = Clock(monkeypatch)
    _, text_lecture, video = make_course()
    auth.login(grid["members"]["R-1-1"][0])
    page = Learner(client, video if kind == "video" else text_lecture)
    clock.advance(INTERVAL)
    page.beat(playing=True, position=30)  # the first one may warm caches
    clock.advance(INTERVAL)
    with count_statements() as statements:
        result = page.beat(playing=True, position=60)
    assert result["credited_seconds"] == INTERVAL
    assert len(statements) <= 3, statements
    kinds = [s.split()[0].upper() for s in statements]
    if ON_POSTGRES:  # the session's UPDATE and the ledger INSERT are one statement (WITH ... UPDATE ... INSERT)
        assert kinds == ["SELECT", "WITH"] and "UPDATE" in statements[1] and "INSERT" in statements[1]
    else:
        assert kinds == ["SELECT", "UPDATE", "INSERT"]


def test_an_acknowledged_heartbeat_is_committed(file_app, make_org, make_member, monkeypatch):
    """The answer comes only after the commit: another connection sees the credit the moment it is
    acknowledged (a worker killed after answering cannot take it back)."""
    clock = Clock(monkeypatch)
    _, lecture, _ = make_course()
    member = make_member(make_org())
    client = file_app.test_client()
    client.post("/login", data={"identifier": member.phone, "password": "correct-horse-42"})
    page = Learner(client, lecture)
    clock.advance(INTERVAL)
    assert page.beat()["credited_seconds"] == INTERVAL
    with db.engine.connect() as other:
        seconds = other.execute(text("SELECT SUM(seconds) FROM hour_entries WHERE user_id = :u"),
                                {"u": member.id}).scalar()
    assert seconds == INTERVAL
