"""The opening minute on a real server: gunicorn with two sync workers (tests/live_server.py) on a database of this
test's own, the server's clock moved through a file (``TEST_CLOCK_FILE``, honoured only with ``TESTING``). Half a
second before the minute every start is refused, by both workers, with 1 second left and nothing created; at the
minute every member starts, once. Which worker answered is read from gunicorn's access log (its ``%(p)s``)."""
from __future__ import annotations

import re
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from accounts import services as accounts
from core.extensions import db
from core.permissions import Role
from quizzes.models import Attempt
from tests.conftest import PASSWORD
from tests.live_server import live_server
from tests.quiz_helpers import make_bank, make_quiz
from tests.security_helpers import own_database_app

requests = pytest.importorskip("requests")
OPENS = datetime(2026, 12, 5, 1, 0, 0)  # 09:00 in Shanghai
MEMBERS = 12
ACCESS_LINE = re.compile(r"^<?(\d+)>? POST (/api/v1/quizzes/\d+/attempts) (\d{3})$", re.M)


def start_all(url: str, quiz_id: int, tokens: list[str]) -> list:
    """Every member starts at once (one thread each): their responses, in the members' order."""
    answers: list = [None] * len(tokens)

    def start(i: int) -> None:
        answers[i] = requests.post(f"{url}/api/v1/quizzes/{quiz_id}/attempts", timeout=60,
                                   headers={"Authorization": f"Bearer {tokens[i]}"})

    threads = [threading.Thread(target=start, args=(i,)) for i in range(len(tokens))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    return answers


def workers_that_answered(log: Path, status: str) -> set[str]:
    return {pid for pid, _path, code in ACCESS_LINE.findall(log.read_text(errors="replace")) if code == status}


def test_both_workers_refuse_a_start_before_the_minute_and_accept_it_at_the_minute(tmp_path, monkeypatch):
    with own_database_app(tmp_path, "wait") as app:
        org = accounts.create_organization("W", "幸福社区党支部", "支部")
        cheap = generate_password_hash(PASSWORD, "pbkdf2:sha256:1000")
        members = [accounts.create_user(name=f"党员{i}", phone=f"1390000{i:04d}", password_hash=cheap,
                                        role=Role.MEMBER, organization=org) for i in range(MEMBERS)]
        tokens = [accounts.issue_token(member, "exam day")[1] for member in members]
        bank, questions = make_bank()
        exam = make_quiz(bank, questions, title="年度党员学习测试", is_exam=True, opens_at=OPENS,
                         closes_at=OPENS + timedelta(hours=2), time_limit_seconds=1800)
        db.session.commit()
        quiz_id, uri = exam.id, app.config["SQLALCHEMY_DATABASE_URI"]
        db.engine.dispose()

        clock_file = tmp_path / "now.txt"
        clock_file.write_text((OPENS - timedelta(milliseconds=500)).isoformat())
        # For the server processes only (they copy this environment); no app of this process is built after.
        monkeypatch.setenv("FLASK_TESTING", "true")
        monkeypatch.setenv("FLASK_TEST_CLOCK_FILE", str(clock_file))
        monkeypatch.setenv("GUNICORN_CMD_ARGS", "--access-logfile - --access-logformat '%(p)s %(m)s %(U)s %(s)s'")
        log = tmp_path / "server.log"
        with live_server(uri, tmp_path, workers=2) as url:
            for _round in range(10):  # until both workers have refused (each round: every member at once)
                for answer in start_all(url, quiz_id, tokens):
                    assert answer.status_code == 409, answer.text
                    assert answer.json() == {"opens_in_seconds": 1, "error": {
                        "code": "not_open_yet", "message": "测验尚未开始，还有 1 秒"}}
                if len(workers_that_answered(log, "409")) == 2:
                    break
            assert len(workers_that_answered(log, "409")) == 2, log.read_text(errors="replace")[-2000:]
            assert db.session.scalar(select(func.count()).select_from(Attempt)) == 0

            clock_file.write_text(OPENS.isoformat())  # the minute
            first = start_all(url, quiz_id, tokens)
            assert [a.status_code for a in first] == [201] * MEMBERS, [a.text for a in first if a.status_code != 201]
            for _round in range(10):  # both workers let members in (a second start resumes the same attempt)
                if len(workers_that_answered(log, "201") | workers_that_answered(log, "200")) == 2:
                    break
                assert all(a.status_code == 200 for a in start_all(url, quiz_id, tokens))
            assert len(workers_that_answered(log, "201") | workers_that_answered(log, "200")) == 2

        db.session.expire_all()
        per_member = dict(db.session.execute(select(Attempt.user_id, func.count()).group_by(Attempt.user_id)).all())
        assert per_member == {member.id: 1 for member in members}
        assert {a.json()["id"] for a in first} == set(db.session.scalars(select(Attempt.id)))
