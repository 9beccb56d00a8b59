#!/usr/bin/env bash
# Starts the action server, the Rasa server and the chat page in the foreground; Ctrl-C stops them.
# Arguments are passed on to `rasa run`. Settings from the environment (docs/security.md):
#   RASA_API_TOKEN         turns Rasa's HTTP API on, behind this token (at least 16 characters);
#                          without it the API is off, and --enable-api is refused
#   WEB_ORIGIN             the chat page's origin(s), the only ones CORS and socket.io accept
#                          (default: http://localhost:$WEB_PORT http://127.0.0.1:$WEB_PORT)
#   ACTIONS_HOST           the action server's interface (default 127.0.0.1: not reachable from outside)
#   ACTION_SERVER_TOKEN    what the Rasa server sends the action server (default: a new random one)
#   ACTION_SERVER_TIMEOUT  seconds Rasa waits for the action server (default 5)
#   RASA_ENDPOINTS         the endpoints file (default endpoints.yml); with another tracker store,
#                          set CONVERSATIONS_DB to its database (docs/privacy.md)
set -euo pipefail
cd "$(dirname "$0")/.."
umask 077  # var/ (conversations, credentials) and whatever the servers write: for this user only
mkdir -p var
chmod -R go= var  # also what an earlier run wrote before this umask
ACTIONS_PORT=${ACTIONS_PORT:-5055}
RASA_PORT=${RASA_PORT:-5005}
WEB_PORT=${WEB_PORT:-8080}
RASA_ENDPOINTS=${RASA_ENDPOINTS:-endpoints.yml}
export WEB_ORIGIN=${WEB_ORIGIN:-"http://localhost:$WEB_PORT http://127.0.0.1:$WEB_PORT"}
# The action server answers only the Rasa server, which sends this token (endpoints.yml): a new one
# at each start unless given (the Rasa and action servers of other machines must share it).
export ACTION_SERVER_TOKEN=${ACTION_SERVER_TOKEN:-$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')}
# The key that signs the socket.io session ids (channels/socketio.py): kept, so that a page keeps
# its conversation across restarts; Rasa instances that share conversations must share it.
[ -s var/session-secret ] || od -An -N32 -tx1 /dev/urandom | tr -d ' \n' > var/session-secret
export SESSION_SECRET=${SESSION_SECRET:-$(cat var/session-secret)}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # rasa_sdk finds rasa_sdk_plugins/ (the token check) here

# Rasa's HTTP API (PUT /model, /conversations/…) only behind a token: without one it is wide open.
wants_api=false; has_token=false
for arg in "$@"; do
  case "$arg" in
    --enable-api) wants_api=true ;;
    -t|--auth-token|--auth-token=*|--jwt-secret|--jwt-secret=*) has_token=true ;;
  esac
done
if [ -n "${RASA_API_TOKEN:-}" ]; then
  if [ "${#RASA_API_TOKEN}" -lt 16 ]; then
    echo "scripts/run.sh: RASA_API_TOKEN is too short (at least 16 characters; e.g. \`openssl rand -hex 32\`)." >&2
    exit 2
  fi
elif $wants_api && ! $has_token; then
  echo "scripts/run.sh: refusing --enable-api without a token: Rasa's HTTP API would let anyone replace the" >&2
  echo "model or read every conversation. Set RASA_API_TOKEN (e.g. \`export RASA_API_TOKEN=\$(openssl rand -hex 32)\`)." >&2
  exit 2
fi
if [ "$RASA_ENDPOINTS" != endpoints.yml ] && [ -z "${CONVERSATIONS_DB:-}" ]; then
  echo "scripts/run.sh: note: CONVERSATIONS_DB is not set; make purge-conversations and make unanswered read var/conversations.db," >&2
  echo "which may not be the tracker store of $RASA_ENDPOINTS (docs/privacy.md)." >&2
fi

# var/credentials.yml: the guarded REST and socket.io channels (channels/), plus Telegram / Slack
# when their variables are set.
.venv/bin/python scripts/credentials.py --guarded

# `python -m runtime` is `rasa` with this assistant's runtime changes (runtime/__init__.py).
rasa=(.venv/bin/python -m runtime)
if [ -n "${RASA_API_TOKEN:-}" ]; then
  # The token is added to Rasa's arguments inside Python, so that it never shows in `ps`.
  rasa=(.venv/bin/python -c 'import os, sys
from runtime.__main__ import main
sys.exit(main(["--enable-api", "--auth-token", os.environ["RASA_API_TOKEN"]]))')
fi

pids=()
stop() { trap - INT TERM EXIT; kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap stop INT TERM EXIT

# rasa_sdk binds to $SANIC_HOST (`rasa run actions` has no --interface).
env -u RASA_API_TOKEN -u SESSION_SECRET SANIC_HOST="${ACTIONS_HOST:-127.0.0.1}" \
  .venv/bin/rasa run actions --actions actions --port "$ACTIONS_PORT" &
pids+=($!)
read -ra origins <<< "$WEB_ORIGIN"  # a list of origins; split without globbing ("*" stays "*")
"${rasa[@]}" run --model models/current.tar.gz --port "$RASA_PORT" \
  --endpoints "$RASA_ENDPOINTS" --credentials var/credentials.yml "$@" \
  --cors "${origins[@]}" &
pids+=($!)
env -u RASA_API_TOKEN -u ACTION_SERVER_TOKEN -u SESSION_SECRET .venv/bin/python scripts/serve_web.py --port "$WEB_PORT" \
  --rasa-url "${RASA_URL:-http://localhost:$RASA_PORT}" &
pids+=($!)
echo "Starting… the assistant is ready when http://localhost:$RASA_PORT/ answers (REST: /webhooks/rest/webhook)."
echo "The chat page: http://localhost:$WEB_PORT/"
if [ -n "${RASA_API_TOKEN:-}" ]; then echo "Rasa's HTTP API is on, behind RASA_API_TOKEN."; fi
wait -n "${pids[@]}"
