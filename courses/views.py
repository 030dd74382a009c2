"""Learner pages: the catalog, a course page, a lecture page, enrolling."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from werkzeug.routing import BuildError

from core import storage
from core.extensions import db
from core.nav import NavLink
from core.permissions import login_required, public
from courses import pages, reading, services, visibility
from courses.forms import AUDIENCE_LABELS, KIND_LABELS, STATUS_LABELS
from courses.models import Course, LectureKind
from courses import enrollments

bp = Blueprint("courses", __name__)

NAV_LINKS = [NavLink("courses.catalog", _l("课程"), anonymous=True)]
def home_panel(user) -> dict | None:
    """The home page's course panel: my required courses with their state, or courses to start with."""
    required, starters = enrollments.required_courses_state(user), start_courses(user)
    return {"required": required, "starters": starters} if required or starters else None


HOME_PANEL = ("courses/_home_panel.html", home_panel)

CATALOG_PER_PAGE = pages.CATALOG_PER_PAGE


@bp.app_context_processor
def course_helpers():
    return {"KIND_LABELS": KIND_LABELS, "AUDIENCE_LABELS": AUDIENCE_LABELS, "STATUS_LABELS": STATUS_LABELS,
            "is_overdue": enrollments.is_overdue,
            "format_duration": services.format_duration,
            "cover_url": cover_url}


def start_courses(user, limit: int = 5) -> list:
    """For someone not enrolled in anything yet: the most studied courses open to them, to start with."""
    from sqlalchemy import select

    from courses.models import Enrollment

    if not user.is_authenticated or db.session.scalar(select(Enrollment.id).where(Enrollment.user_id == user.id)
                                                      .limit(1)) is not None:
        return []
    return list(db.session.scalars(services.catalog_query(user, sort="popular").limit(limit)))


def url_or_path(endpoint: str, path: str, **values) -> str:
    """``url_for(endpoint)`` when that endpoint exists (another helper's blueprint), else ``path``."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return path


def cover_url(course: Course) -> str | None:
    if not course.cover_key:
        return None
    return url_for("courses.cover", course_id=course.id, v=course.cover_key[:8])


def lecture_media_url(lecture) -> str:
    return url_or_path("courses_library.lecture_media", f"/lectures/{lecture.id}/media", lecture_id=lecture.id)


def material_file_url(material_id: int, download: bool = False) -> str:
    url = url_or_path("courses_library.file", f"/materials/{material_id}/file", material_id=material_id)
    return url + ("?download=1" if download else "")


def visible_course_or_404(course_id: int) -> Course:
    course = services.course_with_lectures(course_id)
    if course is None or not visibility.can_view_course(current_user, course):
        if not current_user.is_authenticated:  # perhaps a members-only course: ask them to log in
            abort(current_app.login_manager.unauthorized())
        abort(404)
    return course


@bp.get("/courses/")
@public
def catalog():
    args = request.args
    user = current_user._get_current_object()
    sort = args.get("sort") if args.get("sort") in services.SORTS else "newest"
    filters = {"category": args.get("category") or None, "tag": args.get("tag") or None,
               "required": args.get("required") if args.get("required") in ("required", "optional") else None,
               "q": (args.get("q") or "").strip()[:50] or None}
    link_args = {k: v for k, v in {**filters, "sort": sort if sort != "newest" else None}.items() if v}
    page_number = max(args.get("page", 1, type=int), 1)
    page = pages.catalog_page(user, sort=sort, filters=filters, page_number=page_number)
    return render_template("courses/catalog.html", page=page, link_args=link_args,
                           filters_html=pages.catalog_filters(user, sort=sort, filters=filters, link_args=link_args),
                           required=pages.required_ids(user),
                           enrolled=pages.enrolled_among(user, [course.id for course in page.items]))


@bp.get("/courses/<int:course_id>")
@public
def detail(course_id: int):
    user = current_user._get_current_object()
    # The course's visibility facts and this viewer's facts on it, fresh: one statement.
    facts, viewer, progress = pages.course_page_facts(course_id, user)
    if facts is None or not visibility.can_view_course(user, facts):
        if not user.is_authenticated:  # perhaps a members-only course: ask them to log in
            abort(current_app.login_manager.unauthorized())
        abort(404)
    course = pages.full_course(facts)
    syllabus = pages.course_syllabus(facts)
    return render_template("courses/detail.html", course=course, syllabus=syllabus, preview=False,
                           **pages.course_viewer(facts, syllabus, progress, viewer=viewer))


@bp.post("/courses/<int:course_id>/enroll")
@login_required
def enroll(course_id: int):
    course = visible_course_or_404(course_id)
    try:
        enrollments.enroll(current_user, course)
    except enrollments.EnrollmentError as error:
        flash(str(error), "warning")
    else:
        db.session.commit()
        flash(_("报名成功，开始学习吧！"), "success")
    return redirect(url_for("courses.detail", course_id=course.id))


@bp.get("/courses/<int:course_id>/cover")
@public
def cover(course_id: int):
    course = db.session.get(Course, course_id)
    if course is None or not course.cover_key or not visibility.can_view_course(current_user, course):
        abort(404)
    mime = {"png": "image/png", "webp": "image/webp"}.get(course.cover_key.rsplit(".", 1)[-1], "image/jpeg")
    response = storage.send_stored(course.cover_key, mime=mime, download_name=f"cover-{course.id}",
                                   as_attachment=False)
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@bp.get("/lectures/<int:lecture_id>")
@login_required
def lecture(lecture_id: int):
    user = current_user._get_current_object()
    # The lecture's and its course's visibility facts with this user's progress, fresh: one statement.
    facts, progress = pages.lecture_page_facts(lecture_id, user)
    if facts is None or not visibility.can_view_lecture(user, facts):
        abort(404)
    item = pages.lecture_for_page(lecture_id)
    course = item.course
    outline = pages.lecture_outline(facts.course)
    previous, following = outline.neighbours(item.id)
    highlight = request.args.get("hl")
    context = {"lecture": item, "course": course, "outline": outline, "progress": progress,
               "previous": previous, "following": following, "LectureKind": LectureKind,
               "preview": pages.is_preview(course)}
    if item.kind == LectureKind.VIDEO and item.media_key:
        context["media_url"] = lecture_media_url(item)
    if item.kind == LectureKind.DOCUMENT and item.material_id:
        context["document_url"] = material_file_url(item.material_id)
        context["download_url"] = material_file_url(item.material_id, download=True)
        if item.material is not None and item.material.file_kind != "pdf":  # a library text: read in the page
            context["document_text"] = reading.reading_html(item.material.text or "", item.material.file_kind,
                                                            highlight)
    terms = reading.highlight_terms(highlight)
    context["body_html"] = Markup(reading.highlight(item.body_html, terms) if terms else item.body_html)
    return render_template("courses/lecture.html", **context)
