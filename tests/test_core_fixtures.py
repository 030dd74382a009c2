"""The suite's own isolation (tests/conftest.py): one app per process, each test in a transaction rolled back
at its end, ``committing_app`` for real commits. What one test writes or configures, the next never sees."""
from __future__ import annotations

from sqlalchemy import func, select

from accounts.models import Organization, User
from core.throttle import ThrottleCounter
from core.extensions import db

# The tests run in this order in one process (`make test` distributes whole files: --dist loadfile).


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_1_a_test_writes_through_factories_requests_and_config(app, client, auth, grid):
    member = grid["members"]["R-1-1"][0]
    assert auth.login(member, password="wrong").status_code == 401  # the request counts a failed attempt
    assert count(ThrottleCounter) >= 1 and count(User) == 16  # the test's session sees the request's rows
    assert auth.login(member).status_code == 302  # the request's session sees the factories' rows
    assert client.get("/profile").status_code == 200
    app.config["ISOLATION_PROBE"] = True
    app.extensions["isolation_probe"] = object()
    app.extensions["ops_nav"].clear()


def test_2_the_next_test_sees_none_of_it(app, client):
    assert count(User) == count(Organization) == count(ThrottleCounter) == 0
    assert "ISOLATION_PROBE" not in app.config and "isolation_probe" not in app.extensions
    assert app.extensions["ops_nav"]  # the navigation registry is whole again
    assert client.get("/").status_code == 200


def test_3_committing_app_commits_for_real(committing_app, make_org, make_member):
    member = make_member(make_org())
    with db.engine.connect() as other:  # another connection sees only what was committed
        assert other.scalar(select(User.name).where(User.id == member.id)) == member.name


def test_4_and_the_database_is_empty_afterwards(app):
    assert count(User) == count(Organization) == 0
    with db.engine.connect() as other:
        assert other.scalar(select(func.count()).select_from(User)) == 0


def test_5_a_rollback_in_the_test_keeps_what_was_committed_before(app, client, auth, make_org, make_member):
    member = make_member(make_org())
    auth.login(member)
    assert client.get("/profile").status_code == 200
    db.session.rollback()  # the test's own session: its SAVEPOINT only
    db.session.expire_all()
    assert db.session.get(User, member.id) is not None
