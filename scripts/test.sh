#!/usr/bin/env bash
# Set up (once) and run every check: ruff lint, ruff format, and the whole pytest suite
# (library, training, evaluation, the app through gradio_client and through a real Chromium).
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k pipeline`.
set -euo pipefail
cd "$(dirname "$0")/.."
export GRADIO_ANALYTICS_ENABLED=False HF_HUB_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1 PYTHONUNBUFFERED=1

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt

# The browser test drives Debian's Chromium (a browser download by playwright would fail offline); without a CJK
# font the Chinese page (the lesson in locale zh-CN) renders as boxes, and 🎲 too without the emoji font.
if [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
    else
        echo "note: /usr/bin/chromium is missing; install it with: sudo apt-get install -y chromium chromium-driver" >&2
    fi
fi
if ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk fonts-noto-color-emoji >/dev/null
    else
        echo "note: no CJK font; install one with: sudo apt-get install -y fonts-noto-cjk fonts-noto-color-emoji" >&2
    fi
fi

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m pytest "$@"
