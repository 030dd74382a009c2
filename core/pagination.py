"""Pages of results: the page arithmetic that ``templates/_macros/pagination.html`` reads, written once, and pages
of result rows for the report and hours pages."""
from __future__ import annotations

import math
from dataclasses import dataclass

from flask import abort, current_app, request
from sqlalchemy import func, select

from core.extensions import db


class PageNumbers:
    """Page numbers from ``page``, ``per_page`` and ``total`` (the shape of Flask-SQLAlchemy's pagination)."""

    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page)) if self.total else 0

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1

    def iter_pages(self, left_edge=1, right_edge=1, left_current=2, right_current=2):
        last = None
        for n in range(1, self.pages + 1):
            if n <= left_edge or n > self.pages - right_edge or \
                    self.page - left_current <= n <= self.page + right_current:
                if last is not None and n - last > 1:
                    yield None
                yield n
                last = n


@dataclass
class RowPage(PageNumbers):
    """A page of result rows (several columns; ``db.paginate`` gives the first column only)."""

    items: list
    page: int
    per_page: int
    total: int


def paginate_rows(stmt) -> RowPage:
    """The page of ``stmt``'s rows named by the request's ``page`` argument (404 for a page beyond the last)."""
    page = request.args.get("page", 1, type=int)
    if page < 1:
        abort(404)
    per_page = int(current_app.config["PER_PAGE"])
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    if page > 1 and (page - 1) * per_page >= total:
        abort(404)
    items = list(db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).all())
    return RowPage(items, page, per_page, total)
