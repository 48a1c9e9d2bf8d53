#!/usr/bin/env bash
# Install the headless browser of the dashboard tests (tests/web): Debian's chromium and
# chromium-driver. Idempotent: does nothing when both are already there. Needs root (CI machines).
set -euo pipefail
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  echo "chromium and chromedriver are installed"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends chromium chromium-driver
