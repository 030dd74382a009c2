"""Authoring courses and lectures, publishing, archiving, and the catalog's queries.

Services flush, never commit. A change to a published course that a learner would notice (a lecture
added or removed, a lecture's duration changed) is recorded as a ``CourseChange`` with who and when.
"""
from __future__ import annotations

import math
import re
from datetime import datetime
from decimal import Decimal
from typing import Iterable

from blinker import Namespace
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, false, func, select
from sqlalchemy.orm import joinedload, selectinload

from core import clock
from core.extensions import db
from core.markdown import render_markdown
from core.permissions import Role
from core.text import single_line
from courses import visibility
from courses.models import Course, CourseAuthor, CourseChange, CourseStatus, CourseTag, Lecture, LectureKind

READING_CHARS_PER_MINUTE = 400  # Chinese text, a careful reader
SORTS = ("newest", "popular")
MAX_TAGS = 10


class CourseError(ValueError):
    """A rule about courses was broken; the message (or messages) are shown to the author."""

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.problems = problems or [message]


# --- courses -----------------------------------------------------------------------------------

def parse_tags(text: str | Iterable[str] | None) -> list[str]:
    """Tags from "党史, 党章；学习" (commas, Chinese commas/semicolons or spaces), de-duplicated, in order."""
    parts = re.split(r"[,，;；、\s]+", text) if isinstance(text, str) else list(text or [])
    tags: list[str] = []
    for part in parts:
        tag = part.strip()[:30]
        if tag and tag not in tags:
            tags.append(tag)
    return tags[:MAX_TAGS]


def touch(course: Course) -> None:
    """Mark the course changed (its ``updated_at`` keys the cached syllabus on every server, courses/cache.py)."""
    course.updated_at = clock.utcnow()


def set_tags(course: Course, tags: Iterable[str]) -> None:
    wanted = parse_tags(list(tags))
    course.tag_rows = [row for row in course.tag_rows if row.tag in wanted] + [
        CourseTag(tag=t) for t in wanted if t not in {row.tag for row in course.tag_rows}]


# Sent (sender: the course; ``lecture``: one lecture, or None for all) in the transaction that may take a
# course or lecture out of some learners' sight — a deleted lecture, an archived course, a new audience or
# organization limit — after it is flushed. The hours engine ends the study sessions of those who may no longer
# see it; receivers flush, never commit.
lecture_access_changed = Namespace().signal("lecture-access-changed")
SIGHT_FIELDS = ("audience", "org")

COURSE_FIELDS = ("title", "summary", "category", "audience", "org", "credit_mode", "credit_hours", "cover_key")


def create_course(by, *, title: str, tags: Iterable[str] | str = (), **fields) -> Course:
    course = Course(title=single_line(title), created_by_id=by.id if by else None, status=CourseStatus.DRAFT,
                    enrollment_count=0, summary="", category="")
    _apply_course_fields(course, fields)
    db.session.add(course)
    set_tags(course, parse_tags(tags))
    db.session.flush()
    return course


COURSE_FIELD_LABELS = {"title": _l("标题"), "summary": _l("简介"), "category": _l("分类"), "audience": _l("学习对象"),
                       "org": _l("所属组织"), "credit_mode": _l("计学时方式"), "credit_hours": _l("学时"),
                       "cover_key": _l("封面"), "tags": _l("标签")}


def update_course(course: Course, by, *, tags: Iterable[str] | str | None = None, **fields) -> Course:
    """Change the course's fields; on a published course the change is logged with who and which fields."""
    if "title" in fields:
        fields["title"] = single_line(fields["title"])
    sight_before = [getattr(course, name) for name in SIGHT_FIELDS]
    before = {name: getattr(course, name) for name in fields if name in COURSE_FIELDS}
    tags_before = course.tags
    _apply_course_fields(course, fields)
    if tags is not None:
        set_tags(course, parse_tags(tags))
    changed = [name for name, value in before.items() if getattr(course, name) != value]
    if tags is not None and sorted(row.tag for row in course.tag_rows) != tags_before:
        changed.append("tags")
    if changed:
        record_change(course, by, _("修改了课程信息：%(fields)s。",
                                    fields="、".join(str(COURSE_FIELD_LABELS[name]) for name in changed)))
    touch(course)
    db.session.flush()
    if [getattr(course, name) for name in SIGHT_FIELDS] != sight_before:
        lecture_access_changed.send(course, lecture=None)
    return course


def _apply_course_fields(course: Course, fields: dict) -> None:
    for name, value in fields.items():
        if name not in COURSE_FIELDS:
            raise TypeError(f"unknown course field {name!r}")
        if name == "credit_hours" and value is not None:
            value = Decimal(str(value))
        if name in ("summary", "category"):
            value = (value or "").strip()
        setattr(course, name, value)


def publish_problems(course: Course) -> list[str]:
    """What keeps ``course`` from being published, in words an author understands (empty: ready)."""
    problems = []
    lectures = live_lectures(course)
    if not lectures:
        problems.append(_("至少需要一个课时。"))
    for lecture in lectures:
        if lecture.kind == LectureKind.VIDEO and not (lecture.media_key and lecture.duration_seconds):
            problems.append(_("视频课时“%(title)s”还没有可播放的视频。", title=lecture.title))
        if lecture.kind == LectureKind.DOCUMENT and lecture.material_id is None:
            problems.append(_("文档课时“%(title)s”还没有上传文档。", title=lecture.title))
        if lecture.kind == LectureKind.OFFLINE and not (lecture.starts_at and lecture.place):
            problems.append(_("线下课时“%(title)s”还没有设定时间和地点。", title=lecture.title))
    if not course.credit_hours or course.credit_hours <= 0:
        problems.append(_("还没有设定学时。"))
    return problems


def publish(course: Course, by) -> Course:
    if course.status == CourseStatus.PUBLISHED:
        return course
    problems = publish_problems(course)
    if problems:
        raise CourseError(_("课程还不能发布："), problems)
    course.status = CourseStatus.PUBLISHED
    course.published_at = course.published_at or clock.utcnow()
    db.session.flush()
    return course


def archive(course: Course, by) -> Course:
    """Hide the course from the catalog; enrollments, progress and direct links stay."""
    record_change(course, by, _("归档了课程。"))  # logged while it is still published
    course.status = CourseStatus.ARCHIVED
    db.session.flush()
    lecture_access_changed.send(course, lecture=None)
    return course


def record_change(course: Course, by, summary: str) -> CourseChange | None:
    """Log a learner-noticeable change, but only once the course is out (drafts change freely)."""
    if course.status != CourseStatus.PUBLISHED:
        return None
    change = CourseChange(course_id=course.id, user_id=by.id if by else None, at=clock.utcnow(), summary=summary)
    db.session.add(change)
    return change


# --- who edits a course: its owner, its co-authors, admins --------------------------------------

def can_edit(user, course: Course) -> bool:
    """Admins; the course's owner (who created it); its co-authors."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.role == Role.ADMIN or (course.created_by_id is not None and course.created_by_id == user.id):
        return True
    return db.session.scalar(select(CourseAuthor.id).where(CourseAuthor.course_id == course.id,
                                                           CourseAuthor.user_id == user.id)) is not None


def authors_of(course: Course) -> list[CourseAuthor]:
    return list(db.session.scalars(select(CourseAuthor).options(joinedload(CourseAuthor.user))
                                   .where(CourseAuthor.course_id == course.id).order_by(CourseAuthor.id)))


def add_author(course: Course, author, by) -> CourseAuthor:
    """Make ``author`` (a trainer or an admin) a co-author; only the owner or an admin may."""
    if not (by.role == Role.ADMIN or course.created_by_id == by.id):
        raise CourseError(_("只有课程负责人或管理员可以添加合作者。"))
    if author.role not in (Role.TRAINER, Role.ADMIN):
        raise CourseError(_("合作者须为教员。"))
    if course.created_by_id == author.id:
        raise CourseError(_("此人已是课程负责人。"))
    existing = db.session.scalar(select(CourseAuthor).where(CourseAuthor.course_id == course.id,
                                                            CourseAuthor.user_id == author.id))
    if existing is not None:
        return existing
    row = CourseAuthor(course_id=course.id, user_id=author.id, added_by_id=by.id, added_at=clock.utcnow())
    db.session.add(row)
    record_change(course, by, _("添加合作者 %(name)s。", name=author.name))
    db.session.flush()
    return row


def changes_of(course: Course) -> list[CourseChange]:
    return list(db.session.scalars(select(CourseChange).options(joinedload(CourseChange.user))
                                   .where(CourseChange.course_id == course.id)
                                   .order_by(CourseChange.at.desc(), CourseChange.id.desc())))


# --- lectures ----------------------------------------------------------------------------------

def live_lectures(course: Course) -> list[Lecture]:
    return list(db.session.scalars(select(Lecture).where(Lecture.course_id == course.id,
                                                         Lecture.deleted_at.is_(None))
                                   .order_by(Lecture.position, Lecture.id)))


def estimate_reading_seconds(markdown_text: str) -> int:
    chars = len(re.sub(r"\s+", "", markdown_text or ""))
    return max(60, math.ceil(chars * 60 / READING_CHARS_PER_MINUTE))


LECTURE_FIELDS = ("title", "body_markdown", "reading_seconds", "starts_at", "ends_at", "place",
                  "media_key", "media_mime", "media_size", "duration_seconds", "material_id")


def add_lecture(course: Course, by, *, kind: LectureKind, title: str, **fields) -> Lecture:
    last = db.session.scalar(select(func.max(Lecture.position)).where(Lecture.course_id == course.id))
    lecture = Lecture(course_id=course.id, kind=LectureKind(kind), title=single_line(title),
                      position=(last or 0) + 1, body_markdown="", body_html="")
    lecture.course = course
    _apply_lecture_fields(lecture, fields)
    db.session.add(lecture)
    touch(course)
    db.session.flush()
    record_change(course, by, _("新增课时“%(title)s”。", title=lecture.title))
    db.session.flush()
    return lecture


def update_lecture(lecture: Lecture, by, **fields) -> Lecture:
    before = lecture.duration_seconds
    _apply_lecture_fields(lecture, fields)
    touch(lecture.course)
    if lecture.kind == LectureKind.VIDEO and before != lecture.duration_seconds and before is not None:
        record_change(lecture.course, by, _("课时“%(title)s”的时长由 %(old)s 改为 %(new)s。", title=lecture.title,
                                            old=format_duration(before),
                                            new=format_duration(lecture.duration_seconds)))
    db.session.flush()
    return lecture


def _apply_lecture_fields(lecture: Lecture, fields: dict) -> None:
    for name, value in fields.items():
        if name not in LECTURE_FIELDS:
            raise TypeError(f"unknown lecture field {name!r}")
        if name == "title":
            value = single_line(value)
        setattr(lecture, name, value)
    if "body_markdown" in fields:
        lecture.body_markdown = lecture.body_markdown or ""
        lecture.body_html = render_markdown(lecture.body_markdown)
        if lecture.kind == LectureKind.TEXT and not fields.get("reading_seconds"):
            lecture.reading_seconds = estimate_reading_seconds(lecture.body_markdown)
    if lecture.starts_at and lecture.ends_at and lecture.ends_at <= lecture.starts_at:
        raise CourseError(_("结束时间必须晚于开始时间。"))


def attach_material(course: Course, by, material) -> Lecture:
    """A document lecture showing an existing library material (checked attachable by the caller)."""
    reading = estimate_reading_seconds(material.text) if material.text else 10 * 60
    return add_lecture(course, by, kind=LectureKind.DOCUMENT, title=material.title[:200], material_id=material.id,
                       reading_seconds=reading)


def set_video(lecture: Lecture, by, *, key: str, mime: str, size: int, duration_seconds: int) -> Lecture:
    """Attach an uploaded, probed video (the caller stored and probed it)."""
    return update_lecture(lecture, by, media_key=key, media_mime=mime, media_size=size,
                          duration_seconds=int(duration_seconds))


def delete_lecture(lecture: Lecture, by) -> None:
    """Soft delete: the lecture leaves the syllabus, study records pointing at it stay."""
    if lecture.deleted_at is not None:
        return
    lecture.deleted_at = clock.utcnow()
    touch(lecture.course)
    record_change(lecture.course, by, _("删除课时“%(title)s”。", title=lecture.title))
    db.session.flush()
    lecture_access_changed.send(lecture.course, lecture=lecture)


def move_lecture(lecture: Lecture, direction: int) -> None:
    """Swap ``lecture`` with its neighbour above (direction -1) or below (+1)."""
    siblings = live_lectures(lecture.course)
    for i, item in enumerate(siblings):  # normalise positions 1..n first
        item.position = i + 1
    index = next(i for i, item in enumerate(siblings) if item.id == lecture.id)
    other = index + (1 if direction > 0 else -1)
    if 0 <= other < len(siblings):
        siblings[index].position, siblings[other].position = siblings[other].position, siblings[index].position
    touch(lecture.course)
    db.session.flush()


def format_duration(seconds: int | None) -> str:
    if not seconds:
        return "0:00"
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def local_to_utc(value: datetime | None, tz_name: str) -> datetime | None:
    """A naive datetime the user typed in the display time zone -> naive UTC for storage."""
    if value is None:
        return None
    from datetime import timezone
    from zoneinfo import ZoneInfo

    return value.replace(tzinfo=ZoneInfo(tz_name)).astimezone(timezone.utc).replace(tzinfo=None)


# --- catalog and pages -------------------------------------------------------------------------

def catalog_query(user, *, category: str | None = None, tag: str | None = None, sort: str = "newest",
                  required: str | None = None, q: str | None = None, authoring: bool = False):
    """SELECT of the courses ``user`` may see in the catalog, filtered and sorted.

    ``required``: "required" keeps the courses required of the user, "optional" the others.
    Learners see published courses only; ``authoring`` (the /teach list) shows every status to staff."""
    from learning.enrollments import required_subquery

    stmt = select(Course).where(visibility.course_condition(user))
    if not authoring:
        stmt = stmt.where(Course.status == CourseStatus.PUBLISHED)
    if category:
        stmt = stmt.where(Course.category == category)
    if tag:
        stmt = stmt.where(Course.id.in_(select(CourseTag.course_id).where(CourseTag.tag == tag)))
    if q:
        stmt = stmt.where(Course.title.contains(q.strip(), autoescape=True))
    if required in ("required", "optional"):
        sub = required_subquery(user)
        if required == "required":
            stmt = stmt.where(Course.id.in_(sub)) if sub is not None else stmt.where(false())
        elif sub is not None:
            stmt = stmt.where(Course.id.not_in(sub))
    if sort == "popular":
        stmt = stmt.order_by(Course.enrollment_count.desc(), Course.id.desc())
    elif authoring:
        stmt = stmt.order_by(Course.updated_at.desc(), Course.id.desc())
    else:
        stmt = stmt.order_by(Course.published_at.desc(), Course.id.desc())
    return stmt


def catalog_facets(user) -> tuple[list[str], list[str]]:
    """Categories and the most used tags among the courses ``user`` may see (two queries)."""
    visible = (select(Course.id).where(visibility.course_condition(user),
                                       Course.status == CourseStatus.PUBLISHED))
    categories = db.session.scalars(select(Course.category).where(Course.id.in_(visible), Course.category != "")
                                    .group_by(Course.category).order_by(Course.category)).all()
    tags = db.session.scalars(select(CourseTag.tag).where(CourseTag.course_id.in_(visible))
                              .group_by(CourseTag.tag).order_by(func.count().desc(), CourseTag.tag)
                              .limit(30)).all()
    return list(categories), list(tags)


def course_with_lectures(course_id: int) -> Course | None:
    return db.session.scalar(select(Course).options(selectinload(Course.lectures), joinedload(Course.org))
                             .where(Course.id == course_id))


def lecture_for_page(lecture_id: int) -> Lecture | None:
    return db.session.scalar(select(Lecture).options(joinedload(Lecture.course).joinedload(Course.org),
                                                     joinedload(Lecture.material))
                             .where(Lecture.id == lecture_id))


def syllabus(course_id: int) -> list[tuple[int, str, LectureKind]]:
    """(id, title, kind) of the live lectures, for the lecture page's previous/next and list."""
    return [tuple(row) for row in db.session.execute(
        select(Lecture.id, Lecture.title, Lecture.kind).where(Lecture.course_id == course_id,
                                                              Lecture.deleted_at.is_(None))
        .order_by(Lecture.position, Lecture.id))]


def progress_by_lecture(user, course_id: int) -> dict[int, datetime | None]:
    """{lecture id: completed_at (None when started, not finished)} for ``user`` in one query."""
    from learning.models import LectureProgress

    if user is None or not user.is_authenticated:
        return {}
    global _PROGRESS_BY_LECTURE
    if _PROGRESS_BY_LECTURE is None:  # built once: building the select costs about as much as running it
        _PROGRESS_BY_LECTURE = select(LectureProgress.lecture_id, LectureProgress.completed_at).where(
            LectureProgress.user_id == bindparam("user_id"), LectureProgress.course_id == bindparam("course_id"))
    rows = db.session.execute(_PROGRESS_BY_LECTURE, {"user_id": user.id, "course_id": course_id})
    return {lecture_id: completed for lecture_id, completed in rows}


_PROGRESS_BY_LECTURE = None


def study_minutes(lectures: list[Lecture]) -> int:
    """The study time of these lectures in minutes (video length, reading time, or the offline class's span)."""
    seconds = 0
    for lecture in lectures:
        if lecture.kind == LectureKind.VIDEO:
            seconds += lecture.duration_seconds or 0
        elif lecture.kind in (LectureKind.TEXT, LectureKind.DOCUMENT):
            seconds += lecture.reading_seconds or 0
        elif lecture.starts_at and lecture.ends_at:
            seconds += int((lecture.ends_at - lecture.starts_at).total_seconds())
    return math.ceil(seconds / 60)

