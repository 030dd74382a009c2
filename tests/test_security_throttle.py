"""One throttle for the project (core/throttle.py): an atomic counter shared by workers and servers.

Login (issue 14 item 4): a burst of wrong passwords sent at once is cut at exactly LOGIN_MAX_FAILURES; today's
count-then-insert let 8 of 12 through. Real concurrent requests from threads, on a database of the test's own
(a SQLite file, or a PostgreSQL database made for it)."""
from __future__ import annotations

import threading
from collections import Counter

import pytest
from werkzeug.security import generate_password_hash

from accounts import services as account_services
from core import throttle
from core.extensions import db
from core.permissions import Role
from tests.conftest import PASSWORD
from tests.live_server import free_port
from tests.security_helpers import own_database_app


def burst(app, requests: list[tuple[str, dict]]) -> list[int]:
    """POST all ``requests`` at once, one thread each; their statuses in order."""
    barrier = threading.Barrier(len(requests))
    statuses: list[int | None] = [None] * len(requests)

    def send(i, path, kwargs):
        client = app.test_client()
        barrier.wait()
        statuses[i] = client.post(path, **kwargs).status_code

    threads = [threading.Thread(target=send, args=(i, path, kwargs)) for i, (path, kwargs) in enumerate(requests)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return statuses


@pytest.fixture
def burst_app(tmp_path):
    with own_database_app(tmp_path, "throttle", connections=14) as app:
        root = account_services.create_organization("R", "测试区委", "区委")
        account_services.create_user(name="党员甲", phone="13900000001", password_hash=generate_password_hash(PASSWORD),
                                     role=Role.MEMBER, organization=root)
        db.session.commit()
        yield app


@pytest.mark.parametrize("path,kwargs", [
    ("/login", lambda i: {"data": {"identifier": "13900000001", "password": f"wrong-{i}"}}),
    ("/api/v1/auth/token", lambda i: {"json": {"login": "13900000001", "password": f"wrong-{i}"}}),
], ids=["form", "api"])
def test_a_burst_of_twelve_wrong_passwords_is_checked_exactly_five_times(burst_app, path, kwargs):
    statuses = burst(burst_app, [(path, kwargs(i)) for i in range(12)])
    assert Counter(statuses) == {401: 5, 429: 7}
    client = burst_app.test_client()  # even the right password waits for the window now
    assert client.post("/api/v1/auth/token", json={"login": "13900000001", "password": PASSWORD}).status_code == 429


def test_a_right_password_is_no_failure_and_clears_the_account(app, grid, auth, client):
    member = grid["members"]["R-1-1"][0]
    for _ in range(4):
        assert auth.login(member, "wrong").status_code == 401
    assert auth.login(member).status_code == 302  # the fifth attempt, right
    auth.logout()
    elsewhere = {"REMOTE_ADDR": "10.0.0.2"}  # this address has its own count (127.0.0.1 keeps its 4 failures)
    wrong = {"identifier": member.phone, "password": "wrong"}
    for _ in range(5):  # the account's count started again
        assert client.post("/login", data=wrong, environ_base=elsewhere).status_code == 401
    assert client.post("/login", data=wrong, environ_base=elsewhere).status_code == 429
    assert auth.login(member, "wrong").status_code == 429  # 127.0.0.1: 4 + this account's block


def test_counter_windows_start_with_the_first_hit_and_forgive_hands_one_back(app, monkeypatch):
    from datetime import datetime, timedelta

    from core import clock

    now = [datetime(2026, 3, 1, 8, 0)]
    monkeypatch.setattr(clock, "utcnow", lambda: now[0])
    assert [throttle.hit("k", 2, 60).allowed for _ in range(3)] == [True, True, False]
    assert throttle.hit("k", 2, 60).retry_after == 60
    throttle.forgive("k")
    throttle.forgive("k")
    assert throttle.hit("k", 2, 60).hits == 3
    now[0] += timedelta(seconds=61)
    assert throttle.hit("k", 2, 60) == throttle.Decision(True, 1, 0)
    throttle.reset("k")
    assert throttle.hit("k", 2, 60).hits == 1


@pytest.fixture
def redis_url(tmp_path):
    """A redis-server of the test's own (Debian's package), when installed."""
    import shutil
    import socket
    import subprocess
    import time

    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    port = free_port()  # of this run's OPS_TEST_PORTS, so runs side by side never share a Redis
    server = subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no",
                               "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    for _ in range(100):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    server.terminate()
    server.wait(10)


def test_with_redis_the_same_counter_lives_in_redis(app, redis_url, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", redis_url)
    app.extensions.pop("throttle_redis", None)
    try:
        assert [throttle.hit("r", 2, 60).allowed for _ in range(3)] == [True, True, False]
        assert 0 < throttle.hit("r", 2, 60).retry_after <= 60
        throttle.forgive("r")
        assert throttle.hit("r", 2, 60).hits == 4
        throttle.reset("r")
        assert throttle.hit("r", 2, 60) == throttle.Decision(True, 1, 0)
        assert db.session.scalar(db.select(db.func.count()).select_from(throttle.ThrottleCounter)) == 0
    finally:
        app.extensions.pop("throttle_redis", None)
