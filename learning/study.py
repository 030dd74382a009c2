"""Online study: study sessions and heartbeats, credited by the server's clock.

A lecture page starts a study session (which takes over from the member's other sessions) and then sends a
heartbeat every ``HEARTBEAT_INTERVAL_SECONDS``. A heartbeat earns the wall time since the session's last
accepted heartbeat, measured by ``core.clock.utcnow()``, and only when every rule holds:

* the page was visible, and the learner present: a playing video, or an input within
  ``PRESENCE_TIMEOUT_SECONDS`` (an idle learner earns the part of the interval before the timeout);
* the session is still the member's active one (not superseded by another tab or device);
* its sequence number is newer than the last accepted one (replays and reorders earn nothing);
* a gap longer than interval + grace earns one interval (a sleeping laptop, a frozen tab);
* the lecture's cap and the daily cap are not reached.

The rules are one function, ``judge``, applied by two paths. The hot path (``credit_hot``, every ordinary
heartbeat) is three SQL statements sent straight to the driver: read the session row, one conditional UPDATE
that advances it only if nobody else did since the read (compare-and-set on ``last_seq``), and one INSERT into
the ledger (on PostgreSQL the UPDATE and the INSERT are one statement, run in autocommit: two statements, two
round trips). Of many concurrent heartbeats exactly one wins the UPDATE; the others credit nothing. The full
path (``credit_heartbeat``, on the ORM session) takes the rare heartbeat that needs more: a new local day's
counter, a completed lecture. The heartbeat authenticates by the session's own token, so no user row is loaded.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import secrets
from collections import namedtuple
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import DBAPIError

from core import clock
from core.extensions import db
from courses.models import CreditMode, Lecture, LectureKind
from learning.models import HourEntry, HourSource, LectureProgress, StudySession

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


# The session columns a heartbeat reads, in this order: the hot path's SELECT and the full path's agree.
SESSION_COLUMNS = ("id", "user_id", "lecture_id", "course_id", "kind", "earns_time", "token_hash", "superseded_at",
                   "last_seq", "last_beat_at", "credited_seconds", "lecture_cap", "lecture_credited", "day",
                   "day_credited", "video_seconds", "position", "watched", "completed")
SessionRow = namedtuple("SessionRow", SESSION_COLUMNS)


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


def judge(row, lecture_id: int, secret: str, beat: Beat, now: datetime, cfg,
          day_seconds=None) -> BeatResult | Advance:
    """The rules, on the session row as read (``SessionRow`` or a Core row with those columns): an answer that
    writes nothing (superseded, stale), or the ``Advance`` to write. ``day_seconds(user_id, day)`` re-reads a
    new local day's counter; without it (the hot path) a new day, like a newly completed lecture, raises
    ``NeedsSession`` before anything is written. ``SessionRefused`` for a wrong credential."""
    if row is None or row.lecture_id != lecture_id or not hmac.compare_digest(row.token_hash, _hash(secret)):
        raise SessionRefused()
    base = {"lecture_credited": row.lecture_credited, "lecture_cap": row.lecture_cap,
            "completed": bool(row.completed)}
    if row.superseded_at is not None:
        return BeatResult("superseded", **base)
    if beat.seq <= row.last_seq:
        return BeatResult("stale", **base)

    interval = float(cfg["HEARTBEAT_INTERVAL_SECONDS"])
    elapsed = max(0.0, (now - row.last_beat_at).total_seconds())
    window = elapsed if elapsed <= interval + float(cfg["HEARTBEAT_GRACE_SECONDS"]) else interval
    is_video = row.kind == VIDEO

    # Presence: how much of the window the learner was there.
    if not beat.visible:
        status, present = "hidden", 0.0
    elif is_video and beat.playing:
        status, present = "credited", window
    else:
        idle = float("inf") if beat.idle_seconds is None else max(0.0, float(beat.idle_seconds))
        present = min(window, max(0.0, window - idle + float(cfg["PRESENCE_TIMEOUT_SECONDS"])))
        status = "credited" if present > 0 else "away"
    credit = round(present)

    # Caps: the lecture's, then the day's (the day counter is re-read only when the local day changed).
    remaining = max(0, row.lecture_cap - row.lecture_credited)
    if credit > remaining:
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

    # Video: what was watched, from the positions, at no more than the fastest allowed rate.
    watched_json, position, share = row.watched, row.position, None
    if is_video:
        duration = float(row.video_seconds or 0)
        intervals = json.loads(row.watched or "[]")
        if beat.position is not None:
            end = min(max(0.0, float(beat.position)), duration or float(beat.position))
            start = row.position if beat.segment_start is None else float(beat.segment_start)
            start = min(max(0.0, start), end)
            fastest = window * float(cfg["MAX_PLAYBACK_RATE"]) + RATE_TOLERANCE_SECONDS
            if beat.visible and beat.playing and end - start <= fastest:
                intervals = merge_intervals(intervals + [[start, end]])
                watched_json = json.dumps(intervals)
            position = end
        share = round(min(1.0, covered_seconds(intervals) / duration), 4) if duration else 0.0

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
                   f"session:{row.id}:seq:{beat.seq}", newly_completed)


def parse_credential(credential: str) -> tuple[int, str]:
    sid, _, secret = (credential or "").partition(".")
    if not sid.isdigit() or not secret:
        raise SessionRefused()
    return int(sid), secret


# --- the full path: the ORM session's transaction (a new day's counter, a completed lecture) -----------------

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
_CREDIT = insert(HourEntry.__table__)


def credit_heartbeat(lecture_id: int, credential: str, beat: Beat) -> BeatResult:
    """Apply one heartbeat with everything it needs (a new day's counter from the ledger, a completed
    lecture's bookkeeping), on the ORM session: it flushes, the caller commits before answering (an answer is
    a promise). The common heartbeat takes ``credit_hot`` instead; both apply ``judge``."""
    session_id, secret = parse_credential(credential)
    connection = db.session.connection()
    row = connection.execute(_READ, {"sid": session_id}).one_or_none()
    decision = judge(row, lecture_id, secret, beat, clock.utcnow(), current_app.config, online_seconds_on)
    if isinstance(decision, BeatResult):
        return decision
    if connection.execute(_ADVANCE, decision.params).rowcount != 1:
        return decision.conflict  # another heartbeat of this session (or a takeover) got there first
    if decision.credit:
        connection.execute(_CREDIT, {"user_id": row.user_id, "seconds": decision.credit,
                                     "source": HourSource.ONLINE, "source_ref": decision.source_ref,
                                     "occurred_at": decision.params["now"], "course_id": row.course_id,
                                     "lecture_id": row.lecture_id, "recorded_by_id": None, "note": ""})
    if decision.newly_completed:
        from learning.completion import lecture_completed

        lecture_completed(row.user_id, row.lecture_id, decision.params["now"])
    return decision.result


# --- the hot path: pre-built SQL on the pooled DBAPI connection ----------------------------------------------
#
# Per heartbeat, SQLAlchemy's execution layer (connection, compiled-statement cache, parameter and result
# processing) costs more CPU than SQLite spends on the statements: the hot path sends fixed SQL strings
# straight to the driver. On SQLite: the SELECT (outside any transaction), the compare-and-set UPDATE and the
# ledger INSERT (one transaction, committed before the answer). On PostgreSQL, in autocommit: the SELECT,
# then one statement doing both writes (``WITH advanced AS (UPDATE ... RETURNING) INSERT ... SELECT ... FROM
# advanced``): atomic on its own, so no BEGIN and COMMIT round trips; the ledger row exists only if the
# UPDATE advanced the session.

_HOT_READ = f"SELECT {', '.join(SESSION_COLUMNS)} FROM study_sessions WHERE id = :sid"
_HOT_ADVANCE = ("UPDATE study_sessions SET last_seq = :new_seq, last_beat_at = :now, "
                "credited_seconds = :new_session_credited, lecture_credited = :new_lecture_credited, "
                "day = :new_day, day_credited = :new_day_credited, position = :new_position, "
                "watched = :new_watched, completed = :new_completed "
                "WHERE id = :sid AND last_seq = :seen_seq AND superseded_at IS NULL")
_LEDGER_COLUMNS = "user_id, seconds, source, source_ref, occurred_at, course_id, lecture_id, note"
_HOT_CREDIT = (f"INSERT INTO hour_entries ({_LEDGER_COLUMNS}) "
               f"VALUES (:user_id, :credit, '{HourSource.ONLINE.value}', :source_ref, :now, :course_id, "
               ":lecture_id, '')")
_HOT_ADVANCE_AND_CREDIT = (f"WITH advanced AS ({_HOT_ADVANCE} RETURNING user_id, course_id, lecture_id) "
                           f"INSERT INTO hour_entries ({_LEDGER_COLUMNS}) "
                           f"SELECT user_id, :credit, '{HourSource.ONLINE.value}', :source_ref, :now, course_id, "
                           "lecture_id, '' FROM advanced RETURNING id")
# The same with PostgreSQL's asynchronous commit for this one statement's transaction (``HEARTBEAT_ASYNC_COMMIT``):
# the answer does not wait for the log flush (~1 ms on these disks, one after another per worker). A crash of the
# database server (not of a worker) can lose the last ~0.6 s of acknowledged heartbeats, each with its ledger row
# (one transaction): nothing is credited without its trace, and the member's next heartbeat credits at most one
# interval. SQLite's ``synchronous=NORMAL`` makes the same trade. ``set_config(..., true)`` is local to the
# transaction, so the pooled connection stays durable for everything else.
_HOT_ADVANCE_AND_CREDIT_ASYNC = (
    "WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true)), "
    + _HOT_ADVANCE_AND_CREDIT.removeprefix("WITH ").replace(" FROM advanced RETURNING id",
                                                            " FROM advanced, relaxed RETURNING id"))


def _pyformat(statement: str) -> str:
    return re.sub(r":([a-z_]+)", r"%(\1)s", statement)


@dataclass(frozen=True)
class HotSql:
    read: str
    advance: str
    credit: str  # SQLite: the INSERT after the UPDATE; PostgreSQL: the UPDATE and the INSERT in one
    sqlite: bool
    credit_async: str = ""  # PostgreSQL: ``credit`` with asynchronous commit


_HOT_SQL = {
    "sqlite": HotSql(_HOT_READ, _HOT_ADVANCE, _HOT_CREDIT, True),
    "postgresql": HotSql(*(_pyformat(s) for s in (_HOT_READ, _HOT_ADVANCE, _HOT_ADVANCE_AND_CREDIT)), False,
                         _pyformat(_HOT_ADVANCE_AND_CREDIT_ASYNC)),
}
SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores a DateTime in SQLite (sorts as text)


def _execute(engine, cursor, statement: str, parameters: dict) -> None:
    """``cursor.execute``, told to the engine's ``before/after_cursor_execute`` listeners as SQLAlchemy would
    (they count and time statements: tests, ``bench``). They get no Connection or context (``None``); one that
    needs them (Flask-SQLAlchemy's SQLALCHEMY_RECORD_QUERIES) fails here and is passed over, not the heartbeat."""
    dispatch = engine.dispatch
    if not (dispatch.before_cursor_execute or dispatch.after_cursor_execute):
        cursor.execute(statement, parameters)
        return
    _tell(dispatch.before_cursor_execute, cursor, statement, parameters)
    cursor.execute(statement, parameters)
    _tell(dispatch.after_cursor_execute, cursor, statement, parameters)


def _tell(listeners, cursor, statement: str, parameters: dict) -> None:
    for listener in listeners:
        with suppress(Exception):  # an observer that needs a Connection or context: the statement goes on
            listener(None, cursor, statement, parameters, None, False)


def credit_hot(engine, lecture_id: int, credential: str, beat: Beat, config) -> BeatResult:
    """Apply one ordinary heartbeat, durable when this returns (committed; on PostgreSQL each statement
    commits itself). Raises ``SessionRefused``, or ``NeedsSession`` (a new day's counter, a completed lecture:
    run ``credit_heartbeat``), before writing anything; a database error comes as ``sqlalchemy.exc.DBAPIError``
    with nothing written. ``config`` is the app's config (the WSGI fast path runs outside any app context)."""
    session_id, secret = parse_credential(credential)
    sql = _HOT_SQL.get(engine.dialect.name)
    if sql is None:
        raise NeedsSession()
    pooled = engine.raw_connection()
    connection = pooled.driver_connection
    statement = sql.read
    try:
        if not sql.sqlite:
            connection.autocommit = True  # (client-side only: no round trip)
        cursor = connection.cursor()
        _execute(engine, cursor, statement, {"sid": session_id})
        found = cursor.fetchone()
        row = None
        if found is not None:
            row = SessionRow._make(found)
            if sql.sqlite:  # SQLite hands back text and integers where PostgreSQL gives datetimes and booleans
                row = row._replace(last_beat_at=datetime.fromisoformat(row.last_beat_at),
                                   earns_time=bool(row.earns_time), completed=bool(row.completed))
        now = clock.utcnow()
        decision = judge(row, lecture_id, secret, beat, now, config)
        if isinstance(decision, BeatResult):
            return decision
        params = decision.params
        if sql.sqlite:
            params["now"] = now.strftime(SQLITE_DATETIME)
        if decision.credit and not sql.sqlite:
            statement = sql.credit_async if config.get("HEARTBEAT_ASYNC_COMMIT") else sql.credit
            _execute(engine, cursor, statement, {**params, "credit": decision.credit,
                                                 "source_ref": decision.source_ref})
            won = cursor.fetchone() is not None
        else:
            statement = sql.advance
            _execute(engine, cursor, statement, params)
            won = cursor.rowcount == 1
            if won and decision.credit:
                statement = sql.credit
                _execute(engine, cursor, statement, {"user_id": row.user_id, "credit": decision.credit,
                                                     "source_ref": decision.source_ref, "now": params["now"],
                                                     "course_id": row.course_id, "lecture_id": row.lecture_id})
        if sql.sqlite:
            statement = "COMMIT"
            connection.commit()
        return decision.result if won else decision.conflict
    except engine.dialect.loaded_dbapi.Error as error:
        invalidated = engine.dialect.is_disconnect(error, connection, None)
        if invalidated:
            pooled.invalidate(error)
        elif sql.sqlite:
            connection.rollback()
        raise DBAPIError.instance(statement, None, error, engine.dialect.loaded_dbapi.Error,
                                  connection_invalidated=invalidated, dialect=engine.dialect) from error
    finally:
        if not sql.sqlite and not connection.closed:
            try:
                connection.autocommit = False  # as the pool lent it
            except engine.dialect.loaded_dbapi.Error:
                pooled.invalidate()  # never back into the pool in autocommit
        pooled.close()
