"""Issue 14: two app servers behind nginx against one server alone, on the same cores.

Generates the catalog data set (``--quick``: 10,000 members), then measures with wrk, first against one gunicorn
server (2 sync workers) alone, then against nginx in front of two such servers (the `make cluster` shape: one
database, one Redis for the shared cache, one secret key): the catalog, a course page and a lecture page as a
logged-in member, and heartbeats of ``--learners`` study sessions (each request a real credit; the two runs use
different learners). The ratio is the cluster's req/s ÷ one server's req/s for the same route. On one 2-core
machine the second server adds no cores: the ratio shows what the cluster's coordination (nginx, the shared
cache, the shared database) costs; on separate machines each server adds its cores.
Target: ≥ 0.75 for every route.

    python -m bench cluster [--quick] [--learners 500] [--database-url postgresql+psycopg://...] [--port 8480]
"""
from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from bench import datagen
from bench.catalog import redis_server
from bench.harness import ROOT, BenchServer, fresh_database, login, machine, product_app
from bench.heartbeat import heartbeat_script, open_sessions, run_heartbeats
from bench.wrk import warm, wrk

TARGET = 0.75


def add_arguments(parser) -> None:
    parser.add_argument("--learners", type=int, default=500, help="study sessions per run")
    parser.add_argument("--port", type=int, default=8480,
                        help="nginx on PORT, the servers on PORT+1 and PORT+2, Redis on PORT+3")


@contextmanager
def nginx(port: int, upstream_ports: list[int]):
    """nginx on 127.0.0.1:``port`` balancing between the servers (deploy/nginx-ops.conf's proxy settings)."""
    with tempfile.TemporaryDirectory(prefix="ops-bench-nginx-") as state:
        upstreams = " ".join(f"server 127.0.0.1:{p};" for p in upstream_ports)
        site = (ROOT / "deploy" / "nginx-ops.conf").read_text().replace("@PORT@", str(port)) \
            .replace("@UPSTREAMS@", upstreams).replace("@ROOT@", str(ROOT)).replace("@UPLOAD_FOLDER@", state)
        Path(state, "site.conf").write_text(site)
        Path(state, "nginx.conf").write_text(f"""
worker_processes 1;
pid {state}/nginx.pid;
error_log {state}/error.log;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    access_log off;
    client_body_temp_path {state}/body; proxy_temp_path {state}/proxy;
    fastcgi_temp_path {state}/fastcgi; uwsgi_temp_path {state}/uwsgi; scgi_temp_path {state}/scgi;
    include {state}/site.conf;
}}""")
        process = subprocess.Popen(["/usr/sbin/nginx", "-c", f"{state}/nginx.conf", "-g", "daemon off;"])
        try:
            time.sleep(0.5)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(10)


def server(database_url: str, port: int, env: dict, index_dir: str) -> BenchServer:
    bench_server = BenchServer(database_url=database_url, env={**env, "FLASK_SEARCH_INDEX_DIR": index_dir})
    bench_server.port = port
    return bench_server


def measure(base_url: str, generated, paths: list[tuple[str, str]], heartbeat: tuple[str, str], options) -> dict:
    session = login(base_url, generated.login, generated.password)
    results = {}
    for name, path in paths:
        warm(base_url + path, headers=session.headers())
        results[name] = wrk(base_url + path, headers=session.headers(), **options)
    path, script = heartbeat
    results["heartbeat"] = run_heartbeats(base_url + path, script, duration=options["duration"], threads=2,
                                          connections=options["connections"])
    return results


def run(args) -> int:
    scale = datagen.QUICK if args.quick else datagen.FULL
    options = {"duration": args.duration, "connections": args.connections}
    front, port_a, port_b, redis_port = args.port, args.port + 1, args.port + 2, args.port + 3
    with redis_server(redis_port) as redis_url, fresh_database(args.database_url) as database, \
            tempfile.TemporaryDirectory(prefix="ops-bench-cluster-") as state:
        print(f"schema: {database.schema}")
        generated = datagen.generate(product_app(database.url), scale)
        print(f"data: {generated.describe()}")
        lecture_id = generated.text_lecture_id
        credentials = open_sessions(database.url, lecture_id, 2 * args.learners)
        half = len(credentials) // 2
        hb_path = f"/api/v1/lectures/{lecture_id}/heartbeat"
        paths = [("catalog", "/courses/"), ("course", f"/courses/{generated.course_id}"),
                 ("lecture", f"/lectures/{generated.text_lecture_id}")]
        env = {"FLASK_SECRET_KEY": secrets.token_hex(32), "FLASK_REDIS_URL": redis_url, "FLASK_PROXY_FIX_X_FOR": "1"}
        host = machine()
        with server(database.url, port_a, env, f"{state}/index-a"):
            alone = measure(f"http://127.0.0.1:{port_a}", generated, paths,
                            (hb_path, heartbeat_script(lecture_id, credentials[:half], 2)), options)
        with server(database.url, port_a, env, f"{state}/index-a"), \
                server(database.url, port_b, env, f"{state}/index-b"), nginx(front, [port_a, port_b]) as url:
            together = measure(url, generated, paths,
                               (hb_path, heartbeat_script(lecture_id, credentials[half:], 2)), options)
        loadavg_after = [round(x, 2) for x in os.getloadavg()]
    rows = []
    print(f"{'route':<12} {'one server req/s':>17} {'two + nginx req/s':>18} {'ratio':>6} {'target':>6} {'errors':>7}")
    for name in [name for name, _ in paths] + ["heartbeat"]:
        one, two = alone[name], together[name]
        ratio = round(two.rps / one.rps, 3) if one.rps else 0.0
        errors = two.errors + one.errors
        rows.append({"route": name, "one_server_rps": one.rps, "cluster_rps": two.rps, "ratio": ratio,
                     "target": TARGET, "errors": errors})
        print(f"{name:<12} {one.rps:>17.1f} {two.rps:>18.1f} {ratio:>6.3f} {TARGET:>6.2f} {errors:>7}")
    print(f"load average before/after: {host['loadavg_before']} / {loadavg_after} ({host['cpus']} CPUs); "
          f"database: {database.kind}; wrk -t2 -c{args.connections} -d{args.duration:g}s")
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / f"cluster-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(json.dumps(
        {"rows": rows, **host, "loadavg_after": loadavg_after, "database": database.kind,
         "command": "python -m bench cluster " + " ".join(sys.argv[2:])}, indent=2))
    return 0 if all(row["ratio"] >= TARGET and not row["errors"] for row in rows) else 1
