#!/usr/bin/env bash
# Installs Debian's Chromium and its WebDriver (chromedriver) for the browser tests, only when
# they are missing. CI runs as root with apt access; a developer without root gets sudo.
set -euo pipefail

if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
  exit 0
fi

sudo=""
if [[ "$(id -u)" -ne 0 ]]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update
$sudo apt-get install -y chromium chromium-driver
