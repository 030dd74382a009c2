"""JSON API for courses and lectures, with the same visibility rules as the pages."""
from __future__ import annotations

from flask import jsonify, request
from flask_login import current_user

from core.api import PAGE_PARAMETERS, ApiError, api_blueprint, doc, paged
from core.permissions import login_required, public
from courses import services, visibility
from courses.models import Course, Lecture, LectureKind
from courses.views import lecture_media_url, material_file_url
from courses import enrollments

bp = api_blueprint("courses_api", __name__)

CATALOG_PARAMETERS = PAGE_PARAMETERS + [
    {"name": "category", "in": "query", "schema": {"type": "string"}},
    {"name": "tag", "in": "query", "schema": {"type": "string"}},
    {"name": "q", "in": "query", "schema": {"type": "string"}, "description": "words in the title"},
    {"name": "sort", "in": "query", "schema": {"type": "string", "enum": list(services.SORTS)}},
    {"name": "required", "in": "query", "schema": {"type": "string", "enum": ["required", "optional"]}},
]


def _iso(value):
    return value.isoformat() + "Z" if value else None


def course_summary(course: Course) -> dict:
    return {
        "id": course.id,
        "title": course.title,
        "summary": course.summary,
        "category": course.category,
        "tags": course.tags,
        "audience": course.audience.value,
        "org_id": course.org_id,
        "status": course.status.value,
        "credit_mode": course.credit_mode.value,
        "credit_hours": float(course.credit_hours) if course.credit_hours is not None else None,
        "enrollment_count": course.enrollment_count,
        "published_at": _iso(course.published_at),
    }


def lecture_summary(lecture: Lecture) -> dict:
    return {
        "id": lecture.id,
        "course_id": lecture.course_id,
        "position": lecture.position,
        "title": lecture.title,
        "kind": lecture.kind.value,
        "duration_seconds": lecture.duration_seconds,
        "reading_seconds": lecture.reading_seconds,
        "starts_at": _iso(lecture.starts_at),
        "ends_at": _iso(lecture.ends_at),
        "place": lecture.place,
    }


def lecture_detail(lecture: Lecture) -> dict:
    data = lecture_summary(lecture) | {"body_html": lecture.body_html, "material_id": lecture.material_id}
    if lecture.kind == LectureKind.VIDEO and lecture.media_key:
        data["media_url"] = lecture_media_url(lecture)
        data["media_mime"] = lecture.media_mime
    if lecture.kind == LectureKind.DOCUMENT and lecture.material_id:
        data["document_url"] = material_file_url(lecture.material_id)
    return data


@bp.get("/courses")
@public
@doc("The course catalog the caller may see, paged and filtered", tag="courses", parameters=CATALOG_PARAMETERS)
def list_courses():
    args = request.args
    sort = args.get("sort") if args.get("sort") in services.SORTS else "newest"
    required = args.get("required") if args.get("required") in ("required", "optional") else None
    stmt = services.catalog_query(current_user, category=args.get("category") or None, tag=args.get("tag") or None,
                                  q=(args.get("q") or "").strip()[:50] or None, sort=sort, required=required)
    return jsonify(paged(stmt, course_summary))


@bp.get("/courses/<int:course_id>")
@public
@doc("A course with its lectures, the caller's enrollment and deadline", tag="courses")
def get_course(course_id: int):
    course = services.course_with_lectures(course_id)
    if course is None or not visibility.can_view_course(current_user, course):
        raise ApiError(404, "course not found")
    enrollment = enrollments.enrollment_of(current_user, course)
    due = enrollments.required_course_ids(current_user).get(course.id)
    progress = services.progress_by_lecture(current_user, course.id)
    lectures = [lecture_summary(lecture) | {"completed": bool(progress.get(lecture.id))}
                for lecture in course.lectures]
    return jsonify(course_summary(course) | {
        "lectures": lectures,
        "enrolled": enrollment is not None,
        "required_due_date": due.isoformat() if due else None,
    })


@bp.get("/lectures/<int:lecture_id>")
@login_required
@doc("A lecture: its text, video or document address, or offline time and place", tag="courses")
def get_lecture(lecture_id: int):
    lecture = services.lecture_for_page(lecture_id)
    if lecture is None or not visibility.can_view_lecture(current_user, lecture):
        raise ApiError(404, "lecture not found")
    return jsonify(lecture_detail(lecture))
