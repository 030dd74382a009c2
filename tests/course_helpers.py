"""Building blocks for the course tests: published courses with lectures of every kind, a query counter."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal

from sqlalchemy import event

from core.extensions import db
from courses import services
from courses.models import Audience, CourseStatus, LectureKind


def make_course(by=None, *, title="党章学习", audience=Audience.PUBLIC, org=None, lectures=1,
                status=CourseStatus.PUBLISHED, category="理论学习", tags=("党章",), credit=Decimal("2")):
    """A course with ``lectures`` text lectures, in ``status``."""
    course = services.create_course(by, title=title, summary="**学习**党章。", category=category, tags=tags,
                                    audience=audience, org=org, credit_hours=credit)
    for i in range(lectures):
        services.add_lecture(course, by, kind=LectureKind.TEXT, title=f"第{i + 1}讲", body_markdown=f"第{i + 1}讲的内容。")
    if status != CourseStatus.DRAFT:
        services.publish(course, by)
    if status == CourseStatus.ARCHIVED:
        services.archive(course, by)
    db.session.commit()
    return course


def add_offline(course, by=None, title="社区广场党课"):
    lecture = services.add_lecture(course, by, kind=LectureKind.OFFLINE, title=title, body_markdown="请带好笔记本。",
                                   starts_at=datetime(2026, 7, 1, 1, 30), ends_at=datetime(2026, 7, 1, 3, 0),
                                   place="春晖社区文化广场")
    db.session.commit()
    return lecture


class QueryCounter:
    def __init__(self):
        self.statements: list[str] = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


@contextmanager
def count_queries():
    counter = QueryCounter()
    engine = db.engine
    event.listen(engine, "before_cursor_execute", counter)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", counter)
