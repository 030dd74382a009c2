"""The session cookie: a verified cookie is remembered per worker, but never trusted beyond what
Flask itself would accept (same bytes, same key, not older than the session lifetime)."""
from __future__ import annotations

import re
import time
from datetime import timedelta
from types import SimpleNamespace

import itsdangerous.timed
from flask import request

from core import sessions
from tests.conftest import PASSWORD


def session_cookie(client) -> str:
    return client.get_cookie("session").value


def test_logged_in_member_stays_logged_in_across_requests(client, auth, grid):
    member = grid["members"]["R-1-1"][0]
    auth.login(member)
    for _ in range(3):
        response = client.get("/profile")
        assert response.status_code == 200
        assert member.name in response.get_data(as_text=True)


def test_a_tampered_cookie_is_refused_after_the_real_one_was_remembered(client, auth, grid):
    member = grid["members"]["R-1-1"][0]
    auth.login(member)
    assert client.get("/profile").status_code == 200
    real = session_cookie(client)
    payload, _, signature = real.rpartition(".")
    forged = payload + "." + ("A" if signature[0] != "A" else "B") + signature[1:]
    client.set_cookie("session", forged)
    assert client.get("/profile").status_code == 302  # back to the login page
    client.set_cookie("session", real)
    assert client.get("/profile").status_code == 200


def test_a_remembered_cookie_still_expires(app, client, auth, grid, monkeypatch):
    app.permanent_session_lifetime = timedelta(hours=1)
    member = grid["members"]["R-1-1"][0]
    auth.login(member)
    assert client.get("/profile").status_code == 200  # verified and remembered
    later = time.time() + 2 * 3600
    monkeypatch.setattr(sessions, "time", SimpleNamespace(time=lambda: later))
    monkeypatch.setattr(itsdangerous.timed, "time", SimpleNamespace(time=lambda: later))
    assert client.get("/profile").status_code == 302


def test_a_new_secret_key_forgets_every_remembered_cookie(app, client, auth, grid):
    member = grid["members"]["R-1-1"][0]
    auth.login(member)
    assert client.get("/profile").status_code == 200
    app.secret_key = "another key entirely"
    app.config["SECRET_KEY"] = "another key entirely"
    assert client.get("/profile").status_code == 302


def test_two_requests_never_share_one_session_object(app, client, auth, grid):
    member = grid["members"]["R-1-1"][0]
    auth.login(member)
    client.get("/profile")
    cookie = session_cookie(client)
    with app.test_request_context("/", headers={"Cookie": f"session={cookie}"}):
        first = app.session_interface.open_session(app, request)
        first["scribble"] = [1]
        second = app.session_interface.open_session(app, request)
    assert "scribble" not in second


def test_the_csrf_token_in_a_page_works_and_is_never_another_sessions(app, auth, grid, monkeypatch):
    app.config["WTF_CSRF_ENABLED"] = True
    meta = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
    ticks = iter(range(10**9, 10**9 + 1000, 5))  # itsdangerous' clock: 5 s later at every signature
    monkeypatch.setattr(itsdangerous.timed, "time", SimpleNamespace(time=lambda: next(ticks)))
    first, second = app.test_client(), app.test_client()
    tokens = {}
    for client in (first, second):
        client.get("/courses/")  # the session gets its raw token
        token = meta.search(client.get("/courses/").get_data(as_text=True)).group(1)
        assert meta.search(client.get("/courses/").get_data(as_text=True)).group(1) == token  # signed once, reused
        tokens[client] = token
    assert tokens[first] != tokens[second]
    member = grid["members"]["R-1-1"][0]
    wrong = second.post("/login", data={"identifier": member.phone, "password": PASSWORD, "csrf_token": tokens[first]})
    assert wrong.status_code == 400
    right = second.post("/login", data={"identifier": member.phone, "password": PASSWORD,
                                        "csrf_token": tokens[second]})
    assert right.status_code == 302


def test_a_remembered_cookie_gives_each_request_its_own_values(app, client, auth, grid):
    """A logged-in payload (scalars only) is decoded once per worker; each request still gets its own session,
    and a payload holding a list (flashes) is decoded afresh for each."""
    member = grid["members"]["R-1-1"][0]
    auth.login(member)
    client.get("/profile")
    cookie = session_cookie(client)
    with app.test_request_context("/", headers={"Cookie": f"session={cookie}"}):
        first = app.session_interface.open_session(app, request)
        first["_user_id"] = "somebody else"
        second = app.session_interface.open_session(app, request)
    assert second["_user_id"] == str(member.id)

    with app.test_request_context("/"):
        from flask import session as flask_session
        flask_session.update(second)
        flask_session["_flashes"] = [("info", "你好")]
        with_flashes = app.session_interface.get_signing_serializer(app).dumps(dict(flask_session))
    with app.test_request_context("/", headers={"Cookie": f"session={with_flashes}"}):
        one = app.session_interface.open_session(app, request)
        two = app.session_interface.open_session(app, request)  # remembered now
        two["_flashes"].append(("info", "另一条"))
    assert one["_flashes"] == [("info", "你好")]
    with app.test_request_context("/", headers={"Cookie": f"session={with_flashes}"}):
        assert app.session_interface.open_session(app, request)["_flashes"] == [("info", "你好")]
