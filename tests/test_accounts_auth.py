"""The session's user is read afresh on every request (accounts/auth.py: one Core row, no memo): a deactivated
user, a changed role or a move to another organization takes effect at the very next request — also when the
change was written by another server (a plain SQL UPDATE, no ORM events here)."""
from __future__ import annotations

from sqlalchemy import update

from accounts.models import User
from core.extensions import db
from core.permissions import Role
from courses.models import Audience
from accounts import services as services_of_accounts
from courses import services
from tests.conftest import PASSWORD
from tests.course_helpers import count_queries, make_course


def written_elsewhere(user, **values) -> None:
    """A change another server made: straight to the table, nothing this app's ORM session knows of (its own
    connection: the test needs ``committing_app``)."""
    with db.engine.begin() as conn:
        conn.execute(update(User.__table__).where(User.__table__.c.id == user.id).values(**values))


def test_a_deactivated_member_is_logged_out_at_the_next_request(committing_app, client, auth, grid):
    member = grid["members"]["R-1-1"][0]
    auth.login(member)
    assert client.get("/profile").status_code == 200
    written_elsewhere(member, is_active=False)
    response = client.get("/profile")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    written_elsewhere(member, is_active=True)
    assert client.get("/profile").status_code == 200


def test_a_changed_role_counts_at_the_next_request(committing_app, client, auth, grid):
    member = grid["members"]["R-1-1"][0]
    auth.login(member)
    assert client.get("/teach/").status_code == 403
    written_elsewhere(member, role=Role.TRAINER.value)
    assert client.get("/teach/").status_code == 200
    written_elsewhere(member, role=Role.MEMBER.value)
    assert client.get("/teach/").status_code == 403


def test_a_member_moved_to_another_street_loses_its_limited_course_at_once(committing_app, client, auth, grid):
    member = grid["members"]["R-1-1"][0]
    course = make_course(grid["trainer"], title="街道一专题", audience=Audience.MEMBERS, org=grid["streets"][0])
    lecture = services.live_lectures(course)[0]
    auth.login(member)
    assert client.get(f"/courses/{course.id}").status_code == 200
    assert client.get(f"/lectures/{lecture.id}").status_code == 200
    written_elsewhere(member, organization_id=grid["communities"][2].id)  # 社区21, under the other street
    assert client.get(f"/courses/{course.id}").status_code == 404
    assert client.get(f"/lectures/{lecture.id}").status_code == 404
    assert "街道一专题" not in client.get("/courses/").get_data(as_text=True)


def test_the_user_and_their_organization_take_one_statement(app, client, auth, grid):
    member = grid["members"]["R-1-1"][0]
    auth.login(member)
    client.get("/profile")
    with count_queries() as counter:
        assert client.get("/courses/").status_code == 200
    user_statements = [s for s in counter.statements if "FROM users" in s]
    assert len(user_statements) == 1 and "organizations" in user_statements[0]


def test_the_current_user_is_an_ordinary_user_that_services_write_through(client, auth, grid):
    """Services take current_user as a User: its lazy relationships load, rows link to it, it can be changed."""
    organizer = grid["street_organizer"]
    auth.login(organizer)
    members = client.get("/members").get_data(as_text=True)  # scope_root: managed_org, loaded on first use
    assert grid["members"]["R-1-1"][0].name in members and grid["members"]["R-2-1"][0].name not in members
    assert client.post("/profile/tokens", data={"name": "手机"}).status_code in (200, 302)
    response = client.post("/profile/password", data={"current": PASSWORD, "password": "another-pass-1",
                                                      "confirm": "another-pass-1"})
    assert response.status_code == 302
    db.session.expire_all()
    user = db.session.get(User, organizer.id)
    assert [token.name for token in services_of_accounts.tokens_of(user)] == ["手机"]
    assert user.check_password("another-pass-1")


FRESH_WORKER = """
import sys
from flask.sessions import SecureCookieSessionInterface
from app import create_app
app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "SECRET_KEY": "k", "TESTING": True})
cookie = SecureCookieSessionInterface().get_signing_serializer(app).dumps({"_user_id": sys.argv[2], "_fresh": False})
client = app.test_client()
client.set_cookie("session", cookie)
response = client.get("/profile")
print(response.status_code, sys.argv[3] in response.get_data(as_text=True))
"""


def test_a_fresh_worker_s_first_request_loads_its_user(tmp_path):
    """In a new gunicorn worker the user loader may be the process's first ORM use (mappers not configured yet)."""
    import subprocess
    import sys
    from pathlib import Path

    from app import create_app

    url = f"sqlite:///{tmp_path / 'worker.sqlite3'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "k", "TESTING": True})
    with app.app_context():
        db.create_all()
        from accounts import services as account_services
        from accounts.models import Organization
        org = Organization(code="W", name="工作进程支部", kind="党支部")
        db.session.add(org)
        db.session.flush()
        org.path = f"/{org.id}/"
        user = account_services.create_user(name="新进程党员", phone="13912345678", password_hash="x",
                                            role=Role.MEMBER, organization=org)
        db.session.commit()
        user_id = user.id
        db.session.remove()
        db.engine.dispose()
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", FRESH_WORKER, url, f"{user_id}.1", "新进程党员"], cwd=root,
                          capture_output=True, text=True, timeout=120)
    assert done.stdout.split()[-2:] == ["200", "True"], done.stderr[-2000:]


def test_the_loaded_user_is_persistent_clean_and_lazy_where_it_was_not_read(app, grid):
    from sqlalchemy import inspect as sa_inspect

    from accounts.auth import load_user_by_id

    organizer_id, street_id = grid["street_organizer"].id, grid["streets"][0].id
    member_id, community_path = grid["members"]["R-1-1"][0].id, grid["communities"][0].path
    with app.test_request_context("/"):  # a request's own session, as in production
        user = load_user_by_id(member_id)
        assert sa_inspect(user).persistent and sa_inspect(user.organization).persistent
        assert user.organization.path == community_path and not db.session.dirty
        assert db.session.get(User, member_id) is user  # the session's one object for that row
        assert load_user_by_id(member_id) is user
        keeper = load_user_by_id(organizer_id)
        assert "managed_org" not in sa_inspect(keeper).dict  # not read by the loader ...
        assert keeper.managed_org.id == street_id  # ... loaded on first use
        user.name = "改过的名字"
        db.session.commit()
    db.session.expire_all()
    assert db.session.get(User, member_id).name == "改过的名字"
    assert load_user_by_id(10**9) is None
