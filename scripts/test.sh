#!/usr/bin/env bash
# Set up everything the tests need (packages, chromium, supervisor) and run them.
#   scripts/test.sh                 ruff, then every test (unit, integration, browser)
#   scripts/test.sh --quick         ruff, then the unit tests only (seconds)
#   scripts/test.sh --real-server   also builds llama.cpp's server and runs tests/real_server
# Other arguments go to pytest, e.g. scripts/test.sh -k media
set -euo pipefail
cd "$(dirname "$0")/.."
setup=(--test)
pytest_args=()
for arg in "$@"; do
  case "$arg" in
    --quick) pytest_args+=(tests/unit) ;;
    --real-server) setup+=(--real-server); pytest_args+=(tests/real_server); export WEBUI_REAL_SERVER=1 ;;
    *) pytest_args+=("$arg") ;;
  esac
done
bash scripts/setup.sh "${setup[@]}"
.venv/bin/ruff check app tests bench webui.py
.venv/bin/ruff format --check app tests bench webui.py
exec .venv/bin/python -m pytest ${pytest_args[@]+"${pytest_args[@]}"}
