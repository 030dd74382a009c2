"""Fixtures. The application and its schema are built once per test process (per pytest-xdist worker); each
test runs inside one database transaction that is rolled back at its end.

- ``app``: the shared application, with an application context pushed for the test (so test code can use
  ``db.session``), its own ``instance_path`` and ``UPLOAD_FOLDER`` under ``tmp_path``, ``TESTING`` on, CSRF off.
  Every session of this app — the test's, and the one of each test-client request, CLI command or
  ``with app.app_context()`` — joins one connection whose transaction is rolled back after the test; their
  commits release SAVEPOINTs (``join_transaction_mode="create_savepoint"``), so ``make_org``/``make_user``
  still "commit" and after-commit hooks still run. What a test changes in ``app.config`` or ``app.extensions``
  (caches) is put back afterwards.
- ``committing_app``: the same app with real commits (request it instead of, or beside, ``app``; for a module:
  ``pytestmark = pytest.mark.usefixtures("committing_app")``). For tests whose code opens connections of its
  own: the heartbeat fast path (``engine.raw_connection()``/``engine.begin()``), the search index catch-up after
  a commit (``Session(db.engine)``), threads. Those connections cannot see an uncommitted transaction (on
  PostgreSQL a blocked one fails after ``lock_timeout``, on SQLite after ``busy_timeout``). The database is
  emptied after the test.
- ``client`` (an ``IsolatedClient``: each request in an application context of its own, with its own ``g``,
  current user and database session, as in production; after a request changed data, re-read it in the test
  with ``db.session.expire_all()`` or ``db.session.refresh(obj)``), ``runner``, ``auth`` (``auth.login(user)``,
  ``auth.token(user)``), factories ``make_org``, ``make_user``, ``make_member``, and ``grid`` (a small district).
- ``testing_config(**overrides)``, ``app_of_its_own(**overrides)`` (a new app with a fresh schema, for a test that
  adds a route or error handler: Flask refuses those on an app that has served requests) and
  ``shared_database_app(tmp_path, connections)`` (threads) for tests that build an app of their own; such apps
  use ``DATABASE_URL`` (this worker's own database, see below) or SQLite in memory, never the shared app's
  database, so they may drop and create tables as they like.

Databases. SQLite by default: the shared app uses a file per process under pytest's temporary folder (a file,
not memory, so that other connections see only committed data, as on PostgreSQL). With ``DATABASE_URL`` naming
a PostgreSQL database ``NAME``, each xdist worker (``gwN``) uses ``NAME_gwN`` (exported as its ``DATABASE_URL``,
for apps built by tests) and ``NAME_gwN_shared`` for the shared app; without xdist, ``NAME`` and
``NAME_shared``. Missing databases are created (the role needs CREATEDB).

Passwords: ``PASSWORD`` is hashed with ``pbkdf2:sha256:1000`` (``PASSWORD_HASH_METHOD`` in ``testing_config``),
so a login costs well under a millisecond instead of scrypt's ~0.1 s."""
from __future__ import annotations

import contextlib
import copy
import itertools
import os
from functools import lru_cache

import pytest
from flask import Flask, current_app, has_app_context
from flask.globals import _cv_app, app_ctx
from flask.testing import FlaskClient
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import create_engine, event, make_url, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import scoped_session, sessionmaker
from werkzeug.security import generate_password_hash

from accounts import services as account_services
from accounts.models import MemberCategory, Position, User
from app import create_app
from core.config import normalise_database_url
from core.cache import cache
from core.extensions import db
from core.permissions import Role

PASSWORD = "correct-horse-42"
TEST_PASSWORD_HASH = "pbkdf2:sha256:1000"  # cheap on purpose: the suite logs in hundreds of times
BASE_DATABASE_URL = os.environ.get("DATABASE_URL", "")
ON_POSTGRES = BASE_DATABASE_URL.startswith("postgres")
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1" ... under pytest-xdist


def _with_database(url: str, name: str) -> str:
    return make_url(normalise_database_url(url)).set(database=name).render_as_string(hide_password=False)


if ON_POSTGRES:
    _BASE_NAME = make_url(normalise_database_url(BASE_DATABASE_URL)).database
    DATABASE_URL = _with_database(BASE_DATABASE_URL, f"{_BASE_NAME}_{WORKER}") if WORKER else BASE_DATABASE_URL
    os.environ["DATABASE_URL"] = DATABASE_URL  # apps (and subprocesses) that tests build use this worker's database
    SHARED_DATABASE_URL = _with_database(BASE_DATABASE_URL, f"{make_url(DATABASE_URL).database}_shared")
else:
    DATABASE_URL = ""


def testing_config(**overrides) -> dict:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": DATABASE_URL or "sqlite://",
        "WTF_CSRF_ENABLED": False,
        "SERVER_NAME": None,
        "PASSWORD_HASH_METHOD": TEST_PASSWORD_HASH,
    }
    config.update(overrides)
    return config


def create_missing_database(url: str) -> None:
    """Create the PostgreSQL database ``url`` names when it does not exist (connecting to ``postgres``)."""
    target = make_url(url)
    engine = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            if conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}) is None:
                conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    finally:
        engine.dispose()


@contextlib.contextmanager
def shared_database_app(tmp_path, connections: int, sqlite_timeout: int = 30):
    """An app whose database several threads write at once: a SQLite file (in-memory databases are one
    connection) or this worker's PostgreSQL database with a pool large enough for ``connections``."""
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


@contextlib.contextmanager
def app_of_its_own(**overrides):
    """A new app with ``testing_config(**overrides)`` and a fresh schema, its context pushed: for a test that
    changes the app itself (adds a route, an error handler). ``client``/``make_user`` ... work inside it."""
    application = create_app(testing_config(**overrides))
    application.test_client_class = IsolatedClient
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


# --- one app per process; one rolled-back transaction per test ----------------------------------------------

_JOINED: dict[Flask, Connection] = {}  # the shared app -> the connection of the running transactional test


class JoinedSession(FlaskSession):
    """Flask-SQLAlchemy's session, except that while a transactional test runs, the shared app's sessions use
    that test's connection (Flask-SQLAlchemy picks the engine itself and ignores a session's ``bind``)."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if bind is None and has_app_context():
            joined = _JOINED.get(current_app._get_current_object())
            if joined is not None:
                _no_streaming(joined)
                return joined
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


def _install_joined_session() -> None:
    """Replace ``db.session`` (scoped to the application context, as Flask-SQLAlchemy's) by one whose sessions
    join a test's connection in a SAVEPOINT. Apps that tests build keep their own engines."""
    if issubclass(db.session.session_factory.class_, JoinedSession):
        return
    factory = sessionmaker(class_=JoinedSession, db=db, query_cls=db.Query, join_transaction_mode="create_savepoint")
    db.session = scoped_session(factory, scopefunc=lambda: id(app_ctx._get_current_object()))


def _no_streaming(conn, *_args) -> None:
    """Code may set ``stream_results`` on its session's connection (``Connection.execution_options`` changes the
    connection in place; in production that connection is dropped with the session). Here the connection is the
    test's for every session: SAVEPOINT statements must not go through a server-side cursor."""
    if conn.get_execution_options().get("stream_results"):
        conn.execution_options(stream_results=False)


def _begin_outer(connection: Connection):
    """The test's transaction. On SQLite the driver starts transactions lazily and a first SAVEPOINT would
    begin (and its RELEASE commit) one of its own: this connection, and only it, gets an explicit BEGIN
    (SQLAlchemy's recipe, kept off the pool's other connections, whose code may run a PRAGMA first)."""
    for name in ("savepoint", "rollback_savepoint", "release_savepoint"):
        event.listen(connection, name, _no_streaming)
    outer = connection.begin()
    if connection.dialect.name == "sqlite":
        connection.connection.driver_connection.isolation_level = None
        connection.exec_driver_sql("BEGIN")
    return outer


def _end_outer(connection: Connection, outer) -> None:
    try:
        outer.rollback()
        if connection.dialect.name == "sqlite":
            connection.connection.driver_connection.isolation_level = ""  # the driver's default again
    finally:
        connection.close()


@pytest.fixture(scope="session")
def _session_app(tmp_path_factory):
    if ON_POSTGRES:
        create_missing_database(DATABASE_URL)
        create_missing_database(SHARED_DATABASE_URL)
        uri = SHARED_DATABASE_URL
        # a statement waiting for a lock the test's own transaction holds fails instead of hanging the suite
        engine_options = {"pool_recycle": 1800, "connect_args": {"options": "-c lock_timeout=10s"}}
    else:
        uri = "sqlite:///" + str(tmp_path_factory.mktemp("database") / "shared.sqlite3")
        engine_options = {"pool_recycle": 1800}
    application = create_app(testing_config(SQLALCHEMY_DATABASE_URI=uri, SQLALCHEMY_ENGINE_OPTIONS=engine_options))
    application.test_client_class = IsolatedClient
    _install_joined_session()
    with application.app_context():
        reset_database()
        db.session.remove()
    pristine = (dict(application.config), {name: _copied(value) for name, value in application.extensions.items()})
    yield application, pristine
    with application.app_context():
        db.engine.dispose()


def _copied(value):
    return copy.copy(value) if isinstance(value, (dict, list, set)) else value


def _restore(application: Flask, pristine) -> None:
    """Put back the config and per-app state (registries, caches) a test may have changed."""
    config, extensions = pristine
    application.config.clear()
    application.config.update(config)
    application.extensions.clear()
    for name, value in extensions.items():
        if not isinstance(value, (dict, list, set)) and callable(getattr(value, "clear", None)):
            value.clear()  # a cache object (the course page cache ...)
        application.extensions[name] = _copied(value)


def empty_database() -> None:
    """Delete every row and restart the sequences (the committing tests' clean-up; DELETE: the tables are
    small, and TRUNCATE's new files cost more on PostgreSQL)."""
    kept = {"content_version"}  # one row the schema creates; its value needs no reset (a random version)
    deletes = [f'DELETE FROM "{table.name}"' for table in reversed(db.metadata.sorted_tables)
               if table.name not in kept]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("; ".join(deletes))  # one round trip
            conn.exec_driver_sql("SELECT setval(oid, 1, false) FROM pg_class WHERE relkind = 'S'")
        else:
            for statement in deletes:
                conn.exec_driver_sql(statement)
            if conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").first():
                conn.exec_driver_sql("DELETE FROM sqlite_sequence")


@pytest.fixture
def app(request, _session_app, tmp_path):
    application, pristine = _session_app
    commits = "committing_app" in request.fixturenames
    application.instance_path = str(tmp_path / "instance")
    application.config["UPLOAD_FOLDER"] = str(tmp_path / "uploads")
    ctx = application.app_context()
    ctx.push()
    connection = outer = None
    try:
        if not commits:
            connection = db.engine.connect()
            outer = _begin_outer(connection)
            _JOINED[application] = connection
        yield application
    finally:  # every step, even when one fails: a transaction left open would block every later test
        try:
            cache.clear()  # entries keyed by a content version that the rolled-back transaction may reuse
            db.session.remove()
        finally:
            _JOINED.pop(application, None)
            try:
                if outer is not None:
                    _end_outer(connection, outer)
                if commits:
                    empty_database()
            finally:
                ctx.pop()
                _restore(application, pristine)


@pytest.fixture
def committing_app(app):
    """The shared app with real commits (see the module docstring); the database is emptied afterwards."""
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@lru_cache(maxsize=1)
def password_hash() -> str:
    return generate_password_hash(PASSWORD, method=TEST_PASSWORD_HASH)


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
