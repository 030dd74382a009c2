"""Database set-up that depends on the engine's dialect."""
from __future__ import annotations

from flask import Flask
from sqlalchemy import event

from core.extensions import db


def set_sqlite_pragmas(app: Flask) -> None:
    """On SQLite, run ``SQLITE_PRAGMAS`` on every new connection (WAL: readers never block the writer;
    synchronous=NORMAL: no fsync per commit, still safe when a worker is killed)."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite") or not app.config.get("SQLITE_PRAGMAS"):
        return
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        for pragma in app.config["SQLITE_PRAGMAS"]:
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()
