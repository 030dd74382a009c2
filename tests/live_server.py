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
PORTS_VARIABLE, DEFAULT_PORTS = "OPS_TEST_PORTS", "8240-8289"
WORKER_SLICE = 10  # ports each pytest-xdist worker probes first (gw0: the range's first ten, gw1: the next ...)


def port_range() -> range:
    """``OPS_TEST_PORTS`` ("LOW-HIGH", default 8240-8289): the ports this run's live servers may take. Runs at
    the same time on one machine (CI's SQLite and PostgreSQL suites, the API fuzzing) each get a range."""
    text = os.environ.get(PORTS_VARIABLE) or DEFAULT_PORTS
    low, _, high = text.partition("-")
    return range(int(low), int(high or low) + 1)


def free_port() -> int:
    """A port of ``port_range()`` that nothing listens on and that this process can bind. Each xdist worker
    starts probing at its own slice of the range, so two workers of a run do not pick the same port at once."""
    ports = port_range()
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    start = (int(worker[2:] or 0) * WORKER_SLICE) % len(ports) if worker.startswith("gw") else 0
    for port in [*ports[start:], *ports[:start]]:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                continue  # something listens there
        with socket.socket() as claim:
            try:
                claim.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORTS_VARIABLE}={ports.start}-{ports.stop - 1}")


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
