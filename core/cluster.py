"""Scheduled jobs once per cluster: ``flask once quizzes close-expired`` runs the command only when no other
server is running it right now (a PostgreSQL advisory lock on the command's name; on SQLite, one machine, a file
lock in ``instance/``). Every server may then carry the same cron entry or systemd timer."""
from __future__ import annotations

import contextlib
import fcntl
import zlib
from pathlib import Path

from flask import current_app
from sqlalchemy import text

from core.extensions import db


@contextlib.contextmanager
def cluster_lock(name: str):
    """Yields True while this process holds the cluster-wide lock ``name``, False when someone else does."""
    if db.engine.dialect.name == "postgresql":
        key = zlib.crc32(name.encode())  # advisory lock keys are bigint
        with db.engine.connect() as connection:
            held = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
            try:
                yield bool(held)
            finally:
                if held:
                    connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                connection.rollback()
        return
    path = Path(current_app.instance_path) / f"once-{zlib.crc32(name.encode()):08x}.lock"
    with file_lock(path, blocking=False) as held:
        yield held


@contextlib.contextmanager
def file_lock(path: Path, blocking: bool = True):
    """An exclusive ``flock`` on ``path`` (created with its folder): yields True while held; with
    ``blocking=False``, yields False at once when another process holds it. The search index's writer lock too."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
