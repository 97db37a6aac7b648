#!/usr/bin/env bash
# Install everything the tests need (Python packages, Dovecot, PostgreSQL, Chromium), start
# the servers on loopback, lint, and run the whole suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/prepare.sh

.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
