"""The JSON API frame: blueprints under /api/v1, JSON errors, paging, and the OpenAPI document.

Every API view carries ``@doc(...)``; the OpenAPI document is generated from ``app.url_map``
and those annotations, and a test fails for any /api/v1 route without one.
"""
from __future__ import annotations

import re
from typing import Any, Callable

from flask import Blueprint, current_app, g, jsonify, request
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from core.extensions import csrf, db

API_PREFIX = "/api/v1"

ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
    500: "server_error",
    503: "unavailable",
}


class ApiError(Exception):
    """Raise from an API view to answer ``{"error": {"code", "message"}}`` with ``status``; ``extra`` (a dict)
    is merged into the body beside ``error``, for what a client acts on (e.g. ``opens_in_seconds``)."""

    def __init__(self, status: int, message: str, code: str | None = None, fields: dict | None = None,
                 extra: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or ERROR_CODES.get(status, "error")
        self.fields = fields
        self.extra = extra


def json_error(status: int, message: str, code: str | None = None, fields: dict | None = None,
               extra: dict | None = None):
    body: dict[str, Any] = {"code": code or ERROR_CODES.get(status, "error"), "message": message}
    if fields:
        body["fields"] = fields
    response = jsonify({**(extra or {}), "error": body})
    response.status_code = status
    return response


def handle_api_error(error: ApiError):
    return json_error(error.status, error.message, error.code, error.fields, error.extra)


def http_exception_as_json(error: HTTPException):
    from flask_babel import gettext as _

    messages = {
        401: _("请先登录或提供有效的访问令牌。"),
        403: _("您没有权限执行此操作。"),
        404: _("请求的资源不存在。"),
    }
    message = messages.get(error.code or 500) or error.description or error.name
    response = json_error(error.code or 500, message)
    if error.code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def _session_csrf():
    """Browser-session calls that change state must carry the CSRF token (X-CSRFToken header);
    bearer-token calls carry no ambient credentials and need none."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    if g.get("api_token") is None and current_user.is_authenticated:
        csrf.protect()
    return None


def _json_object_body():
    """Every JSON body the API takes is an object: ``1.5``, ``true``, ``"x"`` or ``[]`` answer 400 before a
    view can trip over them. A body that is not JSON is left to the view (``get_json(silent=True)``: None)."""
    if request.method in ("POST", "PUT", "PATCH") and request.is_json:
        data = request.get_json(silent=True)
        if data is not None and not isinstance(data, dict):
            raise ApiError(400, "the request body must be a JSON object")
    return None


def api_blueprint(name: str, import_name: str) -> Blueprint:
    """A blueprint mounted under /api/v1 with the API's CSRF rule and JSON-object bodies."""
    bp = Blueprint(name, import_name, url_prefix=API_PREFIX)
    csrf.exempt(bp)
    bp.before_request(_session_csrf)
    bp.before_request(_json_object_body)
    return bp


def doc(summary: str, *, tag: str, request_body: dict | None = None, responses: dict | None = None,
        parameters: list | None = None) -> Callable:
    """Describe an API operation for the OpenAPI document."""

    def decorator(fn):
        fn.openapi = {
            "summary": summary,
            "tag": tag,
            "request_body": request_body,
            "responses": responses or {"200": {"description": "OK"}},
            "parameters": parameters or [],
        }
        return fn

    return decorator


def page_args() -> tuple[int, int]:
    """``page`` and ``per_page`` from the query string, bounded; bad values answer 400."""
    from core.requests import bounded_int

    try:
        page = bounded_int(request.args.get("page", 1))
        per_page = bounded_int(request.args.get("per_page", current_app.config["PER_PAGE"]))
    except ValueError:
        raise ApiError(400, "page and per_page must be integers")
    if page < 1 or per_page < 1:
        raise ApiError(400, "page and per_page must be positive")
    return page, min(per_page, current_app.config["API_MAX_PER_PAGE"])


def paged(stmt, serialize: Callable[[Any], dict]) -> dict:
    """Run ``stmt`` paged by the request's arguments: ``{"items", "page", "per_page", "total"}``."""
    page, per_page = page_args()
    pagination = db.paginate(stmt, page=page, per_page=per_page, error_out=False)
    return {
        "items": [serialize(item) for item in pagination.items],
        "page": page,
        "per_page": per_page,
        "total": pagination.total,
    }


PAGE_PARAMETERS = [
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
    {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
]

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "fields": {"type": "object"}},
        }
    },
}

_CONVERTER = re.compile(r"<(?:(?P<conv>[a-z]+):)?(?P<name>\w+)>")


def openapi_path(rule: str) -> str:
    return _CONVERTER.sub(lambda m: "{" + m.group("name") + "}", rule)


def build_openapi(app) -> dict:
    """The OpenAPI 3.1 document for every /api/v1 route in ``app.url_map``."""
    paths: dict[str, dict] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(API_PREFIX):
            continue
        view = app.view_functions[rule.endpoint]
        meta = getattr(view, "openapi", None)
        access = getattr(view, "access_rule", None)
        path = openapi_path(rule.rule)
        params = [
            {"name": m.group("name"), "in": "path", "required": True,
             "schema": {"type": "integer" if m.group("conv") == "int" else "string"}}
            for m in _CONVERTER.finditer(rule.rule)
        ]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            op: dict[str, Any] = {"operationId": f"{rule.endpoint}_{method.lower()}"}
            if meta:
                op["summary"] = meta["summary"]
                op["tags"] = [meta["tag"]]
                op["responses"] = dict(meta["responses"])
                if meta["request_body"]:
                    op["requestBody"] = {"required": True,
                                         "content": {"application/json": {"schema": meta["request_body"]}}}
                if params or meta["parameters"]:
                    op["parameters"] = params + meta["parameters"]
            else:
                op["responses"] = {}
            op["responses"].setdefault("default", {
                "description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
            if access is not None and access.kind == "public":
                op["security"] = []
            if access is not None:
                op["x-access"] = access.describe()
            paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "Open Party School API", "version": "1.0.0",
                 "description": "开放式网络党校 JSON API. Authenticate with `Authorization: Bearer <token>` "
                                "from POST /api/v1/auth/token, or with the browser session (send X-CSRFToken "
                                "on writes)."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
            "schemas": {"Error": ERROR_SCHEMA},
        },
        "security": [{"bearer": []}, {"session": []}],
    }
