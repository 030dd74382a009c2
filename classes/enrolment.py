"""Who takes part in a class: roster assignment, applications and approval, open registration, leaving,
and which classes a user sees.

Capacity is enforced by one conditional UPDATE of the class row (``taken < capacity``): of any number of
concurrent registrations exactly as many succeed as there are places, on SQLite and PostgreSQL. Services
flush; the caller commits.
"""
from __future__ import annotations

from datetime import datetime
from typing import Iterable

from flask_babel import gettext as _
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from werkzeug.exceptions import NotFound

from accounts.models import Organization, User
from core import clock
from core.extensions import db
from core.permissions import Role
from messages.services import notify
from classes.models import (ClassError, ClassStatus, EnrolmentMode, Participant, ParticipantStatus,
                                     TrainingClass)
from classes.scope import can_manage, manage_root

REGISTRATION_STATUSES = (ClassStatus.OPEN, ClassStatus.RUNNING)

# --- participants -------------------------------------------------------------------------------------------

def participant_of(training_class: TrainingClass, user: User) -> Participant | None:
    return db.session.scalar(select(Participant).where(Participant.class_id == training_class.id,
                                                       Participant.user_id == user.id))


def participants(training_class: TrainingClass,
                 statuses: Iterable[ParticipantStatus] | None = None) -> list[Participant]:
    """The class's participants with their users, in the order they joined."""
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


def remove_participant(participant: Participant, by: User, reason: str = "",
                       now: datetime | None = None) -> Participant:
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
    admitted = _admit(participant.training_class, participant, participant.user, source=participant.source, by=by,
                      now=now or clock.utcnow())
    notify(participant.user_id, "application_approved",
           _("您报名的培训班「%(name)s」已通过审核。", name=participant.training_class.name))
    return admitted


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
    notify(participant.user_id, "application_rejected",
           _("您报名的培训班「%(name)s」未通过审核。", name=participant.training_class.name)
           + (_("原因：%(reason)s", reason=participant.note) if participant.note else ""))
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
