#!/usr/bin/env bash
# Headless Chromium, from Debian's packages, for the report tests (screenshots, PDF).
#
#   bash scripts/chromium.sh install   install it if missing (quietly), print the binary's path
#   bash scripts/chromium.sh path      print the binary's path, or fail if it is not installed
#
# Idempotent: a machine that already has it installs nothing. Start it with the flags in
# mailagent/reports/browser.py (the machine's network is closed; without them it stalls).
set -euo pipefail

find_binary() {
  local name
  for name in chromium chromium-browser google-chrome; do
    if command -v "$name" >/dev/null 2>&1; then
      command -v "$name"
      return 0
    fi
  done
  return 1
}

install() {
  if find_binary >/dev/null; then
    find_binary
    return 0
  fi
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  if ! $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1; then
    $sudo apt-get update -qq >/dev/null
    $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
  fi
  find_binary
}

case "${1:-}" in
  install) install ;;
  path) find_binary || { echo "chromium is not installed: bash scripts/chromium.sh install" >&2; exit 1; } ;;
  *) echo "usage: $0 install|path" >&2; exit 2 ;;
esac
