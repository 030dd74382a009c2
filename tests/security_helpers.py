"""Helpers of the security tests: an app on a database of its own (real commits, several connections, a live
server), independent of how conftest isolates ordinary tests."""
from __future__ import annotations

import contextlib
import os
import time
import uuid

import psycopg
from sqlalchemy.engine import make_url

from app import create_app
from core.extensions import db
from tests.conftest import DATABASE_URL, ON_POSTGRES, testing_config


@contextlib.contextmanager
def own_database_url(tmp_path, suffix: str = "sec"):
    """A fresh, empty database: a SQLite file under ``tmp_path``, or on PostgreSQL a new database named after
    DATABASE_URL's plus a suffix, dropped at the end."""
    if not ON_POSTGRES:
        yield f"sqlite:///{tmp_path / (suffix + '.sqlite3')}"
        return
    url = make_url(DATABASE_URL)
    name = f"{url.database}_{suffix}_{uuid.uuid4().hex[:6]}"
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        drop_database(admin, name)


def drop_database(admin: str, name: str, attempts: int = 20) -> None:
    """DROP DATABASE ... WITH (FORCE), waiting out an autovacuum worker on it (FORCE may not end a backend of
    another role: "must be a member of the role whose process is being terminated")."""
    for attempt in range(attempts):
        try:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except (psycopg.errors.InsufficientPrivilege, psycopg.errors.ObjectInUse):
            if attempt == attempts - 1:
                raise
            time.sleep(0.5)


@contextlib.contextmanager
def own_database_app(tmp_path, suffix: str = "sec", connections: int = 16, **config):
    """An app (schema created) on ``own_database_url``, its context pushed."""
    with own_database_url(tmp_path, suffix) as uri:
        options = {"pool_size": connections + 2} if ON_POSTGRES else {"connect_args": {"timeout": 30}}
        application = create_app(testing_config(SQLALCHEMY_DATABASE_URI=uri, SQLALCHEMY_ENGINE_OPTIONS=options,
                                                UPLOAD_FOLDER=str(tmp_path / "uploads"), **config))
        application.instance_path = str(tmp_path / "instance")
        with application.app_context():
            db.create_all()
            try:
                yield application
            finally:
                db.session.remove()
                db.engine.dispose()


def env_flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0")
