"""A real server for tests: gunicorn (2 sync workers) and the job consumer, on a database of the test's own."""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PORTS = range(8240, 8290)  # this branch's port range


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError("no free port in 8240-8289")


@contextlib.contextmanager
def live_server(database_uri: str, folder: Path, workers: int = 2):
    """Serve ``create_app()`` on ``database_uri`` (schema already there) with the job consumer beside it;
    yields the base URL. Both processes are stopped at the end."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_uri, "FLASK_SECRET_KEY": "live-test-secret",
           "FLASK_UPLOAD_FOLDER": str(folder / "uploads"), "FLASK_JOBS_SQLITE_PATH": str(folder / "jobs.sqlite3"),
           "FLASK_SEARCH_INDEX_DIR": str(folder / "search-index"), "FLASK_SEARCH_PRELOAD": "false",
           "FLASK_JOBS_IMMEDIATE": "false"}
    log = open(folder / "server.log", "wb")
    server = subprocess.Popen([str(BIN / "gunicorn"), "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
                               "--timeout", "300", "app:create_app()"], cwd=ROOT, env=env, stdout=log, stderr=log)
    consumer = subprocess.Popen([str(BIN / "huey_consumer"), "worker.huey", "--workers", "1"], cwd=ROOT, env=env,
                                stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url + "/livez", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError((folder / "server.log").read_text(errors="replace")[-3000:])
                time.sleep(0.2)
        yield url
    finally:
        for process in (server, consumer):
            process.terminate()
        for process in (server, consumer):
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()
