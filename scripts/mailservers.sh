#!/usr/bin/env bash
# A private Dovecot (IMAP + LMTP) on 127.0.0.1 for the test suite.
#
#   scripts/mailservers.sh install|start|stop|restart|status|env|doveadm ARGS...
#
# It runs beside any system Dovecot: its own config, base_dir, state_dir, log and maildirs live
# under $MAILSERVERS_DIR (default $REPO/var/mailservers) and it listens on unprivileged ports.
# The settings rest on facts measured on Debian 12 (Dovecot 2.3), each stated where it is used.
#
# Environment (all optional):
#   MAILSERVERS_DIR        run directory (config, sockets, state, logs, maildirs); default
#                          $REPO/var/mailservers, or var/mailservers-PORT off the default port
#   MAILSERVERS_IMAP_PORT  IMAP port on 127.0.0.1 (default 14143)
#   MAILSERVERS_LMTP_PORT  LMTP port on 127.0.0.1 (default 14024)
#   MAILSERVERS_OAUTH2_PORT  port on 127.0.0.1 where Dovecot asks whether an XOAUTH2 bearer token
#                          is valid (default: the IMAP port + 1); the test suite serves it
#                          only while a test needs it
#   MAILSERVERS_USERS      extra test users, space/comma separated; a bare name gets @example.test
#   MAILSERVERS_MAIL_USER  unprivileged system user that owns the mail (default mailagent-mail)
# Every test user's password is "pw".
set -euo pipefail
umask 022

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HOST=127.0.0.1
IMAP_PORT="${MAILSERVERS_IMAP_PORT:-14143}"
LMTP_PORT="${MAILSERVERS_LMTP_PORT:-14024}"
OAUTH2_PORT="${MAILSERVERS_OAUTH2_PORT:-$((IMAP_PORT + 1))}"
MAIL_USER="${MAILSERVERS_MAIL_USER:-mailagent-mail}"
PASSWORD=pw
DOMAIN=example.test
# The escalation ladder (IRO, CP chair, team/service manager, head of service, assistant
# director), social workers, a generic manager, the agent's own mailbox and an outsider; then
# everyone else rules/directory.example.toml names, so that no test email is refused.
BASE_USERS=(iro1 iro2 iro3 cpchair1 cpchair2 tm1 tm2 sm1 sm2 hos1 ad1 sw1 sw2 manager agent
  outsider hosqa ssm po1 dd1 dcs od1 sd1 ceo learning.academy csmt corporate.parenting)
PACKAGES=(dovecot-core dovecot-imapd dovecot-lmtpd)

die() {
  echo "mailservers: $*" >&2
  exit 1
}

need_root() {
  [[ $EUID -eq 0 ]] || die "must run as root (Dovecot switches to the mail user; apt-get needs root)"
}

# The run directory. One per IMAP port, so instances on other ports (e.g. one per pytest-xdist
# worker) need no more settings. The mail, auth and login processes run as unprivileged users,
# which must be able to reach it: a checkout under a private home (e.g. /root, mode 700) is not
# reachable, so then fall back to a per-checkout directory under /var/tmp.
resolve_dir() {
  local name=mailservers
  [[ $IMAP_PORT == 14143 ]] || name="mailservers-$IMAP_PORT"
  if [[ -n "${MAILSERVERS_DIR:-}" ]]; then
    DIR="$MAILSERVERS_DIR"
  elif [[ $EUID -ne 0 ]] || runuser -u nobody -- test -x "$REPO" 2>/dev/null; then
    DIR="$REPO/var/$name"
  else
    DIR="/var/tmp/mailagent-$(printf %s "$REPO" | cksum | cut -d' ' -f1)/$name"
  fi
  # Unique per run directory; also the prefix of the process titles (see stop_dovecot).
  INSTANCE="mailagent-$IMAP_PORT-$(printf %s "$DIR" | cksum | cut -d' ' -f1)"
  CONF="$DIR/dovecot.conf"
  OAUTH2_CONF="$DIR/dovecot-oauth2.conf.ext"
  LOG="$DIR/log/dovecot.log"
  PIDFILE="$DIR/run/master.pid"
}

users() {
  local u list="${MAILSERVERS_USERS:-}" extra
  read -r -a extra <<<"${list//,/ }"
  for u in "${BASE_USERS[@]}" "${extra[@]}"; do
    [[ $u == *@* ]] || u="$u@$DOMAIN"
    echo "${u,,}"
  done | sort -u
}

# Install (or reinstall after a partial install) with apt-get; quiet when nothing is missing.
cmd_install() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  need_root
  echo "mailservers: installing ${missing[*]}" >&2
  # flock: parallel test workers (pytest-xdist) may all try to install at once.
  (
    flock -w 600 9
    export DEBIAN_FRONTEND=noninteractive
    apt_get() { apt-get -q -y -o DPkg::Lock::Timeout=300 "$@" </dev/null >&2; }
    apt_get install --no-install-recommends "${missing[@]}" ||
      { apt_get update && apt_get install --no-install-recommends "${missing[@]}"; }
  ) 9>/var/lock/mailagent-apt.lock
}

ensure_mail_user() {
  id -u "$MAIL_USER" >/dev/null 2>&1 && return 0
  # Dovecot refuses to store mail as root (measured), so mail belongs to this system user.
  useradd --system --user-group --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin "$MAIL_USER"
}

# Prints the master's pid if it is alive. A stopped daemon may still pass `kill -0` here (PID 1
# reaps late, as measured), so a zombie counts as gone: read the state from /proc instead.
master_pid() {
  local pid
  [[ -r $PIDFILE ]] || return 1
  read -r pid <"$PIDFILE" || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  alive "$pid" || return 1
  [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == dovecot ]] || return 1
  echo "$pid"
}

# True if something on 127.0.0.1:$1 greets with a line starting with $2.
greets() {
  (
    exec 3<>"/dev/tcp/$HOST/$1"
    IFS= read -r -t 2 line <&3
    [[ $line == "$2"* ]]
  ) 2>/dev/null
}

healthy() {
  master_pid >/dev/null && greets "$IMAP_PORT" "* OK" && greets "$LMTP_PORT" "220 "
}

write_passwd() {
  local u
  # The trailing colons matter: without them Dovecot reports missing userdb info (measured).
  users | while read -r u; do echo "$u:{PLAIN}$PASSWORD::::::"; done >"$DIR/passwd.new"
  # Atomic replace: a running Dovecot notices the new file and reloads it, no restart needed.
  mv -f "$DIR/passwd.new" "$DIR/passwd"
}

# The config, one setting per line: Dovecot rejects "section { a = b }" on one line (measured).
render_config() {
  cat <<EOF
# Generated by scripts/mailservers.sh on every start; edits are lost.
instance_name = $INSTANCE
base_dir = $DIR/run
state_dir = $DIR/state
log_path = $LOG
info_log_path = $LOG
listen = $HOST
protocols = imap lmtp
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2 oauthbearer
first_valid_uid = $(id -u "$MAIL_USER")
mail_location = maildir:$DIR/mail/%u
# Test data: durability is not worth the fsyncs.
mail_fsync = never
# The default of 10 is too few for tests that open many connections.
mail_max_userip_connections = 1000

passdb {
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u $DIR/passwd
}
# XOAUTH2 and OAUTHBEARER logins: Dovecot asks an introspection endpoint on loopback whether
# the bearer token is valid and whose it is (the test suite serves it; without it such logins
# fail, and password logins never reach this passdb).
passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = $OAUTH2_CONF
}
userdb {
  driver = passwd-file
  args = username_format=%u $DIR/passwd
  default_fields = uid=$MAIL_USER gid=$MAIL_USER home=$DIR/home/%u
}

namespace inbox {
  inbox = yes
  # "/" like Exchange Online and Gmail, rather than Maildir's default ".".
  separator = /
  mailbox Sent {
    special_use = \\Sent
  }
  mailbox Drafts {
    special_use = \\Drafts
  }
  mailbox Trash {
    special_use = \\Trash
  }
  mailbox Junk {
    special_use = \\Junk
  }
}

service imap-login {
  inet_listener imap {
    address = $HOST
    port = $IMAP_PORT
  }
  inet_listener imaps {
    port = 0
  }
  # One long-lived login process: connect + login drops from ~12 ms to ~4 ms (measured).
  service_count = 0
}

service lmtp {
  inet_listener lmtp {
    address = $HOST
    port = $LMTP_PORT
  }
}

# Tests log in with wrong passwords on purpose; Dovecot's escalating auth penalty (up to 15 s)
# would then stall correct logins too. Disabling this listener turns the penalty off (measured).
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}

# The mail processes run as $MAIL_USER, which is not in Dovecot's group: let them reach the
# stats socket instead of logging "Permission denied" for every session.
service stats {
  unix_listener stats-writer {
    mode = 0666
  }
}
EOF
}

render_oauth2_config() {
  cat <<EOF
# Generated by scripts/mailservers.sh on every start; edits are lost.
# GET with "Authorization: Bearer TOKEN"; the answer says whose token it is.
introspection_mode = auth
introspection_url = http://$HOST:$OAUTH2_PORT/introspect
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
EOF
}

# True while process $1 exists and is not a zombie (see master_pid).
alive() {
  local state
  state="$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null)" || return 1
  [[ -n $state && $state != Z && $state != X ]]
}

# Send signal $1 to pids $2..., then wait up to 5 s for them all to be gone.
signal_and_wait() {
  local sig="$1" pid i living
  shift
  kill "-$sig" "$@" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    living=0
    for pid in "$@"; do
      if alive "$pid"; then living=1; fi
    done
    [[ $living -eq 0 ]] && return 0
    sleep 0.05
  done
  return 1
}

# Stops the master, then whatever of this instance outlived it: even with shutdown_clients = yes
# an imap process serving an idle client was seen to outlive the master (and the log and stats
# processes with it), its connection still answering. Tests of reconnection need connections to
# drop, as a service manager's restart (which kills the whole group) makes them. The process
# titles start with the instance name.
stop_dovecot() {
  local pid leftovers
  if pid="$(master_pid)"; then
    signal_and_wait TERM "$pid" || signal_and_wait KILL "$pid" || die "dovecot $pid will not stop"
  fi
  mapfile -t leftovers < <(pgrep -f "^dovecot-$INSTANCE/" || true)
  [[ ${#leftovers[@]} -eq 0 ]] && return 0
  signal_and_wait TERM "${leftovers[@]}" || signal_and_wait KILL "${leftovers[@]}" ||
    die "dovecot processes ${leftovers[*]} will not stop"
}

lock() {
  mkdir -p "$DIR"
  exec 9>"$DIR/.lock"
  flock -w 60 9 || die "timed out waiting for $DIR/.lock"
}

cmd_start() {
  need_root
  cmd_install
  ensure_mail_user
  lock
  mkdir -p "$DIR/run" "$DIR/state" "$DIR/log" "$DIR/mail" "$DIR/home"
  chown "$MAIL_USER:$MAIL_USER" "$DIR/mail" "$DIR/home"
  write_passwd
  render_config >"$CONF.new"
  render_oauth2_config >"$OAUTH2_CONF.new"
  if master_pid >/dev/null && cmp -s "$CONF.new" "$CONF" && cmp -s "$OAUTH2_CONF.new" "$OAUTH2_CONF" &&
    healthy; then
    rm -f "$CONF.new" "$OAUTH2_CONF.new"
    echo "mailservers: dovecot already running (imap $HOST:$IMAP_PORT, lmtp $HOST:$LMTP_PORT)"
    return 0
  fi
  # Whatever of this instance is still around: an old config, a hung or half-dead server.
  stop_dovecot
  mv -f "$CONF.new" "$CONF"
  mv -f "$OAUTH2_CONF.new" "$OAUTH2_CONF"
  # A stale penalty socket from an older config would bring the auth penalty back (measured).
  rm -f "$DIR/run/anvil-auth-penalty"
  # No inherited stdout/stderr: the master keeps them open and `start | tee` (a CI step) hangs
  # (measured). 9>&- keeps our start/stop lock out of the daemon, or it would hold it forever.
  # It exits non-zero, before going to the background, on a bad config or a port in use.
  if ! dovecot -c "$CONF" </dev/null >>"$LOG" 2>&1 9>&-; then
    echo "mailservers: dovecot failed to start; last lines of $LOG:" >&2
    tail -n 30 "$LOG" >&2 || true
    exit 1
  fi
  local i
  for ((i = 0; i < 100; i++)); do
    if healthy; then
      echo "mailservers: dovecot started (imap $HOST:$IMAP_PORT, lmtp $HOST:$LMTP_PORT, dir $DIR)"
      return 0
    fi
    sleep 0.05
  done
  echo "mailservers: dovecot did not come up within 5 s; last lines of $LOG:" >&2
  tail -n 30 "$LOG" >&2 || true
  exit 1
}

cmd_stop() {
  [[ -d $DIR ]] || return 0
  lock
  if master_pid >/dev/null; then
    stop_dovecot
    echo "mailservers: dovecot stopped"
  else
    stop_dovecot # leftovers of a master that died
    echo "mailservers: dovecot not running"
  fi
}

cmd_status() {
  local pid
  if pid="$(master_pid)"; then
    if healthy; then
      echo "running: pid $pid, imap $HOST:$IMAP_PORT, lmtp $HOST:$LMTP_PORT, dir $DIR"
      return 0
    fi
    echo "unhealthy: pid $pid is running but imap $HOST:$IMAP_PORT or lmtp $HOST:$LMTP_PORT" \
      "does not answer; see $LOG"
    return 1
  fi
  echo "stopped (dir $DIR)"
  return 3
}

cmd_env() {
  printf 'export MAILSERVERS_DIR=%q\n' "$DIR"
  printf 'export MAILSERVERS_HOST=%q\n' "$HOST"
  printf 'export MAILSERVERS_IMAP_PORT=%q\n' "$IMAP_PORT"
  printf 'export MAILSERVERS_LMTP_PORT=%q\n' "$LMTP_PORT"
  printf 'export MAILSERVERS_OAUTH2_PORT=%q\n' "$OAUTH2_PORT"
  printf 'export MAILSERVERS_PASSWORD=%q\n' "$PASSWORD"
  printf 'export MAILSERVERS_MAILDIR_ROOT=%q\n' "$DIR/mail"
  printf 'export MAILSERVERS_PASSWD_FILE=%q\n' "$DIR/passwd"
  printf 'export MAILSERVERS_CONFIG=%q\n' "$CONF"
  printf 'export MAILSERVERS_LOG=%q\n' "$LOG"
}

main() {
  local cmd="${1:-}"
  [[ $# -gt 0 ]] && shift
  resolve_dir
  case "$cmd" in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    restart)
      cmd_stop
      cmd_start
      ;;
    status) cmd_status ;;
    env) cmd_env ;;
    # Dovecot's admin tool against this instance, e.g. `doveadm mailbox status -u USER all INBOX`.
    doveadm) exec doveadm -c "$CONF" "$@" ;;
    *) die "usage: $0 install|start|stop|restart|status|env|doveadm ARGS..." ;;
  esac
}

main "$@"
