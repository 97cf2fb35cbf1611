#!/usr/bin/env bash
# What the browser test (tests/tests/settings_browser.rs) needs, installed only when missing:
#  - Chromium from Debian (`chromium`), driven headless;
#  - Playwright's driver library (`playwright-core`, no bundled browsers) under .tools/browser/.
# Idempotent: a second run changes nothing. Needs root (or sudo) only when Chromium is missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
playwright_version=1.65.1
prefix="$root/.tools/browser"

if ! command -v chromium >/dev/null 2>&1; then
  echo "installing chromium (Debian package)" >&2
  sudo_cmd=""
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "node and npm are needed for the browser test; install them (e.g. apt-get install nodejs npm)" >&2
  exit 1
fi

installed=$(node -p "require('$prefix/node_modules/playwright-core/package.json').version" 2>/dev/null || true)
if [ "$installed" != "$playwright_version" ]; then
  echo "installing playwright-core@$playwright_version into $prefix" >&2
  mkdir -p "$prefix"
  # Only the driver library: browsers are not downloaded (Debian's chromium is used).
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$prefix" --no-audit --no-fund --silent \
    "playwright-core@$playwright_version" >/dev/null
fi
