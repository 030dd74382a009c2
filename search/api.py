"""GET /api/v1/search: the same search, as JSON."""
from __future__ import annotations

from flask import current_app, jsonify, request
from flask_login import current_user

from core.api import ApiError, api_blueprint, doc
from core.permissions import public
from search import services
from search.engine import KINDS

bp = api_blueprint("search_api", __name__)

RESULT_SCHEMA = {
    "type": "object",
    "properties": {
        "total": {"type": "integer"},
        "total_is_estimate": {"type": "boolean",
                                 "description": "true: `total` is an estimate (the engine skipped matches that could not reach the page)"},
        "page": {"type": "integer"},
        "strict_total": {"type": ["integer", "null"],
                         "description": "set when results holding only some of the query's words follow: "
                                        "how many hold them all"},
        "results": {"type": "array", "items": {"type": "object", "properties": {
            "kind": {"type": "string", "enum": list(KINDS)}, "id": {"type": "integer"},
            "title": {"type": "string"}, "snippet": {"type": "string", "description": "HTML, matches in <mark>"},
            "url": {"type": "string"}, "score": {"type": "number"}, "archived": {"type": "boolean"},
            "course_title": {"type": ["string", "null"]},
            "partial": {"type": "boolean", "description": "holds some of the query's words, not all"}}}},
    },
}


@bp.get("/search")
@public
@doc("Search courses, lectures and study materials (Chinese or English; quotes for a phrase)", tag="search",
     parameters=[
         {"name": "q", "in": "query", "required": True, "schema": {"type": "string", "maxLength": 1000}},
         {"name": "kind", "in": "query", "schema": {"type": "string", "enum": list(KINDS)}},
         {"name": "category", "in": "query", "schema": {"type": "string"}},
         {"name": "course", "in": "query", "schema": {"type": "integer"}},
         {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
         {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 50}},
     ],
     responses={"200": {"description": "Results the caller may see",
                        "content": {"application/json": {"schema": RESULT_SCHEMA}}}})
def search():
    try:
        page = int(request.args.get("page", 1))
        per_page = int(request.args.get("per_page", current_app.config.get("SEARCH_PER_PAGE", 10)))
        course_id = int(request.args["course"]) if request.args.get("course") else None
    except ValueError:
        raise ApiError(400, "page, per_page and course must be integers")
    kind = request.args.get("kind") or None
    if kind is not None and kind not in KINDS:
        raise ApiError(400, f"kind must be one of {', '.join(KINDS)}")
    found = services.search(current_user, request.args.get("q", ""), kind=kind,
                            category=request.args.get("category") or None, course_id=course_id,
                            page=page, per_page=per_page)
    return jsonify({
        "total": found.total,
        "total_is_estimate": found.total_is_estimate,
        "page": found.page,
        "strict_total": found.strict_total,
        "results": [{"kind": r.kind, "id": r.id, "title": r.title, "snippet": str(r.snippet), "url": r.url,
                     "score": r.score, "archived": r.archived, "course_title": r.course_title,
                     "partial": r.partial}
                    for r in found.results],
    })
