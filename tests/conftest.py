"""Fixtures: ``app`` (a fresh database per test: SQLite in memory, or PostgreSQL when DATABASE_URL
names one), ``client``, ``runner``, ``auth``, and factories for organizations and users.

The ``app`` fixture keeps an application context pushed so test code can use ``db.session``; every
test-client request still runs in an application context of its own (``IsolatedClient``), with its own
``g``, current user and database session, as in production. After a request changed data, re-read it
in the test (``db.session.expire_all()`` or ``db.session.refresh(obj)``)."""
from __future__ import annotations

import contextlib
import itertools
import os
from functools import lru_cache

import pytest
from flask.globals import _cv_app
from flask.testing import FlaskClient
from sqlalchemy import text
from werkzeug.security import generate_password_hash

from accounts import services as account_services
from accounts.models import MemberCategory, Position, User
from app import create_app
from core.extensions import db
from core.permissions import Role

PASSWORD = "correct-horse-42"
DATABASE_URL = os.environ.get("DATABASE_URL", "")
ON_POSTGRES = DATABASE_URL.startswith("postgres")


def testing_config(**overrides) -> dict:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": DATABASE_URL or "sqlite://",
        "WTF_CSRF_ENABLED": False,
        "SERVER_NAME": None,
    }
    config.update(overrides)
    return config


@contextlib.contextmanager
def shared_database_app(tmp_path, connections: int, sqlite_timeout: int = 30):
    """An app whose database several threads write at once: a SQLite file (in-memory databases are one
    connection) or the PostgreSQL test database with a pool large enough for ``connections``."""
    uri = None if ON_POSTGRES else f"sqlite:///{tmp_path / 'race.sqlite3'}"
    config = testing_config(**({"SQLALCHEMY_DATABASE_URI": uri} if uri else {}))
    config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": connections + 2} if ON_POSTGRES else {
        "connect_args": {"timeout": sqlite_timeout}}
    application = create_app(config)
    with application.app_context():
        reset_database()
        yield application
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def reset_database() -> None:
    db.drop_all()
    if ON_POSTGRES:  # left by the migration test
        db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.session.commit()
    db.create_all()


class IsolatedClient(FlaskClient):
    """A test client whose requests never share the test's application context (Flask would reuse
    an active one, and with it ``g``, the logged-in user and the database session)."""

    def open(self, *args, **kwargs):
        token = _cv_app.set(None)
        try:
            return super().open(*args, **kwargs)
        finally:
            _cv_app.reset(token)


@pytest.fixture
def app(tmp_path):
    application = create_app(testing_config(UPLOAD_FOLDER=str(tmp_path / "uploads")))
    application.instance_path = str(tmp_path / "instance")
    application.test_client_class = IsolatedClient
    with application.app_context():
        reset_database()
        yield application
        db.session.remove()
        db.drop_all()
        db.engine.dispose()  # each test's app has its own pool: close it, or PostgreSQL runs out of slots


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@lru_cache(maxsize=1)
def password_hash() -> str:
    return generate_password_hash(PASSWORD)  # once per run: hashing is slow on purpose


_phones = itertools.count(1)


@pytest.fixture
def make_org():
    counter = itertools.count(1)

    def make(name: str | None = None, parent=None, kind: str = "社区", code: str | None = None):
        n = next(counter)
        org = account_services.create_organization(code or f"T{n:03d}", name or f"测试组织{n}", kind, parent)
        db.session.commit()
        return org

    return make


@pytest.fixture
def make_user():
    def make(role: Role = Role.MEMBER, org=None, name: str | None = None, phone: str | None = None,
             category: MemberCategory | None = None, positions=(), username: str | None = None) -> User:
        phone = phone or f"139{next(_phones):08d}"
        user = account_services.create_user(
            name=name or f"测试{role.value}{phone[-4:]}", phone=phone, password_hash=password_hash(), role=role,
            organization=org if role != Role.ORGANIZER else None,
            managed_org=org if role == Role.ORGANIZER else None,
            category=category, positions=[Position(p) for p in positions], username=username)
        db.session.commit()
        return user

    return make


@pytest.fixture
def make_member(make_user):
    def make(org, category: MemberCategory = MemberCategory.FULL, **kwargs) -> User:
        return make_user(Role.MEMBER, org=org, category=category, **kwargs)

    return make


@pytest.fixture
def grid(make_org, make_user):
    """A small district: root → two streets → two communities each, with an organizer per community,
    one per street, an admin, a trainer, a public learner, and two members per community."""
    root = make_org("测试区委", kind="区委", code="R")
    streets = [make_org(f"街道{i}", root, "街道", code=f"R-{i}") for i in (1, 2)]
    communities = [make_org(f"社区{s.code[-1]}{j}", s, "社区", code=f"{s.code}-{j}") for s in streets for j in (1, 2)]
    people = {
        "admin": make_user(Role.ADMIN, org=root, name="管理员"),
        "trainer": make_user(Role.TRAINER, org=root, name="教员甲"),
        "public": make_user(Role.PUBLIC, name="群众甲"),
        "street_organizer": make_user(Role.ORGANIZER, org=streets[0], name="街道组织员"),
    }
    members = {}
    for c in communities:
        people[f"organizer_{c.code}"] = make_user(Role.ORGANIZER, org=c, name=f"{c.name}组织员")
        members[c.code] = [make_user(Role.MEMBER, org=c, name=f"{c.name}党员{k}") for k in (1, 2)]
    return {"root": root, "streets": streets, "communities": communities, "members": members, **people}


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, user_or_login, password: str = PASSWORD, next_url: str | None = None):
        login = user_or_login.phone if isinstance(user_or_login, User) else user_or_login
        url = "/login" + (f"?next={next_url}" if next_url else "")
        return self._client.post(url, data={"identifier": login, "password": password})

    def logout(self):
        return self._client.post("/logout")

    def token(self, user: User) -> dict:
        response = self._client.post("/api/v1/auth/token", json={"login": user.phone, "password": PASSWORD})
        assert response.status_code == 201, response.get_json()
        return {"Authorization": f"Bearer {response.get_json()['token']}"}


@pytest.fixture
def auth(client):
    return AuthActions(client)
