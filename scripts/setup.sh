#!/usr/bin/env bash
# Installs the system packages Purser builds and tests against, then builds it.
# Idempotent: packages already present are not installed again.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(liblz4-dev libcurl4-openssl-dev libsqlite3-dev lz4 pkg-config time)
# The HTTP end-to-end checks (scripts/http-e2e.sh, run by .ci/run) drive headless Chromium and
# run schemathesis from PyPI in a virtual environment; the PostgreSQL suites run against a
# throwaway cluster of Debian's server (scripts/pg-cluster.sh).
if [ "${PURSER_SETUP_TESTS:-}" = "1" ]; then
  packages+=(chromium python3-venv python3-pip curl postgresql openssl)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ "${PURSER_SETUP_SKIP_BUILD:-}" != "1" ]; then
  swift build
fi
