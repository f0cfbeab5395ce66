#!/usr/bin/env bash
# Installs the SMTP server the notification tests and benchmark send mail to: Python's
# aiosmtpd, pinned, in a virtual environment under the user's cache folder
# (${XDG_CACHE_HOME:-$HOME/.cache}/greenlight/aiosmtpd, or GREENLIGHT_AIOSMTPD_VENV).
#
# Idempotent: once the venv holds the pinned version it says so and exits without touching
# the network. Without python3 (or its venv module) it says so and exits 0: the tests then
# skip and say why. A failed install (no registry) exits 1.
set -euo pipefail

name="install-aiosmtpd"
version="1.4.6"
venv="${GREENLIGHT_AIOSMTPD_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/greenlight/aiosmtpd}"

if ! command -v python3 >/dev/null 2>&1; then
  echo "$name: python3 is not installed; the SMTP tests of greenlight-notify will skip" >&2
  exit 0
fi

if [ -x "$venv/bin/python" ] \
  && [ "$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("aiosmtpd"))' 2>/dev/null)" = "$version" ]; then
  echo "$name: up to date ($venv)"
  exit 0
fi

if ! python3 -m venv --help >/dev/null 2>&1; then
  echo "$name: python3 has no venv module (Debian: apt-get install python3-venv); the SMTP tests of greenlight-notify will skip" >&2
  exit 0
fi

rm -rf "$venv"
mkdir -p "$(dirname "$venv")"
python3 -m venv "$venv"
# Its dependencies pinned too, so every machine runs the same server.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  "aiosmtpd==$version" "atpublic==9.0.0" "attrs==26.1.0"
echo "$name: installed aiosmtpd $version in $venv"
