"""Online study: study sessions and heartbeats, credited by the server's clock.

A lecture page starts a study session (which takes over from the member's other sessions) and then sends a
heartbeat every ``HEARTBEAT_INTERVAL_SECONDS``. A heartbeat earns the wall time since the session's last
accepted heartbeat, measured by ``core.clock.utcnow()``, and only when every rule holds:

* the page was visible, and the learner present: for a video, playing at an allowed rate
  (``MIN_PLAYBACK_RATE``..``MAX_PLAYBACK_RATE``) through positions not watched before, no faster than the
  server's clock allows (earned = new positions ÷ rate); for reading, the part of the window until the last
  input plus ``PRESENCE_TIMEOUT_SECONDS``;
* the session is still the member's active one (not superseded by another tab or device, by a change of the
  member's account, or by the lecture leaving their sight), and had a heartbeat within
  ``STUDY_SESSION_EXPIRE_SECONDS`` (else it is closed: ``expired``);
* its sequence number is newer than the last accepted one (replays and reorders earn nothing);
* a gap longer than interval + grace earns one interval (a sleeping laptop, a frozen tab);
* the lecture's cap and the daily cap are not reached.

The rules are one function, ``judge``; ``_apply`` runs it between the same Core statements on either path:
read the session row, one conditional UPDATE that advances it only if nobody else did since the read
(compare-and-set on ``last_seq``), one INSERT into the ledger (on PostgreSQL the UPDATE is a CTE feeding the
INSERT: one statement). Of many concurrent heartbeats exactly one wins the UPDATE; the others credit nothing.
The hot path (``credit_hot``) runs them in a transaction of its own (``engine.begin()``; on PostgreSQL the
write is one statement); the full path (``credit_heartbeat``, on the ORM session) takes the rare heartbeat that
needs more: a new local day's counter, a completed lecture. The heartbeat authenticates by the session's own
token, so no user row is loaded.

Only one session per member is active, held by the database: a partial unique index on the active session
of each user, and starting a session locks the user's row first (PostgreSQL; SQLite writes one at a time).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import math
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import bindparam, func, insert, select, update

from accounts.models import User
from accounts.services import member_access_changed
from core import clock
from core.extensions import db
from courses.models import CreditMode, Lecture, LectureKind
from courses.services import lecture_access_changed
from courses.visibility import can_view_lecture
from learning.models import HourEntry, HourSource, StudySession
from courses.models import LectureProgress

VIDEO = LectureKind.VIDEO.value
RATE_TOLERANCE_SECONDS = 2.0  # timing jitter allowed between the video clock and the server clock


class SessionRefused(Exception):
    """The credential names no session of this lecture (answered 401/404 by the API)."""


class NeedsSession(Exception):
    """This heartbeat has bookkeeping beyond the hot path (a lecture completed, a new day's counter):
    run it again through the ORM session (``connection=None``)."""


# --- caps -------------------------------------------------------------------------------------------------

def reading_seconds_for(lecture: Lecture) -> int:
    """A text or document lecture's reading time: the trainer's figure, else estimated from its length."""
    if lecture.reading_seconds:
        return int(lecture.reading_seconds)
    if lecture.kind == LectureKind.DOCUMENT and lecture.material is not None:
        text = lecture.material.text or ""
    else:
        text = lecture.body_markdown or ""
    chars = sum(1 for ch in text if not ch.isspace())
    per_minute = max(1, int(current_app.config["READING_CHARS_PER_MINUTE"]))
    return max(60, math.ceil(chars * 60 / per_minute))


def lecture_cap_seconds(lecture: Lecture) -> int:
    """The most one member can earn on a lecture online: a video's duration at the slowest allowed rate
    plus a grace, a text's or document's reading time."""
    cfg = current_app.config
    if lecture.kind == LectureKind.VIDEO:
        duration = lecture.duration_seconds or 0
        if not duration:
            return 0
        return math.ceil(duration / float(cfg["MIN_PLAYBACK_RATE"])) + int(cfg["VIDEO_CAP_GRACE_SECONDS"])
    if lecture.kind == LectureKind.OFFLINE:
        return 0
    return reading_seconds_for(lecture)


def completion_seconds(lecture: Lecture) -> float:
    """Video: watched seconds needed; text/document: studied seconds needed."""
    share = float(current_app.config["VIDEO_COMPLETION_SHARE"])
    if lecture.kind == LectureKind.VIDEO:
        return share * (lecture.duration_seconds or 0)
    return share * reading_seconds_for(lecture)


# --- days in the display time zone -------------------------------------------------------------------------

def local_day(moment: datetime, config=None) -> date:
    tz = ZoneInfo((config or current_app.config)["DISPLAY_TIMEZONE"])
    return clock.to_local(moment, tz.key).date()


def day_bounds_utc(day: date) -> tuple[datetime, datetime]:
    """The naive-UTC instants a local day starts and ends."""
    tz = ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])
    start = datetime.combine(day, time.min, tz).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
    return start, start + timedelta(days=1)


def online_seconds_on(user_id: int, day: date) -> int:
    start, end = day_bounds_utc(day)
    return int(db.session.scalar(
        select(func.coalesce(func.sum(HourEntry.seconds), 0)).where(
            HourEntry.user_id == user_id, HourEntry.source == HourSource.ONLINE,
            HourEntry.occurred_at >= start, HourEntry.occurred_at < end)) or 0)


# --- watched intervals -------------------------------------------------------------------------------------

def merge_intervals(intervals: list[list[float]]) -> list[list[float]]:
    merged: list[list[float]] = []
    for start, end in sorted((float(a), float(b)) for a, b in intervals if b > a):
        if merged and start <= merged[-1][1] + 0.5:  # half a second of jitter joins two runs
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [[round(a, 1), round(b, 1)] for a, b in merged]


def covered_seconds(intervals: list[list[float]]) -> float:
    return sum(b - a for a, b in intervals)


# --- sessions ----------------------------------------------------------------------------------------------

def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user, lecture: Lecture, *, position: float = 0.0, client: str = "") -> tuple[StudySession, str]:
    """Open a study session on ``lecture`` for ``user``; every other session of theirs stops earning.
    Returns the session and its credential (``"<id>.<secret>"``, shown once, sent with each heartbeat)."""
    now = clock.utcnow()
    cfg = current_app.config
    # One active session per member: the user's row is locked first (PostgreSQL: two starts at the same moment
    # take turns, the later one supersedes the earlier; SQLite writes one transaction at a time), and the partial
    # unique index ``uq_study_sessions_user_active`` refuses a second active row whatever happens.
    db.session.execute(select(User.id).where(User.id == user.id).with_for_update())
    # Supersede first: a heartbeat of the old session that commits before this point is counted below,
    # one that comes after finds its row superseded.
    db.session.execute(update(StudySession).where(StudySession.user_id == user.id,
                                                  StudySession.superseded_at.is_(None))
                       .values(superseded_at=now).execution_options(synchronize_session=False))
    earlier = db.session.execute(
        select(func.coalesce(func.sum(StudySession.credited_seconds), 0), func.max(StudySession.id))
        .where(StudySession.user_id == user.id, StudySession.lecture_id == lecture.id)).one()
    watched, last_position = "[]", float(position or 0)
    if earlier[1] is not None:
        previous = db.session.get(StudySession, earlier[1])
        watched = previous.watched
    progress = db.session.scalar(select(LectureProgress).where(LectureProgress.user_id == user.id,
                                                               LectureProgress.lecture_id == lecture.id))
    if progress is None:
        progress = LectureProgress(user_id=user.id, lecture_id=lecture.id, course_id=lecture.course_id,
                                   started_at=now)
        db.session.add(progress)
    today = local_day(now)
    day_credited = online_seconds_on(user.id, today) if cfg["DAILY_ONLINE_CAP_SECONDS"] else 0
    course = lecture.course
    token = secrets.token_urlsafe(24)
    session = StudySession(
        user_id=user.id, lecture_id=lecture.id, course_id=lecture.course_id, kind=lecture.kind.value,
        earns_time=course.credit_mode != CreditMode.FIXED, token_hash=_hash(token), started_at=now,
        last_seq=0, last_beat_at=now, credited_seconds=0, lecture_cap=lecture_cap_seconds(lecture),
        lecture_credited=int(earlier[0]), day=today.isoformat(), day_credited=day_credited,
        video_seconds=int(lecture.duration_seconds or 0), position=last_position, watched=watched,
        completed=progress.completed_at is not None,
        client=(client or "")[:200])
    db.session.add(session)
    db.session.flush()
    return session, f"{session.id}.{token}"


def end_sessions(condition) -> int:
    """End (supersede) the open study sessions matching ``condition``: their next heartbeat answers
    ``superseded``. Flushes with the caller's transaction; returns how many ended."""
    return db.session.execute(
        update(StudySession).where(StudySession.superseded_at.is_(None), condition)
        .values(superseded_at=clock.utcnow()).execution_options(synchronize_session=False)).rowcount


def close_idle_sessions() -> int:
    """Close the open sessions without a heartbeat for ``STUDY_SESSION_EXPIRE_SECONDS``."""
    limit = timedelta(seconds=int(current_app.config["STUDY_SESSION_EXPIRE_SECONDS"]))
    return end_sessions(StudySession.last_beat_at < clock.utcnow() - limit)


@member_access_changed.connect
def end_member_sessions(member, **_) -> int:
    """A member deactivated, given another category or transferred: their open sessions end."""
    return end_sessions(StudySession.user_id == member.id)


@lecture_access_changed.connect
def end_sessions_out_of_sight(course, lecture=None, **_) -> int:
    """A lecture deleted, a course archived or limited anew: the open sessions on it of those who may no
    longer see the lecture end (the rules of ``courses.visibility``, on fresh rows)."""
    where = StudySession.lecture_id == lecture.id if lecture is not None else StudySession.course_id == course.id
    open_sessions = db.session.execute(select(StudySession.id, StudySession.user_id, StudySession.lecture_id)
                                       .where(StudySession.superseded_at.is_(None), where)).all()
    ended = [sid for sid, user_id, lecture_id in open_sessions
             if not can_view_lecture(db.session.get(User, user_id), db.session.get(Lecture, lecture_id))]
    return end_sessions(StudySession.id.in_(ended)) if ended else 0


# --- heartbeats --------------------------------------------------------------------------------------------

@dataclass
class Beat:
    """What the page says. Only booleans and positions are taken from it; time comes from the server."""

    seq: int
    visible: bool = True
    idle_seconds: float | None = None  # seconds since the learner's last input (None: unknown = away)
    playing: bool = False  # video
    position: float | None = None  # video position now, seconds
    segment_start: float | None = None  # where the playback that reached ``position`` began
    rate: float = 1.0


@dataclass
class BeatResult:
    status: str  # credited, hidden, away, capped, day_capped, superseded, stale, conflict
    credited: int = 0
    lecture_credited: int = 0
    lecture_cap: int = 0
    completed: bool = False
    watched_share: float | None = None
    slow_path: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"status": self.status, "credited_seconds": self.credited,
                "lecture_seconds": self.lecture_credited, "lecture_cap_seconds": self.lecture_cap,
                "completed": self.completed, "watched_share": self.watched_share}


# The session columns a heartbeat reads (``_READ``), in this order.
SESSION_COLUMNS = ("id", "user_id", "lecture_id", "course_id", "kind", "earns_time", "token_hash", "superseded_at",
                   "last_seq", "last_beat_at", "credited_seconds", "lecture_cap", "lecture_credited", "day",
                   "day_credited", "video_seconds", "position", "watched", "completed")


@dataclass
class Advance:
    """What an accepted heartbeat writes: the compare-and-set UPDATE's parameters and, when it earns seconds,
    the ledger entry's; the answer if it wins, and the one if another heartbeat won first."""

    result: BeatResult
    conflict: BeatResult
    params: dict
    credit: int  # seconds for the ledger (0: no entry)
    source_ref: str
    newly_completed: bool
    user_id: int
    lecture_id: int


def _video_window(row, beat: Beat, window: float, cfg) -> tuple[str, float, str, float]:
    """A video's part of the rules: ``(status, seconds earned, watched JSON, position)``. A video earns only
    while it plays at an allowed rate, and only for positions not watched before that advanced no faster than
    the server's clock allows at that rate: earned = new positions ÷ rate, at most the window."""
    duration = float(row.video_seconds or 0)
    intervals = json.loads(row.watched or "[]")
    watched_json, position = row.watched, row.position
    if beat.position is None:
        return ("paused" if not beat.playing else "no_progress"), 0.0, watched_json, position
    end = min(max(0.0, float(beat.position)), duration or float(beat.position))
    start = row.position if beat.segment_start is None else float(beat.segment_start)
    start = min(max(0.0, start), end)
    position = end
    if not beat.playing:
        return "paused", 0.0, watched_json, position
    rate = float(beat.rate)
    if not float(cfg["MIN_PLAYBACK_RATE"]) <= rate <= float(cfg["MAX_PLAYBACK_RATE"]):
        return "rate", 0.0, watched_json, position
    if end - start > window * rate + RATE_TOLERANCE_SECONDS:  # faster than the clock: a seek, not playback
        return "no_progress", 0.0, watched_json, position
    merged = merge_intervals(intervals + [[start, end]])
    new_seconds = covered_seconds(merged) - covered_seconds(merge_intervals(intervals))
    if merged != intervals:
        watched_json = json.dumps(merged)
    earned = min(window, max(0.0, new_seconds) / rate)
    return ("credited" if earned >= 0.5 else "no_progress"), earned, watched_json, position


def judge(row, lecture_id: int, secret: str, beat: Beat, now: datetime, cfg,
          day_seconds=None) -> BeatResult | Advance:
    """The rules, on the session row as read (a row with ``SESSION_COLUMNS``): an answer that
    writes nothing (superseded, stale), one that closes the session (expired), or the ``Advance`` to write.
    ``day_seconds(user_id, day)`` re-reads a new local day's counter; without it (the hot path) a new day, like
    a newly completed lecture, raises ``NeedsSession`` before anything is written. ``SessionRefused`` for a
    wrong credential."""
    if row is None or row.lecture_id != lecture_id or not hmac.compare_digest(row.token_hash, _hash(secret)):
        raise SessionRefused()
    base = {"lecture_credited": row.lecture_credited, "lecture_cap": row.lecture_cap,
            "completed": bool(row.completed)}
    if row.superseded_at is not None:
        return BeatResult("superseded", **base)
    if beat.seq <= row.last_seq:
        return BeatResult("stale", **base)

    elapsed = max(0.0, (now - row.last_beat_at).total_seconds())
    if elapsed > float(cfg["STUDY_SESSION_EXPIRE_SECONDS"]):
        return BeatResult("expired", **base)  # closed by the caller: the page starts a new session
    interval = float(cfg["HEARTBEAT_INTERVAL_SECONDS"])
    window = elapsed if elapsed <= interval + float(cfg["HEARTBEAT_GRACE_SECONDS"]) else interval
    is_video = row.kind == VIDEO

    # Presence: how much of the window the learner was there.
    watched_json, position, share = row.watched, row.position, None
    if is_video:
        status, present, new_watched, position = _video_window(row, beat, window, cfg)
        if beat.visible:
            watched_json = new_watched
        else:  # a hidden page earns nothing and watches nothing
            status, present = "hidden", 0.0
        duration = float(row.video_seconds or 0)
        share = round(min(1.0, covered_seconds(json.loads(watched_json or "[]")) / duration), 4) if duration else 0.0
    elif not beat.visible:
        status, present = "hidden", 0.0
    else:  # reading: present from the window's start until the last input plus the timeout
        idle = float("inf") if beat.idle_seconds is None else max(0.0, float(beat.idle_seconds))
        present = min(window, max(0.0, window - idle + float(cfg["PRESENCE_TIMEOUT_SECONDS"])))
        status = "credited" if present > 0 else "away"
    credit = round(present)
    if credit == 0 and status == "credited":
        status = "no_progress"

    # Caps: the lecture's, then the day's (the day counter is re-read only when the local day changed).
    remaining = max(0, row.lecture_cap - row.lecture_credited)
    if credit > remaining or (remaining == 0 and status == "credited"):
        credit, status = remaining, ("capped" if remaining == 0 else status)
    day, day_credited = row.day, row.day_credited
    daily_cap = int(cfg["DAILY_ONLINE_CAP_SECONDS"] or 0)
    slow: list[str] = []
    if daily_cap and credit:
        today = local_day(now, cfg).isoformat()
        if today != day:
            if day_seconds is None:
                raise NeedsSession()
            day, day_credited = today, day_seconds(row.user_id, date.fromisoformat(today))
            slow.append("day")
        if credit > daily_cap - day_credited:
            credit = max(0, daily_cap - day_credited)
            status = "day_capped" if credit == 0 else status
        day_credited += credit

    lecture_credited = row.lecture_credited + credit
    completed = bool(row.completed)
    newly_completed = False
    if not completed:
        if is_video:
            newly_completed = share is not None and share >= float(cfg["VIDEO_COMPLETION_SHARE"])
        else:
            needed = float(cfg["VIDEO_COMPLETION_SHARE"]) * row.lecture_cap
            newly_completed = row.lecture_cap > 0 and lecture_credited >= needed
        completed = newly_completed
    if newly_completed and day_seconds is None:
        raise NeedsSession()
    if newly_completed:
        slow.append("completed")

    params = {"sid": row.id, "seen_seq": row.last_seq, "new_seq": beat.seq, "now": now,
              "new_session_credited": row.credited_seconds + credit, "new_lecture_credited": lecture_credited,
              "new_day": day, "new_day_credited": day_credited, "new_position": position,
              "new_watched": watched_json, "new_completed": completed}
    return Advance(BeatResult(status, credit, lecture_credited, row.lecture_cap, completed, share, slow),
                   BeatResult("conflict", **base), params, credit if row.earns_time else 0,
                   f"session:{row.id}:seq:{beat.seq}", newly_completed, row.user_id, row.lecture_id)


def parse_credential(credential: str) -> tuple[int, str]:
    sid, _, secret = (credential or "").partition(".")
    if not sid.isdigit() or not secret:
        raise SessionRefused()
    return int(sid), secret


# --- applying a heartbeat: the same Core statements on either path --------------------------------------------

_COLUMNS = StudySession.__table__.c
_READ = select(*(_COLUMNS[name] for name in SESSION_COLUMNS)).where(_COLUMNS.id == bindparam("sid"))
_ADVANCE = (update(StudySession.__table__)
            .where(_COLUMNS.id == bindparam("sid"), _COLUMNS.last_seq == bindparam("seen_seq"),
                   _COLUMNS.superseded_at.is_(None))
            .values(last_seq=bindparam("new_seq"), last_beat_at=bindparam("now"),
                    credited_seconds=bindparam("new_session_credited"),
                    lecture_credited=bindparam("new_lecture_credited"), day=bindparam("new_day"),
                    day_credited=bindparam("new_day_credited"), position=bindparam("new_position"),
                    watched=bindparam("new_watched"), completed=bindparam("new_completed")))
# (the UPDATE's parameters are named unlike its table's columns: one named like a column would SET it)
_CLOSE = (update(StudySession.__table__)
          .where(_COLUMNS.id == bindparam("sid"), _COLUMNS.superseded_at.is_(None))
          .values(superseded_at=bindparam("closed_at")))
_CREDIT = insert(HourEntry.__table__)
# PostgreSQL writes both in one statement: the compare-and-set UPDATE as a data-modifying CTE whose RETURNING
# feeds the ledger's INSERT (no row advanced, no entry; no seconds earned, no entry), answering how many sessions
# advanced (1: this heartbeat won, 0: another got there first). SQLite has no data-modifying CTEs: there the
# UPDATE and the INSERT are two statements. Either way the hot path runs read and write in ``engine.begin()``.
# (Autocommit for the read and the one write, two round trips fewer, measured the same on 2026-12-05:
# ``bench heartbeat --quick`` on PostgreSQL 0.222 and 0.223 with it, 0.226 and 0.219 without, interleaved.)
_ENTRY = HourEntry.__table__.c
_ADVANCED = _ADVANCE.returning(_COLUMNS.user_id, _COLUMNS.course_id, _COLUMNS.lecture_id).cte("advanced")
_CREDITED = insert(HourEntry.__table__).from_select(
    ["user_id", "seconds", "source", "source_ref", "occurred_at", "course_id", "lecture_id", "note"],
    select(_ADVANCED.c.user_id, bindparam("seconds", type_=_ENTRY.seconds.type),
           bindparam("source", type_=_ENTRY.source.type), bindparam("source_ref", type_=_ENTRY.source_ref.type),
           bindparam("now", type_=_ENTRY.occurred_at.type), _ADVANCED.c.course_id, _ADVANCED.c.lecture_id,
           bindparam("note", type_=_ENTRY.note.type))
    .where(bindparam("seconds", type_=_ENTRY.seconds.type) > 0)).cte("credited")
_ADVANCE_AND_CREDIT = select(func.count()).select_from(_ADVANCED).add_cte(_CREDITED)
# PostgreSQL's asynchronous commit for this one transaction (``HEARTBEAT_ASYNC_COMMIT``): the answer does not
# wait for the log flush (~1 ms on these disks, one after another per worker). A crash of the database server
# (not of a worker) can lose the last ~0.6 s of acknowledged heartbeats, each with its ledger row (one
# transaction): nothing is credited without its trace. SQLite's ``synchronous=NORMAL`` makes the same trade.
# ``set_config(..., true)`` is ``SET LOCAL`` as a function, so it rides in the write statement itself: it lasts
# until the end of the heartbeat's transaction, and the pooled connection stays durable for everything else.
_ADVANCE_AND_CREDIT_ASYNC = _ADVANCE_AND_CREDIT.add_columns(func.set_config("synchronous_commit", "off", True))


def _write(connection, row, decision: Advance, now: datetime, config) -> bool:
    """Advance the session if nobody else did since the read, with its ledger entry if it earns seconds: one
    statement on PostgreSQL, two in the caller's transaction on SQLite. True if this heartbeat won."""
    entry = {"seconds": decision.credit, "source": HourSource.ONLINE, "source_ref": decision.source_ref,
             "now": now, "note": ""}
    if connection.dialect.name == "postgresql":
        statement = _ADVANCE_AND_CREDIT_ASYNC if config.get("HEARTBEAT_ASYNC_COMMIT") else _ADVANCE_AND_CREDIT
        return connection.execute(statement, {**decision.params, **entry}).scalar() == 1
    if connection.execute(_ADVANCE, decision.params).rowcount != 1:
        return False
    if decision.credit:
        connection.execute(_CREDIT, {"user_id": row.user_id, "seconds": decision.credit,
                                     "source": HourSource.ONLINE, "source_ref": decision.source_ref,
                                     "occurred_at": now, "course_id": row.course_id,
                                     "lecture_id": row.lecture_id, "recorded_by_id": None, "note": ""})
    return True


def _apply(connection, lecture_id: int, credential: str, beat: Beat, config, day_seconds=None) -> BeatResult:
    """Read the session, ``judge``, and write what it decided, on ``connection`` (inside its transaction, or
    ``engine.begin()``'s on the hot path)."""
    session_id, secret = parse_credential(credential)
    row = connection.execute(_READ, {"sid": session_id}).one_or_none()
    now = clock.utcnow()
    decision = judge(row, lecture_id, secret, beat, now, config, day_seconds)
    if isinstance(decision, BeatResult):
        if decision.status == "expired":
            connection.execute(_CLOSE, {"sid": row.id, "closed_at": now})
        return decision
    if not _write(connection, row, decision, now, config):
        return decision.conflict  # another heartbeat of this session (or a takeover) got there first
    return decision


def credit_hot(engine, lecture_id: int, credential: str, beat: Beat, config) -> BeatResult:
    """Apply one ordinary heartbeat in a transaction of its own (``engine.begin()``), committed when this
    returns: an answer is a promise. Raises ``SessionRefused``, or ``NeedsSession`` (a new day's counter, a
    completed lecture: run ``credit_heartbeat``), before writing anything. ``config`` is the app's config (the
    WSGI entry runs outside any app context)."""
    with engine.begin() as connection:
        decision = _apply(connection, lecture_id, credential, beat, config)
    return decision if isinstance(decision, BeatResult) else decision.result


def credit_heartbeat(lecture_id: int, credential: str, beat: Beat) -> BeatResult:
    """Apply one heartbeat with everything it needs (a new day's counter from the ledger, a completed
    lecture's bookkeeping), on the ORM session: it flushes, the caller commits before answering."""
    decision = _apply(db.session.connection(), lecture_id, credential, beat, current_app.config,
                      online_seconds_on)
    if isinstance(decision, BeatResult):
        return decision
    if decision.newly_completed:
        from learning.completion import lecture_completed

        lecture_completed(decision.user_id, decision.lecture_id, decision.params["now"])
    return decision.result
