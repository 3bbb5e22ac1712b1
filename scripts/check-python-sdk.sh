#!/usr/bin/env bash
# The official Okta Python SDK (okta==3.4.6 from PyPI) against `oktasync sim`: it lists every
# user and every System Log event of a bounded 90-day query with its own pagination, and the
# counts must equal the simulator's truth. Exits non-zero on a mismatch. Skips, saying so,
# when python3 (with venv and pip) is missing or PyPI cannot be reached.
#
#   scripts/check-python-sdk.sh            # uses target/debug/oktasync, building it if needed
#   OKTASYNC_BIN=target/release/oktasync scripts/check-python-sdk.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SDK_VERSION=3.4.6
VENV=target/python-sdk-venv
BIN=${OKTASYNC_BIN:-target/debug/oktasync}

skip() { echo "python SDK check: SKIPPED: $*"; exit 0; }

command -v python3 >/dev/null || skip "python3 is not installed"
python3 -c 'import venv, ensurepip' 2>/dev/null || skip "python3 has no venv/ensurepip module (Debian: apt-get install python3-venv)"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import okta" 2>/dev/null; then
    rm -rf "$VENV"
    python3 -m venv "$VENV" || skip "could not create a virtual environment in $VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "okta==$SDK_VERSION" \
        || skip "pip could not install okta==$SDK_VERSION from PyPI"
fi
installed=$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("okta"))')
[ "$installed" = "$SDK_VERSION" ] || { echo "python SDK check: okta $installed installed, expected $SDK_VERSION" >&2; exit 1; }

[ -x "$BIN" ] || cargo build --locked --quiet --bin oktasync
out=$(mktemp)
"$BIN" sim --port 0 --users 300 --logs 2000 --seed 11 >"$out" 2>/dev/null &
sim=$!
trap 'kill "$sim" 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 1 300); do
    grep -q '^OKTA_API_TOKEN=' "$out" && break
    kill -0 "$sim" 2>/dev/null || { echo "python SDK check: oktasync sim exited early" >&2; exit 1; }
    sleep 0.1
done
domain=$(sed -n 's/^OKTA_DOMAIN=//p' "$out")
token=$(sed -n 's/^OKTA_API_TOKEN=//p' "$out")
[ -n "$domain" ] && [ -n "$token" ] || { echo "python SDK check: oktasync sim printed no address" >&2; exit 1; }
"$VENV/bin/python" scripts/check_python_sdk.py "$domain" "$token"
