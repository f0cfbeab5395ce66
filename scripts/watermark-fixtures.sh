#!/usr/bin/env bash
# Makes the invisible-watermark reference fixtures (see scripts/watermark-fixtures.py): a venv
# with the reference package and its numeric dependencies, then the script. CI does not need
# it: the fixtures it writes are checked in.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${WATERMARK_VENV:-/tmp/greenlight-watermark-venv}"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    # The package declares torch and opencv-python, which dwtDct does not need: install it
    # without dependencies, and the headless OpenCV build beside it.
    "$venv/bin/pip" install -q numpy PyWavelets opencv-python-headless
    "$venv/bin/pip" install -q --no-deps invisible-watermark==0.2.0
fi
exec "$venv/bin/python" "$here/watermark-fixtures.py" "$@"
