#!/usr/bin/env bash
# Serve Step3-VL-10B on this machine with vLLM (default) or SGLang, as set in .env:
#   MODEL_SERVER_AUTOSTART=true            start it (supervisord's model-server program)
#   MODEL_SERVER_ENGINE=vllm|sglang
#   MODEL_SERVER_MODEL=stepfun-ai/Step3-VL-10B   (a hub id or a local path)
#   MODEL_SERVER_GPU_MEMORY_UTILIZATION=0.90  MODEL_SERVER_MAX_MODEL_LEN=32768
# The port comes from LOCAL_BASE_URL; it always binds 127.0.0.1, so only this machine reaches it.
# --dry-run prints the exact command and exits.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/env.sh
load_dotenv .env

dry_run=0
for arg in "$@"; do
  case "$arg" in
    --dry-run) dry_run=1 ;;
    *) echo "usage: scripts/start-model-server.sh [--dry-run]" >&2; exit 2 ;;
  esac
done

engine=${MODEL_SERVER_ENGINE:-vllm}
model=${MODEL_SERVER_MODEL:-stepfun-ai/Step3-VL-10B}
served_name=Step3-VL-10B
gpu_memory=${MODEL_SERVER_GPU_MEMORY_UTILIZATION:-0.90}
max_len=${MODEL_SERVER_MAX_MODEL_LEN:-}
base_url=${LOCAL_BASE_URL:-http://127.0.0.1:8000/v1}

authority=${base_url#*://}
authority=${authority%%/*}
port=${authority##*:}
if [ "$port" = "$authority" ] || ! [[ "$port" =~ ^[0-9]+$ ]]; then
  echo "start-model-server: LOCAL_BASE_URL=$base_url has no port (e.g. http://127.0.0.1:8000/v1)" >&2
  exit 2
fi

case "$engine" in
  vllm)
    cmd=(vllm serve "$model" --served-model-name "$served_name" --trust-remote-code
         --reasoning-parser deepseek_r1 --host 127.0.0.1 --port "$port"
         --gpu-memory-utilization "$gpu_memory")
    [ -n "$max_len" ] && cmd+=(--max-model-len "$max_len")
    ;;
  sglang)
    cmd=("${MODEL_SERVER_PYTHON:-python3}" -m sglang.launch_server --model-path "$model"
         --served-model-name "$served_name" --trust-remote-code --reasoning-parser deepseek-r1
         --host 127.0.0.1 --port "$port" --mem-fraction-static "$gpu_memory")
    [ -n "$max_len" ] && cmd+=(--context-length "$max_len")
    ;;
  *)
    echo "start-model-server: MODEL_SERVER_ENGINE=$engine is not vllm or sglang" >&2
    exit 2
    ;;
esac

if [ "$dry_run" = 1 ]; then
  printf '%q ' "${cmd[@]}" | sed 's/ $//'
  echo
  exit 0
fi

case "${MODEL_SERVER_AUTOSTART:-false}" in
  1|true|TRUE|True|yes|on) ;;
  *) echo "start-model-server: not started (MODEL_SERVER_AUTOSTART is not true in .env)"; exit 0 ;;
esac

if [ "$engine" = vllm ] && ! command -v vllm >/dev/null 2>&1; then
  echo "start-model-server: vLLM is not installed (no 'vllm' command on PATH); pip install vllm, or set MODEL_SERVER_ENGINE=sglang" >&2
  exit 2
fi
if [ "$engine" = sglang ] && ! "${cmd[0]}" -c 'import sglang' >/dev/null 2>&1; then
  echo "start-model-server: SGLang is not installed for ${cmd[0]}; pip install 'sglang[all]', or set MODEL_SERVER_ENGINE=vllm" >&2
  exit 2
fi
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
  echo "start-model-server: no GPU is visible (nvidia-smi lists none); Step3-VL-10B needs about 24 GB of GPU memory" >&2
  exit 2
fi

echo "start-model-server: $(printf '%q ' "${cmd[@]}")"
exec "${cmd[@]}"
