"""Standing against the graduation rules, the progress board, graduation (结业) and class certificates.

Every rule is optional: every required plan item done (``required_items``); a minimum share of the class's
offline sessions attended, cancelled ones not counted (``attendance``); every exam of the plan passed
(``exam``); a minimum of 学时 earned within the class period (``hours``). The board reads everything for all
participants in a fixed number of queries. Graduation freezes each participant's result as a
``GraduationRecord``; a graduated class shows those records, so later edits to courses change nothing.
Services flush; the caller commits.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, url_for
from flask_babel import gettext as _
from sqlalchemy import case, func, select, update
from sqlalchemy.orm import joinedload, selectinload
from werkzeug.exceptions import NotFound

from accounts.models import User
from core import clock
from core.extensions import db
from messages.services import notify
from classes.models import (ClassCertificate, ClassError, ClassSession, ClassStatus, GraduationRecord,
                                     Participant, ParticipantStatus, PlanItem, PlanItemKind, TrainingClass)
from classes.scope import can_manage
from learning.models import CheckIn, HourEntry, OfflineClass
from courses.models import Enrollment
from quizzes.models import Attempt, AttemptStatus

RULE_KEYS = ("required_items", "attendance", "exam", "hours")
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # as course certificates: no 0/O, 1/I


class GraduationError(ClassError):
    """A graduation rule was broken; the message is shown to the organizer."""


def rule_label(key: str) -> str:
    return {"required_items": _("必修项目"), "attendance": _("出勤率"), "exam": _("考试合格"),
            "hours": _("班期内学时")}[key]


@dataclass
class RuleResult:
    """One rule for one participant. ``value``/``threshold``: items done / required, attendance percent /
    minimum percent, exams passed / exams, seconds earned / seconds required. ``missing``: titles of what
    is not done yet (items, exams)."""

    key: str
    value: float
    threshold: float
    met: bool
    at_risk: bool = False
    missing: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return rule_label(self.key)

    def as_dict(self) -> dict:
        return {"key": self.key, "value": self.value, "threshold": self.threshold, "met": self.met,
                "at_risk": self.at_risk, "missing": list(self.missing)}

    @classmethod
    def from_dict(cls, data: dict) -> "RuleResult":
        return cls(key=data["key"], value=data["value"], threshold=data["threshold"], met=bool(data["met"]),
                   at_risk=bool(data.get("at_risk")), missing=list(data.get("missing") or []))


@dataclass
class Standing:
    """A participant against every active rule; ``frozen``: read from the graduation record."""

    user: User
    participant: Participant | None
    rules: list[RuleResult]
    hours_seconds: int = 0
    attended: int = 0
    sessions_counted: int = 0
    certificate: ClassCertificate | None = None
    frozen: bool = False
    graduated: bool | None = None  # None: not graduated yet (no record)

    @property
    def meets_all(self) -> bool:
        return all(rule.met for rule in self.rules)

    @property
    def at_risk(self) -> bool:
        return any(rule.at_risk for rule in self.rules)

    @property
    def missed(self) -> list[str]:
        return [rule.key for rule in self.rules if not rule.met]

    def rule(self, key: str) -> RuleResult | None:
        return next((r for r in self.rules if r.key == key), None)


@dataclass
class Board:
    """The progress board: every approved participant, the plan, the sessions in time order, the attendance
    matrix ``(user_id, session_id)`` and the best exam percent ``(user_id, quiz_id)``."""

    training_class: TrainingClass
    rule_keys: list[str]
    rows: list[Standing]
    items: list[PlanItem]
    sessions: list[ClassSession]
    attendance: set[tuple[int, int]]
    exam_scores: dict[tuple[int, int], float]
    exam_passed: set[tuple[int, int]]

    @property
    def at_risk(self) -> list[Standing]:
        return [row for row in self.rows if row.at_risk]

    @property
    def exams(self) -> list[PlanItem]:
        return [item for item in self.items if item.kind == PlanItemKind.EXAM]


def active_rules(training_class: TrainingClass) -> list[str]:
    keys = []
    if training_class.rule_required_items:
        keys.append("required_items")
    if training_class.rule_min_attendance_percent is not None:
        keys.append("attendance")
    if training_class.rule_exam_pass:
        keys.append("exam")
    if training_class.rule_min_hours_seconds is not None:
        keys.append("hours")
    return keys


# --- the class period ---------------------------------------------------------------------------------------

def period_bounds_utc(training_class: TrainingClass) -> tuple[datetime, datetime]:
    """The class period as naive UTC: local midnight of the first day to local midnight after the last."""
    tz = ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])

    def start(day: date) -> datetime:
        return datetime.combine(day, time.min, tz).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)

    return start(training_class.starts_on), start(training_class.ends_on + timedelta(days=1))


# --- reading the facts, for everyone at once ----------------------------------------------------------------

def _build(training_class: TrainingClass, user_ids: list[int] | None, now: datetime, live: bool = False) -> Board:
    """Everything the rules need, for ``user_ids`` (None: every approved participant), in fixed queries.
    Frozen records are shown as they are unless ``live`` (graduation re-evaluates)."""
    cid = training_class.id
    pstmt = (select(Participant).options(joinedload(Participant.user).joinedload(User.organization))
             .where(Participant.class_id == cid))
    if user_ids is None:
        pstmt = pstmt.where(Participant.status == ParticipantStatus.APPROVED)
        ids_sql = select(Participant.user_id).where(Participant.class_id == cid,
                                                    Participant.status == ParticipantStatus.APPROVED)
    else:
        pstmt = pstmt.where(Participant.user_id.in_(user_ids))
        ids_sql = list(user_ids)
    participants = list(db.session.scalars(pstmt.order_by(Participant.id)))
    items = list(db.session.scalars(
        select(PlanItem).options(selectinload(PlanItem.course), selectinload(PlanItem.quiz),
                                 selectinload(PlanItem.session))
        .where(PlanItem.class_id == cid).order_by(PlanItem.position, PlanItem.id)))
    sessions = list(db.session.scalars(select(ClassSession).join(OfflineClass)
                                       .where(ClassSession.class_id == cid)
                                       .order_by(OfflineClass.starts_at, ClassSession.id)))
    offline_to_session = {s.offline_class_id: s.id for s in sessions}
    attendance = set()
    if sessions:
        attendance = {(u, offline_to_session[o]) for u, o in db.session.execute(
            select(CheckIn.user_id, CheckIn.class_id).where(CheckIn.class_id.in_(list(offline_to_session)),
                                                            CheckIn.user_id.in_(ids_sql)))}
    course_ids = [i.course_id for i in items if i.kind == PlanItemKind.COURSE and i.course_id]
    completed = set()
    if course_ids:
        completed = set(db.session.execute(select(Enrollment.user_id, Enrollment.course_id).where(
            Enrollment.course_id.in_(course_ids), Enrollment.completed_at.is_not(None),
            Enrollment.user_id.in_(ids_sql))).all())
    quiz_ids = [i.quiz_id for i in items if i.kind == PlanItemKind.EXAM and i.quiz_id]
    scores, passed = {}, set()
    if quiz_ids:
        for user_id, quiz_id, best, any_pass in db.session.execute(
                select(Attempt.user_id, Attempt.quiz_id, func.max(Attempt.percent),
                       func.max(case((Attempt.passed.is_(True), 1), else_=0)))
                .where(Attempt.quiz_id.in_(quiz_ids), Attempt.status == AttemptStatus.SUBMITTED,
                       Attempt.user_id.in_(ids_sql)).group_by(Attempt.user_id, Attempt.quiz_id)):
            if best is not None:
                scores[(user_id, quiz_id)] = float(best)
            if any_pass:
                passed.add((user_id, quiz_id))
    start, end = period_bounds_utc(training_class)
    hours = dict(db.session.execute(
        select(HourEntry.user_id, func.coalesce(func.sum(HourEntry.seconds), 0))
        .where(HourEntry.user_id.in_(ids_sql), HourEntry.occurred_at >= start, HourEntry.occurred_at < end)
        .group_by(HourEntry.user_id)).all())
    certificates = {c.user_id: c for c in db.session.scalars(
        select(ClassCertificate).where(ClassCertificate.class_id == cid, ClassCertificate.user_id.in_(ids_sql)))}
    records = {r.user_id: r for r in db.session.scalars(
        select(GraduationRecord).where(GraduationRecord.class_id == cid, GraduationRecord.user_id.in_(ids_sql)))}

    keys = active_rules(training_class)
    rows = []
    for participant in participants:
        uid = participant.user_id
        record = records.get(uid)
        if record is not None and not live and (record.graduated or training_class.is_frozen):
            row = Standing(user=participant.user, participant=participant,
                           rules=[RuleResult.from_dict(r) for r in record.rules], hours_seconds=record.hours_seconds,
                           certificate=certificates.get(uid), frozen=True, graduated=record.graduated)
            counted = [s for s in sessions if s.counts_for_attendance and not s.is_cancelled]
            row.attended = sum(1 for s in counted if (uid, s.id) in attendance)
            row.sessions_counted = len(counted)
        else:
            row = _evaluate(training_class, keys, participant, items, sessions, attendance, completed, passed,
                            int(hours.get(uid, 0)), now, start, end)
            row.certificate = certificates.get(uid)
            if record is not None:
                row.graduated = record.graduated
        rows.append(row)
    return Board(training_class=training_class, rule_keys=keys, rows=rows, items=items, sessions=sessions,
                 attendance=attendance, exam_scores=scores, exam_passed=passed)


def _evaluate(training_class, keys, participant, items, sessions, attendance, completed, passed, hours_seconds,
              now, period_start, period_end) -> Standing:
    uid = participant.user_id
    ended = now >= period_end
    rules: list[RuleResult] = []
    counted = [s for s in sessions if s.counts_for_attendance and not s.is_cancelled]
    attended = sum(1 for s in counted if (uid, s.id) in attendance)

    def item_done(item: PlanItem) -> bool:
        if item.kind == PlanItemKind.COURSE:
            return (uid, item.course_id) in completed
        if item.kind == PlanItemKind.SESSION:
            return (uid, item.session_id) in attendance
        return (uid, item.quiz_id) in passed

    def item_lost(item: PlanItem) -> bool:  # can no longer be done in time
        if item.kind == PlanItemKind.SESSION and item.session is not None:
            return item.session.ends_at < now
        if item.kind == PlanItemKind.EXAM and item.quiz is not None and item.quiz.closes_at is not None:
            return item.quiz.closes_at < now
        return ended

    if "required_items" in keys:
        required = [i for i in items if i.required
                    and not (i.kind == PlanItemKind.SESSION and i.session is not None and i.session.is_cancelled)]
        missing = [i for i in required if not item_done(i)]
        rules.append(RuleResult("required_items", len(required) - len(missing), len(required), not missing,
                                at_risk=any(item_lost(i) for i in missing), missing=[i.title for i in missing]))
    if "attendance" in keys:
        threshold = training_class.rule_min_attendance_percent
        total = len(counted)
        value = round(attended * 100 / total, 1) if total else 100.0
        held = [s for s in counted if s.starts_at <= now]
        future = len(counted) - len(held)
        best_possible = (attended + future) * 100 / total if total else 100.0
        behind = bool(held) and attended * 100 / len(held) < threshold
        met = value >= threshold
        rules.append(RuleResult("attendance", value, threshold, met,
                                at_risk=not met and (best_possible < threshold or behind)))
    if "exam" in keys:
        exams = [i for i in items if i.kind == PlanItemKind.EXAM]
        missing = [i for i in exams if (uid, i.quiz_id) not in passed]
        rules.append(RuleResult("exam", len(exams) - len(missing), len(exams), not missing,
                                at_risk=any(item_lost(i) for i in missing), missing=[i.title for i in missing]))
    if "hours" in keys:
        threshold = training_class.rule_min_hours_seconds
        met = hours_seconds >= threshold
        begin, finish = period_start, period_end
        span = max(1.0, (finish - begin).total_seconds())
        elapsed = min(1.0, max(0.0, (now - begin).total_seconds() / span))
        rules.append(RuleResult("hours", hours_seconds, threshold, met,
                                at_risk=not met and (ended or hours_seconds < threshold * elapsed)))
    return Standing(user=participant.user, participant=participant, rules=rules, hours_seconds=hours_seconds,
                    attended=attended, sessions_counted=len(counted))


def board(training_class: TrainingClass, now: datetime | None = None) -> Board:
    """The progress board of every approved participant (a fixed number of queries, whatever the size)."""
    return _build(training_class, None, now or clock.utcnow())


def standing(participant: Participant, now: datetime | None = None) -> Standing:
    """One participant against each rule (the frozen record once the class has graduated them)."""
    built = _build(participant.training_class, [participant.user_id], now or clock.utcnow())
    return built.rows[0]


# --- graduation ---------------------------------------------------------------------------------------------

@dataclass
class GraduationOutcome:
    issued: list[ClassCertificate]  # new certificates of this run
    already: list[ClassCertificate]  # certificates of earlier runs (revoked ones included)
    not_graduated: list[Standing]  # with ``missed``: the rules each one did not meet


def _new_code() -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
        if db.session.scalar(select(ClassCertificate.id).where(ClassCertificate.code == code)) is None:
            return code


def certificate_number(training_class: TrainingClass, seq: int) -> str:
    """e.g. 睢阳党校〔2026〕第003期-017号 (prefix from the class; a default one names the year and class id)."""
    prefix = training_class.certificate_prefix or f"〔{training_class.starts_on.year}〕第{training_class.id:03d}期"
    return f"{prefix}-{seq:03d}号"


def graduate(training_class: TrainingClass, by: User, now: datetime | None = None,
             early_reason: str | None = None) -> GraduationOutcome:
    """Graduate the class: every approved participant meeting every rule gets the next certificate number;
    the others are listed with the rules missed; each result is frozen as a record. Repeatable: a second
    run issues nothing to anyone who has a certificate (even a revoked one), and may graduate someone who
    has since caught up. Concurrent runs are serialized on the class row. Before the class has ended, only
    with ``early_reason`` (graduating early), which is kept on the class."""
    now = now or clock.utcnow()
    if not can_manage(by, training_class):
        raise NotFound()
    if training_class.status == ClassStatus.DRAFT:
        raise GraduationError(_("草稿状态的培训班不能结业。"))
    early_reason = (early_reason or "").strip()[:300]
    ended = now >= period_bounds_utc(training_class)[1]
    if not ended and not early_reason and training_class.graduated_at is None:
        raise GraduationError(_("培训班要到 %(day)s 才结束，现在还不能结业；如确需提前结业，请填写提前结业的原因。",
                                day=training_class.ends_on.isoformat()))
    # Lock the class row (PostgreSQL: row lock; SQLite: the write lock) before numbering.
    db.session.execute(update(TrainingClass).where(TrainingClass.id == training_class.id)
                       .values(next_certificate_seq=TrainingClass.next_certificate_seq)
                       .execution_options(synchronize_session=False))
    db.session.refresh(training_class)
    result = _build(training_class, None, now, live=True)
    records = {r.user_id: r for r in db.session.scalars(
        select(GraduationRecord).where(GraduationRecord.class_id == training_class.id))}
    outcome = GraduationOutcome(issued=[], already=[], not_graduated=[])
    for row in result.rows:
        uid = row.user.id
        if row.certificate is not None:
            outcome.already.append(row.certificate)
            continue
        record = records.get(uid)
        if record is None:
            record = GraduationRecord(class_id=training_class.id, user_id=uid)
            db.session.add(record)
        record.rules = [r.as_dict() for r in row.rules]
        record.missed = row.missed
        record.hours_seconds = row.hours_seconds
        record.recorded_at = now
        record.recorded_by_id = by.id
        record.graduated = row.meets_all
        if row.meets_all:
            seq = training_class.next_certificate_seq
            training_class.next_certificate_seq = seq + 1
            certificate = ClassCertificate(class_id=training_class.id, user_id=uid, seq=seq,
                                           number=certificate_number(training_class, seq), code=_new_code(),
                                           issued_at=now, issued_by_id=by.id)
            db.session.add(certificate)
            db.session.flush()
            record.certificate_id = certificate.id
            outcome.issued.append(certificate)
            notify(uid, "certificate_issued", _("您已从培训班「%(name)s」结业，获得结业证书。", name=training_class.name))
        else:
            row.graduated = False
            outcome.not_graduated.append(row)
    training_class.status = ClassStatus.GRADUATED
    if training_class.graduated_at is None:
        training_class.graduated_at = now
        training_class.graduated_by_id = by.id
        if not ended:
            training_class.early_graduation_reason = early_reason
    db.session.flush()
    return outcome


def revoke_certificate(certificate: ClassCertificate, by: User, reason: str,
                       now: datetime | None = None) -> ClassCertificate:
    """Revoke a certificate with a reason; its number stays used (never issued again)."""
    if not can_manage(by, certificate.training_class):
        raise NotFound()
    reason = (reason or "").strip()
    if not reason:
        raise GraduationError(_("请填写撤销原因。"))
    if certificate.revoked_at is None:
        certificate.revoked_at = now or clock.utcnow()
        certificate.revoked_by_id = by.id
        certificate.revoke_reason = reason[:500]
        db.session.flush()
    return certificate


def certificate_by_code(code: str) -> ClassCertificate | None:
    """The certificate a verification code names (spaces, dashes and case forgiven), or None."""
    code = (code or "").strip().upper().replace("-", "").replace(" ", "")
    if not code or len(code) > 20:
        return None
    return db.session.scalar(select(ClassCertificate).options(joinedload(ClassCertificate.training_class),
                                                              joinedload(ClassCertificate.user))
                             .where(ClassCertificate.code == code))


def certificate_for(training_class: TrainingClass, user: User) -> ClassCertificate | None:
    return db.session.scalar(select(ClassCertificate).where(ClassCertificate.class_id == training_class.id,
                                                            ClassCertificate.user_id == user.id))


def verify_url(certificate: ClassCertificate) -> str:
    """The public verification page of a certificate (endpoint ``classes.verify``, a page of views.py)."""
    return url_for("classes.verify", code=certificate.code, _external=True)
