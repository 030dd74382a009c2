"""The heartbeat: the one request every studying member sends every 30 seconds.

It has its own blueprint: it is authenticated by the study session's credential (a secret the session start
handed to this page or app, sent with every heartbeat), not by the login cookie. So it needs no CSRF token
(nothing ambient authorizes it) and loads no user row: the hot path is three SQL statements in a transaction of
its own on SQLite, two on PostgreSQL (``study.credit_hot``). Ordinary heartbeats are answered by
``HeartbeatFastPath``, a WSGI layer in front of the Flask app (wired in ``create_app`` when
``HEARTBEAT_FAST_PATH``) that runs the same parsing and service without the Flask request cycle, with the
security headers every answer gets (``core.security``); the view answers the rest (refusals, malformed bodies,
completions).
"""
from __future__ import annotations

import io
import json
import math
import re

from flask import Blueprint, current_app, jsonify, request
from flask_babel import gettext as _
from sqlalchemy.exc import SQLAlchemyError

from core.api import ApiError, doc
from core.extensions import csrf, db
from core.permissions import public
from learning import study

heartbeat_bp = Blueprint("learning_heartbeat", __name__, url_prefix="/api/v1")
csrf.exempt(heartbeat_bp)

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


def json_number(data: dict, key: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ApiError(400, f"{key} must be a number")
    return float(value)


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
    beat = study.Beat(seq=seq, visible=data.get("visible") is True, idle_seconds=json_number(data, "idle_seconds"),
                      playing=data.get("playing") is True, position=json_number(data, "position"),
                      segment_start=json_number(data, "segment_start"), rate=json_number(data, "rate") or 1.0)
    return beat, str(data.get("session") or header_credential)


FAST_ANSWER_HEADERS = [("Content-Type", "application/json")]  # the security headers come from core.security's
# SecurityHeaders, which wraps the whole WSGI stack, this fast path included


class HeartbeatFastPath:
    """WSGI middleware in front of the Flask app that answers the common heartbeat itself.

    A heartbeat is the one request every studying member sends every 30 seconds, and the Flask request
    cycle (request context, session cookie, URL matching, hooks, response object) costs about as much as its
    transaction. Measured (``python -m bench heartbeat --quick`` against ``--view``, same runs, 2026-12-04):
    SQLite 0.43–0.50 of the trivial route with this entry, 0.27 without (+60 %); PostgreSQL 0.17–0.18 with,
    0.16–0.18 without (its six round trips dominate then); with the write as one statement, 0.22 (2026-12-05,
    ``engine.begin()``, interleaved with an autocommit variant that measured the same). This answers ``POST
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
