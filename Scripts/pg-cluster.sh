#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the tests and scripts of the scaled-out shape
# (RecRLPostgres, `recrl serve --events postgres://...`).
#
#   Scripts/pg-cluster.sh start        initdb in a temporary directory (as an unprivileged
#                                      user), start it on a free 127.0.0.1 port, print the URL
#   Scripts/pg-cluster.sh url          print the URL of the running cluster
#   Scripts/pg-cluster.sh env          print `export RECRL_TEST_POSTGRES_URL=...`
#   Scripts/pg-cluster.sh pause        stop the server, keep the data and the port (tests of
#   Scripts/pg-cluster.sh resume       a database outage); resume starts it again
#   Scripts/pg-cluster.sh stop         stop the server and delete the cluster
#   Scripts/pg-cluster.sh run -- CMD   start, run CMD with RECRL_TEST_POSTGRES_URL and
#                                      RECRL_TEST_POSTGRES_CTL set, stop (also on failure);
#                                      exits with CMD's status
#
# The cluster lives in $RECRL_PG_DIR (default: a new directory under ${TMPDIR:-/tmp}, recorded
# in $RECRL_PG_STATE, default /tmp/recrl-pg-cluster.<uid>, so later subcommands find it; `run`
# uses a state file of its own and exports it, so it runs beside a developer's cluster). PostgreSQL refuses to run as
# root: as root the cluster runs as the system user `recrl-pg` (created when missing); as
# anyone else, as that user. Debian's `postgresql` package is installed with apt when no
# initdb is found. Trust authentication on 127.0.0.1 only: a test cluster, never production.
#
# `run` never fails because the cluster cannot start: it prints why and runs CMD without
# RECRL_TEST_POSTGRES_URL, and the tests that need PostgreSQL then fail when CI is set (they
# skip locally), so a missing database is reported by the test runner, not hidden.
set -euo pipefail

STATE_FILE=${RECRL_PG_STATE:-/tmp/recrl-pg-cluster.$(id -u)}
RUN_USER=""
PG_BIN=""

log() { echo "pg-cluster: $*" >&2; }

find_bin() {
    local initdb
    initdb=$(ls -1d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -1 || true)
    if [ -z "$initdb" ] && command -v initdb >/dev/null 2>&1; then initdb=$(command -v initdb); fi
    [ -n "$initdb" ] && PG_BIN=$(dirname "$initdb")
}

install_postgres() {
    find_bin && return 0
    log "no initdb found: installing Debian's postgresql with apt"
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql >&2
    find_bin || { log "postgresql installed but initdb not found"; return 1; }
}

choose_user() {
    if [ "$(id -u)" = 0 ]; then
        if ! id recrl-pg >/dev/null 2>&1; then
            useradd --system --no-create-home --shell /usr/sbin/nologin recrl-pg
        fi
        RUN_USER=recrl-pg
    else
        RUN_USER=$(id -un)
    fi
}

as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u "$RUN_USER" -- "$@"
    else
        "$@"
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

load_state() {
    [ -f "$STATE_FILE" ] || { log "no cluster running (no $STATE_FILE); run start first"; return 1; }
    # shellcheck disable=SC1090
    . "$STATE_FILE"
}

server_start() {
    as_owner "$PG_BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 30 \
        -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on" start >&2
}

server_stop() {
    as_owner "$PG_BIN/pg_ctl" -D "$DIR/data" -m "${1:-fast}" -w -t 30 stop >&2
}

url() { echo "postgres://recrl@127.0.0.1:$PORT/recrl"; }

cmd_start() {
    if [ -f "$STATE_FILE" ]; then
        # shellcheck disable=SC1090
        . "$STATE_FILE"
        if [ -n "${DIR:-}" ] && [ -d "$DIR/data" ]; then
            log "a cluster is already registered in $DIR; stop it first"
            return 1
        fi
    fi
    install_postgres
    choose_user
    DIR=${RECRL_PG_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/recrl-pg.XXXXXX")}
    mkdir -p "$DIR"
    chmod 755 "$DIR"
    [ "$(id -u)" = 0 ] && chown "$RUN_USER" "$DIR"
    as_owner "$PG_BIN/initdb" -D "$DIR/data" -U recrl --auth=trust --encoding=UTF8 --no-instructions >"$DIR/initdb.log" 2>&1 \
        || { cat "$DIR/initdb.log" >&2; return 1; }
    PORT=$(free_port)
    printf 'DIR=%q\nPORT=%q\nPG_BIN=%q\nRUN_USER=%q\n' "$DIR" "$PORT" "$PG_BIN" "$RUN_USER" >"$STATE_FILE"
    server_start || { cat "$DIR/server.log" >&2; return 1; }
    as_owner "$PG_BIN/createdb" -h 127.0.0.1 -p "$PORT" -U recrl recrl >&2
    url
}

cmd_stop() {
    load_state || return 0
    if [ -f "$DIR/data/postmaster.pid" ]; then server_stop immediate || true; fi
    rm -rf "$DIR" "$STATE_FILE"
}

cmd_run() {
    [ "${1:-}" = "--" ] && shift
    [ $# -gt 0 ] || { log "run: no command given"; return 2; }
    local started=0
    export RECRL_PG_STATE
    RECRL_PG_STATE=$(mktemp "${TMPDIR:-/tmp}/recrl-pg-state.XXXXXX")
    rm -f "$RECRL_PG_STATE"
    STATE_FILE=$RECRL_PG_STATE
    if URL=$(cmd_start); then
        started=1
        export RECRL_TEST_POSTGRES_URL="$URL"
        export RECRL_TEST_POSTGRES_CTL="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
        log "PostgreSQL at $URL"
    else
        log "could not start PostgreSQL: tests that need it fail under CI and skip elsewhere"
    fi
    local status=0
    "$@" || status=$?
    [ $started = 1 ] && cmd_stop
    return $status
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    url) load_state && url ;;
    env) load_state && echo "export RECRL_TEST_POSTGRES_URL=$(url)" ;;
    pause) load_state && server_stop fast ;;
    resume) load_state && server_start ;;
    run) shift; cmd_run "$@" ;;
    *) echo "usage: $0 start|stop|url|env|pause|resume|run -- CMD..." >&2; exit 2 ;;
esac
