"""Demo courses (courses/demo_content.py): lectures of every kind with small generated videos and PDFs,
published, some required for parts of the grid. Idempotent by course title; the caller commits."""
from __future__ import annotations

import io
import tempfile
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from accounts import services as account_services
from core import storage
from core.extensions import db
from courses import media, services
from courses.demo_content import COURSES, REQUIRED
from courses.demo_library import simple_pdf
from courses.materials import DuplicateMaterial, add_material
from courses.models import Audience, Course, CourseStatus, CreditMode, LectureKind
from courses import enrollments

TRAINER_PHONES = ["13800000011", "13800000012", "13800000013"]
VIDEO_SECONDS = 4
DISPLAY_OFFSET = timedelta(hours=8)  # the demo's class times are Beijing time; stored as UTC


def _trainer(index: int):
    return account_services.find_user_by_login(TRAINER_PHONES[index % len(TRAINER_PHONES)])


def _video_fields(title: str, workdir: Path, index: int) -> dict:
    container = "webm" if index % 4 == 3 else "mp4"
    path = media.make_demo_video(workdir / f"lecture-{index}.{container}", VIDEO_SECONDS, title, container=container)
    stored = storage.save_upload(path, allowed={"mp4", "webm"})
    info = media.probe_video(stored.path)
    return {"media_key": stored.key, "media_mime": stored.mime, "media_size": stored.size,
            "duration_seconds": info.duration_seconds}


def _document_material(course: Course, title: str, paragraphs: list[str], trainer):
    pdf = simple_pdf(title, paragraphs)
    upload = FileStorage(stream=io.BytesIO(pdf), filename=f"{title}.pdf")
    try:
        return add_material(upload, title=f"{course.title}：{title}", uploaded_by=trainer, course=course,
                            audience=course.audience, org=course.org, category=course.category)
    except DuplicateMaterial as duplicate:
        return duplicate.existing


def build_course(spec: dict, index: int, workdir: Path) -> Course:
    trainer = _trainer(index)
    org = account_services.organization_by_code(spec["org"]) if spec.get("org") else None
    course = services.create_course(trainer, title=spec["title"], summary=spec["summary"], category=spec["category"],
                                    tags=spec["tags"], audience=Audience(spec["audience"]), org=org,
                                    credit_mode=CreditMode(spec["credit_mode"]), credit_hours=Decimal(spec["credit"]))
    for title, body in spec["texts"]:
        services.add_lecture(course, trainer, kind=LectureKind.TEXT, title=title, body_markdown=body)
    title, notes = spec["video"]
    services.add_lecture(course, trainer, kind=LectureKind.VIDEO, title=title, body_markdown=notes,
                         **_video_fields(f"{spec['title']} {title}", workdir, index))
    title, paragraphs = spec["document"]
    material = _document_material(course, title, paragraphs, trainer)
    services.add_lecture(course, trainer, kind=LectureKind.DOCUMENT, title=title, material_id=material.id,
                         reading_seconds=max(300, len("".join(paragraphs)) * 60 // 300),
                         body_markdown="请先阅读文档，再完成课后讨论题。")
    title, place, (y, mo, d, h, mi), minutes = spec["offline"]
    starts = datetime(y, mo, d, h, mi) - DISPLAY_OFFSET
    services.add_lecture(course, trainer, kind=LectureKind.OFFLINE, title=title, place=place, starts_at=starts,
                         ends_at=starts + timedelta(minutes=minutes),
                         body_markdown="请准时到场，现场扫码签到后计入学时。")
    services.publish(course, trainer)
    course.published_at = datetime(2026, 1, 5) + timedelta(days=7 * index)  # a stable "newest" order
    return course


def load() -> int:
    """Create the demo courses that are missing and the required assignments; returns how many courses
    were added."""
    existing = set(db.session.scalars(select(Course.title)))
    added = 0
    with tempfile.TemporaryDirectory(prefix="ops-demo-") as tmp:
        for index, spec in enumerate(COURSES):
            if spec["title"] in existing:
                continue
            build_course(spec, index, Path(tmp))
            added += 1
    db.session.flush()
    admin = account_services.find_user_by_login("admin")
    for title, code, (y, m, d) in REQUIRED:
        course = db.session.scalar(select(Course).where(Course.title == title,
                                                        Course.status == CourseStatus.PUBLISHED))
        org = account_services.organization_by_code(code)
        if course is None or org is None:
            continue
        if not _assigned(course, org):
            enrollments.assign_required(course, org, date(y, m, d), admin)
    db.session.flush()
    return added


def _assigned(course: Course, org) -> bool:
    from courses.models import RequiredAssignment

    return db.session.scalar(select(RequiredAssignment.id).where(
        RequiredAssignment.course_id == course.id, RequiredAssignment.org_id == org.id,
        RequiredAssignment.revoked_at.is_(None))) is not None
