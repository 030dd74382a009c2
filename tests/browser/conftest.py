"""Browser tests: Playwright's sync API drives Debian's Chromium (/usr/bin/chromium) against the real
application served by werkzeug in a background thread.

Fixtures for test authors:

- ``live_server``: a fresh database (a temporary SQLite file, or DATABASE_URL's PostgreSQL), the app with
  test settings but CSRF switched ON, served on a free port. ``.url``, ``.app``, ``.url_for(endpoint, **values)``.
  While a test runs, an app context of ``live_server.app`` is pushed in the test's thread, so services and the
  factories of tests/conftest.py work as usual (``make_org``, ``make_user``, ``make_member``, ``grid``: here they
  write into the live server's database). Commit before the browser looks (the factories do), and call
  ``db.session.expire_all()`` before reading back what the browser changed.
- ``page``: a desktop page (1280x800, zh-CN, Asia/Shanghai) whose relative URLs go to the live server:
  ``page.goto("/login")``.
- ``phone_page``: the same on a phone (390x844, touch, mobile user agent); ``phone_context`` for more pages.
- ``login(page, user, password=PASSWORD)``: fills and submits the real login form, fails the test with the
  page's message if login did not succeed.
- ``app`` and ``client`` are the live server's app and a Flask test client of it.

Mark tests with ``pytestmark = pytest.mark.browser`` (tests under this folder are marked automatically too,
so ``-m "not browser"`` leaves them out). Never ``playwright install``; when /usr/bin/chromium is missing
the tests skip with a message (``.ci/run`` installs it). Don't sleep: use Playwright's auto-waiting
``expect(...)`` and ``page.clock`` to move time in the page, ``core.clock.utcnow`` on the server.

Playwright objects (driver, browser) live for this folder only (package scope), so the event loop the sync
API keeps marked as running in the main thread is gone before the rest of the suite runs.
"""
from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask, url_for
from playwright.sync_api import Page, expect, sync_playwright
from sqlalchemy import event
from werkzeug.serving import make_server

from app import create_app
from core.extensions import db
from tests.conftest import ON_POSTGRES, PASSWORD, IsolatedClient, reset_database, testing_config

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

DESKTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "screen": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
    "user_agent": ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                   "Chrome/150.0.0.0 Mobile Safari/537.36"),
}
# actions, navigations and expect() assertions: a local server answers in milliseconds, but CI runs its suites
# side by side on a shared 2-core machine, where Chromium may wait seconds for a core (only a failure waits it out)
TIMEOUT_MS = 20_000
expect.set_options(timeout=TIMEOUT_MS)
HERE = Path(__file__).parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(item.path).parents:
            item.add_marker(pytest.mark.browser)


# --- Playwright: Debian's Chromium, package-scoped -----------------------------------------------

@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="package")
def playwright():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium (never `playwright install`)")
    pw = sync_playwright().start()
    yield pw
    pw.stop()


@pytest.fixture(scope="package")
def browser_type(playwright, browser_name):
    return getattr(playwright, browser_name)


@pytest.fixture(scope="package")
def launch_browser(browser_type_launch_args, browser_type):
    def launch(**kwargs):
        return browser_type.launch(**{**browser_type_launch_args, **kwargs})

    return launch


@pytest.fixture(scope="package")
def browser(launch_browser):
    browser = launch_browser()
    yield browser
    browser.close()


@pytest.fixture(scope="package")
def browser_context_args():
    """What every context gets: a Chinese-speaking user in Shanghai (Chromium would send en-US).
    No ``--video``: recording needs Playwright's own ffmpeg download. ``--tracing`` and ``--screenshot`` work."""
    return {"locale": "zh-CN", "timezone_id": "Asia/Shanghai"}


@pytest.fixture
def context(new_context, live_server):
    context = new_context(base_url=live_server.url, **DESKTOP)
    context.set_default_timeout(TIMEOUT_MS)
    return context


@pytest.fixture
def phone_context(new_context, live_server):
    context = new_context(base_url=live_server.url, **PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    return context


@pytest.fixture
def phone_page(phone_context) -> Page:
    return phone_context.new_page()


# --- the application, served for real ------------------------------------------------------------

@dataclass
class LiveServer:
    app: Flask
    url: str

    def url_for(self, endpoint: str, **values) -> str:
        """A path on the live server (relative: pages have it as their base URL)."""
        with self.app.test_request_context():
            return url_for(endpoint, **values)


def _database_uri(tmp_path: Path) -> str:
    return os.environ["DATABASE_URL"] if ON_POSTGRES else "sqlite:///" + str(tmp_path / "browser.sqlite3")


def _sqlite_for_tests(dbapi_connection, _record) -> None:
    """WAL: a reader in one thread never blocks a writer in another. No fsync: a throwaway file."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=OFF")
    cursor.close()


@pytest.fixture
def live_server(tmp_path):
    application = create_app(testing_config(
        SQLALCHEMY_DATABASE_URI=_database_uri(tmp_path),
        WTF_CSRF_ENABLED=True,  # the browser submits real forms with real tokens
        UPLOAD_FOLDER=str(tmp_path / "uploads"),
    ))
    application.instance_path = str(tmp_path / "instance")
    application.test_client_class = IsolatedClient
    ctx = application.app_context()
    ctx.push()
    try:
        if not ON_POSTGRES:
            db.engine.dispose()
            event.listen(db.engine, "connect", _sqlite_for_tests)
        reset_database()
        server = make_server("127.0.0.1", 0, application, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
        thread.start()
        try:
            yield LiveServer(app=application, url=f"http://127.0.0.1:{server.server_port}")
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)
            db.session.remove()
            db.drop_all()
    finally:
        db.session.remove()
        db.engine.dispose()
        ctx.pop()


@pytest.fixture
def app(live_server):
    return live_server.app


# The factories of tests/conftest.py write through the current app context: make sure it is the live one.
@pytest.fixture
def make_org(live_server, make_org):
    return make_org


@pytest.fixture
def make_user(live_server, make_user):
    return make_user


@pytest.fixture
def login():
    def log_in(page: Page, user, password: str = PASSWORD) -> None:
        identifier = user if isinstance(user, str) else user.phone
        page.goto("/login")
        page.locator("#identifier").fill(identifier)
        page.locator("#password").fill(password)
        with page.expect_navigation():
            page.locator("form button[type=submit]").click()
        if re.search(r"/login(\?|$)", page.url):
            alert = page.locator(".alert, .invalid-feedback")
            message = " / ".join(alert.all_inner_texts()) or page.title()
            pytest.fail(f"login as {identifier} failed: {message}")
        expect(page.locator("form[action$='/logout']")).to_have_count(1)

    return log_in
