#!/usr/bin/env bash
# Quick start: set up .venv (first run only) and serve the web UI and API.
# Flags go to webui.py, e.g. scripts/start.sh --port 7861
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "start: starting the web UI (it prints its address when it is ready)"
exec .venv/bin/python webui.py "$@"
