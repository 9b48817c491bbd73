#!/usr/bin/env bash
# Set up everything the tests need (packages, chromium, supervisor) and run them.
# Extra arguments go to pytest, e.g. scripts/test.sh -k media
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
.venv/bin/ruff check app tests bench webui.py
.venv/bin/ruff format --check app tests bench webui.py
exec .venv/bin/python -m pytest "$@"
