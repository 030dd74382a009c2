"""Enrollments, required-course (必修) assignments and a member's progress in a course. Services flush; the caller
commits."""
from __future__ import annotations

from datetime import date

from blinker import Namespace
from sqlalchemy import exists, func, insert, literal, select, update

from accounts.models import Organization, User
from accounts.services import scope_root, subtree_condition
from core import clock
from core.extensions import db
from core.permissions import Role
from courses import visibility
from courses.models import (Audience, Course, CourseStatus, Enrollment, EnrollmentSource, Lecture, LectureProgress,
                            RequiredAssignment)
from messages.services import link_for, notify_all


# Sent (sender: the lecture; ``user_id``, ``at``) when an organizer excuses a member from a past offline lecture or
# records a make-up: the lecture counts as completed. learning.completion marks it (and may complete the course).
lecture_excused = Namespace().signal("lecture-excused")


class EnrollmentError(ValueError):
    """An enrollment or assignment rule was broken; the message is shown to the user."""


def enrollment_of(user, course: Course) -> Enrollment | None:
    if user is None or not user.is_authenticated:
        return None
    return db.session.scalar(select(Enrollment).where(Enrollment.user_id == user.id,
                                                      Enrollment.course_id == course.id))


def _refresh_enrollment_count(course_id: int) -> None:
    count = select(func.count(Enrollment.id)).where(Enrollment.course_id == course_id).scalar_subquery()
    db.session.execute(update(Course).where(Course.id == course_id).values(enrollment_count=count)
                       .execution_options(synchronize_session=False))


def enroll(user: User, course: Course, source: EnrollmentSource = EnrollmentSource.SELF) -> Enrollment:
    """Enroll ``user`` in ``course``; enrolling again returns the enrollment already there."""
    existing = enrollment_of(user, course)
    if existing is not None:
        return existing
    if course.status != CourseStatus.PUBLISHED or not visibility.can_view_course(user, course):
        from flask_babel import gettext as _

        raise EnrollmentError(_("该课程暂不开放报名。"))
    enrollment = Enrollment(user_id=user.id, course_id=course.id, source=source, created_at=clock.utcnow())
    db.session.add(enrollment)
    db.session.flush()
    course.enrollment_count = (course.enrollment_count or 0) + 1
    db.session.flush()
    return enrollment


def _eligible_members(course: Course, org: Organization):
    """SELECT of the ids of active members in ``org``'s subtree whom the course admits."""
    stmt = (select(User.id).join(Organization, User.organization_id == Organization.id)
            .where(subtree_condition(org), User.role == Role.MEMBER, User.is_active_flag.is_(True)))
    if course.audience == Audience.MEMBERS:
        stmt = stmt.where(User.category.in_(visibility.PARTY_CATEGORIES))
    return stmt


def assign_required(course: Course, org: Organization, due_date: date, by: User | None) -> RequiredAssignment:
    """Make ``course`` required for ``org``'s subtree by ``due_date`` and enroll every active member there
    (one INSERT ... SELECT, however many members). Members who join later find it through
    ``required_courses_for``."""
    from flask_babel import gettext as _

    if course.status != CourseStatus.PUBLISHED:
        raise EnrollmentError(_("只能指派已发布的课程。"))
    if course.org is not None and not org.is_within(course.org):
        raise EnrollmentError(_("该课程仅限 %(org)s 范围，不能指派给范围以外的组织。", org=course.org.name))
    assignment = db.session.scalar(select(RequiredAssignment).where(
        RequiredAssignment.course_id == course.id, RequiredAssignment.org_id == org.id,
        RequiredAssignment.revoked_at.is_(None)))
    if assignment is None:
        assignment = RequiredAssignment(course_id=course.id, org_id=org.id, due_date=due_date,
                                        assigned_by_id=by.id if by else None, created_at=clock.utcnow())
        db.session.add(assignment)
    else:
        assignment.due_date = due_date
    members = _eligible_members(course, org).where(~exists().where(
        Enrollment.user_id == User.id, Enrollment.course_id == course.id))
    rows = members.add_columns(literal(course.id), literal(EnrollmentSource.ASSIGNED.value),
                               literal(clock.utcnow()))
    db.session.execute(insert(Enrollment).from_select(
        ["user_id", "course_id", "source", "created_at"], rows))
    _refresh_enrollment_count(course.id)
    db.session.flush()
    db.session.refresh(course, ["enrollment_count"])

    notify_all(_eligible_members(course, org), "course_assigned",
               _("《%(title)s》已列为您的必修课程，请在 %(due)s 前完成。", title=course.title, due=due_date.isoformat()),
               link_for("courses.detail", course_id=course.id),
               dedupe_key=f"assigned:{assignment.id}:{due_date.isoformat()}")
    return assignment


def unassign(assignment: RequiredAssignment, by: User | None = None) -> None:
    """Revoke an assignment. Enrollments and everything studied stay."""
    if assignment.revoked_at is None:
        assignment.revoked_at = clock.utcnow()
        db.session.flush()


def _assignment_condition(user):
    org = user.organization if user is not None and user.is_authenticated else None
    if org is None:
        return None
    return (RequiredAssignment.revoked_at.is_(None)) & RequiredAssignment.org_id.in_(org.path_ids)


def required_courses_for(user) -> list[tuple[Course, date]]:
    """The published courses required of ``user`` (through their organization or an ancestor) with the
    earliest due date, soonest first."""
    condition = _assignment_condition(user)
    if condition is None:
        return []
    due = func.min(RequiredAssignment.due_date).label("due")
    sub = (select(RequiredAssignment.course_id, due).where(condition)
           .group_by(RequiredAssignment.course_id).subquery())
    rows = db.session.execute(
        select(Course, sub.c.due).join(sub, sub.c.course_id == Course.id)
        .where(Course.status == CourseStatus.PUBLISHED, visibility.course_condition(user))
        .order_by(sub.c.due, Course.id)).all()
    return [(course, due_date) for course, due_date in rows]


def required_courses_state(user) -> list[dict]:
    """``required_courses_for`` with each course's state for the member: course, due, finished, overdue."""
    rows = required_courses_for(user)
    if not rows:
        return []
    finished = set(db.session.scalars(select(Enrollment.course_id).where(
        Enrollment.user_id == user.id, Enrollment.course_id.in_([c.id for c, _ in rows]),
        Enrollment.completed_at.is_not(None))))
    today = local_today()
    return [{"course": course, "due": due, "finished": course.id in finished,
             "overdue": is_overdue(due, course.id in finished, today)} for course, due in rows]


def required_course_ids(user) -> dict[int, date]:
    """{course id: due date} of the courses required of ``user`` (one small query)."""
    condition = _assignment_condition(user)
    if condition is None:
        return {}
    rows = db.session.execute(select(RequiredAssignment.course_id, func.min(RequiredAssignment.due_date))
                              .where(condition).group_by(RequiredAssignment.course_id)).all()
    return {course_id: due for course_id, due in rows}


def required_subquery(user):
    """SELECT of course ids required of ``user`` (for catalog filters), or None."""
    condition = _assignment_condition(user)
    if condition is None:
        return None
    return select(RequiredAssignment.course_id).where(condition)


def course_progress(user_id: int, course_id: int) -> tuple[int, int]:
    """(completed lectures, live lectures) of a course for a member."""
    live = select(Lecture.id).where(Lecture.course_id == course_id, Lecture.deleted_at.is_(None))
    total = db.session.scalar(select(func.count()).select_from(live.subquery())) or 0
    done = db.session.scalar(select(func.count(LectureProgress.id)).where(
        LectureProgress.user_id == user_id, LectureProgress.lecture_id.in_(live),
        LectureProgress.completed_at.is_not(None))) or 0
    return int(done), int(total)


# --- overdue required courses, excusals from past offline lectures ---------------------------------------------

def local_today(now=None) -> date:
    """Today's date where the members are (DISPLAY_TIMEZONE): due dates are local dates."""
    from zoneinfo import ZoneInfo

    from flask import current_app

    moment = (now or clock.utcnow()).replace(tzinfo=ZoneInfo("UTC"))
    return moment.astimezone(ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])).date()


def is_overdue(due: date | None, finished: bool, today: date | None = None) -> bool:
    """Past its due date (the due day itself still counts as in time) and not finished."""
    return due is not None and not finished and due < (today or local_today())


def assignment_members(assignment: RequiredAssignment, today: date | None = None) -> list[dict]:
    """Every active member the assignment covers, with their progress: user, done, total, finished,
    overdue, and the past offline lectures they have not completed (for excusals), by name."""
    from courses.models import Lecture, LectureKind
    from courses.models import LectureProgress

    today = today or local_today()
    course = assignment.course
    users = db.session.scalars(select(User).where(User.id.in_(_eligible_members(course, assignment.org)))
                               .order_by(User.name, User.id)).all()
    finished_ids = set(db.session.scalars(select(Enrollment.user_id).where(
        Enrollment.course_id == course.id, Enrollment.completed_at.is_not(None))))
    now = clock.utcnow()
    past_offline = db.session.scalars(select(Lecture).where(
        Lecture.course_id == course.id, Lecture.kind == LectureKind.OFFLINE, Lecture.deleted_at.is_(None),
        Lecture.starts_at.is_not(None), Lecture.starts_at < now).order_by(Lecture.starts_at)).all()
    done_pairs = set(db.session.execute(select(LectureProgress.user_id, LectureProgress.lecture_id).where(
        LectureProgress.lecture_id.in_([lecture.id for lecture in past_offline]),
        LectureProgress.completed_at.is_not(None))).all()) if past_offline else set()
    rows = []
    for user in users:
        done, total = course_progress(user.id, course.id)
        finished = user.id in finished_ids or (total > 0 and done >= total)
        rows.append({"user": user, "done": done, "total": total, "finished": finished,
                     "overdue": is_overdue(assignment.due_date, finished, today),
                     "missed": [lecture for lecture in past_offline if (user.id, lecture.id) not in done_pairs]})
    return rows


def assignment_summary(assignment: RequiredAssignment, today: date | None = None) -> dict:
    rows = assignment_members(assignment, today)
    return {"members": len(rows), "finished": sum(r["finished"] for r in rows),
            "overdue": sum(r["overdue"] for r in rows)}


EXCUSAL_KINDS = ("excused", "make_up")


def excuse_from_lecture(member: User, lecture, by: User, kind: str, reason: str, now=None):
    """Excuse ``member`` from a past offline lecture (免修) or record a make-up (已补课) with a reason; the
    lecture then counts as completed (and may complete the course). ``by`` must administer the member."""
    from flask_babel import gettext as _

    from courses.models import LectureKind
    from courses.models import LectureExcusal

    now = now or clock.utcnow()
    root = scope_root(by)
    if root is not None and (member.organization is None or not member.organization.is_within(root)):
        from werkzeug.exceptions import NotFound

        raise NotFound()
    reason = (reason or "").strip()[:300]
    if kind not in EXCUSAL_KINDS:
        raise EnrollmentError(_("请选择免修或已补课。"))
    if not reason:
        raise EnrollmentError(_("请填写原因。"))
    if lecture.kind != LectureKind.OFFLINE or lecture.starts_at is None or lecture.starts_at > now:
        raise EnrollmentError(_("只能为已经举行过的线下课时办理免修或补课。"))
    if db.session.scalar(select(LectureExcusal.id).where(LectureExcusal.user_id == member.id,
                                                         LectureExcusal.lecture_id == lecture.id)) is None:
        db.session.add(LectureExcusal(user_id=member.id, lecture_id=lecture.id, kind=kind, reason=reason,
                                      recorded_by_id=by.id, recorded_at=now))
        db.session.flush()
    lecture_excused.send(lecture, user_id=member.id, at=now)  # learning completes it (and perhaps the course)
