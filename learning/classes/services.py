"""Write operations and scoped queries of training classes. Services flush; the view or CLI commits once.

Who manages a class (decided here, enforced in every service that takes a manager):
- an admin: every class;
- an organizer: classes hosted in their subtree (``scope_root``); roster members come from that subtree;
- a trainer: classes they created, hosted within their own organization's subtree (they create classes too:
  a party-school teacher often runs a series); roster members come from that subtree.

Capacity is enforced by one conditional UPDATE of the class row (``taken < capacity``): of any number of
concurrent registrations exactly as many succeed as there are places, on SQLite and PostgreSQL.

Elsewhere in this package: graduation.py (standing, progress board, graduate, certificates; re-exported
here), calendar.py (the .ics feed), exports.py (``export_class_workbook``), api.py, cli.py.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import date, datetime
from typing import Iterable

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import NotFound

from accounts.models import Organization, User
from core import clock
from core.extensions import db
from core.permissions import Role
from courses.models import Audience, Course, CourseStatus

# Re-exported, so pages and the API need one import: who manages what (scope.py); standing, the progress
# board, graduation and certificates (graduation.py).
from learning.classes.graduation import (  # noqa: F401
    Board,
    GraduationOutcome,
    RuleResult,
    Standing,
    board,
    certificate_by_code,
    certificate_for,
    graduate,
    period_bounds_utc,
    revoke_certificate,
    standing,
    verify_url,
)
from learning.classes.models import (
    DEFAULT_CLASS_TYPES,
    CalendarToken,
    ClassNotice,
    ClassSession,
    ClassStatus,
    ClassType,
    EnrolmentMode,
    NoticeKind,
    Participant,
    ParticipantStatus,
    PlanItem,
    PlanItemKind,
    TrainingClass,
)
from learning.classes.scope import (  # noqa: F401
    can_manage,
    class_for_manager,
    manage_root,
    manageable_classes,
)
from learning.offline import schedule_class
from quizzes.models import Quiz

PLACE_HOLDING = (ParticipantStatus.APPROVED,)
REGISTRATION_STATUSES = (ClassStatus.OPEN, ClassStatus.RUNNING)


class ClassError(ValueError):
    """A rule of training classes was broken; the message (Chinese, translated) is shown to the user."""


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

def _companion_course(name: str, host_org: Organization, mode: EnrolmentMode, by: User | None) -> Course:
    """The hidden course a class's sessions are booked under (no lectures: it never completes by itself)."""
    course = Course(title=name[:200], summary="", category="培训班", status=CourseStatus.DRAFT,
                    audience=Audience.PUBLIC if mode == EnrolmentMode.OPEN else Audience.MEMBERS,
                    org_id=host_org.id, created_by_id=by.id if by else None)
    db.session.add(course)
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
        next_certificate_seq=1, created_by_id=by.id,
        course_id=_companion_course(name, host_org, mode, by).id)
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


def publish_class(training_class: TrainingClass, by: User) -> TrainingClass:
    """Draft -> open: the class becomes visible to those who may apply or register."""
    if not can_manage(by, training_class):
        raise NotFound()
    if training_class.status != ClassStatus.DRAFT:
        raise ClassError(_("只有草稿状态的培训班可以发布。"))
    training_class.status = ClassStatus.OPEN
    db.session.flush()
    return training_class


def start_class(training_class: TrainingClass, by: User) -> TrainingClass:
    """Open -> running (开班). Registration continues inside its window."""
    if not can_manage(by, training_class):
        raise NotFound()
    if training_class.status not in (ClassStatus.DRAFT, ClassStatus.OPEN):
        raise ClassError(_("培训班当前状态不能开班。"))
    training_class.status = ClassStatus.RUNNING
    db.session.flush()
    return training_class


# --- participants -------------------------------------------------------------------------------------------

def participant_of(training_class: TrainingClass, user: User) -> Participant | None:
    return db.session.scalar(select(Participant).where(Participant.class_id == training_class.id,
                                                       Participant.user_id == user.id))


def participants(training_class: TrainingClass, statuses: Iterable[ParticipantStatus] | None = None) -> list[Participant]:
    """The class's participants with their users, by status then name order of joining."""
    from sqlalchemy.orm import joinedload

    stmt = (select(Participant).options(joinedload(Participant.user).joinedload(User.organization))
            .where(Participant.class_id == training_class.id).order_by(Participant.id))
    if statuses is not None:
        stmt = stmt.where(Participant.status.in_(list(statuses)))
    return list(db.session.scalars(stmt))


def _take_place(training_class: TrainingClass) -> bool:
    """Take one place with a conditional UPDATE (the row lock serializes concurrent writers)."""
    result = db.session.execute(
        update(TrainingClass).where(TrainingClass.id == training_class.id,
                                    or_(TrainingClass.capacity.is_(None),
                                        TrainingClass.taken < TrainingClass.capacity))
        .values(taken=TrainingClass.taken + 1).execution_options(synchronize_session=False))
    return result.rowcount == 1


def _free_place(training_class: TrainingClass) -> None:
    db.session.execute(update(TrainingClass).where(TrainingClass.id == training_class.id, TrainingClass.taken > 0)
                       .values(taken=TrainingClass.taken - 1).execution_options(synchronize_session=False))


def _refresh_taken(training_class: TrainingClass) -> None:
    db.session.refresh(training_class, ["taken"])


def _full() -> ClassError:
    return ClassError(_("名额已满。"))


def _admit(training_class: TrainingClass, participant: Participant | None, user: User, *, source: EnrolmentMode,
           by: User | None, now: datetime, note: str = "") -> Participant:
    """Give ``user`` an approved place (taking one from the capacity counter)."""
    if participant is not None and participant.status == ParticipantStatus.APPROVED:
        return participant
    if not _take_place(training_class):
        _refresh_taken(training_class)
        raise _full()
    if participant is None:
        participant = Participant(class_id=training_class.id, user_id=user.id, status=ParticipantStatus.APPROVED,
                                  source=source, added_by_id=by.id if by else None, created_at=now,
                                  decided_at=now, decided_by_id=by.id if by else None, note=note[:500])
        try:
            with db.session.begin_nested():
                db.session.add(participant)
                db.session.flush()
        except IntegrityError:  # the same user, twice at once: one row, one place
            _free_place(training_class)
            _refresh_taken(training_class)
            existing = participant_of(training_class, user)
            if existing is None:
                raise
            return existing
    else:
        participant.status = ParticipantStatus.APPROVED
        participant.decided_at = now
        participant.decided_by_id = by.id if by else None
        if by is not None and source == EnrolmentMode.ROSTER:
            participant.added_by_id = by.id
        db.session.flush()
    _refresh_taken(training_class)
    return participant


def _members_in(root: Organization | None, users: Iterable[User]) -> list[User]:
    chosen = []
    for user in users:
        if user.role == Role.PUBLIC or user.organization is None:
            raise NotFound()
        if root is not None and not user.organization.is_within(root):
            raise NotFound()
        chosen.append(user)
    return chosen


def add_roster_members(training_class: TrainingClass, members: Iterable[User], by: User,
                       now: datetime | None = None) -> list[Participant]:
    """Put members of ``by``'s subtree on the roster (approved), whatever the enrolment mode. A member of
    another subtree: NotFound. More members than places: ClassError, and none is added."""
    now = now or clock.utcnow()
    if not can_manage(by, training_class):
        raise NotFound()
    if training_class.is_frozen:
        raise ClassError(_("培训班已结业，不能再修改。"))
    chosen = _members_in(manage_root(by), members)
    added = []
    with db.session.begin_nested():  # all or nothing
        for member in chosen:
            added.append(_admit(training_class, participant_of(training_class, member), member,
                                source=EnrolmentMode.ROSTER, by=by, now=now))
    return added


def remove_participant(participant: Participant, by: User, reason: str = "", now: datetime | None = None) -> Participant:
    """An organizer takes someone off the class (withdrawn); an approved place is freed."""
    if not can_manage(by, participant.training_class):
        raise NotFound()
    return _leave(participant, by, reason, now or clock.utcnow())


def _leave(participant: Participant, by: User | None, reason: str, now: datetime) -> Participant:
    if participant.training_class.is_frozen:
        raise ClassError(_("培训班已结业，不能再修改。"))
    if participant.status == ParticipantStatus.APPROVED:
        _free_place(participant.training_class)
    if participant.status in (ParticipantStatus.APPROVED, ParticipantStatus.APPLIED):
        participant.status = ParticipantStatus.WITHDRAWN
        participant.decided_at = now
        participant.decided_by_id = by.id if by else None
        if reason:
            participant.note = reason[:500]
    db.session.flush()
    _refresh_taken(participant.training_class)
    return participant


def withdraw(training_class: TrainingClass, user: User, now: datetime | None = None) -> Participant:
    """A participant leaves a class (or takes back an application); the place is freed."""
    participant = participant_of(training_class, user)
    if participant is None:
        raise NotFound()
    return _leave(participant, user, "", now or clock.utcnow())


def registration_open(training_class: TrainingClass, now: datetime | None = None) -> bool:
    """Published (open or running) and inside the registration window."""
    now = now or clock.utcnow()
    if training_class.status not in REGISTRATION_STATUSES:
        return False
    if training_class.registration_opens_at and now < training_class.registration_opens_at:
        return False
    if training_class.registration_closes_at and now >= training_class.registration_closes_at:
        return False
    return True


def may_apply(training_class: TrainingClass, user: User) -> bool:
    """Application classes take members of the host organization's subtree; open classes take anyone."""
    if training_class.enrolment_mode == EnrolmentMode.OPEN:
        return True
    if training_class.enrolment_mode == EnrolmentMode.APPLICATION:
        return (user.role != Role.PUBLIC and user.organization is not None
                and user.organization.is_within(training_class.host_org))
    return False


def _check_window(training_class: TrainingClass, user: User, now: datetime) -> Participant | None:
    if not registration_open(training_class, now):
        raise ClassError(_("不在报名时间内。"))
    if not may_apply(training_class, user):
        raise NotFound()
    existing = participant_of(training_class, user)
    if existing is not None and existing.status == ParticipantStatus.REJECTED:
        raise ClassError(_("您的报名未获通过。"))
    return existing


def register(training_class: TrainingClass, user: User, now: datetime | None = None) -> Participant:
    """Register for an open class (public learners and members alike): a place now or ClassError
    (full, outside the window). Registering twice returns the same place."""
    now = now or clock.utcnow()
    if training_class.enrolment_mode != EnrolmentMode.OPEN:
        raise ClassError(_("该培训班不接受自行报名。"))
    existing = _check_window(training_class, user, now)
    return _admit(training_class, existing, user, source=EnrolmentMode.OPEN, by=None, now=now)


def apply(training_class: TrainingClass, user: User, note: str = "", now: datetime | None = None) -> Participant:
    """Apply to an application class (members of the host subtree); waits for the organizer."""
    now = now or clock.utcnow()
    if training_class.enrolment_mode != EnrolmentMode.APPLICATION:
        raise ClassError(_("该培训班不接受申请。"))
    existing = _check_window(training_class, user, now)
    if existing is not None and existing.status in (ParticipantStatus.APPLIED, ParticipantStatus.APPROVED):
        return existing
    if training_class.places_left == 0:
        raise _full()
    if existing is None:
        existing = Participant(class_id=training_class.id, user_id=user.id, status=ParticipantStatus.APPLIED,
                               source=EnrolmentMode.APPLICATION, created_at=now, note=(note or "")[:500])
        try:
            with db.session.begin_nested():
                db.session.add(existing)
                db.session.flush()
        except IntegrityError:
            return participant_of(training_class, user)
    else:
        existing.status = ParticipantStatus.APPLIED
        existing.note = (note or "")[:500]
        existing.created_at = now
        db.session.flush()
    return existing


def approve(participant: Participant, by: User, now: datetime | None = None) -> Participant:
    """Approve an application: takes a place (ClassError when the class is full)."""
    if not can_manage(by, participant.training_class):
        raise NotFound()
    if participant.status not in (ParticipantStatus.APPLIED, ParticipantStatus.REJECTED):
        raise ClassError(_("该申请已处理。"))
    return _admit(participant.training_class, participant, participant.user, source=participant.source, by=by,
                  now=now or clock.utcnow())


def reject(participant: Participant, by: User, reason: str = "", now: datetime | None = None) -> Participant:
    """Turn an application down, with a reason shown to the applicant."""
    if not can_manage(by, participant.training_class):
        raise NotFound()
    if participant.status != ParticipantStatus.APPLIED:
        raise ClassError(_("该申请已处理。"))
    participant.status = ParticipantStatus.REJECTED
    participant.decided_at = now or clock.utcnow()
    participant.decided_by_id = by.id
    participant.note = (reason or "")[:500]
    db.session.flush()
    return participant


def is_participant(training_class: TrainingClass, user: User) -> bool:
    p = participant_of(training_class, user)
    return p is not None and p.status == ParticipantStatus.APPROVED


# --- what a user sees ---------------------------------------------------------------------------------------

def my_classes(user: User) -> list[TrainingClass]:
    """Classes ``user`` takes part in or has applied to (not drafts), newest first."""
    stmt = (select(TrainingClass).join(Participant, Participant.class_id == TrainingClass.id)
            .where(Participant.user_id == user.id, TrainingClass.status != ClassStatus.DRAFT,
                   Participant.status.in_([ParticipantStatus.APPROVED, ParticipantStatus.APPLIED]))
            .order_by(TrainingClass.starts_on.desc(), TrainingClass.id.desc()))
    return list(db.session.scalars(stmt))


def registrable_classes_stmt(user: User, now: datetime | None = None):
    """SELECT of published classes ``user`` may register for or apply to now (open classes: anyone;
    application classes: members of the host subtree), soonest first."""
    now = now or clock.utcnow()
    modes = [TrainingClass.enrolment_mode == EnrolmentMode.OPEN]
    if user.role != Role.PUBLIC and user.organization is not None:
        modes.append((TrainingClass.enrolment_mode == EnrolmentMode.APPLICATION)
                     & TrainingClass.host_org_id.in_(user.organization.path_ids))
    return (select(TrainingClass)
            .where(TrainingClass.status.in_(list(REGISTRATION_STATUSES)), or_(*modes),
                   or_(TrainingClass.registration_opens_at.is_(None), TrainingClass.registration_opens_at <= now),
                   or_(TrainingClass.registration_closes_at.is_(None), TrainingClass.registration_closes_at > now))
            .order_by(TrainingClass.starts_on, TrainingClass.id))


def registrable_classes(user: User, now: datetime | None = None) -> list[TrainingClass]:
    return list(db.session.scalars(registrable_classes_stmt(user, now)))


def class_for_viewer(user: User, class_id: int, now: datetime | None = None) -> TrainingClass:
    """A class ``user`` may look at: its managers, its participants (and applicants), and anyone who may
    register for it now. Anything else: NotFound."""
    training_class = db.session.get(TrainingClass, class_id)
    if training_class is None:
        raise NotFound()
    if can_manage(user, training_class):
        return training_class
    if training_class.status == ClassStatus.DRAFT:
        raise NotFound()
    participant = participant_of(training_class, user)
    if participant is not None and participant.status != ParticipantStatus.WITHDRAWN:
        return training_class
    if may_apply(training_class, user) and registration_open(training_class, now):
        return training_class
    raise NotFound()


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


def add_course_item(training_class: TrainingClass, course: Course, by: User, required: bool = True) -> PlanItem:
    """Put an online course on the plan (done = the course completed)."""
    _editable(training_class, by)
    existing = db.session.scalar(select(PlanItem).where(PlanItem.class_id == training_class.id,
                                                        PlanItem.kind == PlanItemKind.COURSE,
                                                        PlanItem.course_id == course.id))
    if existing is not None:
        existing.required = bool(required)
        db.session.flush()
        return existing
    item = PlanItem(class_id=training_class.id, kind=PlanItemKind.COURSE, course_id=course.id,
                    required=bool(required), position=_next_position(training_class))
    db.session.add(item)
    db.session.flush()
    return item


def add_exam_item(training_class: TrainingClass, quiz: Quiz, by: User, required: bool = True) -> PlanItem:
    """Put a quiz on the plan as an exam (done = a passed attempt)."""
    _editable(training_class, by)
    existing = db.session.scalar(select(PlanItem).where(PlanItem.class_id == training_class.id,
                                                        PlanItem.kind == PlanItemKind.EXAM,
                                                        PlanItem.quiz_id == quiz.id))
    if existing is not None:
        existing.required = bool(required)
        db.session.flush()
        return existing
    item = PlanItem(class_id=training_class.id, kind=PlanItemKind.EXAM, quiz_id=quiz.id, required=bool(required),
                    position=_next_position(training_class))
    db.session.add(item)
    db.session.flush()
    return item


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
    from learning.offline import CheckInError

    try:
        offline = schedule_class(course=course or training_class.course, title=title, place=place,
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
    from learning.models import OfflineClass

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


# --- notices ------------------------------------------------------------------------------------------------

def unread_notices(user: User, limit: int = 10) -> list[ClassNotice]:
    return list(db.session.scalars(select(ClassNotice).where(ClassNotice.user_id == user.id,
                                                             ClassNotice.read_at.is_(None))
                                   .order_by(ClassNotice.created_at.desc(), ClassNotice.id.desc()).limit(limit)))


def _local(value: str | None) -> str:
    if not value:
        return ""
    moment = datetime.fromisoformat(value)
    return clock.to_local(moment, current_app.config["DISPLAY_TIMEZONE"]).strftime("%Y-%m-%d %H:%M")


def notice_text(notice: ClassNotice) -> str:
    """The notice worded in the reader's language."""
    data = notice.data or {}
    if notice.kind == NoticeKind.SESSION_CANCELLED:
        text = _("培训班“%(cls)s”的课次“%(title)s”（%(when)s）已取消。", cls=notice.training_class.name,
                 title=data.get("title", ""), when=_local(data.get("starts_at")))
    else:
        text = _("培训班“%(cls)s”的课次“%(title)s”调整为 %(when)s，地点：%(place)s。",
                 cls=notice.training_class.name, title=data.get("title", ""), when=_local(data.get("starts_at")),
                 place=data.get("place", ""))
    if data.get("reason"):
        text += _("原因：%(reason)s", reason=data["reason"])
    return text


def mark_notice_read(user: User, notice_id: int, now: datetime | None = None) -> bool:
    """Mark one of ``user``'s notices read; another user's notice: NotFound."""
    notice = db.session.get(ClassNotice, notice_id)
    if notice is None or notice.user_id != user.id:
        raise NotFound()
    if notice.read_at is None:
        notice.read_at = now or clock.utcnow()
        db.session.flush()
        return True
    return False


def mark_all_notices_read(user: User, now: datetime | None = None) -> int:
    result = db.session.execute(update(ClassNotice).where(ClassNotice.user_id == user.id,
                                                          ClassNotice.read_at.is_(None))
                                .values(read_at=now or clock.utcnow()).execution_options(synchronize_session=False))
    return result.rowcount or 0


# --- calendar tokens ----------------------------------------------------------------------------------------

def _token_mac(user_id: int, nonce: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"class-calendar:{user_id}:{nonce}".encode(), hashlib.sha256).hexdigest()[:32]


def calendar_token(user: User) -> str:
    """The member's secret feed token (created on first use): ``<id>-<hmac>``."""
    row = db.session.scalar(select(CalendarToken).where(CalendarToken.user_id == user.id))
    if row is None:
        row = CalendarToken(user_id=user.id, nonce=secrets.token_hex(16), created_at=clock.utcnow())
        db.session.add(row)
        db.session.flush()
    return f"{user.id}-{_token_mac(user.id, row.nonce)}"


def reset_calendar_token(user: User) -> str:
    """A new secret: every URL handed out before stops working."""
    row = db.session.scalar(select(CalendarToken).where(CalendarToken.user_id == user.id))
    if row is None:
        return calendar_token(user)
    row.nonce = secrets.token_hex(16)
    row.created_at = clock.utcnow()
    db.session.flush()
    return f"{user.id}-{_token_mac(user.id, row.nonce)}"


def user_for_calendar_token(token: str) -> User | None:
    """The user whose feed ``token`` opens, or None (malformed, unknown, reset, or inactive user)."""
    user_part, _sep, mac = (token or "").partition("-")
    if not user_part.isdigit() or len(mac) != 32:
        return None
    row = db.session.scalar(select(CalendarToken).where(CalendarToken.user_id == int(user_part)))
    if row is None or not hmac.compare_digest(_token_mac(row.user_id, row.nonce), mac):
        return None
    user = db.session.get(User, row.user_id)
    return user if user is not None and user.is_active else None


def calendar_url(user: User) -> str:
    """The absolute URL of the member's feed (webcal clients accept https:// too)."""
    from flask import url_for

    return url_for("class_calendar.feed", token=calendar_token(user), _external=True)
