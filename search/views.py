"""The search results page: /search?q=&kind=&category=&course=&page="""
from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user

from core.permissions import public
from search import services

bp = Blueprint("search", __name__)


def int_arg(name: str, default: int | None = None) -> int | None:
    try:
        return int(request.args.get(name, ""))
    except ValueError:
        return default


@bp.get("/search")
@public
def results():
    q = request.args.get("q", "")
    kind = request.args.get("kind") or None
    category = request.args.get("category") or None
    course_id = int_arg("course")
    page = services.search(current_user, q, kind=kind, category=category, course_id=course_id,
                           page=int_arg("page", 1) or 1)
    return render_template("search/results.html", page=page, q=q, kind=kind, category=category,
                           course_id=course_id, categories=services.categories(current_user))
