"""The request frame: integers in URLs and query strings stay within what the database holds, and a request
body is limited by its route (a few KB, the upload size only where a view takes uploads).

- ``<int:...>`` in every route is ``BoundedIntegerConverter``: a number the id columns cannot hold (>= 2^31)
  matches no route, so it answers 404 instead of overflowing in the database driver (500).
- ``request.args.get(name, type=int)`` (also inside Flask-SQLAlchemy's ``paginate``) treats such a number
  as absent, like any other non-integer.
- ``request.max_content_length`` is ``MAX_BODY_BYTES`` unless the view is marked ``@accepts_upload(key)``:
  then the configured upload size ``key`` plus ``MAX_BODY_BYTES`` for the other fields, never above
  ``MAX_CONTENT_LENGTH``. A larger body answers 413 before it is read.
"""
from __future__ import annotations

from typing import Callable

from flask import Request, current_app
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter

DB_INT_MAX = 2**31 - 1  # id columns are INTEGER (PostgreSQL int4)


class BoundedIntegerConverter(IntegerConverter):
    """``<int:...>`` with an upper bound by default: larger numbers match no route (404)."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = None,  # noqa: A002
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=DB_INT_MAX if max is None else max,
                         signed=signed)


def bounded_int(value: str) -> int:
    """``int(value)`` within the database's integer range (ValueError outside, as for "abc")."""
    number = int(value)
    if not -DB_INT_MAX <= number <= DB_INT_MAX:
        raise ValueError(f"{value!r} is out of range")
    return number


class BoundedMultiDict(ImmutableMultiDict):
    """Query and form arguments whose ``get(..., type=int)`` rejects numbers the database cannot hold."""

    def get(self, key, default=None, type=None):  # noqa: A002 - werkzeug's signature
        return super().get(key, default, bounded_int if type is int else type)


def accepts_upload(config_key: str) -> Callable:
    """Mark a view that takes a file upload of at most ``app.config[config_key]`` bytes."""

    def decorator(fn):
        fn.upload_limit_key = config_key
        return fn

    return decorator


class BoundedRequest(Request):
    parameter_storage_class = BoundedMultiDict

    @property
    def max_content_length(self) -> int | None:  # type: ignore[override]
        config = current_app.config
        view = current_app.view_functions.get(self.endpoint) if self.endpoint else None
        key = getattr(view, "upload_limit_key", None)
        limit = int(config["MAX_BODY_BYTES"]) + (int(config[key]) if key else 0)
        ceiling = config.get("MAX_CONTENT_LENGTH")
        return min(limit, int(ceiling)) if ceiling else limit


def init_app(app) -> None:
    """Before any blueprint is registered (rules are compiled with the converter they name)."""
    app.request_class = BoundedRequest
    app.url_map.converters["int"] = BoundedIntegerConverter
