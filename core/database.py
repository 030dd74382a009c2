"""Database set-up that depends on the engine's dialect."""
from __future__ import annotations

from flask import Flask
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite

from core.extensions import db


def set_sqlite_pragmas(app: Flask) -> None:
    """On SQLite, run ``SQLITE_PRAGMAS`` on every new connection (WAL: readers never block the writer;
    synchronous=NORMAL: no fsync per commit, still safe when a worker is killed)."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite") or not app.config.get("SQLITE_PRAGMAS"):
        return
    with app.app_context():
        run_pragmas_on_connect(db.engine, app.config["SQLITE_PRAGMAS"])


def run_pragmas_on_connect(engine, pragmas) -> None:
    """Run each of ``pragmas`` ("journal_mode=WAL", …) on every new connection of the SQLite ``engine``."""

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        for pragma in pragmas:
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()


DIALECT_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}  # both have ON CONFLICT


def insert_unless_taken(table, values: dict, returning=(), index_elements=None):
    """``INSERT … ON CONFLICT DO NOTHING`` (PostgreSQL and SQLite): the row is not written when it would break
    a unique constraint or index (``index_elements``: that constraint's columns; None: any, e.g. a partial "one
    open attempt" index), and no error is raised, so the transaction goes on. ``table``: a Table or a mapped
    class. Returns the ``returning`` columns (or entity) of the new row, or None when it was not written."""
    dialect = db.session.get_bind().dialect.name
    if dialect not in DIALECT_INSERTS:  # pragma: no cover - the project runs on these two
        raise NotImplementedError(dialect)
    statement = DIALECT_INSERTS[dialect](table).on_conflict_do_nothing(index_elements=index_elements)
    if returning:
        statement = statement.returning(*returning)
    result = db.session.execute(statement, values)
    if returning:
        return result.first()
    return result.rowcount == 1 or None
