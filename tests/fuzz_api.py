"""CI step (issue 13): schemathesis against the live /api/v1/openapi.json with a member's token and with an
organizer's, both at once against one server, bounded (20 examples per operation, a time budget per run), failing
on any 500 or any response that does not match the documented schema.

    python -m tests.fuzz_api [--max-examples 20] [--max-time 60]

It builds a fresh database of its own (DATABASE_URL if it names a PostgreSQL server: a new database there,
dropped afterwards; else a SQLite file), migrates it, loads the demo district, serves it with gunicorn on a port
of OPS_TEST_PORTS (default 8240-8289) and runs ``schemathesis run``.

The two operations that revoke tokens are fuzzed last, each with a token of its own: in the main runs they would
revoke the run's own token (``DELETE /auth/token`` at once, ``DELETE /auth/tokens/{id}`` as soon as it guesses
the id) and every later request would only test the 401 answer. After the main runs both tokens must still work.
Exit status: 0 when every run passed."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from tests.live_server import BIN, ROOT, live_server

MEMBER, ORGANIZER, PASSWORD = "13901000001", "13700000004", "dangxiao2026"  # the demo district's accounts
CHECKS = "not_a_server_error,response_schema_conformance"
REVOKE_CURRENT, REVOKE_BY_ID = "DELETE /api/v1/auth/token", "DELETE /api/v1/auth/tokens/{token_id}"


def token(url: str, login: str) -> str:
    request = urllib.request.Request(url + "/api/v1/auth/token", method="POST",
                                     data=json.dumps({"login": login, "password": PASSWORD}).encode(),
                                     headers={"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(request, timeout=30).read())["token"]


def token_works(url: str, bearer: str) -> bool:
    request = urllib.request.Request(url + "/api/v1/me", headers={"Authorization": f"Bearer {bearer}"})
    try:
        return urllib.request.urlopen(request, timeout=30).status == 200
    except urllib.error.HTTPError:
        return False


def schemathesis(url: str, bearer: str, args, *operation_filter: str, max_time: int, log: Path):
    """Start one ``schemathesis run`` in the background, its output to ``log``; returns (process, log)."""
    command = [str(BIN / "schemathesis"), "run", url + "/api/v1/openapi.json", "--url", url,
               "-H", f"Authorization: Bearer {bearer}", "--checks", CHECKS, "--max-examples", str(args.max_examples),
               "--max-time", str(max_time), "--phases", "examples,coverage,fuzzing", "--generation-deterministic",
               "--no-color", *operation_filter]
    with open(log, "wb") as out:
        return subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT), log


def wait_all(runs: dict) -> int:
    """Wait for every run (title -> (process, log)), then print each one's output in turn; the first failing
    exit status (0: all passed)."""
    status = 0
    for title, (process, log) in runs.items():
        code = process.wait()
        print(f"== schemathesis {title}: {'passed' if code == 0 else f'FAILED (exit {code})'}", flush=True)
        sys.stdout.write(log.read_text(errors="replace"))
        sys.stdout.flush()
        status = status or code
    return status


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
    parser.add_argument("--max-time", type=int, default=60, help="seconds per run (the two main runs go side by side)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ops-fuzz-") as tmp:
        folder = Path(tmp)
        from tests.security_helpers import own_database_url

        with own_database_url(folder, "fuzz") as uri:
            prepare(uri, folder)
            with live_server(uri, folder) as url:
                return fuzz(url, folder, args)


def fuzz(url: str, folder: Path, args) -> int:
    people = {"member": MEMBER, "organizer": ORGANIZER}
    # every token first: fuzzing POST /auth/token soon throttles this address's logins
    tokens = {(who, use): token(url, login)
              for who, login in people.items() for use in ("main", REVOKE_CURRENT, REVOKE_BY_ID)}
    skip_revoking = ("--exclude-name", REVOKE_CURRENT, "--exclude-name", REVOKE_BY_ID)
    status = wait_all({f"as the demo {who}": schemathesis(url, tokens[who, "main"], args, *skip_revoking,
                                                          max_time=args.max_time, log=folder / f"{who}.log")
                       for who in people})
    for who in people:
        if not token_works(url, tokens[who, "main"]):
            print(f"== FAILED: the {who}'s token was revoked while fuzzing: later requests tested 401s only", flush=True)
            status = status or 1
    for operation in (REVOKE_CURRENT, REVOKE_BY_ID):  # in turn: revoking by id may hit any token of that person
        code = wait_all({f"{operation} as the demo {who}": schemathesis(
            url, tokens[who, operation], args, "--include-name", operation, max_time=min(args.max_time, 10),
            log=folder / f"{who}-revoke.log") for who in people})
        status = status or code
    return status


if __name__ == "__main__":
    sys.exit(main())
