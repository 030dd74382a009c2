#!/usr/bin/env bash
# The production shape on one machine: PostgreSQL, Redis, two gunicorn servers, nginx in front.
#   deploy/cluster.sh start    (make cluster)       deploy/cluster.sh stop    (make cluster-stop)
# Everything it starts keeps its pid and logs in $OPS_CLUSTER_DIR; stop ends exactly those processes (and
# PostgreSQL only when start had to start it). Settings (environment):
#   OPS_FRONT_PORT=8000  OPS_WEB_PORTS="8001 8002"  OPS_REDIS_PORT=6380  OPS_WORKERS=2  OPS_NGINX=1  OPS_DEMO=1
#   OPS_DB=ops_cluster (DATABASE_URL overrides)  OPS_CLUSTER_DIR=instance/cluster
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
FRONT_PORT=${OPS_FRONT_PORT:-8000}
WEB_PORTS=${OPS_WEB_PORTS:-"8001 8002"}
REDIS_PORT=${OPS_REDIS_PORT:-6380}
WORKERS=${OPS_WORKERS:-2}
STATE=${OPS_CLUSTER_DIR:-$ROOT/instance/cluster}
DB=${OPS_DB:-ops_cluster}
export DATABASE_URL=${DATABASE_URL:-postgresql+psycopg://ops:ops@127.0.0.1:5432/$DB}
BIN=$ROOT/.venv/bin
FLASK="$BIN/flask --app app"

apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q "$@" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q "$@" >/dev/null; }
}

stop_pidfile() {  # stop_pidfile FILE [SIGNAL]: end the process named in FILE (ours), wait for it
  local file=$1 signal=${2:-TERM} pid
  [ -f "$file" ] || return 0
  pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null; then
    kill -s "$signal" "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  fi
  rm -f "$file"
}

environment() {  # what every server of this cluster shares (deploy/ops.env.example on real machines)
  mkdir -p "$STATE"
  [ -s "$STATE/secret_key" ] || (umask 077; python3 -c 'import secrets; print(secrets.token_hex(32))' >"$STATE/secret_key")
  export FLASK_SECRET_KEY=$(cat "$STATE/secret_key")
  export FLASK_REDIS_URL=${FLASK_REDIS_URL:-redis://127.0.0.1:$REDIS_PORT/0}
  export FLASK_UPLOAD_FOLDER=${FLASK_UPLOAD_FOLDER:-$ROOT/instance/uploads}
  if [ "${OPS_NGINX:-1}" = 1 ]; then
    export FLASK_PROXY_FIX_X_FOR=1 FLASK_UPLOAD_ACCEL_REDIRECT=/_protected_uploads
  fi
}

start() {
  environment
  command -v redis-server >/dev/null || apt_install redis-server
  if [ "${OPS_NGINX:-1}" = 1 ]; then command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || apt_install nginx-light; fi
  if ! pg_ctlcluster 15 main status >/dev/null 2>&1; then touch "$STATE/postgres.started"; fi
  case "$DATABASE_URL" in *127.0.0.1:5432/*) .ci/postgres "${DATABASE_URL##*/}" ;; esac
  make -s install translations >/dev/null
  $FLASK db upgrade >"$STATE/upgrade.log" 2>&1 || { cat "$STATE/upgrade.log" >&2; exit 1; }
  [ "${OPS_DEMO:-1}" = 1 ] && $FLASK demo --if-empty >/dev/null
  mkdir -p "$FLASK_UPLOAD_FOLDER"

  # Redis: the shared cache. No persistence needed (a cold cache is only slower).
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no --daemonize yes \
    --pidfile "$STATE/redis.pid" --logfile "$STATE/redis.log" --dir "$STATE"
  for _ in $(seq 1 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

  # The app servers: each builds its own search index first (a new server answers no search before).
  local upstreams="" port
  for port in $WEB_PORTS; do
    SEARCH_DIR="$STATE/search-$port"
    FLASK_SEARCH_INDEX_DIR=$SEARCH_DIR $FLASK search rebuild >/dev/null
    FLASK_SEARCH_INDEX_DIR=$SEARCH_DIR $BIN/gunicorn --daemon --pid "$STATE/web-$port.pid" \
      --workers "$WORKERS" --bind "127.0.0.1:$port" --preload --control-socket "$STATE/web-$port.ctl" \
      --access-logfile "$STATE/web-$port.access.log" --error-logfile "$STATE/web-$port.log" "app:create_app()"
    upstreams+="server 127.0.0.1:$port max_fails=3 fail_timeout=5s; "
  done

  # Scheduled jobs once per cluster (flask once: an advisory lock; one runner here besides).
  ( while true; do $FLASK once quizzes close-expired >>"$STATE/once.log" 2>&1 || true; sleep 60; done ) \
    >/dev/null 2>&1 &
  echo $! >"$STATE/once.pid"

  # The background job consumer (core/jobs.py: Huey, its queue in Redis here): document text extraction.
  ( cd "$ROOT" && exec $BIN/huey_consumer worker.huey --workers 1 ) >>"$STATE/jobs.log" 2>&1 &
  echo $! >"$STATE/jobs.pid"

  if [ "${OPS_NGINX:-1}" = 1 ]; then
    mkdir -p "$STATE/nginx"
    sed -e "s#@PORT@#$FRONT_PORT#" -e "s#@UPSTREAMS@#$upstreams#" -e "s#@ROOT@#$ROOT#" \
        -e "s#@UPLOAD_FOLDER@#$FLASK_UPLOAD_FOLDER#" deploy/nginx-ops.conf >"$STATE/nginx/site.conf"
    cat >"$STATE/nginx/nginx.conf" <<CONF
user $(id -un);
worker_processes auto;
pid $STATE/nginx.pid;
error_log $STATE/nginx/error.log;
events { worker_connections 1024; }
http {
    include /etc/nginx/mime.types;
    access_log $STATE/nginx/access.log;
    client_body_temp_path $STATE/nginx/body; proxy_temp_path $STATE/nginx/proxy;
    fastcgi_temp_path $STATE/nginx/fastcgi; uwsgi_temp_path $STATE/nginx/uwsgi; scgi_temp_path $STATE/nginx/scgi;
    sendfile on;
    include $STATE/nginx/site.conf;
}
CONF
    /usr/sbin/nginx -c "$STATE/nginx/nginx.conf"
    url=http://127.0.0.1:$FRONT_PORT
  else
    url=http://127.0.0.1:${WEB_PORTS%% *}
  fi
  for check in $(for port in $WEB_PORTS; do echo "http://127.0.0.1:$port"; done) "$url"; do
    for _ in $(seq 1 150); do curl -fs "$check/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
    curl -fs "$check/healthz" >/dev/null || { echo "$check did not come up; logs in $STATE" >&2; exit 1; }
  done
  echo "Cluster serving on $url (app servers on ports $WEB_PORTS, Redis on $REDIS_PORT; logs in $STATE)"
}

stop() {
  stop_pidfile "$STATE/nginx.pid" QUIT
  stop_pidfile "$STATE/once.pid"
  stop_pidfile "$STATE/jobs.pid"
  for file in "$STATE"/web-*.pid; do [ -e "$file" ] && stop_pidfile "$file"; done
  stop_pidfile "$STATE/redis.pid"
  if [ -f "$STATE/postgres.started" ]; then pg_ctlcluster 15 main stop; rm -f "$STATE/postgres.started"; fi
  echo "Cluster stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
