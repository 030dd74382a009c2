"""Background jobs: one mechanism for the whole project, Huey.

Storage: a SQLite file (``JOBS_SQLITE_PATH``, default instance/jobs.sqlite3) on the embedded default, Redis
when ``REDIS_URL`` is set (the cluster). The consumer runs beside gunicorn (``make run`` starts it):
``huey_consumer worker.huey``; ``worker.py`` builds the app and binds it, so every job runs in an application
context with its own database session and commits its own work. In tests (``JOBS_IMMEDIATE``, default: when
the app is TESTING) a job runs at once, in the caller's thread and application context.

Declare a job with ``@job`` (module level); enqueue it with ``fn(args)`` after the request's commit — a job
reads committed rows only.
"""
from __future__ import annotations

from functools import wraps
from pathlib import Path

from flask import Flask, has_app_context
from huey import Huey
from huey.storage import RedisStorage, SqliteStorage

huey = Huey("ops", immediate=True)  # configured by init_app; immediate (in memory) until then
_bound: list[Flask] = []  # the consumer's app (worker.py); web processes only enqueue


def job(fn):
    """A Huey task running ``fn`` inside an application context (the consumer's, or the caller's)."""

    @wraps(fn)
    def in_app(*args, **kwargs):
        if has_app_context():
            return fn(*args, **kwargs)
        with _bound[-1].app_context():
            return fn(*args, **kwargs)

    return huey.task(name=f"{fn.__module__}.{fn.__name__}")(in_app)


def init_app(app: Flask) -> None:
    config = app.config
    if config.get("REDIS_URL"):
        huey.storage_class, huey.storage_kwargs = RedisStorage, {"url": config["REDIS_URL"]}
    else:
        path = config.get("JOBS_SQLITE_PATH") or str(Path(app.instance_path) / "jobs.sqlite3")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        huey.storage_class, huey.storage_kwargs = SqliteStorage, {"filename": path}
    immediate = config.get("JOBS_IMMEDIATE")
    huey.immediate = app.testing if immediate is None else bool(immediate)
    if not huey.immediate:
        huey.storage = huey.create_storage()
    app.extensions["jobs"] = huey


def bind(app: Flask) -> None:
    """Run jobs in ``app``'s context (the consumer process)."""
    _bound.append(app)
