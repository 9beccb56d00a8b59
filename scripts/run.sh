#!/usr/bin/env bash
# Starts the action server, the Rasa server and the chat page in the foreground; Ctrl-C stops them.
# Arguments are passed on to `rasa run`. Settings from the environment (docs/security.md):
#   RASA_API_TOKEN         turns Rasa's HTTP API on, behind this token (at least 16 characters);
#                          without it the API is off, and --enable-api is refused
#   WEB_ORIGIN             the chat page's origin(s), the only ones CORS and socket.io accept
#                          (default: http://localhost:$WEB_PORT http://127.0.0.1:$WEB_PORT)
#   ACTIONS_HOST           the action server's interface (default 127.0.0.1: not reachable from outside)
#   RASA_HOST              the Rasa server's interface (default 127.0.0.1; 0.0.0.0 behind a balancer elsewhere)
#   ACTION_SERVER_TOKEN    what the Rasa server sends the action server (default: a new random one)
#   SESSION_SECRET         the key of the socket.io session ids (default: kept in var/session-secret)
#   ACTION_SERVER_TIMEOUT  seconds Rasa waits for the action server (default 5)
#   RASA_ENDPOINTS         the endpoints file (default endpoints.yml); with another tracker store,
#                          set CONVERSATIONS_DB to its database (docs/privacy.md)
#   ACTIONS_PORT, RASA_PORT, WEB_PORT, RASA_URL  ports (5055, 5005, 8080) and the page's Rasa address
# The servers are started by scripts/launcher.py, as for `make run-scale-out`, `make bench` and the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
umask 077  # var/ (conversations, credentials) and whatever the servers write: for this user only
mkdir -p var
chmod -R go= var  # also what an earlier run wrote before this umask
# The action server answers only the Rasa server, which sends this token (endpoints.yml): a new one
# at each start unless given (the Rasa and action servers of other machines must share it).
export ACTION_SERVER_TOKEN=${ACTION_SERVER_TOKEN:-$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')}
# The key that signs the socket.io session ids (channels/socketio.py): kept, so that a page keeps
# its conversation across restarts; Rasa instances that share conversations must share it.
[ -s var/session-secret ] || od -An -N32 -tx1 /dev/urandom | tr -d ' \n' > var/session-secret
export SESSION_SECRET=${SESSION_SECRET:-$(cat var/session-secret)}

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
if [ "${RASA_ENDPOINTS:-endpoints.yml}" != endpoints.yml ] && [ -z "${CONVERSATIONS_DB:-}" ]; then
  echo "scripts/run.sh: note: CONVERSATIONS_DB is not set; make purge-conversations and make unanswered read var/conversations.db," >&2
  echo "which may not be the tracker store of $RASA_ENDPOINTS (docs/privacy.md)." >&2
fi

exec .venv/bin/python -m scripts.launcher "$@"
