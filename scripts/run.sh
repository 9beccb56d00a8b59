#!/usr/bin/env bash
# Starts the action server and the Rasa server in the foreground; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p var
# var/credentials.yml: REST and socket.io, plus Telegram / Slack when their variables are set.
.venv/bin/python scripts/credentials.py
ACTIONS_PORT=${ACTIONS_PORT:-5055}
RASA_PORT=${RASA_PORT:-5005}
WEB_PORT=${WEB_PORT:-8080}

pids=()
stop() { trap - INT TERM EXIT; kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap stop INT TERM EXIT

.venv/bin/rasa run actions --actions actions --port "$ACTIONS_PORT" &
pids+=($!)
.venv/bin/rasa run --model models/current.tar.gz --port "$RASA_PORT" \
  --endpoints endpoints.yml --credentials var/credentials.yml \
  --cors "http://localhost:$WEB_PORT" "http://127.0.0.1:$WEB_PORT" &
pids+=($!)
.venv/bin/python scripts/serve_web.py --port "$WEB_PORT" --rasa-url "${RASA_URL:-http://localhost:$RASA_PORT}" &
pids+=($!)
echo "Starting… the assistant is ready when http://localhost:$RASA_PORT/ answers (REST: /webhooks/rest/webhook)."
echo "The chat page: http://localhost:$WEB_PORT/"
wait -n "${pids[@]}"
