#!/usr/bin/env bash
# Installs the test OpenID provider's npm packages (crates/greenlight-sso/tests/oidc-provider)
# exactly as its lock file pins them, for the single sign-on tests.
#
# Idempotent and offline-safe: once the installed packages match package.json and
# package-lock.json, it checks that and exits without touching the network. Without node (or
# with one older than 20.19) it says so and exits 0: the tests then skip and say why.
# A failed install (no registry, a broken lock file) exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=crates/greenlight-sso/tests/oidc-provider
name="install-oidc-provider"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "$name: node and npm are not installed; the single sign-on tests will skip (they need node 20.19 or newer)" >&2
  exit 0
fi
version="$(node --version)"
major_minor="${version#v}"
major="${major_minor%%.*}"
minor="${major_minor#*.}"; minor="${minor%%.*}"
if [ "$major" -lt 20 ] || { [ "$major" -eq 20 ] && [ "$minor" -lt 19 ]; }; then
  echo "$name: node $version is older than 20.19; the single sign-on tests will skip" >&2
  exit 0
fi

stamp="$dir/node_modules/.greenlight-installed"
want="$(cat "$dir/package.json" "$dir/package-lock.json" | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f "$dir/node_modules/oidc-provider/package.json" ]; then
  echo "$name: up to date"
  exit 0
fi

(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
echo "$want" > "$stamp"
installed="$(cd "$dir" && node -p "require('./node_modules/oidc-provider/package.json').version")"
echo "$name: installed oidc-provider $installed with node $version"
