"""Write operations and scoped queries of training classes. Services flush; the view or CLI commits once.

Who manages a class (decided here, enforced in every service that takes a manager):
- an admin: every class;
- an organizer: classes hosted in their subtree (``scope_root``); roster members come from that subtree;
- a trainer: classes they created, hosted within their own organization's subtree (they create classes too:
  a party-school teacher often runs a series); roster members come from that subtree.

This module: class types, creating and editing classes, the plan, sessions (moving or cancelling one
notifies its participants). Re-exported here from their modules: enrolment.py (roster, applications, open
registration under concurrency), notices.py, scope.py, graduation.py. Elsewhere: calendar.py (the .ics
feed), exports.py (``export_class_workbook``), api.py, cli.py.
"""
from __future__ import annotations

from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from accounts.models import Organization, User
from core import clock
from core.extensions import db
from courses.models import CLASS_SHELL_CATEGORY, Audience, Course, CourseStatus

# Re-exported, so pages, the API and the CLI need this one module (the signatures below are stable):
# participants and registration (enrolment.py); notices and calendar tokens (notices.py); who manages what
# (scope.py); standing, the progress board, graduation and certificates (graduation.py).
from classes.enrolment import (REGISTRATION_STATUSES, add_roster_members, apply,  # noqa: F401
                                        approve, class_for_viewer, is_participant, may_apply, my_classes,
                                        participant_of, participants, register, registrable_classes,
                                        registrable_classes_stmt, registration_open, reject, remove_participant,
                                        withdraw)
from classes.graduation import (Board, GraduationError, GraduationOutcome, RuleResult,  # noqa: F401
                                         Standing, board, certificate_by_code, certificate_for, graduate,
                                         period_bounds_utc, revoke_certificate, standing, verify_url)
from classes.models import (DEFAULT_CLASS_TYPES, ClassError, ClassNotice, ClassSession,  # noqa: F401
                                     ClassStatus, ClassType, EnrolmentMode, NoticeKind, Participant,
                                     ParticipantStatus, PlanItem, PlanItemKind, TrainingClass)
from classes.notices import (calendar_token, calendar_url, mark_all_notices_read,  # noqa: F401
                                      mark_notice_read, notice_text, reset_calendar_token, unread_notices,
                                      user_for_calendar_token)
from classes.scope import can_manage, class_for_manager, manage_root, manageable_classes  # noqa: F401
from learning.models import OfflineClass
from learning.offline import CheckInError, schedule_class
from quizzes.models import Quiz


# --- class types --------------------------------------------------------------------------------------------

def ensure_class_types() -> int:
    """Seed the default kinds (入党积极分子培训班 …) when the list is empty; returns how many were added."""
    if db.session.scalar(select(ClassType.id).limit(1)) is not None:
        return 0
    for position, name in enumerate(DEFAULT_CLASS_TYPES):
        db.session.add(ClassType(name=name, position=position, active=True))
    db.session.flush()
    return len(DEFAULT_CLASS_TYPES)


def class_types(include_inactive: bool = False) -> list[ClassType]:
    """The kinds offered when creating a class (seeded on first use), in list order."""
    ensure_class_types()
    stmt = select(ClassType).order_by(ClassType.position, ClassType.id)
    if not include_inactive:
        stmt = stmt.where(ClassType.active.is_(True))
    return list(db.session.scalars(stmt))


def class_type_named(name: str) -> ClassType | None:
    return db.session.scalar(select(ClassType).where(ClassType.name == (name or "").strip()))


def add_class_type(name: str) -> ClassType:
    """Add a kind to the list (admins); a name already there is returned (and re-activated)."""
    name = (name or "").strip()
    if not name:
        raise ClassError(_("请填写培训班类型名称。"))
    existing = class_type_named(name)
    if existing is not None:
        existing.active = True
        db.session.flush()
        return existing
    last = db.session.scalar(select(ClassType.position).order_by(ClassType.position.desc()).limit(1))
    item = ClassType(name=name[:100], position=(last or 0) + 1, active=True)
    db.session.add(item)
    db.session.flush()
    return item


def update_class_type(class_type: ClassType, *, name: str | None = None, active: bool | None = None,
                      position: int | None = None) -> ClassType:
    """Rename, reorder or retire a kind (retired kinds stay on old classes, are no longer offered)."""
    if name is not None and name.strip():
        other = class_type_named(name)
        if other is not None and other.id != class_type.id:
            raise ClassError(_("已有同名的培训班类型。"))
        class_type.name = name.strip()[:100]
    if active is not None:
        class_type.active = bool(active)
    if position is not None:
        class_type.position = int(position)
    db.session.flush()
    return class_type


def _host_in_scope(user: User, org: Organization) -> None:
    root = manage_root(user)
    if root is not None and not org.is_within(root):
        raise NotFound()


# --- creating and editing -----------------------------------------------------------------------------------

def class_course(training_class: TrainingClass, by: User | None = None) -> Course:
    """The course a class's sessions are booked under when they name none (an offline class needs one):
    made on first use, a draft in category 培训班 with no lectures, so it never completes by itself and
    never shows in the catalog or search; check-in credit is booked under it."""
    if training_class.course is not None:
        return training_class.course
    course = Course(title=training_class.name[:200], summary="", category=CLASS_SHELL_CATEGORY,
                    status=CourseStatus.DRAFT,
                    audience=Audience.PUBLIC if training_class.enrolment_mode == EnrolmentMode.OPEN
                    else Audience.MEMBERS, org_id=training_class.host_org_id, created_by_id=by.id if by else None)
    db.session.add(course)
    db.session.flush()
    training_class.course_id = course.id
    training_class.course = course
    db.session.flush()
    return course


def _check_dates(starts_on: date, ends_on: date, opens_at: datetime | None, closes_at: datetime | None) -> None:
    if ends_on < starts_on:
        raise ClassError(_("结业日期不能早于开班日期。"))
    if opens_at and closes_at and closes_at <= opens_at:
        raise ClassError(_("报名截止时间必须晚于报名开始时间。"))


def create_class(*, by: User, name: str, class_type: ClassType, host_org: Organization, starts_on: date,
                 ends_on: date, enrolment_mode: EnrolmentMode = EnrolmentMode.ROSTER, capacity: int | None = None,
                 registration_opens_at: datetime | None = None, registration_closes_at: datetime | None = None,
                 certificate_prefix: str = "", description: str = "") -> TrainingClass:
    """A new class in draft. The host organization must lie in ``by``'s subtree (NotFound otherwise);
    registration times are naive UTC."""
    _host_in_scope(by, host_org)
    name = (name or "").strip()
    if not name:
        raise ClassError(_("请填写班级名称。"))
    if capacity is not None and capacity < 1:
        raise ClassError(_("名额至少为 1。"))
    _check_dates(starts_on, ends_on, registration_opens_at, registration_closes_at)
    mode = EnrolmentMode(enrolment_mode)
    training_class = TrainingClass(
        name=name[:200], description=description or "", type_id=class_type.id, host_org_id=host_org.id,
        starts_on=starts_on, ends_on=ends_on, capacity=capacity, taken=0, enrolment_mode=mode,
        registration_opens_at=registration_opens_at, registration_closes_at=registration_closes_at,
        status=ClassStatus.DRAFT, certificate_prefix=(certificate_prefix or "").strip()[:100],
        next_certificate_seq=1, created_by_id=by.id)
    db.session.add(training_class)
    db.session.flush()
    return training_class


EDITABLE = ("name", "description", "class_type", "host_org", "starts_on", "ends_on", "capacity", "enrolment_mode",
            "registration_opens_at", "registration_closes_at", "certificate_prefix")


def update_class(training_class: TrainingClass, by: User, **fields) -> TrainingClass:
    """Change any of ``EDITABLE`` (pass only what changes). A graduated class is frozen (ClassError);
    capacity cannot drop below the places already taken; a new host must be in ``by``'s subtree."""
    if not can_manage(by, training_class):
        raise NotFound()
    if training_class.is_frozen:
        raise ClassError(_("培训班已结业，不能再修改。"))
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    if "host_org" in fields:
        _host_in_scope(by, fields["host_org"])
        training_class.host_org_id = fields.pop("host_org").id
    if "class_type" in fields:
        training_class.type_id = fields.pop("class_type").id
    if "capacity" in fields:
        capacity = fields.pop("capacity")
        if capacity is not None and capacity < max(1, training_class.taken):
            raise ClassError(_("名额不能少于已录取的人数（%(n)s 人）。", n=training_class.taken))
        training_class.capacity = capacity
    if "enrolment_mode" in fields:
        fields["enrolment_mode"] = EnrolmentMode(fields["enrolment_mode"])
    if "name" in fields:
        fields["name"] = (fields["name"] or "").strip()[:200]
        if not fields["name"]:
            raise ClassError(_("请填写班级名称。"))
    for key, value in fields.items():
        setattr(training_class, key, value)
    _check_dates(training_class.starts_on, training_class.ends_on, training_class.registration_opens_at,
                 training_class.registration_closes_at)
    db.session.flush()
    return training_class


def set_graduation_rules(training_class: TrainingClass, by: User, *, required_items: bool = False,
                         min_attendance_percent: int | None = None, exam_pass: bool = False,
                         min_hours_seconds: int | None = None) -> TrainingClass:
    """Set the class's graduation rules; each is optional (False / None: not applied)."""
    if not can_manage(by, training_class):
        raise NotFound()
    if training_class.is_frozen:
        raise ClassError(_("培训班已结业，不能再修改。"))
    if min_attendance_percent is not None and not 0 <= min_attendance_percent <= 100:
        raise ClassError(_("出勤率应在 0 到 100 之间。"))
    if min_hours_seconds is not None and min_hours_seconds < 0:
        raise ClassError(_("学时不能为负数。"))
    training_class.rule_required_items = bool(required_items)
    training_class.rule_min_attendance_percent = min_attendance_percent
    training_class.rule_exam_pass = bool(exam_pass)
    training_class.rule_min_hours_seconds = min_hours_seconds
    db.session.flush()
    return training_class


def _move_to(training_class: TrainingClass, by: User, status: ClassStatus, allowed_from: tuple[ClassStatus, ...],
             refusal: str) -> TrainingClass:
    """The class's next stage, from one of ``allowed_from`` only (``refusal`` otherwise); ``by`` manages it."""
    if not can_manage(by, training_class):
        raise NotFound()
    if training_class.status not in allowed_from:
        raise ClassError(refusal)
    training_class.status = status
    db.session.flush()
    return training_class


def publish_class(training_class: TrainingClass, by: User) -> TrainingClass:
    """Draft -> open: the class becomes visible to those who may apply or register."""
    return _move_to(training_class, by, ClassStatus.OPEN, (ClassStatus.DRAFT,), _("只有草稿状态的培训班可以发布。"))


def start_class(training_class: TrainingClass, by: User) -> TrainingClass:
    """Open -> running (开班). Registration continues inside its window."""
    return _move_to(training_class, by, ClassStatus.RUNNING, (ClassStatus.DRAFT, ClassStatus.OPEN),
                    _("培训班当前状态不能开班。"))


# --- the plan -----------------------------------------------------------------------------------------------

def _editable(training_class: TrainingClass, by: User) -> None:
    if not can_manage(by, training_class):
        raise NotFound()
    if training_class.is_frozen:
        raise ClassError(_("培训班已结业，不能再修改。"))


def _next_position(training_class: TrainingClass) -> int:
    last = db.session.scalar(select(PlanItem.position).where(PlanItem.class_id == training_class.id)
                             .order_by(PlanItem.position.desc()).limit(1))
    return (last or 0) + 1


def _put_on_plan(training_class: TrainingClass, by: User, kind: PlanItemKind, required: bool, **target) -> PlanItem:
    """The plan's item of ``kind`` for ``target`` (course_id= or quiz_id=): added at the end, or, already there,
    only its ``required`` changed."""
    _editable(training_class, by)
    (column, value), = target.items()
    existing = db.session.scalar(select(PlanItem).where(PlanItem.class_id == training_class.id,
                                                        PlanItem.kind == kind, getattr(PlanItem, column) == value))
    if existing is not None:
        existing.required = bool(required)
        db.session.flush()
        return existing
    item = PlanItem(class_id=training_class.id, kind=kind, required=bool(required),
                    position=_next_position(training_class), **target)
    db.session.add(item)
    db.session.flush()
    return item


def add_course_item(training_class: TrainingClass, course: Course, by: User, required: bool = True) -> PlanItem:
    """Put an online course on the plan (done = the course completed)."""
    return _put_on_plan(training_class, by, PlanItemKind.COURSE, required, course_id=course.id)


def add_exam_item(training_class: TrainingClass, quiz: Quiz, by: User, required: bool = True) -> PlanItem:
    """Put a quiz on the plan as an exam (done = a passed attempt)."""
    return _put_on_plan(training_class, by, PlanItemKind.EXAM, required, quiz_id=quiz.id)


def set_item_required(item: PlanItem, by: User, required: bool) -> PlanItem:
    _editable(item.training_class, by)
    item.required = bool(required)
    db.session.flush()
    return item


def remove_plan_item(item: PlanItem, by: User) -> None:
    """Take a course or exam off the plan (a session is cancelled instead, see cancel_session)."""
    _editable(item.training_class, by)
    if item.kind == PlanItemKind.SESSION:
        raise ClassError(_("课次请使用“取消”，以便通知学员。"))
    db.session.delete(item)
    db.session.flush()


# --- sessions -----------------------------------------------------------------------------------------------

def schedule_session(training_class: TrainingClass, by: User, *, title: str, place: str, starts_at: datetime,
                     ends_at: datetime, credit_seconds: int | None = None, trainer_name: str = "",
                     trainer: User | None = None, course: Course | None = None, required: bool = True,
                     counts_for_attendance: bool = True) -> ClassSession:
    """Schedule an offline session (naive UTC times): an OfflineClass for check-in and 学时 (booked under
    ``course`` or the class's own course), and a SESSION plan item (``required`` for graduation or not).
    Credit defaults to the session's length."""
    _editable(training_class, by)
    if not (title or "").strip() or not (place or "").strip():
        raise ClassError(_("请填写课题和地点。"))
    try:
        offline = schedule_class(course=course or class_course(training_class, by), title=title, place=place,
                                 starts_at=starts_at, ends_at=ends_at, credit_seconds=credit_seconds,
                                 org=training_class.host_org, by=by)
    except CheckInError as exc:
        raise ClassError(str(exc)) from exc
    now = clock.utcnow()
    session = ClassSession(class_id=training_class.id, offline_class_id=offline.id,
                           trainer_name=(trainer_name or (trainer.name if trainer else "")).strip()[:100],
                           trainer_id=trainer.id if trainer else None, counts_for_attendance=counts_for_attendance,
                           sequence=0, created_at=now, changed_at=now)
    db.session.add(session)
    db.session.flush()
    db.session.add(PlanItem(class_id=training_class.id, kind=PlanItemKind.SESSION, session_id=session.id,
                            required=bool(required), position=_next_position(training_class)))
    db.session.flush()
    return session


def _notify(session: ClassSession, kind: NoticeKind, data: dict, now: datetime) -> int:
    user_ids = db.session.scalars(select(Participant.user_id).where(
        Participant.class_id == session.class_id, Participant.status == ParticipantStatus.APPROVED)).all()
    for user_id in user_ids:
        db.session.add(ClassNotice(user_id=user_id, class_id=session.class_id, session_id=session.id, kind=kind,
                                   data=data, created_at=now))
    db.session.flush()
    return len(user_ids)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="minutes") if value else None


def update_session(session: ClassSession, by: User, *, title: str | None = None, place: str | None = None,
                   starts_at: datetime | None = None, ends_at: datetime | None = None,
                   trainer_name: str | None = None, credit_seconds: int | None = None, reason: str = "",
                   now: datetime | None = None) -> int:
    """Change a session. A new time or place notifies every approved participant (a notice on their home
    page) and bumps the calendar SEQUENCE; returns how many were notified."""
    now = now or clock.utcnow()
    _editable(session.training_class, by)
    if session.is_cancelled:
        raise ClassError(_("课次已取消。"))
    offline = session.offline_class
    old = {"title": offline.title, "place": offline.place, "starts_at": _iso(offline.starts_at),
           "ends_at": _iso(offline.ends_at)}
    new_start, new_end = starts_at or offline.starts_at, ends_at or offline.ends_at
    if new_end <= new_start:
        raise ClassError(_("结束时间必须晚于开始时间。"))
    moved = (new_start != offline.starts_at or new_end != offline.ends_at
             or (place is not None and place.strip() != offline.place))
    offline.starts_at, offline.ends_at = new_start, new_end
    if place is not None and place.strip():
        offline.place = place.strip()[:200]
    if title is not None and title.strip():
        offline.title = title.strip()[:200]
    if trainer_name is not None:
        session.trainer_name = trainer_name.strip()[:100]
    if credit_seconds is not None:
        offline.credit_seconds = int(credit_seconds)
    session.sequence += 1
    session.changed_at = now
    db.session.flush()
    if not moved:
        return 0
    return _notify(session, NoticeKind.SESSION_MOVED, {
        "title": offline.title, "old": old, "place": offline.place, "starts_at": _iso(offline.starts_at),
        "ends_at": _iso(offline.ends_at), "reason": (reason or "")[:300]}, now)


def move_session(session: ClassSession, by: User, *, starts_at: datetime, ends_at: datetime,
                 place: str | None = None, reason: str = "", now: datetime | None = None) -> int:
    """Move a session to a new time (and place): participants are notified, the feed follows."""
    return update_session(session, by, starts_at=starts_at, ends_at=ends_at, place=place, reason=reason, now=now)


def cancel_session(session: ClassSession, by: User, reason: str = "", now: datetime | None = None) -> int:
    """Cancel a session: kept (STATUS:CANCELLED in the feed), left out of attendance, participants
    notified; returns how many."""
    now = now or clock.utcnow()
    _editable(session.training_class, by)
    if session.is_cancelled:
        return 0
    session.cancelled_at = now
    session.cancel_reason = (reason or "")[:500]
    session.sequence += 1
    session.changed_at = now
    db.session.flush()
    offline = session.offline_class
    return _notify(session, NoticeKind.SESSION_CANCELLED, {
        "title": offline.title, "place": offline.place, "starts_at": _iso(offline.starts_at),
        "ends_at": _iso(offline.ends_at), "reason": session.cancel_reason}, now)


def schedule(training_class: TrainingClass, now: datetime | None = None) -> list[ClassSession]:
    """The class's sessions, next first: upcoming (and under way) by start time, then past ones, latest
    first. Cancelled sessions are included (shown struck through)."""
    now = now or clock.utcnow()
    rows = list(db.session.scalars(select(ClassSession).join(OfflineClass)
                                   .where(ClassSession.class_id == training_class.id)
                                   .order_by(OfflineClass.starts_at, ClassSession.id)))
    upcoming = [s for s in rows if s.ends_at >= now]
    past = [s for s in rows if s.ends_at < now]
    return upcoming + list(reversed(past))


def session_for_manager(user: User, session_id: int) -> ClassSession:
    session = db.session.get(ClassSession, session_id)
    if session is None or not can_manage(user, session.training_class):
        raise NotFound()
    return session
