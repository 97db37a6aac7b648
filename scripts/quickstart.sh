#!/usr/bin/env bash
# Install mailagent and run its demo on the embedded default (SQLite and a local Maildir).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/mailagent demo "$@"
