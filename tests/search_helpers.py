"""Small builders for the search tests: materials and published courses, committed."""
from __future__ import annotations

import hashlib
import itertools

from core.extensions import db
from courses import services as course_services
from courses.models import Audience, LectureKind, Material

_counter = itertools.count(1)


def add_text_material(title: str, text: str, *, audience: Audience = Audience.PUBLIC, category: str = "",
                      org=None, course=None, commit: bool = True) -> Material:
    """A library document as the import would leave it (text already extracted)."""
    n = next(_counter)
    material = Material(title=title, file_kind="txt", file_key=f"test/{n}.txt", filename=f"{n}.txt",
                        mime="text/plain", size=len(text.encode()), text=text, category=category,
                        sha256=hashlib.sha256(f"{n}:{title}:{text}".encode()).hexdigest(), audience=audience,
                        org_id=org.id if org else None, course_id=course.id if course else None)
    db.session.add(material)
    if commit:
        db.session.commit()
    return material


def published_course(by, title: str, *, summary: str = "", lectures=(), audience: Audience = Audience.PUBLIC,
                     org=None, category: str = "", publish: bool = True):
    """A course with text lectures ``[(title, markdown), ...]``, published unless ``publish`` is False."""
    course = course_services.create_course(by, title=title, summary=summary, audience=audience, org=org,
                                           category=category, credit_hours=1)
    for lecture_title, body in lectures or [("第一讲", "学习内容。")]:
        course_services.add_lecture(course, by, kind=LectureKind.TEXT, title=lecture_title, body_markdown=body)
    if publish:
        course_services.publish(course, by)
    db.session.commit()
    return course
