"""The cluster shape, started by the deployment recipe itself (deploy/cluster.sh, what `make cluster` runs): two
gunicorn servers on one PostgreSQL database of this test's own and one Redis, nginx in front when installed.
Checked across servers: what is made or changed on one is seen by the other at its next request.

Content is written by this test process through the same services the servers use (a third writer on the
database, as another server would be). Ports: OPS_TEST_CLUSTER_PORT (default 8410) and the next three.
"""
from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from tests.conftest import DATABASE_URL, ON_POSTGRES, PASSWORD
from tests.security_helpers import drop_database

ROOT = Path(__file__).resolve().parent.parent
PORT = int(os.environ.get("OPS_TEST_CLUSTER_PORT", "8410"))
FRONT, A, B, REDIS = PORT, PORT + 1, PORT + 2, PORT + 3

pytestmark = [
    pytest.mark.skipif(not ON_POSTGRES, reason="the cluster test needs PostgreSQL: set DATABASE_URL=postgresql+psycopg://…"),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="the cluster test needs redis-server "
                                                                    "(.ci/run installs it: apt-get install redis-server)"),
]
NGINX = os.path.exists("/usr/sbin/nginx")


class Browser:
    """A user agent with its own cookies, talking to any server of the cluster."""

    def __init__(self):
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
                                                  NoRedirect)

    def open(self, port: int, path: str, data: bytes | None = None, headers: dict | None = None):
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, headers=headers or {})
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.read().decode(), response.headers
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(), error.headers
        except OSError:  # refused, reset: the server is down
            return 0, "", {}

    def get(self, port: int, path: str, **kwargs):
        return self.open(port, path, **kwargs)

    def post(self, port: int, path: str, fields: dict):
        return self.open(port, path, urllib.parse.urlencode(fields).encode(),
                         {"Content-Type": "application/x-www-form-urlencoded"})

    def csrf(self, port: int, path: str) -> str:
        _status, body, _headers = self.get(port, path)
        return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"|'
                         r'<meta name="csrf-token" content="([^"]+)"', body).group(1) or ""

    def login(self, port: int, login: str, password: str = PASSWORD) -> int:
        token = page_csrf(self, port, "/login")
        status, _body, _headers = self.post(port, "/login", {"identifier": login, "password": password,
                                                             "csrf_token": token})
        return status


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def page_csrf(browser: Browser, port: int, path: str) -> str:
    _status, body, _headers = browser.get(port, path)
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', body)
    return match.group(1)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    url = make_url(DATABASE_URL)
    name = f"{url.database}_cluster"
    admin_url = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    drop_database(admin_url, name)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    database_url = url.set(database=name).render_as_string(hide_password=False)
    state = tmp_path_factory.mktemp("cluster")
    env = {**os.environ, "DATABASE_URL": database_url, "OPS_CLUSTER_DIR": str(state), "OPS_DEMO": "0",
           "OPS_FRONT_PORT": str(FRONT), "OPS_WEB_PORTS": f"{A} {B}", "OPS_REDIS_PORT": str(REDIS),
           "OPS_NGINX": "1" if NGINX else "0", "OPS_WORKERS": "2", "FLASK_UPLOAD_FOLDER": str(state / "uploads"),
           "FLASK_SEARCH_WORKER_INTERVAL": "0.5", "FLASK_HEARTBEAT_INTERVAL_SECONDS": "1"}
    recipe = ROOT / "deploy" / "cluster.sh"
    started = subprocess.run([str(recipe), "start"], cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=300)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        from app import create_app

        app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": (state / "secret_key").read_text()
                          .strip(), "REDIS_URL": f"redis://127.0.0.1:{REDIS}/0",
                          "SEARCH_INDEX_DIR": str(state / "search-writer"), "SEARCH_SYNC_ON_COMMIT": False,
                          "UPLOAD_FOLDER": str(state / "uploads")})
        yield {"app": app, "env": env, "state": state, "url": database_url}
    finally:
        subprocess.run([str(recipe), "stop"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        admin.dispose()
        drop_database(admin_url, name)


@pytest.fixture(scope="module")
def people(cluster):
    """An organization with an organizer and two members, a trainer, made once for the module."""
    from werkzeug.security import generate_password_hash

    from accounts import services as accounts
    from core.extensions import db
    from core.permissions import Role

    with cluster["app"].app_context():
        suffix = uuid.uuid4().hex[:4]
        root = accounts.create_organization(f"C{suffix}", "集群测试区委", "区委", None)
        other = accounts.create_organization(f"C{suffix}-2", "别的社区", "社区", root)
        home = accounts.create_organization(f"C{suffix}-1", "本社区", "社区", root)
        hashed = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")

        def user(role, name, phone, **kwargs):
            return accounts.create_user(name=name, phone=phone, password_hash=hashed, role=role, **kwargs)

        from accounts.models import MemberCategory

        full = {"category": MemberCategory.FULL}
        made = {"trainer": user(Role.TRAINER, "集群教员", "13600000001", organization=root),
                "organizer": user(Role.ORGANIZER, "集群组织员", "13600000002", managed_org=root),
                "member": user(Role.MEMBER, "集群党员甲", "13600000003", organization=home, **full),
                "leaver": user(Role.MEMBER, "集群党员乙", "13600000004", organization=home, **full),
                **{f"learner{i}": user(Role.MEMBER, f"集群学员{i}", f"1360000010{i}", organization=home, **full)
                   for i in range(6)}}
        db.session.commit()
        ids = {key: (person.id, person.phone) for key, person in made.items()}
        ids.update(home=home.id, other=other.id)
        return ids


def in_app(cluster):
    return cluster["app"].app_context()


def test_a_session_and_a_token_made_on_one_server_work_on_the_other(cluster, people):
    browser = Browser()
    assert browser.login(A, people["member"][1]) == 302
    status, body, _ = browser.get(B, "/profile")
    assert status == 200 and "集群党员甲" in body
    # a form whose CSRF token came from A is accepted by B (same key, same session)
    token = page_csrf(browser, A, "/profile")
    status, _body, _ = browser.post(B, "/logout", {"csrf_token": token})
    assert status == 302 and browser.get(B, "/profile")[0] == 302  # logged out everywhere

    api = Browser()
    status, body, _ = api.open(A, "/api/v1/auth/token", json.dumps(
        {"login": people["member"][1], "password": PASSWORD, "name": "集群"}).encode(),
        {"Content-Type": "application/json"})
    assert status in (200, 201), body
    bearer = json.loads(body)["token"]
    status, body, _ = Browser().get(B, "/api/v1/me", headers={"Authorization": f"Bearer {bearer}"})
    assert status == 200 and json.loads(body)["name"] == "集群党员甲"


def test_an_edit_a_restriction_and_an_archive_are_seen_by_both_servers_at_once(cluster, people):
    from core.extensions import db
    from accounts.models import Organization, User
    from courses import services
    from courses.models import Audience, Course, LectureKind

    member = Browser()
    assert member.login(A, people["member"][1]) == 302
    visitor = Browser()
    with in_app(cluster):
        trainer = db.session.get(User, people["trainer"][0])
        course = services.create_course(trainer, title="集群课程原名", summary="跨服务器", category="集群",
                                        credit_hours=1, audience=Audience.PUBLIC)
        services.add_lecture(course, trainer, kind=LectureKind.TEXT, title="第一讲", body_markdown="内容")
        services.publish(course, trainer)
        db.session.commit()
        course_id = course.id
    for port in (A, B):  # both servers cache the catalog and the course page
        for browser in (member, visitor):
            assert "集群课程原名" in browser.get(port, "/courses/")[1]
            assert "集群课程原名" in browser.get(port, f"/courses/{course_id}")[1]

    with in_app(cluster):  # an edit
        course = db.session.get(Course, course_id)
        services.update_course(course, db.session.get(User, people["trainer"][0]), title="集群课程新名")
        db.session.commit()
    for port in (A, B):
        catalog = member.get(port, "/courses/")[1]
        assert "集群课程新名" in catalog and "集群课程原名" not in catalog
        assert "集群课程新名" in visitor.get(port, f"/courses/{course_id}")[1]

    with in_app(cluster):  # a restriction to another organization: the member and visitors lose it
        course = db.session.get(Course, course_id)
        services.update_course(course, db.session.get(User, people["trainer"][0]),
                               org=db.session.get(Organization, people["other"]))
        db.session.commit()
    for port in (A, B):
        for browser in (member, visitor):
            assert "集群课程新名" not in browser.get(port, "/courses/")[1]
            assert browser.get(port, f"/courses/{course_id}")[0] in (302, 404)

    with in_app(cluster):  # lifted again, then archived: gone from the catalog on both
        course = db.session.get(Course, course_id)
        trainer = db.session.get(User, people["trainer"][0])
        services.update_course(course, trainer, org=None)
        db.session.commit()
        assert "集群课程新名" in member.get(B, "/courses/")[1]
        services.archive(db.session.get(Course, course_id), trainer)
        db.session.commit()
    for port in (A, B):
        assert "集群课程新名" not in member.get(port, "/courses/")[1]


def test_a_deactivation_refuses_the_next_request_on_the_other_server(cluster, people):
    from accounts import services as accounts
    from accounts.models import User
    from core.extensions import db

    leaver = Browser()
    assert leaver.login(A, people["leaver"][1]) == 302
    assert leaver.get(B, "/profile")[0] == 200
    with in_app(cluster):
        accounts.set_member_active(db.session.get(User, people["leaver"][0]), False)
        db.session.commit()
    assert leaver.get(B, "/profile")[0] == 302
    assert leaver.get(A, "/profile")[0] == 302


def test_an_import_previewed_on_one_server_is_confirmed_on_the_other(cluster, people):
    from accounts.models import Organization
    from core.extensions import db

    organizer = Browser()
    assert organizer.login(A, people["organizer"][1]) == 302
    with in_app(cluster):
        code = db.session.get(Organization, people["home"]).code
    csv_bytes = f"姓名,手机号,组织编码,人员类别,职务\n导入党员,13600000099,{code},正式党员,\n".encode()
    token = page_csrf(organizer, A, "/members/import")
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"m.csv\"\r\n"
            f"Content-Type: text/csv\r\n\r\n").encode() + csv_bytes + f"\r\n--{boundary}--\r\n".encode()
    status, page, _ = organizer.open(A, "/members/import", body,
                                     {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert status == 200, page
    staged = re.search(r'name="token" value="([0-9a-f]{32})"', page).group(1)
    status, _page, headers = organizer.post(B, "/members/import/confirm", {"csrf_token": token, "token": staged})
    assert status == 302 and headers["Location"].endswith("/members")
    from accounts.models import User

    with in_app(cluster):
        assert db.session.scalar(select(func.count()).select_from(User).where(User.phone == "13600000099")) == 1


def wait_for(predicate, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.25)
    return predicate()


def found(port: int, word: str, title: str) -> bool:
    status, body, _ = Browser().get(port, "/api/v1/search?q=" + urllib.parse.quote(word))
    return status == 200 and title in [result["title"] for result in json.loads(body)["results"]]


def new_material(title: str, body: str):
    import hashlib

    from courses.models import Material

    return Material(title=title, file_kind="txt", file_key=f"test/{uuid.uuid4().hex}.txt", filename="m.txt",
                    mime="text/plain", size=len(body.encode()), text=body, category="",
                    sha256=hashlib.sha256(f"{title}{uuid.uuid4()}".encode()).hexdigest())


def test_a_material_imported_on_one_server_is_found_on_the_other_within_seconds(cluster):
    from core.extensions import db

    with in_app(cluster):
        db.session.add(new_material("集群导入的资料", "跨服务器检索 集群导入"))
        db.session.commit()
    assert wait_for(lambda: found(A, "集群导入", "集群导入的资料") and found(B, "集群导入", "集群导入的资料"), 10)
    for port in (A, B):
        assert json.loads(Browser().get(port, "/healthz")[1])["search"]["behind"] == 0


def test_a_slow_transaction_is_indexed_on_every_server(cluster):
    """Its log row is written first, a later change commits and is indexed, then it commits: both servers
    index it (a clock-faked variant: tests/test_search_sync.py::test_a_slow_transaction_is_indexed_on_every_server)."""
    from core.extensions import db

    with in_app(cluster):
        slow = Session(db.engine)
        slow.add(new_material("集群慢事务资料", "迟到的提交 集群慢事务"))
        slow.flush()
        db.session.add(new_material("集群后提交的资料", "集群慢事务 后来者"))
        db.session.commit()
        assert wait_for(lambda: found(A, "集群慢事务", "集群后提交的资料") and found(B, "集群慢事务", "集群后提交的资料"))
        time.sleep(2)  # several catch-up rounds pass with the gap open
        assert not found(A, "集群慢事务", "集群慢事务资料")
        slow.commit()
        slow.close()
    assert wait_for(lambda: found(A, "集群慢事务", "集群慢事务资料") and found(B, "集群慢事务", "集群慢事务资料"))


@pytest.mark.skipif(not NGINX, reason="nginx is not installed (apt-get install nginx-light)")
def test_nginx_balances_between_the_servers_and_serves_static_itself(cluster, people):
    browser = Browser()
    assert browser.login(FRONT, people["member"][1]) == 302
    for _ in range(6):
        assert browser.get(FRONT, "/profile")[0] == 200
    status, _body, headers = browser.get(FRONT, "/static/css/site.css")
    assert status == 200 and headers["Server"].startswith("nginx")
    logs = [cluster["state"] / f"web-{port}.access.log" for port in (A, B)]
    assert all("/profile" in log.read_text() for log in logs)  # both servers answered some of them


def beat(port: int, lecture_id: int, credential: str, seq: int) -> tuple[int, dict]:
    status, body, _ = Browser().open(port, f"/api/v1/lectures/{lecture_id}/heartbeat", json.dumps(
        {"session": credential, "seq": seq, "visible": True, "idle_seconds": 0}).encode(),
        {"Content-Type": "application/json"})
    return status, (json.loads(body) if status == 200 else {})


def test_a_server_killed_mid_load_loses_and_duplicates_no_ledger_entry(cluster, people):
    """Six learners send heartbeats to both servers in turn; server A (master and workers) is killed mid-load.
    Each beat that failed is sent again to B with the same number, as the page does. Every beat answered
    "credited" is in the ledger exactly once, nothing else is, and A answers again after a restart, caught up."""
    from accounts.models import User
    from core.extensions import db
    from courses import services
    from courses.models import Audience, LectureKind
    from learning.models import HourEntry

    with in_app(cluster):
        trainer = db.session.get(User, people["trainer"][0])
        course = services.create_course(trainer, title="集群负载课程", summary="负载", category="集群",
                                        credit_hours=1, audience=Audience.PUBLIC)
        lecture = services.add_lecture(course, trainer, kind=LectureKind.TEXT, title="长文",
                                       body_markdown="学习内容。" * 2000)
        services.publish(course, trainer)
        db.session.commit()
        lecture_id = lecture.id
    sessions = []
    for i in range(6):
        learner = Browser()
        port = A if i % 2 else B
        assert learner.login(port, people[f"learner{i}"][1]) == 302
        token = page_csrf(learner, port, "/profile")
        status, body, _ = learner.open(port, f"/api/v1/lectures/{lecture_id}/study-sessions", b"{}",
                                       {"Content-Type": "application/json", "X-CSRFToken": token})
        assert status == 201, body
        sessions.append(json.loads(body)["session"])

    state, env = cluster["state"], cluster["env"]
    master = int((state / f"web-{A}.pid").read_text())
    credited: dict[tuple[str, int], int] = {}
    for seq in range(1, 9):
        time.sleep(1.1)  # a second of study per beat (HEARTBEAT_INTERVAL_SECONDS=1 in this cluster)
        if seq == 5:  # mid-load: the whole server A dies at once
            workers = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()
            for pid in [master, *map(int, workers)]:
                os.kill(pid, signal.SIGKILL)
        for i, credential in enumerate(sessions):
            status, answer = beat(A if (i + seq) % 2 else B, lecture_id, credential, seq)
            if status != 200:  # the page sends the same beat again; nginx would send it to B itself
                status, answer = beat(B, lecture_id, credential, seq)
            assert status == 200, answer
            if answer.get("status") == "credited" and answer.get("credited_seconds"):
                credited[(credential, seq)] = answer["credited_seconds"]
    assert len(credited) >= 30  # most beats earned time

    with in_app(cluster):
        entries = db.session.execute(select(HourEntry.source_ref, HourEntry.seconds).where(
            HourEntry.source_ref.like("session:%"))).all()
    by_ref = {}
    for ref, seconds in entries:
        by_ref.setdefault(ref, []).append(seconds)
    assert all(len(seconds) == 1 for seconds in by_ref.values())  # no duplicate
    assert sum(sum(seconds) for seconds in by_ref.values()) == sum(credited.values())  # nothing lost or extra
    assert len(by_ref) == len(credited)

    restart = subprocess.run(
        [str(ROOT / ".venv/bin/gunicorn"), "--daemon", "--pid", str(state / f"web-{A}.pid"), "--workers", "2",
         "--bind", f"127.0.0.1:{A}", "--preload", "--control-socket", str(state / f"web-{A}.ctl"),
         "--error-logfile", str(state / f"web-{A}.log"), "app:create_app()"],
        cwd=ROOT, env={**env, "FLASK_SECRET_KEY": (state / "secret_key").read_text().strip(),
                       "FLASK_REDIS_URL": f"redis://127.0.0.1:{REDIS}/0",
                       "FLASK_SEARCH_INDEX_DIR": str(state / f"search-{A}")}, capture_output=True, text=True)
    assert restart.returncode == 0, restart.stderr
    assert wait_for(lambda: Browser().get(A, "/healthz")[0] == 200, 30)
    assert wait_for(lambda: json.loads(Browser().get(A, "/healthz")[1])["search"]["behind"] == 0, 10)
