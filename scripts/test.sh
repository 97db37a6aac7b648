#!/usr/bin/env bash
# Install everything the tests need (Python packages, Dovecot, PostgreSQL, Chromium), start
# the servers on loopback, lint, and run the whole suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/bootstrap.sh test
bash scripts/mailservers.sh install
bash scripts/postgres.sh install
bash scripts/chromium.sh install >/dev/null
bash scripts/mailservers.sh start
eval "$(bash scripts/postgres.sh start >/dev/null && bash scripts/postgres.sh env)"
export MAILAGENT_TEST_POSTGRES_URL

.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
