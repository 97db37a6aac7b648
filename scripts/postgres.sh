#!/usr/bin/env bash
# A private PostgreSQL cluster on 127.0.0.1 for the test suite.
#
#   scripts/postgres.sh install|start|stop|restart|status|env
#
# Uses Debian's PostgreSQL binaries but not its clusters: initdb into $MAILAGENT_POSTGRES_DIR
# (default $REPO/var/postgres), trust auth on loopback, an unprivileged port, a database
# "mailagent_test". `env` prints the SQLAlchemy URL to export.
#
# Environment (all optional):
#   MAILAGENT_TEST_POSTGRES_URL  use this server instead; `start` then only checks it answers
#   MAILAGENT_POSTGRES_DIR       cluster directory (data, socket, logs)
#   MAILAGENT_POSTGRES_PORT      port on 127.0.0.1 (default 15432)
set -euo pipefail
umask 022

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HOST=127.0.0.1
PORT="${MAILAGENT_POSTGRES_PORT:-15432}"
DB=mailagent_test
DB_USER=postgres # the superuser initdb creates
OS_USER=postgres # initdb and postgres refuse to run as root

die() {
  echo "postgres: $*" >&2
  exit 1
}

# The server runs as $OS_USER, which must reach the cluster directory: a checkout under a private
# home (e.g. /root, mode 700) is not reachable, so then fall back to /var/tmp.
resolve_dir() {
  if [[ -n "${MAILAGENT_POSTGRES_DIR:-}" ]]; then
    DIR="$MAILAGENT_POSTGRES_DIR"
  elif [[ $EUID -ne 0 ]] || runuser -u nobody -- test -x "$REPO" 2>/dev/null; then
    DIR="$REPO/var/postgres"
  else
    DIR="/var/tmp/mailagent-$(printf %s "$REPO" | cksum | cut -d' ' -f1)/postgres"
  fi
  DATA="$DIR/data"
  LOG="$DIR/log/postgres.log"
}

# Newest installed server version's binaries, e.g. /usr/lib/postgresql/15/bin.
pg_bin() {
  local bins
  bins="$(compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V | tail -n 1)" || return 1
  [[ -n $bins ]] || return 1
  dirname "$bins"
}

# Run a server program as $OS_USER (as ourselves when not root, e.g. a developer's own account).
as_pg() {
  if [[ $EUID -eq 0 ]]; then
    runuser -u "$OS_USER" -- "$@"
  else
    "$@"
  fi
}

local_url() {
  echo "postgresql+psycopg://$DB_USER@$HOST:$PORT/$DB"
}

# SQLAlchemy's "postgresql+psycopg://" is not a libpq URI: drop the "+driver".
libpq_url() {
  sed -E 's#^postgresql\+[A-Za-z0-9_]+://#postgresql://#' <<<"$1"
}

# True if the server at SQLAlchemy URL $1 accepts connections.
reachable() {
  local bin
  bin="$(pg_bin)" || bin=/usr/bin
  [[ -x $bin/pg_isready ]] || die "pg_isready not found; run $0 install"
  "$bin/pg_isready" -q -t 3 -d "$(libpq_url "$1")"
}

cmd_install() {
  pg_bin >/dev/null && return 0
  [[ $EUID -eq 0 ]] || die "PostgreSQL is not installed and apt-get needs root"
  echo "postgres: installing postgresql" >&2
  # flock: parallel test workers (pytest-xdist) may all try to install at once.
  (
    flock -w 600 9
    export DEBIAN_FRONTEND=noninteractive
    apt_get() { apt-get -q -y -o DPkg::Lock::Timeout=300 "$@" </dev/null >&2; }
    apt_get install --no-install-recommends postgresql ||
      { apt_get update && apt_get install --no-install-recommends postgresql; }
  ) 9>/var/lock/mailagent-apt.lock
}

lock() {
  mkdir -p "$DIR"
  exec 9>"$DIR/.lock"
  flock -w 120 9 || die "timed out waiting for $DIR/.lock"
}

running() {
  [[ -f $DATA/postmaster.pid ]] && as_pg "$BIN/pg_ctl" status -D "$DATA" >/dev/null 2>&1
}

cmd_start() {
  if [[ -n "${MAILAGENT_TEST_POSTGRES_URL:-}" ]]; then
    reachable "$MAILAGENT_TEST_POSTGRES_URL" ||
      die "MAILAGENT_TEST_POSTGRES_URL is set but nothing answers at it; unset it to run a private server"
    echo "postgres: using MAILAGENT_TEST_POSTGRES_URL"
    return 0
  fi
  cmd_install
  BIN="$(pg_bin)" || die "no PostgreSQL server binaries under /usr/lib/postgresql"
  lock
  mkdir -p "$DIR/run" "$DIR/log"
  if [[ $EUID -eq 0 ]]; then
    chown "$OS_USER:" "$DIR" "$DIR/run" "$DIR/log"
  fi

  if [[ ! -f $DATA/PG_VERSION ]]; then
    rm -rf "$DATA"
    # --no-sync: test data, so initdb need not wait for the disk (it takes ~1 s instead of ~3 s).
    as_pg "$BIN/initdb" -D "$DATA" -U "$DB_USER" --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
      --no-sync --no-instructions </dev/null >"$DIR/log/initdb.log" 2>&1 ||
      { cat "$DIR/log/initdb.log" >&2; die "initdb failed"; }
  fi

  if running && "$BIN/pg_isready" -q -t 3 -h "$HOST" -p "$PORT"; then
    echo "postgres: already running ($HOST:$PORT)"
  else
    # Settings are passed here, not written into postgresql.conf, so the port can change between
    # starts. fsync etc. off: test data only. 9>&- keeps our lock out of the daemon, and no
    # inherited stdout/stderr, or a caller reading our output (a CI step) would hang on it.
    as_pg "$BIN/pg_ctl" start -D "$DATA" -l "$LOG" -w -t 60 \
      -o "-c listen_addresses=$HOST -p $PORT -k $DIR/run -c fsync=off -c synchronous_commit=off \
-c full_page_writes=off" </dev/null >>"$DIR/log/pg_ctl.log" 2>&1 9>&- || {
      echo "postgres: the server did not start; last lines of $LOG:" >&2
      tail -n 30 "$LOG" >&2 || true
      exit 1
    }
    echo "postgres: started ($HOST:$PORT, dir $DIR)"
  fi

  local psql=("$BIN/psql" -X -q -h "$HOST" -p "$PORT" -U "$DB_USER" -d postgres -tA)
  if [[ "$("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != 1 ]]; then
    "${psql[@]}" -c "CREATE DATABASE $DB" >/dev/null
  fi
  password_auth "${psql[@]}"
}

# Members of the role "password_auth" must give their password (SCRAM); everyone else is
# trusted. The suite makes such a member to prove that a configured password is really sent.
password_auth() {
  local rule="host all +password_auth $HOST/32 scram-sha-256"
  "$@" -c "DO \$\$ BEGIN CREATE ROLE password_auth NOLOGIN;
    EXCEPTION WHEN duplicate_object THEN NULL; END \$\$" >/dev/null
  if ! grep -qxF "$rule" "$DATA/pg_hba.conf"; then
    as_pg sed -i "1i $rule" "$DATA/pg_hba.conf" # the first line, before the trust lines
    "$@" -c "SELECT pg_reload_conf()" >/dev/null
  fi
}

cmd_stop() {
  [[ -f $DATA/PG_VERSION ]] || return 0
  BIN="$(pg_bin)" || return 0
  lock
  if running; then
    as_pg "$BIN/pg_ctl" stop -D "$DATA" -m fast -w -t 60 </dev/null >>"$DIR/log/pg_ctl.log" 2>&1
    echo "postgres: stopped"
  else
    echo "postgres: not running"
  fi
}

cmd_status() {
  BIN="$(pg_bin)" || die "PostgreSQL is not installed"
  if [[ -n "${MAILAGENT_TEST_POSTGRES_URL:-}" ]]; then
    reachable "$MAILAGENT_TEST_POSTGRES_URL" && echo "reachable: MAILAGENT_TEST_POSTGRES_URL" &&
      return 0
    echo "unreachable: MAILAGENT_TEST_POSTGRES_URL"
    return 1
  fi
  if running; then
    echo "running: $HOST:$PORT, dir $DIR"
    return 0
  fi
  echo "stopped (dir $DIR)"
  return 3
}

cmd_env() {
  printf 'export MAILAGENT_TEST_POSTGRES_URL=%q\n' "${MAILAGENT_TEST_POSTGRES_URL:-$(local_url)}"
}

main() {
  resolve_dir
  case "${1:-}" in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    restart)
      cmd_stop
      cmd_start
      ;;
    status) cmd_status ;;
    env) cmd_env ;;
    *) die "usage: $0 install|start|stop|restart|status|env" ;;
  esac
}

main "$@"
