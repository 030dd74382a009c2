"""Searching as a given user: the index proposes, ``courses.visibility`` disposes.

The index filters by audience and organization so counts and pages are right; every result shown is
then loaded from the database and checked with ``can_view_*``, so a stale index can never show a
members-only title or snippet to a public learner. Drafts and deleted items are not in the index at all.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

from flask import current_app, has_request_context, request
from markupsafe import Markup
from sqlalchemy import bindparam, select

from core.extensions import db
from core.pagination import PageNumbers
from courses import visibility
from courses.models import Course, CourseStatus, Lecture, Material
from search.engine import KINDS, Access, Filters
from search.indexing import ensure_fresh, get_engine, markdown_text, material_text
from search.query import ParsedQuery, parse
from search.snippets import highlight_title, make_snippet


@dataclass
class Result:
    kind: str
    id: int
    title: str
    title_html: Markup
    snippet: Markup
    url: str
    score: float
    archived: bool = False
    course_title: str | None = None
    category: str = ""
    partial: bool = False  # holds some of the query's words, not all (after the results that hold all)


@dataclass
class SearchPage(PageNumbers):
    query: ParsedQuery
    total: int = 0
    page: int = 1
    per_page: int = 10
    results: list[Result] = field(default_factory=list)
    pinyin_fallback: bool = False
    total_is_estimate: bool = False  # about ``total``: the engine did not count every match
    strict_total: int | None = None  # set when results holding only some of the words follow the others


def access_for(user) -> Access:
    if visibility.is_staff(user):
        return Access(staff=True, logged_in=True)
    logged_in = bool(user is not None and user.is_authenticated)
    org = (user.organization or user.managed_org) if logged_in else None
    return Access(members=visibility.is_party_learner(user), org_ids=tuple(org.path_ids) if org else (),
                  logged_in=logged_in)


def search(user, raw_query: str | None, *, kind: str | None = None, category: str | None = None,
           course_id: int | None = None, page: int = 1, per_page: int | None = None) -> SearchPage:
    per_page = max(1, min(per_page or current_app.config.get("SEARCH_PER_PAGE", 10), 50))
    page = max(1, min(page, current_app.config.get("SEARCH_MAX_PAGE", 50)))
    query = parse(raw_query)
    result = SearchPage(query=query, page=page, per_page=per_page)
    if query.empty:
        return result
    try:
        ensure_fresh()
    except Exception:  # searching what the index holds beats an error page
        current_app.logger.exception("search catch-up failed")
    filters = Filters(kind=kind if kind in KINDS else None, category=category or None, course_id=course_id)
    hits = get_engine().search(query, access_for(user), filters, offset=(page - 1) * per_page, limit=per_page)
    result.total = hits.total
    result.pinyin_fallback = hits.pinyin_fallback
    result.total_is_estimate = hits.total_is_estimate
    result.strict_total = hits.strict_total
    objects = _load(hits.hits)
    keys = [] if hits.pinyin_fallback else query.highlight_keys
    partial_keys = sorted(set(keys) | set(query.term_keys), key=lambda k: (-len(k), k))
    for hit in hits.hits:
        obj = objects.get((hit.kind, hit.id))
        if obj is None or not _can_view(user, obj):
            continue
        result.results.append(_result(hit, obj, partial_keys if hit.partial else keys, query))
    return result


_BY_IDS = {kind: select(model).where(model.id.in_(bindparam("ids", expanding=True)))  # built once
           for kind, model in (("course", Course), ("lecture", Lecture), ("material", Material))}


def _load(hits) -> dict:
    wanted: dict[str, list[int]] = {}
    for hit in hits:
        wanted.setdefault(hit.kind, []).append(hit.id)
    found = {}
    for kind, stmt in _BY_IDS.items():
        if wanted.get(kind):
            for obj in db.session.scalars(stmt, {"ids": wanted[kind]}):
                found[(kind, obj.id)] = obj
    return found


def _can_view(user, obj) -> bool:
    if isinstance(obj, Course):
        return obj.status != CourseStatus.DRAFT and visibility.can_view_course(user, obj)
    if isinstance(obj, Lecture):
        return obj.deleted_at is None and obj.course.status != CourseStatus.DRAFT \
            and visibility.can_view_lecture(user, obj)
    if isinstance(obj, Material):
        return (obj.course is None or obj.course.status != CourseStatus.DRAFT) \
            and visibility.can_view_material(user, obj)
    return False


def _result(hit, obj, keys: list[str], query: ParsedQuery) -> Result:
    # the words to mark on the reading page: what was typed, or for a partial result the words it holds some of
    hl = quote((" ".join(t.text for t in query.terms) if hit.partial else query.raw)[:60])
    if isinstance(obj, Course):
        text, course, url = markdown_text(obj.summary), obj, f"/courses/{obj.id}"
    elif isinstance(obj, Lecture):
        text, course, url = markdown_text(obj.body_markdown), obj.course, f"/lectures/{obj.id}?hl={hl}"
    else:
        text, course, url = material_text(obj), obj.course, f"/materials/{obj.id}?hl={hl}"
    snippet = make_snippet(text, keys)
    if snippet.paragraph is not None and not isinstance(obj, Course):
        url += f"#p-{snippet.paragraph}"
    root = request.script_root if has_request_context() else ""
    return Result(kind=hit.kind, id=obj.id, title=obj.title, title_html=highlight_title(obj.title, keys),
                  snippet=snippet.html, url=root + url, score=hit.score,
                  archived=bool(course is not None and course.status == CourseStatus.ARCHIVED),
                  course_title=course.title if course is not None and not isinstance(obj, Course) else None,
                  category=getattr(obj, "category", "") or (course.category if course else ""),
                  partial=hit.partial)


def categories(user) -> list[str]:
    """Categories that visible courses and materials use, for the filter."""
    course_cats = db.session.scalars(select(Course.category).where(visibility.course_condition(user))
                                     .where(Course.category != "").distinct())
    material_cats = db.session.scalars(select(Material.category).where(visibility.material_condition(user))
                                       .where(Material.category != "").distinct())
    return sorted(set(course_cats) | set(material_cats))[:50]
