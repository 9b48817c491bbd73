#!/usr/bin/env bash
# What supervisord runs for `webui`: the web UI and API on WEBUI_HOST:WEBUI_PORT from .env.
# To move the service to another port: set WEBUI_PORT in .env, then `supervisorctl restart webui`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/env.sh
load_dotenv .env

if [ -f .venv/bin/activate ]; then
  # shellcheck disable=SC1091
  . .venv/bin/activate
fi

args=(--host "${WEBUI_HOST:-0.0.0.0}" --port "${WEBUI_PORT:-7860}")
echo "start-webui-service: starting webui.py on ${args[1]}:${args[3]}"
exec python3 webui.py "${args[@]}"
