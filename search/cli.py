"""``flask search rebuild`` and ``flask search catch-up``."""
from __future__ import annotations

import click
from flask.cli import AppGroup
from flask_babel import gettext as _

from core.extensions import db
from search import indexing

search_cli = AppGroup("search", help="Full-text search index.")


@search_cli.command("rebuild")
def rebuild_command():
    """Rebuild the index from the database into a new folder and swap it in (searches keep working)."""
    total = indexing.count_candidates(db.session)
    db.session.rollback()
    with click.progressbar(length=total, label=_("正在重建索引"), show_pos=True) as bar:
        done = 0

        def progress(count: int):
            nonlocal done
            bar.update(count - done)
            done = count

        stats = indexing.rebuild(progress=progress)
    click.echo(_("索引已重建：%(n)d 篇文档，%(mb).1f MB。", n=stats["documents"], mb=stats["bytes"] / 1e6))


@search_cli.command("catch-up")
def catch_up_command():
    """Apply the index log to this server's index (waits for the writer lock)."""
    applied = indexing.catch_up(blocking=True)
    stats = indexing.get_engine().stats()
    click.echo(_("已应用 %(n)d 条索引日志；索引中共 %(docs)d 篇文档。", n=applied, docs=stats["documents"]))


@search_cli.command("worker")
@click.option("--once", is_flag=True, help="Catch up once and exit (cron), instead of running until stopped.")
def worker_command(once: bool):
    """Keep this server's index in step with the log outside any web process (instead of the thread in each
    gunicorn worker): catch up every SEARCH_WORKER_INTERVAL seconds."""
    import time

    from flask import current_app

    interval = float(current_app.config.get("SEARCH_WORKER_INTERVAL") or 1.0)
    while True:
        applied = indexing.catch_up(blocking=True)
        db.session.remove()
        if applied:
            click.echo(_("已应用 %(n)d 条索引日志。", n=applied))
        if once:
            return
        time.sleep(interval)


@search_cli.command("status")
def status_command():
    """How far this server's index is behind the log (as /healthz reports it)."""
    click.echo(indexing.lag())
