"""Demo training hours: a year of believable history for the demo district's party members.

Runs after the accounts, courses and quizzes demo loaders. Deterministic (a fixed seed, dates counted
from January 1 of the current year up to today) and idempotent (it does nothing once its marker entry is
there). Every entry has a real source: a study session row (online study is recorded here as one ledger
entry per demo session, ``session:<id>:demo``, rather than one per heartbeat), a check-in of an offline
class held in a community square, or an organizer's manual entry with its audit row. Some members stay
behind their requirement, most are on track, some are far ahead.
"""
from __future__ import annotations

import hashlib
import random
import secrets
from datetime import timedelta

from sqlalchemy import insert, select

from accounts.models import MemberCategory, Organization, User
from core import clock
from core.extensions import db
from core.permissions import Role
from courses.models import Course, CourseStatus, Lecture, LectureKind
from learning import hours
from learning.models import CheckIn, HourAudit, HourEntry, HourSource, OfflineClass, StudySession
from courses.models import LectureProgress

MARKER = "demo:loaded"
SEED = 20250701
PARTY = (MemberCategory.FULL, MemberCategory.PROBATIONARY)
CLASS_TOPICS = ["学习党章 遵守党章", "社区广场微党课：身边的榜样", "学习贯彻党的二十大精神宣讲", "垃圾分类与社区治理",
                "七一主题党日", "国家安全教育", "传承红色基因", "冬季消防安全与邻里互助"]
MANUAL_REASONS = ["县委党校春季培训班", "上级调训：街道党工委书记轮训", "区委组织部专题培训", "党员冬训集中学习"]


def is_loaded() -> bool:
    return db.session.scalar(select(HourEntry.id).where(HourEntry.source == HourSource.MANUAL,
                                                        HourEntry.source_ref == MARKER)) is not None


def load() -> int:
    """Write the history; returns the number of ledger entries added (0 when already loaded)."""
    hours.ensure_default_requirements()
    if is_loaded():
        return 0
    rng = random.Random(SEED)
    now = clock.utcnow()
    year = hours.current_year()
    start, _ = hours.year_bounds_utc(year)
    days = max(1, (now - start).days)
    lectures = db.session.scalars(
        select(Lecture).join(Course, Course.id == Lecture.course_id)
        .where(Course.status == CourseStatus.PUBLISHED, Lecture.deleted_at.is_(None),
               Lecture.kind.in_([LectureKind.TEXT, LectureKind.VIDEO, LectureKind.DOCUMENT]))
        .order_by(Lecture.course_id, Lecture.position)).all()
    members = db.session.scalars(select(User).where(User.role == Role.MEMBER, User.category.in_(PARTY))
                                 .order_by(User.id)).all()
    admin = db.session.scalar(select(User).where(User.role == Role.ADMIN).order_by(User.id))
    if not members or admin is None or not lectures:
        return 0  # no demo courses yet (courses/demo.py): a later run, after them, writes the history
    entries: list[dict] = []
    offline_by_member = _offline_classes(rng, members, start, days, now, entries)
    _online_history(rng, members, lectures, year, days, now, entries, offline_by_member)
    _manual_entries(rng, members, start, days)
    if entries:
        db.session.execute(insert(HourEntry), entries)
    db.session.add(HourEntry(user_id=admin.id, seconds=0, source=HourSource.MANUAL, source_ref=MARKER,
                             occurred_at=now, recorded_by_id=admin.id, note="demo"))
    db.session.flush()
    return len(entries) + 1


def _target_share(rng: random.Random, member: User) -> float:
    """How far through their year's requirement this member should be, as a share of it (pro rata)."""
    roll = rng.random()
    if roll < 0.2:
        return rng.uniform(0.15, 0.5)  # behind
    if roll < 0.8:
        return rng.uniform(0.85, 1.15)  # on track
    return rng.uniform(1.6, 2.6)  # far ahead


def _offline_classes(rng, members, start, days, now, entries) -> dict[int, int]:
    """A class in each community's square every other month, attended by most of its members."""
    course = db.session.scalar(select(Course).where(Course.status == CourseStatus.PUBLISHED).order_by(Course.id))
    credited: dict[int, int] = {}
    if course is None:
        return credited
    by_community: dict[int, list[User]] = {}
    for member in members:
        org = member.organization
        community_id = next((i for i in (org.path_ids if org else []) if _kind(i) == "社区"), None)
        if community_id is not None:
            by_community.setdefault(community_id, []).append(member)
    for community_id, people in sorted(by_community.items()):
        community = db.session.get(Organization, community_id)
        for n, offset in enumerate(range(rng.randrange(5, 20), days - 1, 61)):
            day = start + timedelta(days=offset)
            starts_at = day.replace(hour=11, minute=0)  # 19:00 in Shanghai: after work, in the square
            if starts_at > now:
                break
            item = OfflineClass(course_id=course.id, title=CLASS_TOPICS[(n + community_id) % len(CLASS_TOPICS)],
                                place=f"{community.name}文化广场", starts_at=starts_at,
                                ends_at=starts_at + timedelta(minutes=90), credit_seconds=90 * 60, org_id=community_id,
                                created_at=starts_at - timedelta(days=7))
            db.session.add(item)
            db.session.flush()
            for member in people:
                if rng.random() < 0.65:
                    check = CheckIn(class_id=item.id, user_id=member.id,
                                    checked_in_at=starts_at + timedelta(minutes=rng.randrange(-10, 15)),
                                    method="code")
                    db.session.add(check)
                    db.session.flush()
                    entries.append(dict(user_id=member.id, seconds=item.credit_seconds, source=HourSource.OFFLINE,
                                        source_ref=f"checkin:{check.id}", occurred_at=check.checked_in_at,
                                        course_id=course.id, lecture_id=None, recorded_by_id=None, note=item.title))
                    credited[member.id] = credited.get(member.id, 0) + item.credit_seconds
    return credited


_kinds: dict[int, str] = {}


def _kind(org_id: int) -> str:
    if org_id not in _kinds:
        org = db.session.get(Organization, org_id)
        _kinds[org_id] = org.kind if org else ""
    return _kinds[org_id]


def _online_history(rng, members, lectures, year, days, now, entries, offline_by_member) -> dict[int, int]:
    start, _ = hours.year_bounds_utc(year)
    elapsed_share = days / 365
    credited: dict[int, int] = {}
    token_hash = hashlib.sha256(secrets.token_bytes(16)).hexdigest()  # demo sessions cannot be resumed
    progress_seen: set[tuple[int, int]] = set()
    for member in members:
        required = hours.required_seconds_for(member, year)
        goal = int(required * elapsed_share * _target_share(rng, member)) - offline_by_member.get(member.id, 0)
        total = 0
        cursor = rng.randrange(0, 10)
        sessions = []
        while total < goal and cursor < days:
            lecture = lectures[rng.randrange(len(lectures))]
            seconds = rng.randrange(20, 75) * 60
            started = (start + timedelta(days=cursor, hours=rng.choice([0, 4, 11, 12, 13]),
                                         minutes=rng.randrange(60)))
            if started + timedelta(seconds=seconds) > now:
                break
            sessions.append(StudySession(
                user_id=member.id, lecture_id=lecture.id, course_id=lecture.course_id, kind=lecture.kind.value,
                token_hash=token_hash, started_at=started, superseded_at=started + timedelta(seconds=seconds + 60),
                last_seq=seconds // 30, last_beat_at=started + timedelta(seconds=seconds), credited_seconds=seconds,
                lecture_cap=max(seconds, lecture.duration_seconds or 0, lecture.reading_seconds or 0),
                lecture_credited=seconds, day=started.date().isoformat(), day_credited=seconds,
                video_seconds=lecture.duration_seconds or 0, completed=False))
            total += seconds
            cursor += rng.randrange(2, 9)
        db.session.add_all(sessions)
        db.session.flush()
        for session in sessions:
            entries.append(dict(user_id=member.id, seconds=session.credited_seconds, source=HourSource.ONLINE,
                                source_ref=f"session:{session.id}:demo", occurred_at=session.last_beat_at,
                                course_id=session.course_id, lecture_id=session.lecture_id, recorded_by_id=None,
                                note=""))
            key = (member.id, session.lecture_id)
            if key not in progress_seen:
                progress_seen.add(key)
                db.session.add(LectureProgress(user_id=member.id, lecture_id=session.lecture_id,
                                               course_id=session.course_id, started_at=session.started_at,
                                               completed_at=session.last_beat_at if rng.random() < 0.7 else None))
        credited[member.id] = total
    db.session.flush()
    return credited


def _manual_entries(rng, members, start, days) -> None:
    """One member in twenty went to a training outside the platform; their organizer entered it."""
    organizers = db.session.scalars(select(User).where(User.role == Role.ORGANIZER)).all()
    for member in members:
        if rng.random() >= 0.05 or member.organization is None:
            continue
        keeper = next((o for o in sorted(organizers, key=lambda o: -(o.managed_org.depth if o.managed_org else 0))
                       if o.managed_org and member.organization.is_within(o.managed_org)), None)
        if keeper is None:
            continue
        occurred = start + timedelta(days=rng.randrange(0, max(1, days - 1)), hours=4)
        seconds = rng.choice([4, 8, 16]) * hours.seconds_per_unit()
        reason = rng.choice(MANUAL_REASONS)
        ref = f"manual:demo-{member.id}"
        entry = HourEntry(user_id=member.id, seconds=seconds, source=HourSource.MANUAL, source_ref=ref,
                          occurred_at=occurred, recorded_by_id=keeper.id, note=reason)
        db.session.add(entry)
        db.session.flush()
        db.session.add(HourAudit(at=occurred + timedelta(days=2), actor_id=keeper.id, member_id=member.id,
                                 action="manual", entry_id=entry.id, seconds=seconds, reason=reason))

