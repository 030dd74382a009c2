"""The hours engine's JSON API: starting a study session and a member's hours.

Starting a session is an ordinary logged-in API call (cookie + CSRF header, or a bearer token); two at once for
one member leave one active session (the database's partial unique index). The heartbeats that follow are
``learning.heartbeat_api``.
"""
from __future__ import annotations

from flask import current_app, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from core.api import ApiError, api_blueprint, doc
from core.extensions import db
from core.permissions import login_required
from courses.models import Lecture, LectureKind
from courses.visibility import can_view_lecture
from learning import hours, study
from learning.heartbeat_api import json_number

bp = api_blueprint("learning_api", __name__)

SESSION_SCHEMA = {"type": "object", "properties": {"position": {"type": "number", "description": "video position"}}}


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
        session, credential = study.start_session(current_user, lecture, position=json_number(data, "position") or 0.0,
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


@bp.get("/me/hours")
@login_required
@doc("My training hours for a year: required, earned, by source, by month, by course", tag="hours",
     parameters=[{"name": "year", "in": "query", "schema": {"type": "integer"}}])
def my_hours():
    year = request.args.get("year", type=int) or hours.current_year()
    if not 2000 <= year <= 2100:
        raise ApiError(400, "year out of range")
    return jsonify(hours.hours_payload(current_user, year))
