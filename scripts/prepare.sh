# Sourced by scripts/test.sh and scripts/bench.sh, from the checkout's root: install everything
# the tests and the benchmarks need (Python packages, Dovecot, PostgreSQL, Chromium), start the
# servers on loopback, and export MAILAGENT_TEST_POSTGRES_URL.
bash scripts/bootstrap.sh test
bash scripts/mailservers.sh install
bash scripts/postgres.sh install
bash scripts/chromium.sh install >/dev/null
bash scripts/mailservers.sh start
eval "$(bash scripts/postgres.sh start >/dev/null && bash scripts/postgres.sh env)"
export MAILAGENT_TEST_POSTGRES_URL
# systemd-analyze, for tests/test_service.py's check of the shipped unit (installed only; it
# is not the init system here).
if ! command -v systemd-analyze >/dev/null; then
  (
    flock -w 600 9
    export DEBIAN_FRONTEND=noninteractive
    apt_get() { apt-get -q -y -o DPkg::Lock::Timeout=300 "$@" </dev/null >&2; }
    apt_get install --no-install-recommends systemd ||
      { apt_get update && apt_get install --no-install-recommends systemd; }
  ) 9>/var/lock/mailagent-apt.lock
fi
