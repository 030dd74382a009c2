"""``flask --app app quizzes ...``: submit expired attempts; import and export question banks."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from core.extensions import db


@click.group("quizzes", help="Quizzes and question banks.")
def quizzes_cli():
    pass


@quizzes_cli.command("close-expired")
@with_appcontext
def close_expired_command():
    """Submit and grade every open attempt past its deadline (run it every minute from cron)."""
    from quizzes.services import close_expired

    count = close_expired()
    db.session.commit()
    click.echo(f"submitted {count} expired attempt(s)")


@quizzes_cli.command("export-bank")
@click.argument("bank_id", type=int)
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def export_bank_command(bank_id: int, path: Path):
    """Write bank BANK_ID to PATH (.xlsx or .csv), in the import template."""
    from quizzes.importexport import export_bank
    from quizzes.models import QuestionBank

    bank = db.session.get(QuestionBank, bank_id)
    if bank is None:
        raise click.UsageError(f"no bank {bank_id}")
    fmt = "xlsx" if path.suffix.lower() == ".xlsx" else "csv"
    path.write_bytes(export_bank(bank, fmt))
    click.echo(f"exported {len(bank.questions)} question(s) to {path}")


@quizzes_cli.command("import-bank")
@click.argument("bank_id", type=int)
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_bank_command(bank_id: int, path: Path):
    """Import PATH (.xlsx or .csv, the template) into bank BANK_ID; nothing is imported unless every row is valid."""
    from quizzes.importexport import import_rows, read_upload
    from quizzes.models import QuestionBank

    bank = db.session.get(QuestionBank, bank_id)
    if bank is None:
        raise click.UsageError(f"no bank {bank_id}")
    preview = read_upload(path.read_bytes(), path.name, bank)
    if preview.errors:
        for error in preview.errors:
            click.echo(f"row {error.row}: {error.reason}", err=True)
        raise SystemExit(1)
    count = import_rows(bank, preview.rows)
    db.session.commit()
    click.echo(f"imported {count} question(s)")
