#!/usr/bin/env bash
# The benchmarks of issue 18 (bench/): install and start what they need as scripts/test.sh
# does, then run `python -m bench`. Extra arguments go to it, e.g. `scripts/bench.sh --quick`.
# Ports: MAILSERVERS_IMAP_PORT, MAILSERVERS_LMTP_PORT, MAILAGENT_POSTGRES_PORT, as for the tests.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/prepare.sh

exec .venv/bin/python -m bench "$@"
