#!/usr/bin/env bash
# Installs Debian's chromium for the report's headless-browser test, only when it is missing.
# Fails soft: without it the browser test skips with a visible reason instead of breaking CI.
set -uo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo -n"; else echo "install-chromium: not root and no sudo; skipping" >&2; exit 0; fi
fi
if ! command -v apt-get >/dev/null 2>&1; then echo "install-chromium: no apt-get; skipping" >&2; exit 0; fi
export DEBIAN_FRONTEND=noninteractive
if ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends chromium; } >/dev/null; then
  echo "install-chromium: apt-get failed; the browser test will skip" >&2
fi
exit 0
