"""Site-wide pages: home, health and liveness checks, language switch, the OpenAPI document."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import text

from core.api import build_openapi, doc
from core.extensions import csrf, db
from core.nav import home_panels
from core.permissions import public

bp = Blueprint("core", __name__)


def safe_next(target: str | None, fallback: str = "/") -> str:
    """``target`` if it stays on this site (a path, no scheme or host), else ``fallback``."""
    if not target or "\\" in target or any(ord(c) < 32 for c in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    return target


@bp.get("/")
@public
def index():
    panels = home_panels(current_app, current_user) if current_user.is_authenticated else []
    return render_template("home/index.html", panels=panels)


@bp.get("/livez")
@public
def livez():
    """Liveness for a load balancer or supervisor: the worker answers (no database, unlike ``/healthz``). Also the
    trivial route of this server that ``bench catalog`` divides the pages by."""
    return Response("ok\n", mimetype="text/plain")


@bp.get("/healthz")
@public
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any failure to reach the database
        current_app.logger.exception("health check: database unreachable")
        db.session.rollback()
        return jsonify({"status": "unavailable", "database": "unreachable"}), 503
    report = {"status": "ok"}
    for name, check in current_app.extensions.get("health_reports", {}).items():  # e.g. the search index's lag
        try:
            report[name] = check()
        except Exception:  # noqa: BLE001 - a report must not take the health check down
            current_app.logger.exception("health report %s failed", name)
            report[name] = {"error": True}
    return jsonify(report)


@bp.get("/lang/<code>")
@public
def set_language(code: str):
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    return redirect(safe_next(request.args.get("next"), url_for("core.index")))


def large_text_on() -> bool:
    """Large-text mode (长辈模式): remembered on the user's row, or in the session for a visitor."""
    from flask_login import current_user

    if current_user.is_authenticated:
        return bool(current_user.large_text)
    return bool(session.get("large_text"))


@bp.post("/display/large-text")
@public
def toggle_large_text():
    """Switch large-text mode on or off (the navbar's 长辈模式 button), then go back to the page. Exempt from
    CSRF: a forged request can only change how big the text is, and the page
    then holds no second csrf_token field beside its own form's."""
    from flask_login import current_user

    on = not large_text_on()
    if current_user.is_authenticated:
        current_user.large_text = on
        db.session.commit()
    else:
        session["large_text"] = on
    return redirect(safe_next(request.form.get("next"), url_for("core.index")))


csrf.exempt(toggle_large_text)


@bp.get("/favicon.ico")
@public
def favicon():
    """Browsers ask for /favicon.ico on every site: the party-red icon from static/ (an SVG)."""
    return current_app.send_static_file("favicon.svg"), 200, {"Cache-Control": "public, max-age=86400"}


@bp.get("/api/v1/openapi.json")
@public
@doc("The OpenAPI 3.1 document of this API", tag="meta")
def openapi():
    return jsonify(build_openapi(current_app))
