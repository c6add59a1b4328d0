#!/usr/bin/env bash
# Set up (once) and start the LDM Explorer app on http://127.0.0.1:7860
# (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT change the address, as in any Gradio app).
set -euo pipefail
cd "$(dirname "$0")/.."
export GRADIO_ANALYTICS_ENABLED=False HF_HUB_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
exec .venv/bin/python app.py "$@"
