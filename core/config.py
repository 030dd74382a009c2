"""Configuration: defaults here, then instance/config.py, then environment variables.

Every setting is listed in README.md with its default. Environment variables use Flask's
prefix (``FLASK_SECRET_KEY``, ``FLASK_LOGIN_MAX_FAILURES`` ...); ``DATABASE_URL`` is also read
directly because every hosting tool sets it.
"""
from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

from flask import Flask


class DefaultConfig:
    # Database: SQLite file in instance/ unless DATABASE_URL names another.
    SQLALCHEMY_DATABASE_URI: str | None = None
    # A pooled connection is tested before use (a PostgreSQL restart or failover costs no request an error) and
    # recycled after 30 minutes.
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True, "pool_recycle": 1800}

    # Sessions and cookies.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False  # set True behind HTTPS (README: the nginx recipe)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = False  # set True behind HTTPS
    # Strict-Transport-Security max-age in seconds; 0: not sent (set it only when every visit is HTTPS).
    HSTS_SECONDS = 0
    WTF_CSRF_TIME_LIMIT = None  # a token lives as long as the session

    # Language and time.
    BABEL_DEFAULT_LOCALE = "zh"
    LANGUAGES = ("zh", "en")
    DISPLAY_TIMEZONE = "Asia/Shanghai"

    # Login throttling: this many failures for one (normalised) account within the window refuse further
    # attempts until the window ends, then twice as many in 6x as long, ... (growing waits, not a fixed lock).
    # One address (a community hall's Wi-Fi) is refused only after LOGIN_ADDRESS_MAX_FAILURES in the window.
    LOGIN_MAX_FAILURES = 5
    LOGIN_WINDOW_SECONDS = 600
    LOGIN_ADDRESS_MAX_FAILURES = 50
    # Activation / reset codes printed on slips (or sent by SMS) expire after this many days.
    ACTIVATION_CODE_DAYS = 30
    # The site address printed on activation slips and in their QR codes ("": the address of the request).
    SITE_URL = ""
    # Text messages: "console" logs them (phone masked); or a dotted path "package.module.Class" of a sender
    # with a ``send(phone, text)`` method, built with the app's config.
    SMS_BACKEND = "console"
    # How new passwords are hashed (werkzeug's method string; the test suite uses a cheap "pbkdf2:sha256:1000").
    PASSWORD_HASH_METHOD = "scrypt"

    # Redis (redis://host:6379/0): throttles (and the job queue) use it instead of the database when set.
    REDIS_URL: str | None = None

    # Background jobs (core/jobs.py, Huey): the queue's SQLite file without Redis (None: instance/jobs.sqlite3);
    # run jobs at once in the caller (None: only when TESTING).
    JOBS_SQLITE_PATH: str | None = None
    JOBS_IMMEDIATE: bool | None = None

    # Pages.
    PER_PAGE = 20
    API_MAX_PER_PAGE = 100

    # Bootstrap 5 is served from the package, never from a CDN.
    BOOTSTRAP_SERVE_LOCAL = True

    # Self-registration of public learners (群众).
    ALLOW_PUBLIC_REGISTRATION = True

    # Trusted proxies in front of the app setting X-Forwarded-For (0: none; login throttling uses the address).
    PROXY_FIX_X_FOR = 0

    # Uploads and the study materials library (courses-library).
    # Where uploaded files live (outside static/); unset: instance/uploads, relative paths from instance/.
    UPLOAD_FOLDER: str | None = None
    # Largest video (MP4/WebM) a trainer may upload, in bytes.
    MAX_VIDEO_BYTES = 500 * 1024 * 1024
    # Largest document (PDF/DOCX/TXT/Markdown), in bytes.
    MAX_DOCUMENT_BYTES = 50 * 1024 * 1024
    # Largest image (course covers: PNG/JPEG/WebP), in bytes.
    MAX_IMAGE_BYTES = 5 * 1024 * 1024
    # Whole request body; a little above the video limit so form fields fit (larger requests get 413).
    MAX_CONTENT_LENGTH = 510 * 1024 * 1024
    # Body of any other request (forms, JSON); a view taking uploads adds its upload size (core/requests.py).
    MAX_BODY_BYTES = 64 * 1024
    # Largest member import file (XLSX/CSV), in bytes (the importer refuses more than 5 MB itself).
    MEMBER_IMPORT_MAX_BYTES = 5 * 1024 * 1024

    # The shared cache (core/cache.py, Flask-Caching) and the cluster's shared state.
    # Redis for the cache (and what else several servers must share); None: a cache in each process (SimpleCache).
    REDIS_URL: str | None = None
    CACHE_DEFAULT_TIMEOUT = 300  # seconds an entry lives (keys carry the content version: no staleness from this)
    CACHE_THRESHOLD = 20000  # SimpleCache: most entries per process
    # Behind nginx: uploads are answered with X-Accel-Redirect to this internal location (deploy/nginx-ops.conf
    # maps it onto UPLOAD_FOLDER), so nginx sends the file; None: the app sends it.
    UPLOAD_ACCEL_REDIRECT: str | None = None
    # Seconds a previewed member import stays staged in the database for its confirmation.
    MEMBER_IMPORT_TTL_SECONDS = 3600

    # Training hours (学时): the hours engine (learning/).
    # Seconds between a lecture page's heartbeats.
    HEARTBEAT_INTERVAL_SECONDS = 30
    # A heartbeat later than interval + grace credits only one interval (a sleeping laptop earns nothing more).
    HEARTBEAT_GRACE_SECONDS = 15
    # Heartbeats answered by a small WSGI entry in front of Flask (learning.heartbeat_api.HeartbeatFastPath); False: by the
    # Flask view like every request (`python -m bench heartbeat --view` measures the difference).
    HEARTBEAT_FAST_PATH = True
    # PostgreSQL: an ordinary heartbeat's write commits asynchronously (no wait for the log flush). A database
    # server crash may lose the last ~0.6 s of heartbeats, each with its ledger row; SQLite's synchronous=NORMAL
    # makes the same trade. False: every heartbeat waits until it is on disk.
    HEARTBEAT_ASYNC_COMMIT = True
    # Text/document pages: time counts until this long after the learner's last input; the page asks
    # "还在学习吗？" a little before.
    PRESENCE_TIMEOUT_SECONDS = 120
    # A study session with no heartbeat for this long is closed (its page starts a new one).
    STUDY_SESSION_EXPIRE_SECONDS = 2 * 3600
    # Playback rates the video player allows; the slowest sets a video lecture's cap.
    MIN_PLAYBACK_RATE = 0.75
    MAX_PLAYBACK_RATE = 2.0
    # Added to a video lecture's cap (duration / MIN_PLAYBACK_RATE) for pauses and rewinds.
    VIDEO_CAP_GRACE_SECONDS = 300
    # Reading speed for a text/document lecture's estimated reading time (its cap), characters per minute.
    READING_CHARS_PER_MINUTE = 300
    # Tests that drive a real server only: a file holding the server's "now" (ISO, naive UTC). Read only when
    # TESTING is on as well (core.clock.follow_file); ignored in production.
    TEST_CLOCK_FILE = ""
    # Online study credited per member per day, in seconds; 0 = no daily cap.
    DAILY_ONLINE_CAP_SECONDS = 8 * 3600
    # Minutes in one 学时 (45 or 60 by local rule).
    MINUTES_PER_HOUR_UNIT = 45
    # How seconds become 学时 for display and export: "floor:0.5" (down to half 学时), "round:0.1", "floor:1" ...
    HOUR_ROUNDING = "round:0.1"
    # Share of a video's duration that must be watched (server-side intervals) for the lecture to count as done;
    # also the share of a text's reading time.
    VIDEO_COMPLETION_SHARE = 0.95
    # Seconds an offline class's check-in code (QR and short code) stays the same.
    CHECKIN_CODE_SECONDS = 30
    # Wrong check-in codes allowed per user, and per address, within the window (then refused until it ends).
    CHECKIN_MAX_FAILURES = 10
    CHECKIN_MAX_FAILURES_PER_ADDRESS = 30
    CHECKIN_WINDOW_SECONDS = 600
    # A manual entry above this many 学时 waits for a second organizer's or an admin's approval.
    MANUAL_APPROVAL_ABOVE_HOURS = 8
    # Run on every new SQLite connection: heartbeats are many small writes, and the default rollback journal
    # with an fsync per commit serializes them (WAL: a commit writes the log, readers never block the writer).
    SQLITE_PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=5000")

    # Quizzes and exams (quizzes/).
    # Seconds after an attempt's server deadline during which a late answer or submit still counts (network lag).
    QUIZ_DEADLINE_GRACE_SECONDS = 0
    # The waiting room starts an exam at its opening plus a random 0..N seconds, so a district's phones do not
    # all ask in the same millisecond (the server refuses any start before the opening anyway).
    EXAM_START_JITTER_SECONDS = 3
    # Largest bank import file (XLSX/CSV), in bytes.
    QUIZ_IMPORT_MAX_BYTES = 5 * 1024 * 1024

    # Training classes (classes/).
    # Host part of the calendar feed's event UIDs (class-session-<id>@<this>); keep it fixed once phones subscribe.
    CLASS_CALENDAR_UID_DOMAIN = "open-party-school"

    # Study materials import (courses/cli.py): `flask materials import DIR` skips files whose names match one
    # of these (case-insensitive shell patterns).
    MATERIALS_IMPORT_IGNORE = ("README*", "SOURCES*", "LICENSE*")


    # Full-text search (search/).
    SEARCH_INDEX_DIR: str | None = None  # this server's index on local disk; None: instance/search-index
    SEARCH_PRELOAD = "auto"  # load jieba in create_app: "auto" = only under gunicorn (before --preload forks)
    SEARCH_JIEBA_CACHE_DIR: str | None = None  # jieba's prefix-dictionary cache; None: instance/
    SEARCH_SYNC_ON_COMMIT = True  # without a background indexer (tests, CLI): apply the log right after a commit
    SEARCH_WORKER_INTERVAL = 1.0  # seconds between a server process's background catch-ups (0: no thread)
    SEARCH_CATCH_UP_INTERVAL = 0.5  # seconds between search-time catch-ups while a log gap is open
    SEARCH_PER_PAGE = 10  # results per page
    SEARCH_MAX_PAGE = 50  # deepest results page served
    SEARCH_SCAN_LIMIT = 300  # matches one query scores at most per pass (beyond: an estimated total, "约 N 条")
    SEARCH_FILL_SCAN = 40  # matches a page-filling pass (titles, words, phrase) scores at most; the page ranks among them

def load_config(app: Flask, overrides: dict | None = None) -> None:
    """Fill ``app.config`` from defaults, instance file, environment and ``overrides``."""
    app.config.from_object(DefaultConfig)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env()
    if os.environ.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(os.environ["DATABASE_URL"])
    if overrides:
        app.config.update(overrides)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(app.instance_path, "ops.sqlite3")
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret_key(app.instance_path)
        app.config["SECRET_KEY_FROM_INSTANCE_FILE"] = True


def shared_secret_warning(app: Flask) -> str | None:
    """A warning when several servers may share this database but each would sign with its own key: the key came
    from this machine's ``instance/secret_key`` and the database is not a local SQLite file."""
    if not app.config.get("SECRET_KEY_FROM_INSTANCE_FILE"):
        return None
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return None
    return ("SECRET_KEY is not set: this server signs sessions, CSRF tokens and check-in codes with its own "
            f"{Path(app.instance_path) / 'secret_key'}. Every server on this database needs the SAME key: set "
            "FLASK_SECRET_KEY (the same value on each server, e.g. in deploy/ops.env), or copy that file to each.")


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs written the usual way (``postgres://``, ``postgresql://``)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def instance_secret_key(instance_path: str) -> str:
    """Read ``instance/secret_key``; the first run writes a random one (safe when workers race)."""
    path = Path(instance_path) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    for _ in range(50):  # another process may be between creating and writing the file
        key = path.read_text().strip()
        if key:
            return key
        time.sleep(0.01)
    raise RuntimeError(f"{path} is empty; delete it to have a new key written")
