"""``flask classes``: export a class workbook, list classes, seed the class types.

``flask classes export CLASS_ID -o FILE`` writes the same workbook (same bytes) as the class page's
export button: both call ``exports.export_class_workbook``.
"""
from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from core.extensions import db
from classes.exports import export_class_workbook, workbook_filename
from classes.models import TrainingClass
from classes.services import class_types, ensure_class_types

classes_cli = AppGroup("classes", help="Training classes (培训班).")


@classes_cli.command("export")
@click.argument("class_id", type=int)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="file to write (default: 培训班-<id>-<date>.xlsx in the current directory)")
@click.option("--full-phones", is_flag=True, help="write whole phone numbers (default: masked 138****1234)")
def export_command(class_id: int, output: str | None, full_phones: bool):
    """Write a class's workbook: 名单, 考勤, 考试成绩, 学时, 结业."""
    training_class = db.session.get(TrainingClass, class_id)
    if training_class is None:
        raise click.BadParameter(f"no class with id {class_id}", param_hint="CLASS_ID")
    path = output or workbook_filename(training_class)
    with open(path, "wb") as fh:
        size = export_class_workbook(training_class, fh, full_phones=full_phones)
    click.echo(f"{path}: {size} bytes")


@classes_cli.command("list")
def list_command():
    """Every class: id, status, dates, places taken, name."""
    for tc in db.session.scalars(select(TrainingClass).order_by(TrainingClass.id)):
        capacity = "∞" if tc.capacity is None else tc.capacity
        click.echo(f"{tc.id:>5}  {tc.status.value:<9}  {tc.starts_on} – {tc.ends_on}  {tc.taken}/{capacity}  {tc.name}")


@classes_cli.command("types")
def types_command():
    """Seed the default class types if the list is empty, then list them."""
    added = ensure_class_types()
    db.session.commit()
    if added:
        click.echo(f"seeded {added} class type(s)")
    for item in class_types(include_inactive=True):
        click.echo(f"{item.id:>4}  {'active' if item.active else 'retired':<8} {item.name}")
