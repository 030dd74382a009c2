"""The cheating suite (issue 12): each cheat is a small client of the real HTTP API, against a real gunicorn
server (2 sync workers) started here on a database of its own (a SQLite file under tmp_path; on PostgreSQL a
database named after DATABASE_URL's plus ``_cheats``, created here when missing, emptied before and after). The server's clock is faked
(``TEST_CLOCK_FILE``, honoured only with ``TESTING``): the test writes "now" into a file, so ten minutes of
study take a moment and every window is exact.

Every cheat runs for the same simulated stretch (``STRETCH`` seconds) as an honest learner and must earn no
more than the study it really contains (``allowed``: 0 for a pure cheat); the honest learners (reading,
watching at 1× and 1.5×, pausing briefly) lose less than 2 % of their real study time; and afterwards every
member's ledger equals their study sessions' totals. Run with ``-s`` to see the table.

Depends on real commits (its own database and server), not on how conftest isolates tests.
"""
from __future__ import annotations

import http.cookiejar
import json
import os
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from accounts import services as accounts
from accounts.models import MemberCategory
from app import create_app
from bench.harness import BenchServer
from core.extensions import db
from core.permissions import Role
from courses.models import Audience, Course, CourseStatus, CreditMode, Lecture, LectureKind
from learning.models import HourEntry, HourSource, StudySession
from tests.conftest import DATABASE_URL, ON_POSTGRES

INTERVAL = 30
STRETCH = 600  # seconds of simulated study per scenario
PASSWORD = "cheat-proof-42"
VIDEO_SECONDS = 1200
SHORT_VIDEO_SECONDS = 300
SCENARIOS: list = []  # (name, function(world) -> allowed seconds), in the order they run


@dataclass
class World:
    base: str
    clock_file: Path
    tokens: dict  # member name -> bearer token
    ids: dict  # member name -> user id; lecture names -> lecture id
    now: datetime

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        self.clock_file.write_text(self.now.isoformat())

    def steps(self, count: int = STRETCH // INTERVAL, seconds: float = INTERVAL):
        """Move the server's clock ``count`` times by ``seconds``; yields the step's number after each move."""
        for step in range(count):
            self.advance(seconds)
            yield step

    def call(self, method: str, path: str, body=None, token: str | None = None, opener=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with (opener or urllib.request.build_opener()).open(request, timeout=30) as response:
                raw = response.read()
                status = response.status
        except urllib.error.HTTPError as error:
            raw, status = error.read(), error.code
        try:
            return status, json.loads(raw or b"null")
        except ValueError:
            return status, None


class Page:
    """One lecture page of one member: starts a study session and sends heartbeats like study-tracker.js."""

    def __init__(self, world: World, member: str, lecture: str):
        self.world, self.token = world, world.tokens[member]
        self.lecture_id = world.ids[lecture]
        self.status, body = world.call("POST", f"/api/v1/lectures/{self.lecture_id}/study-sessions", {},
                                       self.token)
        self.credential = body.get("session") if self.status == 201 else None
        self.seq, self.position = 0, 0.0

    def beat(self, *, seq=None, url_lecture=None, **fields) -> dict:
        if seq is None:
            self.seq += 1
            seq = self.seq
        body = {"session": self.credential, "seq": seq, "visible": True, "idle_seconds": 5, **fields}
        status, answer = self.world.call("POST", f"/api/v1/lectures/{url_lecture or self.lecture_id}/heartbeat",
                                         body)
        return {"http": status, **(answer or {})}

    def play(self, seconds: float, rate: float = 1.0, **fields) -> dict:
        """A playing video over ``seconds`` of wall time at ``rate``: the position advances seconds × rate."""
        start = self.position
        self.position = start + seconds * rate
        return self.beat(playing=True, position=self.position, segment_start=start, rate=rate, idle_seconds=0,
                         **fields)


def scenario(name: str, member: str):
    """Register a scenario played by ``member``: a function(world) -> the seconds of real study in it."""
    def register(function):
        SCENARIOS.append((name, member, function))
        return function
    return register


# --- honest learners --------------------------------------------------------------------------------------

@scenario("honest: reading (input every ~20 s)", "reader")
def honest_reader(world):
    page = Page(world, "reader", "text")
    for step in world.steps():
        page.beat(idle_seconds=(7 * step) % 20)
    return STRETCH


def honest_watcher(member: str, rate: float):
    def watch(world):
        page = Page(world, member, "video")
        for _ in world.steps():
            page.play(INTERVAL, rate=rate)
        return STRETCH
    return watch


for _member, _rate in (("watcher", 1.0), ("fast_watcher", 1.5)):
    scenario(f"honest: watching at {_rate:g}x", _member)(honest_watcher(_member, _rate))


@scenario("honest: watching, pausing briefly twice", "pauser")
def honest_pauses(world):
    page = Page(world, "pauser", "video")
    for step in world.steps():
        page.play(INTERVAL - 5 if step in (5, 12) else INTERVAL)  # paused 5 s in two windows
    return STRETCH - 10  # real study time: the pauses are not study


# --- the thirteen cheats ------------------------------------------------------------------------------------

@scenario("1 paused video left open (mouse moving)", "c1")
def paused_video(world):
    page = Page(world, "c1", "video")
    for _ in world.steps():
        page.beat(playing=False, position=0, segment_start=0, idle_seconds=0)
    return 0


@scenario("2 video ended and left open", "c2")
def ended_video(world):
    page = Page(world, "c2", "short_video")
    for _ in world.steps(SHORT_VIDEO_SECONDS // INTERVAL):
        page.play(INTERVAL)
    for _ in world.steps((STRETCH - SHORT_VIDEO_SECONDS) // INTERVAL):  # "playing" claimed at the end
        page.beat(playing=True, position=SHORT_VIDEO_SECONDS, segment_start=SHORT_VIDEO_SECONDS, idle_seconds=0)
    return SHORT_VIDEO_SECONDS


@scenario("3 claimed 16x and 0.1x rates", "c3")
def odd_rates(world):
    page = Page(world, "c3", "video")
    for step in world.steps():
        page.play(INTERVAL, rate=16 if step < 10 else 0.1)
    return 0


@scenario("4 seek to the end", "c4")
def seek_to_end(world):
    page = Page(world, "c4", "video")
    world.advance(INTERVAL)
    page.play(INTERVAL)  # 0 -> 30, honest
    world.advance(INTERVAL)
    page.beat(playing=True, position=VIDEO_SECONDS - 10, segment_start=INTERVAL, idle_seconds=0)  # the jump
    page.position = VIDEO_SECONDS - 10
    world.advance(INTERVAL)
    page.beat(playing=True, position=VIDEO_SECONDS, segment_start=VIDEO_SECONDS - 10, idle_seconds=0)  # 10 s
    for _ in world.steps(STRETCH // INTERVAL - 3):
        page.beat(playing=True, position=VIDEO_SECONDS, segment_start=VIDEO_SECONDS, idle_seconds=0)
    return INTERVAL + 10  # what was really played


@scenario("5 two tabs on two lectures", "c5")
def two_tabs(world):
    reading, watching = Page(world, "c5", "text"), Page(world, "c5", "video")
    for _ in world.steps():
        reading.beat(idle_seconds=0)
        watching.play(INTERVAL)
    return STRETCH


@scenario("6 two devices starting at the same instant", "c6")
def two_devices(world):
    barrier, pages = threading.Barrier(2), [None, None]

    def open_page(i):
        barrier.wait()
        pages[i] = Page(world, "c6", "text")

    threads = [threading.Thread(target=open_page, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    live = [page for page in pages if page.credential]
    for _ in world.steps():
        for page in live:
            page.beat(idle_seconds=0)
    return STRETCH


@scenario("7 1-second heartbeat flood", "c7")
def flood(world):
    page = Page(world, "c7", "text")
    for _ in world.steps(STRETCH, seconds=1):
        page.beat(idle_seconds=0)
    return STRETCH


@scenario("8 replayed and out-of-order sequence numbers", "c8")
def replays(world):
    page = Page(world, "c8", "text")
    for step in world.steps():
        page.beat(seq=2 * step + 2, idle_seconds=0)
        page.beat(seq=2 * step + 2, idle_seconds=0)  # replayed
        page.beat(seq=2 * step + 1, idle_seconds=0)  # late, out of order
    return STRETCH


@scenario("9 forged client_time far in the future", "c9")
def future_client_time(world):
    page = Page(world, "c9", "text")
    for _ in world.steps():
        page.beat(idle_seconds=0, client_time="2099-12-31T23:59:59Z", elapsed=86400, credited_seconds=86400)
    return STRETCH


@scenario("10 hidden tab", "c10")
def hidden_tab(world):
    page = Page(world, "c10", "text")
    for _ in world.steps():
        page.beat(visible=False, idle_seconds=0)
    return 0


@scenario("11 idle reader (no input for 30 minutes)", "c11")
def idle_reader(world):
    page = Page(world, "c11", "text")
    for step in world.steps(1800 // INTERVAL):
        page.beat(idle_seconds=INTERVAL * (step + 1))
    return 120  # PRESENCE_TIMEOUT_SECONDS after the last input


@scenario("12 a deactivated member's open session", "c12")
def deactivated(world):
    page = Page(world, "c12", "text")
    for _ in world.steps(5):
        page.beat(idle_seconds=0)
    organizer = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    form = urllib.parse.urlencode({"identifier": "13700000001", "password": PASSWORD}).encode()
    organizer.open(world.base + "/login", data=form, timeout=30).read()
    organizer.open(world.base + f"/members/{world.ids['c12']}/active", data=b"active=0", timeout=30).read()
    answers = []
    for _ in world.steps(STRETCH // INTERVAL - 5):
        answers.append(page.beat(idle_seconds=0)["status"])
    assert set(answers) == {"superseded"}, answers
    assert Page(world, "c12", "text").status == 401  # and no new session
    return 5 * INTERVAL


@scenario("13 heartbeats to a lecture the member cannot see", "c13")
def unseen_lecture(world):
    refused = Page(world, "c13", "hidden_text")
    assert refused.status == 404 and refused.credential is None
    page = Page(world, "c13", "text")  # a session on a lecture they may see, its credential sent elsewhere
    statuses = set()
    for _ in world.steps():
        statuses.add(page.beat(url_lecture=world.ids["hidden_text"], idle_seconds=0)["http"])
    assert statuses == {401}
    return 0


# --- the server and its world -------------------------------------------------------------------------------

def own_database(tmp_path):
    """(URL for the server, cleanup): a SQLite file, or a PostgreSQL database of this suite's own (DATABASE_URL's
    name + ``_cheats``). The PostgreSQL database is created when missing and emptied (its public schema dropped
    and made again) before and after the run rather than dropped: DROP DATABASE waits for a checkpoint, which
    took 8 to 50 s on a busy shared machine."""
    if not ON_POSTGRES:
        return f"sqlite:///{tmp_path / 'cheats.sqlite3'}", lambda: None
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(DATABASE_URL)
    name = f"{url.database}_cheats"
    own = url.set(database=name)

    def run(target, *statements: str) -> None:
        with psycopg.connect(target.set(drivername="postgresql").render_as_string(hide_password=False),
                             autocommit=True) as connection:
            for statement in statements:
                connection.execute(statement)

    with psycopg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False),
                         autocommit=True) as connection:
        if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            connection.execute(f'CREATE DATABASE "{name}"')

    def empty() -> None:
        run(own, "DROP SCHEMA public CASCADE", "CREATE SCHEMA public")

    empty()
    return own.render_as_string(hide_password=False), empty


def seed(database_url: str) -> tuple[dict, dict]:
    """Organizations, an organizer, the members, a course the members see (text, video, short video) and one
    limited to another organization. Returns (tokens, ids)."""
    app = create_app({"TESTING": True, "SECRET_KEY": "seed", "SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        db.create_all()
        root = accounts.create_organization("C", "街道党工委", "街道")
        home = accounts.create_organization("C-1", "社区党委", "社区", parent=root)
        other = accounts.create_organization("C-2", "另一社区", "社区", parent=root)
        cheap = generate_password_hash(PASSWORD, "pbkdf2:sha256:1000")
        accounts.create_user(name="组织员", phone="13700000001", password_hash=cheap, role=Role.ORGANIZER,
                             managed_org=root)
        names = ["reader", "watcher", "fast_watcher", "pauser"] + [f"c{i}" for i in range(1, 14)]
        tokens, ids = {}, {}
        for i, name in enumerate(names):
            member = accounts.create_user(name=name, phone=f"139{i:08d}", password_hash=cheap, role=Role.MEMBER,
                                          organization=home, category=MemberCategory.FULL)
            tokens[name] = accounts.issue_token(member, "cheats")[1]
            ids[name] = member.id
        for title, org in (("党章学习", None), ("另一社区的课", other)):
            course = Course(title=title, status=CourseStatus.PUBLISHED, credit_mode=CreditMode.TIME,
                            audience=Audience.MEMBERS, org=org, published_at=datetime(2020, 1, 1))
            db.session.add(course)
            db.session.flush()
            text = Lecture(course_id=course.id, position=1, title="总纲", kind=LectureKind.TEXT,
                           body_markdown="中国共产党是中国工人阶级的先锋队。" * 50, reading_seconds=3600)
            db.session.add(text)
            if org is None:
                video = Lecture(course_id=course.id, position=2, title="视频", kind=LectureKind.VIDEO,
                                duration_seconds=VIDEO_SECONDS, media_key="x.mp4", media_mime="video/mp4")
                short = Lecture(course_id=course.id, position=3, title="短片", kind=LectureKind.VIDEO,
                                duration_seconds=SHORT_VIDEO_SECONDS, media_key="y.mp4", media_mime="video/mp4")
                db.session.add_all([video, short])
                db.session.flush()
                ids.update(text=text.id, video=video.id, short_video=short.id)
            else:
                db.session.flush()
                ids["hidden_text"] = text.id
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return tokens, ids


def totals(database_url: str) -> tuple[dict, dict]:
    """{user id: online seconds in the ledger}, {user id: seconds their study sessions counted}."""
    app = create_app({"TESTING": True, "SECRET_KEY": "read", "SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        ledger = dict(db.session.execute(select(HourEntry.user_id, func.sum(HourEntry.seconds))
                                         .where(HourEntry.source == HourSource.ONLINE)
                                         .group_by(HourEntry.user_id)).all())
        sessions = dict(db.session.execute(select(StudySession.user_id, func.sum(StudySession.credited_seconds))
                                           .group_by(StudySession.user_id)).all())
        db.session.remove()
        db.engine.dispose()
    return ({k: int(v or 0) for k, v in ledger.items()}, {k: int(v or 0) for k, v in sessions.items()})


def test_cheats_earn_nothing_beyond_honest_study(tmp_path):
    database_url, drop = own_database(tmp_path)
    try:
        tokens, ids = seed(database_url)
        clock_file = tmp_path / "now.txt"
        start = datetime.now(timezone.utc).replace(tzinfo=None, hour=1, minute=0, second=0, microsecond=0)
        world = World("", clock_file, tokens, ids, start + timedelta(days=1))  # 09:00 in Shanghai, tomorrow
        world.advance(0)
        env = {"FLASK_TESTING": "true", "FLASK_TEST_CLOCK_FILE": str(clock_file),
               "FLASK_WTF_CSRF_ENABLED": "false"}
        with BenchServer(database_url=database_url, env=env, health_path="/livez") as server:
            world.base = server.url("").rstrip("/")
            results = []
            for name, member, run in SCENARIOS:
                results.append((name, member, run(world)))
        ledger, sessions = totals(database_url)
    finally:
        drop()

    lines = [f"{'scenario':<48} {'earned':>7} {'allowed':>8} {'honest':>7}"]
    failures = []
    for name, member, allowed in results:
        earned = ledger.get(ids[member], 0)
        lines.append(f"{name:<48} {earned:>7} {allowed:>8} {STRETCH:>7}")
        if name.startswith("honest"):
            if earned > allowed or earned < 0.98 * allowed:
                failures.append(f"{name}: earned {earned} of {allowed} s studied")
        elif earned > allowed:
            failures.append(f"{name}: earned {earned} s, honest study in it {allowed} s")
    print("\n" + "\n".join(lines))
    assert not failures, failures
    assert ledger == {k: v for k, v in sessions.items() if v or k in ledger}, (ledger, sessions)
