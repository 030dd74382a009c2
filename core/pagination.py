"""Pages of result rows for the report and hours pages."""
from __future__ import annotations

from flask import current_app
from flask_sqlalchemy.pagination import SelectPagination

from core.extensions import db


class RowPagination(SelectPagination):
    """A page of result rows (several columns), where ``db.paginate`` gives the first column only."""

    def _query_items(self) -> list:
        stmt = self._query_args["select"].limit(self.per_page).offset(self._query_offset)
        return list(self._query_args["session"].execute(stmt).all())


def paginate_rows(stmt) -> RowPagination:
    return RowPagination(select=stmt, session=db.session, page=None, per_page=current_app.config["PER_PAGE"],
                         max_per_page=None, error_out=True, count=True)
