"""Automatic reminders (issue 16): ``flask reminders due-soon`` tells every member who has not finished a
required course that it is due in ``--days`` (7) days. Run daily by the scheduler, once per cluster:
``flask once reminders due-soon`` (deploy/ops-once@.timer: ``ops-once@reminders-due-soon.timer``). Each member
gets the message once per assignment and due date, however often it runs (``dedupe_key``)."""
from __future__ import annotations

from datetime import timedelta

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import gettext as _
from sqlalchemy import exists, select

from accounts.models import Organization
from core import clock
from core.extensions import db
from courses.models import Course, RequiredAssignment
from courses.enrollments import _eligible_members
from courses.models import Enrollment
from messages.services import link_for, notify_all

reminders_cli = click.Group("reminders", help="Automatic messages to members.")


def remind_due_soon(days: int = 7) -> int:
    """Message the members with an unfinished required course due in ``days`` days; returns how many."""
    today = clock.to_local(clock.utcnow(), current_app.config["DISPLAY_TIMEZONE"]).date()
    due = today + timedelta(days=days)
    assignments = db.session.scalars(select(RequiredAssignment).where(
        RequiredAssignment.due_date == due, RequiredAssignment.revoked_at.is_(None))).all()
    sent = 0
    for assignment in assignments:
        course, org = db.session.get(Course, assignment.course_id), db.session.get(Organization, assignment.org_id)
        members = _eligible_members(course, org)
        unfinished = members.where(~exists().where(Enrollment.user_id == members.selected_columns[0],
                                                   Enrollment.course_id == course.id,
                                                   Enrollment.completed_at.is_not(None)))
        sent += notify_all(unfinished, "due_soon",
                           _("必修课程《%(title)s》将于 %(due)s 到期（还有 %(days)d 天），请尽快完成。",
                             title=course.title, due=due.isoformat(), days=days),
                           link_for("courses.detail", course_id=course.id),
                           dedupe_key=f"due:{assignment.id}:{due.isoformat()}")
    return sent


@reminders_cli.command("due-soon")
@click.option("--days", default=7, show_default=True, help="Days before the due date.")
@with_appcontext
def due_soon_command(days: int):
    """Remind members of required courses due in DAYS days (once per member and due date)."""
    sent = remind_due_soon(days)
    db.session.commit()
    click.echo(f"due-soon reminders: {sent}")
