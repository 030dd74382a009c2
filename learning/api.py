"""The hours engine's JSON API: study sessions, heartbeats, a member's hours.

The heartbeat has its own blueprint: it is authenticated by the study session's credential (a secret the
session start handed to this page or app, sent with every heartbeat), not by the login cookie. So it needs
no CSRF token (nothing ambient authorizes it) and loads no user row: the hot path is three SQL statements in a
transaction of its own on SQLite, two in autocommit on PostgreSQL (``study.credit_hot``). Ordinary heartbeats are answered by ``HeartbeatFastPath``, a WSGI layer in front of the
Flask app (wired in ``create_app`` when ``HEARTBEAT_FAST_PATH``) that runs the same parsing and service without
the Flask request cycle, with the security headers every answer gets (``core.security``); the view answers the rest (refusals,
malformed bodies, completions). Starting a session is an ordinary logged-in API call (cookie + CSRF header, or a
bearer token); two at once for one member leave one active session (the database's partial unique index).
"""
from __future__ import annotations

import io
import json
import math
import re

from flask import Blueprint, current_app, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from core.api import ApiError, api_blueprint, doc
from core.extensions import csrf, db
from core.permissions import login_required, public
from courses.models import Lecture, LectureKind
from courses.visibility import can_view_lecture
from learning import hours, study
from courses.enrollments import course_progress

bp = api_blueprint("learning_api", __name__)
heartbeat_bp = Blueprint("learning_heartbeat", __name__, url_prefix="/api/v1")
csrf.exempt(heartbeat_bp)

SESSION_SCHEMA = {"type": "object", "properties": {"position": {"type": "number", "description": "video position"}}}
BEAT_SCHEMA = {
    "type": "object",
    "required": ["session", "seq"],
    "properties": {
        "session": {"type": "string", "description": "the credential from starting the study session"},
        "seq": {"type": "integer", "minimum": 1, "description": "increases with every heartbeat of the session"},
        "visible": {"type": "boolean", "description": "the page stayed visible since the last heartbeat"},
        "idle_seconds": {"type": "number", "description": "seconds since the learner's last input"},
        "playing": {"type": "boolean"},
        "position": {"type": "number", "description": "video position now (s)"},
        "segment_start": {"type": "number", "description": "position where the playback reaching it began"},
        "rate": {"type": "number"},
        "client_time": {"type": "string", "description": "ignored: time is the server's"},
    },
}


def _number(data: dict, key: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ApiError(400, f"{key} must be a number")
    return float(value)


@bp.post("/lectures/<int:lecture_id>/study-sessions")
@login_required
@doc("Start studying a lecture (takes over from the member's other tabs and devices)", tag="hours",
     request_body=SESSION_SCHEMA,
     responses={"201": {"description": "The session credential and the heartbeat rules"}})
def start_session(lecture_id: int):
    lecture = db.session.get(Lecture, lecture_id)
    if lecture is None or not can_view_lecture(current_user, lecture) or lecture.deleted_at is not None:
        raise ApiError(404, _("请求的资源不存在。"))
    if lecture.kind == LectureKind.OFFLINE:
        raise ApiError(409, _("线下课堂通过签到计学时。"))
    data = request.get_json(silent=True) or {}
    try:
        session, credential = study.start_session(current_user, lecture, position=_number(data, "position") or 0.0,
                                                  client=request.headers.get("User-Agent", ""))
        db.session.commit()
    except IntegrityError:  # another start of this member's won the one active session at this very moment
        db.session.rollback()
        raise ApiError(409, _("学习已在其他标签页或设备上开始，请刷新页面。"))
    cfg = current_app.config
    return jsonify({
        "session": credential,
        "session_id": session.id,
        "heartbeat_url": f"/api/v1/lectures/{lecture.id}/heartbeat",
        "interval_seconds": cfg["HEARTBEAT_INTERVAL_SECONDS"],
        "presence_timeout_seconds": cfg["PRESENCE_TIMEOUT_SECONDS"],
        "daily_cap_seconds": cfg["DAILY_ONLINE_CAP_SECONDS"],
        "min_playback_rate": cfg["MIN_PLAYBACK_RATE"],
        "max_playback_rate": cfg["MAX_PLAYBACK_RATE"],
        "lecture_seconds": session.lecture_credited,
        "lecture_cap_seconds": session.lecture_cap,
        "completed": session.completed,
        "earns_time": session.earns_time,
    }), 201


@heartbeat_bp.post("/lectures/<int:lecture_id>/heartbeat")
@public  # authenticated by the study session's credential, checked against the session row
@doc("Heartbeat of an open lecture page: credits studied time by the server's clock", tag="hours",
     request_body=BEAT_SCHEMA,
     responses={"200": {"description": "status (credited, hidden, away, paused, rate, no_progress, capped, "
                                       "day_capped, superseded, expired, stale, conflict), credited_seconds, lecture_seconds, completed, watched_share"},
                "401": {"description": "unknown or wrong session credential"}})
def heartbeat(lecture_id: int):
    beat, credential = read_beat(request.get_json(silent=True), request.headers.get("X-Study-Session", ""))
    try:
        try:
            # The hot path: a pooled connection of its own (no ORM session), committed before it returns.
            result = study.credit_hot(db.engine, lecture_id, credential, beat, current_app.config)
        except study.NeedsSession:  # a lecture completed, or a new day: the full path, on the session
            result = study.credit_heartbeat(lecture_id, credential, beat)
            db.session.commit()
    except study.SessionRefused:
        db.session.rollback()
        raise ApiError(401, _("学习会话无效，请刷新页面。"))
    return jsonify(result.as_json())  # acknowledged only once it is durable


def read_beat(data, header_credential: str = "") -> tuple[study.Beat, str]:
    """The heartbeat and the session credential from a request's JSON body (``ApiError(400)`` if malformed)."""
    if not isinstance(data, dict):
        raise ApiError(400, "JSON body required")
    seq = data.get("seq")
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        raise ApiError(400, "seq must be a positive integer")
    beat = study.Beat(seq=seq, visible=data.get("visible") is True, idle_seconds=_number(data, "idle_seconds"),
                      playing=data.get("playing") is True, position=_number(data, "position"),
                      segment_start=_number(data, "segment_start"), rate=_number(data, "rate") or 1.0)
    return beat, str(data.get("session") or header_credential)


FAST_ANSWER_HEADERS = [("Content-Type", "application/json")]  # the security headers come from core.security's
# SecurityHeaders, which wraps the whole WSGI stack, this fast path included


class HeartbeatFastPath:
    """WSGI middleware in front of the Flask app that answers the common heartbeat itself.

    A heartbeat is the one request every studying member sends every 30 seconds, and the Flask request
    cycle (request context, session cookie, URL matching, hooks, response object) costs about as much as its
    transaction. Measured (``python -m bench heartbeat --quick`` against ``--view``, same runs, 2026-12-04):
    SQLite 0.43–0.50 of the trivial route with this entry, 0.27 without (+60 %); PostgreSQL 0.17–0.18 with,
    0.16–0.18 without (its six round trips dominate); with the read and one write in autocommit (three round
    trips with the pool's ping), 0.16–0.27 with this entry at load 5–9, against 0.15–0.18 for six in the same
    interleaved runs (17:13–17:27 UTC; the baseline itself swung 2x within a run). This answers ``POST
    /api/v1/lectures/<id>/heartbeat`` with the view's own parsing (``read_beat``), service
    (``study.credit_hot``) and JSON; it sets nothing on the way (no cookie, no session), and the heartbeat's
    only authentication is the study session's credential, checked by the service in both places. Anything
    it cannot answer exactly as the view would (no or malformed JSON, a refused credential, a completed lecture
    or a new day's counter, a database error) goes to the Flask app untouched, with the body replayed, and the
    view answers it: the fast path writes nothing before it hands over (``credit_hot`` raises before writing, and
    its write, one transaction on SQLite and one statement on PostgreSQL, is all or nothing).
    """

    PATH = re.compile(r"/api/v1/lectures/([0-9]{1,18})/heartbeat\Z")
    MAX_BODY = 4096  # a heartbeat is about 150 bytes; anything larger goes the usual way

    def __init__(self, app, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app
        self.engine = None

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") == "POST":
            match = self.PATH.match(environ.get("PATH_INFO", ""))
            if match:
                body = self.answer(environ, int(match.group(1)))
                if body is not None:
                    start_response("200 OK", [*FAST_ANSWER_HEADERS, ("Content-Length", str(len(body)))])
                    return [body]
        return self.wsgi_app(environ, start_response)

    def answer(self, environ, lecture_id: int) -> bytes | None:
        mimetype = environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
        if not (mimetype == "application/json" or (mimetype.startswith("application/")
                                                   and mimetype.endswith("+json"))):
            return None
        try:
            length = int(environ.get("CONTENT_LENGTH") or -1)
        except ValueError:
            return None
        if not 0 < length <= self.MAX_BODY:
            return None
        raw = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(raw)  # for the Flask app, if it is to answer after all
        environ["CONTENT_LENGTH"] = str(len(raw))
        try:
            beat, credential = read_beat(json.loads(raw), environ.get("HTTP_X_STUDY_SESSION", ""))
            if self.engine is None:
                with self.app.app_context():
                    self.engine = db.engine
            result = study.credit_hot(self.engine, lecture_id, credential, beat, self.app.config)
        except (ValueError, ApiError, study.NeedsSession, study.SessionRefused, SQLAlchemyError):
            return None
        return reply_body(result)


def reply_body(result: study.BeatResult) -> bytes:
    """The view's JSON of a heartbeat's result, as ``jsonify`` writes it (sorted keys, compact, a newline)."""
    return (json.dumps(result.as_json(), sort_keys=True, separators=(",", ":")) + "\n").encode()


def hours_payload(member, year: int) -> dict:
    summary = hours.year_summary(member, year)
    by_course = []
    for row in summary["by_course"]:
        done, total = course_progress(member.id, row["course_id"])
        by_course.append({**row, "hours": hours.format_units(row["seconds"]), "lectures_completed": done,
                          "lectures_total": total})
    return {
        "year": year,
        "required_seconds": summary["required_seconds"],
        "earned_seconds": summary["earned_seconds"],
        "remaining_seconds": summary["remaining_seconds"],
        "required_hours": hours.format_units(summary["required_seconds"]),
        "earned_hours": hours.format_units(summary["earned_seconds"]),
        "minutes_per_hour_unit": current_app.config["MINUTES_PER_HOUR_UNIT"],
        "basis": summary["basis"],
        "by_source": summary["by_source"],
        "by_month": summary["by_month"],
        "by_course": by_course,
    }


@bp.get("/me/hours")
@login_required
@doc("My training hours for a year: required, earned, by source, by month, by course", tag="hours",
     parameters=[{"name": "year", "in": "query", "schema": {"type": "integer"}}])
def my_hours():
    year = request.args.get("year", type=int) or hours.current_year()
    if not 2000 <= year <= 2100:
        raise ApiError(400, "year out of range")
    return jsonify(hours_payload(current_user, year))
