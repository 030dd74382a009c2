"""JSON API of training classes: my classes, a class's schedule and my standing, open classes, register.

A participant sees their own standing only; a manager (admin, organizer of the host subtree, the trainer
who created it) sees the schedule. Anyone else gets 404 for a class they may not see.
"""
from __future__ import annotations

from flask_login import current_user
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from core import clock
from core.api import PAGE_PARAMETERS, ApiError, api_blueprint, doc, paged
from core.extensions import db
from core.permissions import login_required
from classes import services
from classes.graduation import Standing
from classes.models import ClassSession, ClassStatus, EnrolmentMode, ParticipantStatus, TrainingClass
from classes.services import ClassError
from learning.models import CheckIn

bp = api_blueprint("classes_api", __name__)

ID = {"type": "integer"}
STR = {"type": "string"}
NULLABLE_STR = {"type": ["string", "null"]}
CLASS_SCHEMA = {"type": "object", "properties": {
    "id": ID, "name": STR, "type": STR, "host_organization": STR,
    "starts_on": {"type": "string", "format": "date"}, "ends_on": {"type": "string", "format": "date"},
    "status": {"type": "string", "enum": ["draft", "open", "running", "graduated"]},
    "enrolment_mode": {"type": "string", "enum": ["roster", "application", "open"]},
    "capacity": {"type": ["integer", "null"]}, "places_left": {"type": ["integer", "null"]},
    "registration_opens_at": NULLABLE_STR, "registration_closes_at": NULLABLE_STR,
    "my_status": {"type": ["string", "null"], "enum": ["applied", "approved", "rejected", "withdrawn", None]}}}
SESSION_SCHEMA = {"type": "object", "properties": {
    "id": ID, "title": STR, "place": STR, "trainer": STR,
    "starts_at": {"type": "string", "description": "UTC, ISO 8601 with Z"}, "ends_at": STR,
    "credit_seconds": ID, "cancelled": {"type": "boolean"}, "attended": {"type": ["boolean", "null"]}}}
RULE_SCHEMA = {"type": "object", "properties": {
    "key": {"type": "string", "enum": ["required_items", "attendance", "exam", "hours"]}, "label": STR,
    "value": {"type": "number"}, "threshold": {"type": "number"}, "met": {"type": "boolean"},
    "at_risk": {"type": "boolean"}, "missing": {"type": "array", "items": STR}}}
DETAIL_SCHEMA = {"type": "object", "properties": {
    "class": CLASS_SCHEMA, "schedule": {"type": "array", "items": SESSION_SCHEMA},
    "standing": {"type": ["object", "null"], "properties": {
        "rules": {"type": "array", "items": RULE_SCHEMA}, "meets_all": {"type": "boolean"},
        "at_risk": {"type": "boolean"}, "hours_seconds": ID, "graduated": {"type": ["boolean", "null"]},
        "certificate": {"type": ["object", "null"], "properties": {
            "number": STR, "code": STR, "revoked": {"type": "boolean"}, "verify_url": STR}}}}}}


def iso(value) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value else None


def class_json(training_class: TrainingClass, my_status: str | None = None) -> dict:
    return {"id": training_class.id, "name": training_class.name, "type": training_class.class_type.name,
            "host_organization": training_class.host_org.name,
            "starts_on": training_class.starts_on.isoformat(), "ends_on": training_class.ends_on.isoformat(),
            "status": training_class.status.value, "enrolment_mode": training_class.enrolment_mode.value,
            "capacity": training_class.capacity, "places_left": training_class.places_left,
            "registration_opens_at": iso(training_class.registration_opens_at),
            "registration_closes_at": iso(training_class.registration_closes_at), "my_status": my_status}


def session_json(session: ClassSession, attended: bool | None) -> dict:
    return {"id": session.id, "title": session.title, "place": session.place, "trainer": session.trainer_name,
            "starts_at": iso(session.starts_at), "ends_at": iso(session.ends_at),
            "credit_seconds": session.credit_seconds, "cancelled": session.is_cancelled, "attended": attended}


def standing_json(row: Standing) -> dict:
    certificate = row.certificate
    return {"rules": [{**rule.as_dict(), "label": rule.label} for rule in row.rules], "meets_all": row.meets_all,
            "at_risk": row.at_risk, "hours_seconds": row.hours_seconds, "graduated": row.graduated,
            "certificate": None if certificate is None else {
                "number": certificate.number, "code": certificate.code, "revoked": certificate.is_revoked,
                "verify_url": services.verify_url(certificate)}}


@bp.get("/me/classes")
@login_required
@doc("我的培训班 (classes I take part in or applied to)", tag="classes",
     responses={"200": {"description": "OK", "content": {"application/json": {"schema": {
         "type": "object", "properties": {"items": {"type": "array", "items": CLASS_SCHEMA}}}}}}})
def my_classes():
    items = []
    for training_class in services.my_classes(current_user):
        participant = services.participant_of(training_class, current_user)
        items.append(class_json(training_class, participant.status.value if participant else None))
    return {"items": items}


@bp.get("/classes")
@login_required
@doc("Open classes the user may register for or apply to now", tag="classes", parameters=PAGE_PARAMETERS,
     responses={"200": {"description": "OK", "content": {"application/json": {"schema": {
         "type": "object", "properties": {"items": {"type": "array", "items": CLASS_SCHEMA},
                                          "page": ID, "per_page": ID, "total": ID}}}}}})
def registrable():
    return paged(services.registrable_classes_stmt(current_user), class_json)


@bp.get("/classes/<int:class_id>")
@login_required
@doc("A class: its schedule (next session first) and, for a participant, their standing", tag="classes",
     responses={"200": {"description": "OK", "content": {"application/json": {"schema": DETAIL_SCHEMA}}},
                "404": {"description": "No such class, or not visible to this user"}})
def class_detail(class_id: int):
    try:
        training_class = services.class_for_viewer(current_user, class_id)
    except NotFound as exc:  # the class is not revealed
        raise ApiError(404, "no such class") from exc
    participant = services.participant_of(training_class, current_user)
    approved = participant is not None and participant.status == ParticipantStatus.APPROVED
    row = services.standing(participant) if approved else None
    attended = None
    if approved:
        attended = set(db.session.scalars(select(CheckIn.class_id).where(CheckIn.user_id == current_user.id)))
    schedule = [session_json(s, (s.offline_class_id in attended) if attended is not None else None)
                for s in services.schedule(training_class, clock.utcnow())]
    return {"class": class_json(training_class, participant.status.value if participant else None),
            "schedule": schedule, "standing": standing_json(row) if row is not None else None}


@bp.post("/classes/<int:class_id>/registrations")
@login_required
@doc("Register for an open class (public learners and members); capacity and window enforced",
     tag="classes", request_body={"type": "object", "properties": {}},
     responses={"201": {"description": "Registered", "content": {"application/json": {"schema": CLASS_SCHEMA}}},
                "200": {"description": "Already registered"},
                "404": {"description": "No such open class"},
                "409": {"description": "Full, or registration closed"}})
def register(class_id: int):
    training_class = db.session.get(TrainingClass, class_id)
    if (training_class is None or training_class.status == ClassStatus.DRAFT
            or training_class.enrolment_mode != EnrolmentMode.OPEN):
        raise ApiError(404, "no such open class")
    before = services.participant_of(training_class, current_user)
    already = before is not None and before.status == ParticipantStatus.APPROVED
    try:
        participant = services.register(training_class, current_user)
    except ClassError as exc:
        db.session.rollback()
        raise ApiError(409, str(exc)) from exc
    except NotFound as exc:
        db.session.rollback()
        raise ApiError(404, "no such open class") from exc
    db.session.commit()
    db.session.refresh(training_class)
    return class_json(training_class, participant.status.value), 200 if already else 201
