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
