"""Who may see which course, lecture and material. One place, used by pages, API, files and search.

A learner sees a course when it is published, its audience admits them (public courses: anyone;
members-only: party members, probationary members and activists), and, when the course is limited to an
organization, their organization lies in that organization's subtree. Visitors who are not logged in
see public, unlimited courses. Admins and trainers see everything, drafts included (they author them).
"""
from __future__ import annotations

from sqlalchemy import and_, or_, select, true

from accounts.models import MemberCategory
from core.permissions import Role
from courses.models import Audience, Course, CourseStatus, Lecture, Material

PARTY_CATEGORIES = frozenset({MemberCategory.FULL, MemberCategory.PROBATIONARY, MemberCategory.ACTIVIST})


STAFF_ROLES = (Role.ADMIN, Role.TRAINER)


def is_staff(user) -> bool:
    if user is None:
        return False
    unwrap = getattr(user, "_get_current_object", None)  # Flask-Login's current_user: one proxy lookup, not two
    if unwrap is not None:
        user = unwrap()
    return bool(user.is_authenticated and user.role in STAFF_ROLES)


def is_party_learner(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.role != Role.PUBLIC
                and user.category in PARTY_CATEGORIES)


def _org_ids(user) -> list[int]:
    """The user's organization and its ancestors: a course limited to any of them admits the user."""
    if user is None or not user.is_authenticated:
        return []
    org = user.organization or user.managed_org
    return org.path_ids if org is not None else []


def audience_condition(user, audience_col, org_col):
    """SQL: the audience and organization limit admit ``user``."""
    audiences = [Audience.PUBLIC] + ([Audience.MEMBERS] if is_party_learner(user) else [])
    org_ids = _org_ids(user)
    org_ok = or_(org_col.is_(None), org_col.in_(org_ids)) if org_ids else org_col.is_(None)
    return and_(audience_col.in_(audiences), org_ok)


def course_condition(user, include_archived: bool = False):
    """SQL condition on Course for what ``user`` may list. Staff see every course."""
    if is_staff(user):
        return true()
    statuses = [CourseStatus.PUBLISHED] + ([CourseStatus.ARCHIVED] if include_archived else [])
    return and_(Course.status.in_(statuses), audience_condition(user, Course.audience, Course.org_id))


def _admits(user, audience: Audience, org_id: int | None) -> bool:
    if audience == Audience.MEMBERS and not is_party_learner(user):
        return False
    return org_id is None or org_id in _org_ids(user)


def can_view_course(user, course: Course) -> bool:
    """A single course: published (or archived: history stays reachable by direct link) and admitted."""
    if is_staff(user):
        return True
    if course.status == CourseStatus.DRAFT:
        return False
    return _admits(user, course.audience, course.org_id)


def can_view_lecture(user, lecture: Lecture) -> bool:
    """Lectures need a login; a deleted lecture is gone for learners."""
    if user is None or not user.is_authenticated:
        return False
    if lecture.deleted_at is not None and not is_staff(user):
        return False
    return can_view_course(user, lecture.course)


def material_condition(user):
    if is_staff(user):
        return Material.deleted_at.is_(None)
    return and_(Material.deleted_at.is_(None), audience_condition(user, Material.audience, Material.org_id),
                or_(Material.course_id.is_(None),
                    Material.course_id.in_(_visible_course_ids_subquery(user))))


def _visible_course_ids_subquery(user):
    return select(Course.id).where(course_condition(user, include_archived=True))


def can_view_material(user, material: Material) -> bool:
    if material.deleted_at is not None:
        return False
    if is_staff(user):
        return True
    if not _admits(user, material.audience, material.org_id):
        return False
    return material.course is None or can_view_course(user, material.course)


def visibility_key(user) -> tuple:
    """Everything ``course_condition`` depends on: viewers with the same key see the same catalog."""
    if user is None or not user.is_authenticated:
        return ("anonymous",)
    if is_staff(user):
        return ("staff",)
    return ("learner", is_party_learner(user), tuple(_org_ids(user)))


def attachable_condition(course: Course):
    """SQL on Material: library materials every learner of ``course`` may open — not archived, not another
    course's, an audience at least as wide as the course's, and no organization limit narrower than the
    course's own (the material's organization is the course's or one of its ancestors)."""
    audiences = [Audience.PUBLIC] + ([Audience.MEMBERS] if course.audience == Audience.MEMBERS else [])
    org_ids = course.org.path_ids if course.org is not None else []
    org_ok = or_(Material.org_id.is_(None), Material.org_id.in_(org_ids)) if org_ids else Material.org_id.is_(None)
    return and_(Material.deleted_at.is_(None), Material.audience.in_(audiences), org_ok,
                or_(Material.course_id.is_(None), Material.course_id == course.id))
