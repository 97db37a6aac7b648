#!/usr/bin/env bash
# The benchmarks of issue 18 (bench/): install what they need as scripts/test.sh does (Python
# packages, Dovecot, PostgreSQL, Chromium), start the servers on loopback, and run
# `python -m bench`. Extra arguments go to it, e.g. `bash scripts/bench.sh --quick`.
# Ports: MAILSERVERS_IMAP_PORT, MAILSERVERS_LMTP_PORT, MAILAGENT_POSTGRES_PORT, as for the tests.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/bootstrap.sh test
bash scripts/mailservers.sh install
bash scripts/postgres.sh install
bash scripts/chromium.sh install >/dev/null
bash scripts/mailservers.sh start >/dev/null
eval "$(bash scripts/postgres.sh start >/dev/null && bash scripts/postgres.sh env)"
export MAILAGENT_TEST_POSTGRES_URL

exec .venv/bin/python -m bench "$@"
