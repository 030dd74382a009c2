"""The learner pages' data: what each page reads fresh per request, and what it takes from the shared cache.

Fresh on every request (one Core statement each): the course's or lecture's row — visibility is decided on it —
and the viewer's own facts (enrolment, time credited, progress). From the shared cache (``courses.cache``, keyed
by the content version): the catalog's facets and its lists of course ids per viewer kind, a course's syllabus
data and rendered summary, a lecture's course outline, the due dates required of an organization. Everything is
rendered per request from its template; nothing personal is stored in the cache.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from flask import Flask, current_app

from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import joinedload, lazyload, selectinload

from core.extensions import db
from core.pagination import RowPage
from courses import services, visibility
from courses.cache import cached, content_version_column, note_version
from courses.models import Course, CourseStatus, CourseTag, Lecture, LectureKind, Material

CATALOG_PER_PAGE = 12


# --- the catalog -------------------------------------------------------------------------------

def catalog_facets(user) -> tuple[list[str], list[str]]:
    return cached(("facets", visibility.visibility_key(user)), lambda: services.catalog_facets(user))


@dataclass(frozen=True)
class CatalogCard:
    """What a catalog card shows of a course (the same for every viewer)."""

    id: int
    title: str
    category: str
    credit_hours: object
    enrollment_count: int
    audience: object
    tags: tuple[str, ...]
    cover_key: str | None


def catalog_page(user, *, sort: str, filters: dict, page_number: int) -> RowPage:
    """The page of courses ``user`` may see. The cards and the total are cached per viewer kind, filters and page
    (not with the required/optional filter, which depends on the user's own assignments, nor a title search).
    Who may see each course is decided afresh on its row (one statement), so no list shows a course to someone
    who may no longer see it."""

    def build() -> tuple[list[CatalogCard], int]:
        stmt = services.catalog_query(user, sort=sort, **filters).options(selectinload(Course.tag_rows))
        page = db.paginate(stmt, page=page_number, per_page=CATALOG_PER_PAGE, error_out=False)
        return [CatalogCard(c.id, c.title, c.category, c.credit_hours, c.enrollment_count, c.audience,
                            tuple(c.tags[:3]), c.cover_key) for c in page.items], page.total

    if filters.get("required") or filters.get("q"):
        cards, total = build()
    else:
        cards, total = cached(("catalog", visibility.visibility_key(user), sort, filters.get("category"),
                               filters.get("tag"), page_number), build)
    visible = set()
    if cards:
        rows = _rows("visibility_facts", ids=[card.id for card in cards])
        visible = {row.id for row in rows
                   if row.status == CourseStatus.PUBLISHED and visibility.can_view_course(user, row)}
    items = [card for card in cards if card.id in visible]
    return RowPage(items, page_number, CATALOG_PER_PAGE, total - (len(cards) - len(items)))


def catalog_filters(user, *, sort: str, filters: dict, link_args: dict) -> Markup:
    """The catalog's filter bar, rendered once per viewer kind, filters and language (the same HTML for each of
    them): its ~30 links cost more than the rest of the page."""
    from flask import render_template, request
    from flask_babel import get_locale

    def build() -> str:
        categories, tags = catalog_facets(user)
        return render_template("courses/_catalog_filters.html", categories=categories, tags=tags, sort=sort,
                               filters=filters, link_args=link_args)

    if filters.get("q"):
        return Markup(build())
    key = ("catalog-filters", visibility.visibility_key(user), user.is_authenticated, str(get_locale()),
           request.script_root, sort, tuple(sorted(link_args.items())))
    return Markup(cached(key, build))


def required_ids(user) -> dict:
    """{course id: due date} required of ``user``: it depends only on their organization (and its ancestors),
    so it is cached per organization."""
    from courses import enrollments

    org = user.organization if user is not None and user.is_authenticated else None
    if org is None:
        return {}
    return cached(("required", org.id, org.path), lambda: enrollments.required_course_ids(user))


# --- a course page -----------------------------------------------------------------------------

@dataclass(frozen=True)
class SyllabusLecture:
    id: int
    title: str
    kind: LectureKind
    duration_seconds: int | None
    starts_at: object
    place: str | None
    reading_seconds: int | None


@dataclass(frozen=True)
class Syllabus:
    """A course's parts that are the same for every viewer: its live lectures, study time, tags and summary."""

    lectures: tuple[SyllabusLecture, ...]
    minutes: int
    tags: tuple[str, ...]
    summary_html: str

    @property
    def lecture_ids(self) -> tuple[int, ...]:
        return tuple(lecture.id for lecture in self.lectures)


def course_for_page(course_id: int) -> Course | None:
    """The course as an ORM object (the page's template reads its columns and organization)."""
    return db.session.scalar(_statements()["course"], {"course_id": course_id})


def _rows(name: str, **params):
    """Run one of the pages' Core statements on the request's connection (no ORM machinery per row)."""
    return db.session.connection().execute(_statements()[name], params)


@dataclass(frozen=True)
class CourseFacts:
    """What a course page needs of the course on every request, cache hit or not: visibility (status, audience,
    organization), the cache key (``updated_at``) and the hours box's credit rule."""

    id: int
    status: CourseStatus
    audience: object
    org_id: int | None
    updated_at: object
    credit_mode: object
    credit_hours: object


@dataclass(frozen=True)
class LectureFacts:
    """The same for a lecture page: the lecture's version and soft delete, and its course's facts (``course``,
    so ``visibility.can_view_lecture`` takes it as it takes a Lecture)."""

    id: int
    deleted_at: object
    updated_at: object
    material_id: int | None
    course: CourseFacts


def full_course(course) -> Course:
    """The ORM course for ``course`` (a Course already, or its facts)."""
    return course if isinstance(course, Course) else course_for_page(course.id)


def enrolled_among(user, course_ids) -> set[int]:
    """Which of ``course_ids`` ``user`` is enrolled in (one statement, whatever the number of ids)."""
    if user is None or not user.is_authenticated or not course_ids:
        return set()
    ids, found = list(course_ids), set()
    for start in range(0, len(ids), CATALOG_PER_PAGE):  # a catalog page: one statement
        chunk = ids[start:start + CATALOG_PER_PAGE]
        chunk += [0] * (CATALOG_PER_PAGE - len(chunk))  # no course has id 0
        found.update(_rows("enrolled_among", user_id=user.id,
                           **{f"course_{i}": course_id for i, course_id in enumerate(chunk)}).scalars())
    return found


def course_facts(course_id: int) -> CourseFacts | None:
    """The course's row, fresh on every request (one Core statement): visibility is decided on it, and its
    ``updated_at`` keys the cached parts."""
    row = _rows("course_facts", course_id=course_id).first()
    if row is None:
        return None
    note_version(row[-1])
    return CourseFacts(*row[:-1])


def course_page_facts(course_id: int, user) -> tuple[CourseFacts | None, tuple | None, dict]:
    """A course page's one statement besides the user: the course's facts and, for a logged-in viewer, their facts
    on it (enrolment id, seconds credited, course certificate id) and their progress rows (joined: one row per
    lecture they started, or one row of NULLs). Returns (course facts, viewer facts, progress as
    ``progress_by_lecture``); (None, None, {}) when there is no such course."""
    if user is None or not user.is_authenticated:
        return course_facts(course_id), None, {}
    rows = _rows("course_page", course_id=course_id, user_id=user.id).all()
    if not rows:
        return None, None, {}
    first = rows[0]
    note_version(first[-1])
    progress = {row[-3]: row[-2] for row in rows if row[-3] is not None}
    facts = len(CourseFacts.__dataclass_fields__)
    return CourseFacts(*first[:facts]), tuple(first[facts:-3]), progress


def lecture_page_facts(lecture_id: int, user) -> tuple[LectureFacts | None, dict]:
    """A lecture page's one statement besides the user: the lecture's and its course's facts with the viewer's
    progress rows in that course joined (one row per lecture they started, or one row of NULLs)."""
    rows = _rows("lecture_page", lecture_id=lecture_id, user_id=user.id).all()
    if not rows:
        return None, {}
    first = rows[0]
    note_version(first[-1])
    progress = {row[-3]: row[-2] for row in rows if row[-3] is not None}
    return LectureFacts(*first[:4], course=CourseFacts(*first[4:-3])), progress


@dataclass(frozen=True)
class ViewerBox:
    """A box of the course page about its viewer that a package above courses provides at app wiring time
    (``add_viewer_box``; learning's hours box): its partial, the columns the page reads with its own statement
    (``columns(user_id, course_id)``: scalar subqueries) and what the partial shows
    (``data(course, values of those columns, lectures done, lectures in all)``, given to it as ``box``)."""
    template: str
    columns: Callable[[Any, Any], tuple]
    data: Callable[..., Any]


def add_viewer_box(app: Flask, box: ViewerBox) -> None:
    app.extensions["course_viewer_box"] = box
    app.extensions.pop("course_page_statements", None)


def _statements() -> dict:
    """The pages' per-request statements, built once per app (building a select costs about as much as running
    it). The hot ones are Core selects of table columns run on the connection: a page needs a few values of each
    row, not ORM objects."""
    statements = current_app.extensions.get("course_page_statements")
    if statements is None:
        statements = current_app.extensions["course_page_statements"] = _build_statements(
            current_app.extensions.get("course_viewer_box"))
    return statements


def _build_statements(box: ViewerBox | None) -> dict:
    from courses.models import Enrollment, LectureProgress

    courses, lectures = Course.__table__.c, Lecture.__table__.c
    enrollments, progress = Enrollment.__table__.c, LectureProgress.__table__.c
    facts = (courses.id, courses.status, courses.audience, courses.org_id, courses.updated_at, courses.credit_mode,
             courses.credit_hours)
    user_id, course_id = bindparam("user_id"), bindparam("course_id")
    version = content_version_column()  # the cache's key, read with the page's rows (no statement of its own)
    # A viewer's facts on a course: enrolled?, then the viewer box's columns (learning: time credited, certificate).
    viewer = (
        select(enrollments.id).where(enrollments.user_id == user_id, enrollments.course_id == course_id)
        .limit(1).scalar_subquery(),
        *(box.columns(user_id, course_id) if box is not None else ()))
    return {
        "course": select(Course).options(lazyload(Course.tag_rows)).where(Course.id == bindparam("course_id")),
        "lecture": select(Lecture).options(joinedload(Lecture.course).lazyload(Course.tag_rows),
                                           joinedload(Lecture.material).load_only(Material.file_kind))
        .where(Lecture.id == bindparam("lecture_id")),
        "course_facts": select(*facts, version).where(courses.id == course_id),
        "visibility_facts": select(courses.id, courses.status, courses.audience, courses.org_id)
        .where(courses.id.in_(bindparam("ids", expanding=True))),
        "enrolled_among": select(enrollments.course_id).where(
            enrollments.user_id == user_id,
            enrollments.course_id.in_([bindparam(f"course_{i}") for i in range(CATALOG_PER_PAGE)])),
        "viewer": select(*viewer),
        # A page's rows with the viewer's progress in the course joined: one statement for the page's data.
        "course_page": select(*facts, *viewer, progress.lecture_id, progress.completed_at, version)
        .select_from(Course.__table__.outerjoin(LectureProgress.__table__, and_(
            progress.course_id == courses.id, progress.user_id == user_id)))
        .where(courses.id == course_id),
        "lecture_page": select(lectures.id, lectures.deleted_at, lectures.updated_at, lectures.material_id, *facts,
                               progress.lecture_id, progress.completed_at, version)
        .select_from(Lecture.__table__.join(Course.__table__, lectures.course_id == courses.id)
                     .outerjoin(LectureProgress.__table__, and_(progress.course_id == courses.id,
                                                                progress.user_id == user_id)))
        .where(lectures.id == bindparam("lecture_id")),
    }


def course_syllabus(course) -> Syllabus:
    """``course``: a Course or its CourseFacts (the ORM course is loaded only to build the syllabus)."""

    def build() -> Syllabus:
        course_ = course if isinstance(course, Course) else course_for_page(course.id)
        lectures = services.live_lectures(course_)
        tags = sorted(db.session.scalars(select(CourseTag.tag).where(CourseTag.course_id == course_.id)))
        rows = tuple(SyllabusLecture(item.id, item.title, item.kind, item.duration_seconds, item.starts_at,
                                     item.place, item.reading_seconds) for item in lectures)
        return Syllabus(rows, services.study_minutes(lectures), tuple(tags),
                        str(services.render_markdown(course_.summary)))

    return cached(("syllabus", course.id, course.updated_at), build)


def course_viewer(course, syllabus: Syllabus, progress: dict, *, preview: bool = False,
                  viewer: tuple | None = None) -> dict:
    """The course page's context that belongs to this viewer: progress, enrolment, due date, the viewer box
    (``viewer_box``: (partial, its data)). ``viewer``: (enrolment id, the box's column values) when the page has
    read them already."""
    user = current_user._get_current_object()
    live_ids = set(syllabus.lecture_ids)
    completed = sum(1 for lecture_id, done in progress.items() if done and lecture_id in live_ids)
    count = len(live_ids)
    enrollment_id, values = None, ()
    if user.is_authenticated:
        if viewer is None:
            viewer = _rows("viewer", user_id=user.id, course_id=course.id).one()
        enrollment_id, *values = viewer
    context = {"completed": completed, "lecture_count": count, "hours_done": completed, "hours_total": count,
               "enrollment": enrollment_id is not None and not preview, "progress": progress,
               "due": None if preview else required_ids(user).get(course.id),
               "first_lecture_id": syllabus.lecture_ids[0] if syllabus.lecture_ids else None,
               "course_finished": bool(count and completed >= count)}
    box = current_app.extensions.get("course_viewer_box")
    if user.is_authenticated and box is not None:  # the facts read above, not a query of its own
        data = box.data(course, tuple(values), completed, count)
        context["viewer_box"] = (box.template, data)
        context["course_finished"] = context["course_finished"] or bool(getattr(data, "get", dict().get)("finished"))
    return context


# --- a lecture page ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Outline:
    """A lecture page's course outline: (id, title, kind label, URL) of the live lectures in order (the label and
    URL worked out once per language and URL root, not per page)."""

    lectures: tuple[tuple[int, str, str, str], ...]

    @property
    def lecture_ids(self) -> tuple[int, ...]:
        return tuple(row[0] for row in self.lectures)

    def neighbours(self, lecture_id: int) -> tuple[int | None, int | None]:
        ids = self.lecture_ids
        if lecture_id not in ids:
            return None, None
        index = ids.index(lecture_id)
        return (ids[index - 1] if index > 0 else None), (ids[index + 1] if index < len(ids) - 1 else None)


def lecture_for_page(lecture_id: int) -> Lecture | None:
    """The lecture (with its course and material) as ORM objects."""
    return db.session.scalar(_statements()["lecture"], {"lecture_id": lecture_id})


def lecture_outline(course) -> Outline:
    """``course``: a Course or its CourseFacts (the outline needs its id and version only)."""
    from flask import request, url_for
    from flask_babel import get_locale

    from courses.forms import KIND_LABELS

    def build() -> Outline:
        return Outline(tuple((lecture_id, title, str(KIND_LABELS[kind]),
                              url_for("courses.lecture", lecture_id=lecture_id))
                             for lecture_id, title, kind in services.syllabus(course.id)))

    return cached(("outline", course.id, course.updated_at, str(get_locale()), request.script_root), build)


def is_preview(course: Course) -> bool:
    return course.status != CourseStatus.PUBLISHED
