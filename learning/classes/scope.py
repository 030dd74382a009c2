"""Who manages which training class. Admins: every class. Organizers: classes hosted in their subtree
(``scope_root``). Trainers: the classes they created, hosted within their own organization's subtree."""
from __future__ import annotations

from sqlalchemy import select
from werkzeug.exceptions import NotFound

from accounts.models import Organization, User
from accounts.services import subtree_condition
from core.extensions import db
from core.permissions import Role
from learning import offline
from learning.classes.models import TrainingClass


def manage_root(user: User) -> Organization | None:
    """The subtree ``user`` hosts classes and picks roster members in; None: everything (admins).
    Raises NotFound for members and public learners (and for trainers without an organization)."""
    if user.role == Role.ADMIN:
        return None
    if user.role == Role.ORGANIZER and user.managed_org is not None:
        return user.managed_org
    if user.role == Role.TRAINER and user.organization is not None:
        return user.organization
    raise NotFound()


def can_manage(user: User, training_class: TrainingClass) -> bool:
    """Admins; organizers whose subtree holds the host organization; the trainer who created the class."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.role == Role.ADMIN:
        return True
    if user.role == Role.ORGANIZER and user.managed_org is not None:
        return training_class.host_org.is_within(user.managed_org)
    if user.role == Role.TRAINER:
        return training_class.created_by_id == user.id
    return False


def manageable_classes(user: User):
    """SELECT of the classes ``user`` manages, newest first (NotFound for those who manage none)."""
    root = manage_root(user)
    stmt = select(TrainingClass)
    if user.role == Role.TRAINER:
        stmt = stmt.where(TrainingClass.created_by_id == user.id)
    elif root is not None:
        stmt = stmt.join(Organization, TrainingClass.host_org_id == Organization.id).where(subtree_condition(root))
    return stmt.order_by(TrainingClass.starts_on.desc(), TrainingClass.id.desc())


def class_for_manager(user: User, class_id: int) -> TrainingClass:
    """The class if ``user`` manages it, else NotFound (another subtree's class is not revealed)."""
    training_class = db.session.get(TrainingClass, class_id)
    if training_class is None or not can_manage(user, training_class):
        raise NotFound()
    return training_class




def _roster_offline_classes(user: User):
    """The offline classes of the training classes ``user`` is on the roster of (they may check in there)."""
    from learning.classes.models import ClassSession, Participant, ParticipantStatus

    return (select(ClassSession.offline_class_id)
            .join(Participant, Participant.class_id == ClassSession.class_id)
            .where(Participant.user_id == user.id, Participant.status == ParticipantStatus.APPROVED))


offline.attendance_grants.append(_roster_offline_classes)
