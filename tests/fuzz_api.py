"""CI step (issue 13): schemathesis against the live /api/v1/openapi.json, once with a member's token and once
with an organizer's, bounded (20 examples per operation, a time budget per run), failing on any 500 or any
response that does not match the documented schema.

    python -m tests.fuzz_api [--max-examples 20] [--max-time 60]

It builds a fresh database of its own (DATABASE_URL if it names a PostgreSQL server: a new database there,
dropped afterwards; else a SQLite file), migrates it, loads the demo district, serves it with gunicorn on a port
of 8240-8289 and runs ``schemathesis run``. Exit status: schemathesis's (0 = no failure)."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

from tests.live_server import BIN, ROOT, live_server

MEMBER, ORGANIZER, PASSWORD = "13901000001", "13700000004", "dangxiao2026"  # the demo district's accounts
CHECKS = "not_a_server_error,response_schema_conformance"


def token(url: str, login: str) -> str:
    request = urllib.request.Request(url + "/api/v1/auth/token", method="POST",
                                     data=json.dumps({"login": login, "password": PASSWORD}).encode(),
                                     headers={"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(request, timeout=30).read())["token"]


def prepare(uri: str, folder: Path) -> None:
    env = {**os.environ, "DATABASE_URL": uri, "FLASK_SECRET_KEY": "live-test-secret",
           "FLASK_UPLOAD_FOLDER": str(folder / "uploads"), "FLASK_SEARCH_INDEX_DIR": str(folder / "search-index"),
           "FLASK_JOBS_SQLITE_PATH": str(folder / "jobs.sqlite3")}
    for command in (["db", "upgrade"], ["demo"]):
        subprocess.run([str(BIN / "flask"), "--app", "app", *command], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=20)
    parser.add_argument("--max-time", type=int, default=60, help="seconds per run (two runs)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ops-fuzz-") as tmp:
        folder = Path(tmp)
        from tests.security_helpers import own_database_url

        with own_database_url(folder, "fuzz") as uri:
            prepare(uri, folder)
            with live_server(uri, folder) as url:
                status = 0
                # both tokens first: fuzzing POST /auth/token soon throttles this address's logins
                tokens = {who: token(url, login) for who, login in (("member", MEMBER), ("organizer", ORGANIZER))}
                for who, bearer in tokens.items():
                    print(f"== schemathesis as the demo {who}", flush=True)
                    run = subprocess.run([str(BIN / "schemathesis"), "run", url + "/api/v1/openapi.json",
                                          "--url", url, "-H", f"Authorization: Bearer {bearer}",
                                          "--checks", CHECKS, "--max-examples", str(args.max_examples),
                                          "--max-time", str(args.max_time), "--phases", "examples,coverage,fuzzing",
                                          "--generation-deterministic", "--no-color"], cwd=ROOT)
                    status = status or run.returncode
                return status


if __name__ == "__main__":
    sys.exit(main())
