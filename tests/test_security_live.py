"""Against a real gunicorn server with its job consumer and a database of its own: a PDF whose pages take
seconds each and a DOCX zip bomb, uploaded at once, never stop /livez answering within 1 s (finding 6, 7)."""
from __future__ import annotations

import re
import threading
import time

import pytest
from werkzeug.security import generate_password_hash

from accounts import services as account_services
from core.extensions import db
from core.permissions import Role
from tests.conftest import PASSWORD
from tests.live_server import live_server
from tests.security_helpers import own_database_app
from tests.test_security_documents import docx_with
from tests.test_security_jobs import slow_pdf

requests = pytest.importorskip("requests")
TRAINER_PHONE = "13900000077"


def csrf(session, url: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', session.get(url, timeout=10).text).group(1)


def test_bombs_uploaded_at_once_never_stop_the_site_answering(tmp_path):
    with own_database_app(tmp_path, "live") as app:
        root = account_services.create_organization("R", "测试区委", "区委")
        account_services.create_user(name="教员甲", phone=TRAINER_PHONE, role=Role.TRAINER, organization=root,
                                     password_hash=generate_password_hash(PASSWORD))
        db.session.commit()
        uri = app.config["SQLALCHEMY_DATABASE_URI"]
        db.engine.dispose()
        with live_server(uri, tmp_path) as url:
            session = requests.Session()
            session.post(url + "/login", data={"identifier": TRAINER_PHONE, "password": PASSWORD,
                                               "csrf_token": csrf(session, url + "/login")}, timeout=10)
            token = csrf(session, url + "/materials/upload")
            files = {"slow": ("slow.pdf", slow_pdf(), "application/pdf"),
                     "bomb": ("bomb.docx", docx_with(["党" * 1000] * 100, repeat=220), "application/octet-stream")}
            answers: dict[str, tuple[int, float]] = {}

            def upload(name):
                started = time.monotonic()
                response = session.post(url + "/materials/upload", data={"title": name, "csrf_token": token},
                                        files={"file": files[name]}, timeout=60, allow_redirects=False)
                answers[name] = (response.status_code, time.monotonic() - started)

            threads = [threading.Thread(target=upload, args=(name,)) for name in files]
            for t in threads:
                t.start()
            # /livez is asked every 0.2 s while the consumer works through the PDF, until the material's page
            # says the job stopped it (its budgets end it in seconds; 60 s: a loaded machine)
            slowest, page, checked = 0.0, "", time.monotonic()
            deadline = time.monotonic() + 60
            while not ("未能提取文字" in page and "过于复杂" in page) and time.monotonic() < deadline:
                started = time.monotonic()
                assert requests.get(url + "/livez", timeout=5).text == "ok\n"
                slowest = max(slowest, time.monotonic() - started)
                time.sleep(0.2)
                if not any(t.is_alive() for t in threads) and time.monotonic() - checked > 1:
                    checked = time.monotonic()
                    listing = re.search(r"/materials/(\d+)", session.get(url + "/materials/", timeout=10).text)
                    page = session.get(f"{url}/materials/{listing.group(1)}", timeout=10).text if listing else ""
            for t in threads:
                t.join(60)
            assert slowest < 1.0
            # the uploads answer in seconds (the PDF's ~200 s of text are the job's); 10 s: a shared 2-core machine
            assert answers["slow"][0] == 302 and answers["slow"][1] < 10
            assert answers["bomb"][0] == 400 and answers["bomb"][1] < 10
            assert "未能提取文字" in page and "过于复杂" in page  # the job stopped it within its budget
