#!/usr/bin/env bash
# For pods that already run a system supervisord: write a program include for the web UI with
# absolute paths. Usage:
#   scripts/install-supervisor-program.sh            writes /etc/supervisor/conf.d/vlm-webui.conf
#   scripts/install-supervisor-program.sh --print    prints it instead
#   scripts/install-supervisor-program.sh --dest F   writes F
# then: supervisorctl reread && supervisorctl update
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest=/etc/supervisor/conf.d/vlm-webui.conf
mode=write
while [ $# -gt 0 ]; do
  case "$1" in
    --print) mode=print ;;
    --dest) dest=${2:?--dest needs a path}; shift ;;
    *) echo "usage: scripts/install-supervisor-program.sh [--print | --dest PATH]" >&2; exit 2 ;;
  esac
  shift
done

config=$(cat <<CONF
; Written by $root/scripts/install-supervisor-program.sh
[program:webui]
command=$root/scripts/start-webui-service.sh
directory=$root
autostart=true
autorestart=true
startsecs=3
startretries=5
stopsignal=TERM
stopwaitsecs=30
stopasgroup=true
killasgroup=true
redirect_stderr=true
stdout_logfile=$root/logs/webui.log
stdout_logfile_maxbytes=20MB
stdout_logfile_backups=5

[program:model-server]
command=$root/scripts/start-model-server.sh
directory=$root
autostart=true
autorestart=unexpected
exitcodes=0,2
startsecs=0
stopsignal=TERM
stopwaitsecs=60
stopasgroup=true
killasgroup=true
redirect_stderr=true
stdout_logfile=$root/logs/model-server.log
stdout_logfile_maxbytes=50MB
stdout_logfile_backups=3
CONF
)

if [ "$mode" = print ]; then
  printf '%s\n' "$config"
  exit 0
fi
mkdir -p "$(dirname "$dest")" "$root/logs"
printf '%s\n' "$config" > "$dest"
echo "wrote $dest; now run: supervisorctl reread && supervisorctl update"
