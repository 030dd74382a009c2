"""Concurrent heartbeats of one member credit exactly one interval (file SQLite and PostgreSQL), and a
heartbeat costs at most three SQL statements (two on PostgreSQL)."""
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
def test_a_heartbeat_costs_three_statements(committing_app, app, grid, auth, client, monkeypatch, kind):
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
    kinds = [s.split()[0].upper() for s in statements]
    if ON_POSTGRES:  # the read, then one statement: the UPDATE as a CTE feeding the ledger's INSERT
        assert kinds == ["SELECT", "WITH"], statements
        assert "UPDATE study_sessions" in statements[1] and "INSERT INTO hour_entries" in statements[1]
    else:
        assert kinds == ["SELECT", "UPDATE", "INSERT"], statements


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


def test_twenty_simultaneous_starts_leave_one_active_session(file_app, make_org, make_member, monkeypatch):
    """Hole 2: 20 study sessions of one member started at the same instant, 50 times: each time exactly one is
    active (the database's partial unique index and the user row lock), and one heartbeat from every page
    earns no more than the wall time that passed. Real commits: its own file database (or PostgreSQL)."""
    from accounts.services import issue_token
    from learning.models import StudySession

    clock = Clock(monkeypatch)
    _, lecture, _ = make_course()
    member = make_member(make_org())
    token = issue_token(member, "race")[1]
    db.session.commit()
    start_url, beat_url = (f"/api/v1/lectures/{lecture.id}/study-sessions", f"/api/v1/lectures/{lecture.id}/heartbeat")
    headers = {"Authorization": f"Bearer {token}"}
    clients = [file_app.test_client() for _ in range(20)]
    for round_ in range(50):
        barrier = threading.Barrier(20)
        credentials, errors = [], []

        def start(client):
            try:
                barrier.wait()
                response = client.post(start_url, json={}, headers=headers)
                if response.status_code == 201:
                    credentials.append(response.get_json()["session"])
                else:
                    assert response.status_code == 409, response.get_data(as_text=True)
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)

        threads = [threading.Thread(target=start, args=(c,)) for c in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, errors
        active = db.session.scalar(select(func.count(StudySession.id)).where(
            StudySession.user_id == member.id, StudySession.superseded_at.is_(None)))
        assert active == 1, f"round {round_}: {active} active sessions"
        before = ledger_seconds(member)
        clock.advance(10)
        for credential in credentials:
            clients[0].post(beat_url, json={"session": credential, "seq": 1, "visible": True, "idle_seconds": 0})
        assert ledger_seconds(member) - before <= 10  # at most the wall time, whichever page earned it
