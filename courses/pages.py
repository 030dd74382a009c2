"""The learner pages' cached parts: the catalog below the navbar, a course's syllabus, a lecture's outline.

Each part is rendered once from its template with *markers* where one user's state goes (``<!--ub:ID-->``
for a catalog card's badges, ``<!--lp:ID-->`` for a lecture's progress), split at the markers and kept in
``courses.cache``; a request then only joins the pieces with this user's badges. Titles and other text in
the pieces are HTML-escaped, so a marker can only come from the template itself.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from flask import current_app, render_template, request, url_for
from flask_login import current_user
from flask_babel import get_locale
from flask_babel import gettext as _
from jinja2 import TemplateNotFound
from markupsafe import Markup, escape
from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import joinedload, lazyload

from core.extensions import db
from courses import services, visibility
from courses.cache import cached
from courses.models import Course, CourseStatus, CourseTag, Lecture, Material

CATALOG_PER_PAGE = 12
MARKER = re.compile(r"<!--(?:ub|lp):(\d+)-->")


@dataclass(frozen=True)
class Pieces:
    """Static HTML with holes: ``parts[0] hole(ids[0]) parts[1] hole(ids[1]) ...``."""

    parts: tuple[str, ...]
    ids: tuple[int, ...]

    @classmethod
    def split(cls, html: str) -> "Pieces":
        chunks = MARKER.split(html)
        return cls(tuple(chunks[0::2]), tuple(int(i) for i in chunks[1::2]))

    def fill(self, hole) -> Markup:
        out = [self.parts[0]]
        for item_id, part in zip(self.ids, self.parts[1:]):
            out.append(hole(item_id))
            out.append(part)
        return Markup("".join(out))


def locale_key() -> str:
    return str(get_locale() or "zh")


_LABELS: dict[tuple[str, str], str] = {}


def label(msgid: str) -> str:
    """``escape(_(msgid))`` for the badges filled into every page, translated once per language and worker."""
    key = (locale_key(), msgid)
    text = _LABELS.get(key)
    if text is None:
        text = _LABELS[key] = str(escape(_(msgid)))
    return text


# --- the catalog -------------------------------------------------------------------------------

def catalog_facets(user) -> tuple[list[str], list[str]]:
    return cached(("facets", visibility.visibility_key(user)), lambda: services.catalog_facets(user))


def catalog_body(user, *, sort: str, filters: dict, page_number: int, link_args: dict) -> Pieces:
    """The catalog's filters, cards and pager with a badge marker per card. Cached per viewer kind, filters
    and page, except with the "required/optional" filter (it depends on the user's own assignments) or a
    title search."""

    def build() -> Pieces:
        stmt = services.catalog_query(user, sort=sort, **filters)
        page = db.paginate(stmt, page=page_number, per_page=CATALOG_PER_PAGE, error_out=False)
        categories, tags = catalog_facets(user)
        html = render_template("courses/_catalog_body.html", page=page, categories=categories, tags=tags,
                               sort=sort, filters=filters, link_args=link_args,
                               user_badges=lambda course: Markup(f"<!--ub:{course.id}-->"))
        return Pieces.split(html)

    if filters.get("required") or filters.get("q"):  # the user's own assignments; long-tail title searches
        return build()
    key = ("catalog", visibility.visibility_key(user), locale_key(), sort, filters.get("category"),
           filters.get("tag"), page_number)
    return cached(key, build)


def catalog_badges(required: dict, enrolled: set[int]):
    """The hole-filler for catalog cards: this user's 必修 (with due date) and 已报名 badges."""
    if not required and not enrolled:
        return lambda _course_id: ""
    t_required, t_enrolled = label("必修截止"), label("已报名")

    def badges(course_id: int) -> str:
        out = ""
        if course_id in required:
            out += f'<span class="badge text-bg-danger">{t_required} · {required[course_id].isoformat()}</span>'
        if course_id in enrolled:
            out += f'<span class="badge text-bg-success">{t_enrolled}</span>'
        return out

    return badges


# --- a course page -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Syllabus:
    """A course page's parts that are the same for every viewer: the head (breadcrumb, title, audience, tags,
    summary) and the live lectures."""

    lecture_ids: tuple[int, ...]
    minutes: int
    head: Markup
    rows: Pieces  # the <li> list with a progress marker per lecture


def course_for_page(course_id: int) -> Course | None:
    """The course as an ORM object (for rendering a page that is not cached yet, and for authoring)."""
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


def course_facts(course_id: int) -> CourseFacts | None:
    """The course's row, fresh on every request (one Core statement): visibility is decided on it, and its
    ``updated_at`` keys the cached parts."""
    row = _rows("course_facts", course_id=course_id).first()
    return CourseFacts(*row) if row is not None else None


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
    progress = {row[-2]: row[-1] for row in rows if row[-2] is not None}
    return CourseFacts(*first[:-5]), tuple(first[-5:-2]), progress


def lecture_page_facts(lecture_id: int, user) -> tuple[LectureFacts | None, dict]:
    """A lecture page's one statement besides the user: the lecture's and its course's facts with the viewer's
    progress rows in that course joined (one row per lecture they started, or one row of NULLs)."""
    rows = _rows("lecture_page", lecture_id=lecture_id, user_id=user.id).all()
    if not rows:
        return None, {}
    first = rows[0]
    progress = {row[-2]: row[-1] for row in rows if row[-2] is not None}
    return LectureFacts(*first[:4], course=CourseFacts(*first[4:-2])), progress


def full_course(course) -> Course:
    """The ORM course for ``course`` (a Course already, or its facts): only a page being rendered needs it."""
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


@cache
def _statements() -> dict:
    """The pages' per-request statements, built once (building a select costs about as much as running it).
    The hot ones are Core selects of table columns run on the connection: a page needs a few values of each
    row, not ORM objects."""
    from learning.hours import course_box_columns
    from learning.models import Enrollment, LectureProgress

    courses, lectures = Course.__table__.c, Lecture.__table__.c
    enrollments, progress = Enrollment.__table__.c, LectureProgress.__table__.c
    facts = (courses.id, courses.status, courses.audience, courses.org_id, courses.updated_at, courses.credit_mode,
             courses.credit_hours)
    user_id, course_id = bindparam("user_id"), bindparam("course_id")
    # A viewer's facts on a course: enrolled?, then the hours box's time credited on it and its certificate.
    viewer = (
        select(enrollments.id).where(enrollments.user_id == user_id, enrollments.course_id == course_id)
        .limit(1).scalar_subquery(),
        *course_box_columns(user_id, course_id))
    return {
        "course": select(Course).options(lazyload(Course.tag_rows)).where(Course.id == bindparam("course_id")),
        "lecture": select(Lecture).options(joinedload(Lecture.course).lazyload(Course.tag_rows),
                                           joinedload(Lecture.material).load_only(Material.file_kind))
        .where(Lecture.id == bindparam("lecture_id")),
        "course_facts": select(*facts).where(courses.id == course_id),
        "enrolled_among": select(enrollments.course_id).where(
            enrollments.user_id == user_id,
            enrollments.course_id.in_([bindparam(f"course_{i}") for i in range(CATALOG_PER_PAGE)])),
        "viewer": select(*viewer),
        # A page's rows with the viewer's progress in the course joined: one statement for the page's data.
        "course_page": select(*facts, *viewer, progress.lecture_id, progress.completed_at)
        .select_from(Course.__table__.outerjoin(LectureProgress.__table__, and_(
            progress.course_id == courses.id, progress.user_id == user_id)))
        .where(courses.id == course_id),
        "lecture_page": select(lectures.id, lectures.deleted_at, lectures.updated_at, lectures.material_id, *facts,
                               progress.lecture_id, progress.completed_at)
        .select_from(Lecture.__table__.join(Course.__table__, lectures.course_id == courses.id)
                     .outerjoin(LectureProgress.__table__, and_(progress.course_id == courses.id,
                                                                progress.user_id == user_id)))
        .where(lectures.id == bindparam("lecture_id")),
    }


def course_syllabus(course, logged_in: bool) -> Syllabus:
    """``course``: a Course or its CourseFacts (the ORM course is loaded only to build the syllabus)."""

    def build() -> Syllabus:
        course_ = full_course(course)
        lectures = services.live_lectures(course_)
        tags = sorted(db.session.scalars(select(CourseTag.tag).where(CourseTag.course_id == course_.id)))
        head = render_template("courses/_course_head.html", course=course_, tags=tags,
                               summary_html=Markup(services.render_markdown(course_.summary)))
        html = render_template("courses/_syllabus.html", lectures=lectures, logged_in=logged_in)
        return Syllabus(tuple(lecture.id for lecture in lectures), services.study_minutes(lectures), Markup(head),
                        Pieces.split(html))

    return cached(("syllabus", course.id, course.updated_at, course.status, logged_in, locale_key()), build)


def required_ids(user) -> dict:
    """{course id: due date} required of ``user``: it depends only on their organization (and its ancestors),
    so it is cached per organization."""
    from learning import enrollments

    org = user.organization if user is not None and user.is_authenticated else None
    if org is None:
        return {}
    return cached(("required", org.id, org.path), lambda: enrollments.required_course_ids(user))


def syllabus_badges(progress: dict):
    """Course page: 已完成 / 学习中 per lecture this user has started."""
    if not progress:
        return lambda _lecture_id: ""
    done = f'<span class="badge text-bg-success">{label("已完成")}</span>'
    started = f'<span class="badge text-bg-info">{label("学习中")}</span>'
    return lambda lecture_id: "" if lecture_id not in progress else (done if progress[lecture_id] else started)


# --- a lecture page ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Outline:
    """A lecture page's course outline, one entry per course: each item rendered plain and as the current one."""

    lecture_ids: tuple[int, ...]
    items: dict  # lecture id -> (plain Pieces, current Pieces), each with the lecture's progress marker

    def neighbours(self, lecture_id: int) -> tuple[int | None, int | None]:
        if lecture_id not in self.items:
            return None, None
        index = self.lecture_ids.index(lecture_id)
        previous = self.lecture_ids[index - 1] if index > 0 else None
        following = self.lecture_ids[index + 1] if index < len(self.lecture_ids) - 1 else None
        return previous, following

    def html(self, current_id: int, hole) -> Markup:
        rows = [self.items[i][1 if i == current_id else 0].fill(hole) for i in self.lecture_ids]
        return Markup('<ol class="list-group list-group-numbered syllabus mt-2">' + "".join(rows) + "</ol>")


def lecture_for_page(lecture_id: int) -> Lecture | None:
    """The lecture (with its course and material) as ORM objects, for rendering a page that is not cached yet."""
    return db.session.scalar(_statements()["lecture"], {"lecture_id": lecture_id})


def lecture_outline(course) -> Outline:
    """``course``: a Course or its CourseFacts (the outline needs its id and version only)."""

    def build() -> Outline:
        from courses.forms import KIND_LABELS

        items = {}
        rows = services.syllabus(course.id)
        for lecture_id, title, kind in rows:
            url = url_for("courses.lecture", lecture_id=lecture_id)
            label, title = escape(KIND_LABELS[kind]), escape(title)
            plain = (f'<li class="list-group-item"><a class="" href="{url}">{title}</a> '
                     f'<span class="small text-muted">{label}<!--lp:{lecture_id}--></span></li>')
            current = (f'<li class="list-group-item active"><a class="text-white" href="{url}">{title}</a> '
                       f'<span class="small text-white-50">{label}<!--lp:{lecture_id}--></span></li>')
            items[lecture_id] = (Pieces.split(plain), Pieces.split(current))
        return Outline(tuple(row[0] for row in rows), items)

    return cached(("outline", course.id, course.updated_at, locale_key()), build)


def outline_badges(progress: dict):
    if not progress:
        return lambda _lecture_id: ""
    done = f" · {label('已完成')}"
    return lambda lecture_id: done if progress.get(lecture_id) else ""


TRACKER_SENTINEL = 987654321987654  # stands for the lecture id while the tracker is rendered for caching


def tracker_html(lecture: Lecture) -> Markup:
    """learning/_lecture_tracker.html for this lecture. It depends on the lecture's kind and id, the settings and
    the language only, so it is rendered once per kind and language with a stand-in id, replaced per request.
    Should the template come to use more of the lecture, it is rendered for each request instead."""
    from types import SimpleNamespace

    def render(item) -> str:
        try:
            return render_template("learning/_lecture_tracker.html", lecture=item)
        except TemplateNotFound:  # the hours engine is not installed
            return ""

    def build() -> str | None:
        try:
            return render(SimpleNamespace(id=TRACKER_SENTINEL, kind=lecture.kind))
        except Exception:  # noqa: BLE001 - the template wants more than id and kind: do not cache it
            return None

    html = cached(("tracker", lecture.kind, locale_key()), build)
    if html is None:
        return Markup(render(lecture))
    return Markup(html.replace(str(TRACKER_SENTINEL), str(lecture.id)))


def is_preview(course: Course) -> bool:
    return course.status != CourseStatus.PUBLISHED


VIEWER_CUT = "<!--viewer-cut-->"


def course_viewer_parts(course, syllabus: Syllabus, progress: dict, *, preview: bool = False,
                        viewer: tuple | None = None) -> dict:
    """A course page's parts that belong to the viewer — the hours box, "my progress", the progress bar, due
    date and enrol button — from ``courses/_course_viewer.html``: {"hours", "progress", "actions"} of HTML.

    Their facts come from one statement (enrolled?, time credited, certificate) plus the page's progress; the
    HTML is a function of those facts (and the course's version, the language), so it is rendered once per
    distinct set of facts and kept in ``courses.cache`` with holes for the CSRF token and the path, which are
    filled per request. ``course``: a Course or its CourseFacts; ``viewer``: the viewer's facts when the page has
    read them already (``course_page_facts``)."""
    from courses import page_cache

    user = current_user._get_current_object()
    logged_in = user.is_authenticated
    live_ids = set(syllabus.lecture_ids)
    completed = sum(1 for lecture_id, done in progress.items() if done and lecture_id in live_ids)
    count = len(syllabus.lecture_ids)
    enrollment_id, seconds, certificate_id = None, 0, None
    if logged_in:
        if viewer is None:
            viewer = _rows("viewer", user_id=user.id, course_id=course.id).one()
        enrollment_id, seconds, certificate_id = viewer
    enrollment = enrollment_id is not None and not preview  # a preview: the hours box, no enrolment
    due = None if preview else required_ids(user).get(course.id)
    hours_box = "learning" in current_app.blueprints  # the hours engine provides the hours box
    hours = None
    if logged_in and hours_box:
        from learning.hours import course_box

        hours = course_box(course, seconds, certificate_id, completed, count)

    def build() -> tuple:
        extra = {"course_hours": lambda *_args: hours} if hours_box else {}
        html = page_cache.render_with_holes(
            "courses/_course_viewer.html", course=course, completed=completed, lecture_count=count,
            hours_done=completed, hours_total=count, enrollment=enrollment, due=due, preview=preview,
            first_lecture_id=syllabus.lecture_ids[0] if syllabus.lecture_ids else None, cut=Markup(VIEWER_CUT),
            **extra)
        return tuple(page_cache.Page.split(part) for part in html.split(VIEWER_CUT))

    key = ("viewer", course.id, course.updated_at, course.status, course.credit_mode, course.credit_hours,
           logged_in, preview, completed, count, enrollment, due, int(seconds or 0), certificate_id, locale_key(),
           request.script_root)
    parts = cached(key, build)
    values = page_cache.request_values(user)
    hours_html, progress_html, actions = (Markup(part.fill(values, lambda _kind, _id: "")) for part in parts)
    return {"hours": hours_html, "progress": progress_html, "actions": actions}
