#!/bin/sh
# Print the multiaddr external peers use to join through a running agent (a bootstrap peer):
#   bootstrap/peer-multiaddr.sh boot.example.net [http://127.0.0.1:8080]
# The peer id comes from the agent's API (GET /v1/self); the port is P2P_PORT (default 4001).
set -eu
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: $0 <public host> [agent API URL, default http://127.0.0.1:8080]" >&2
  exit 2
fi
host=$1
api=${2:-http://127.0.0.1:8080}
port=${P2P_PORT:-4001}
# The API needs a token: CONCLAVE_API_TOKEN, else the agent's operator token in its data dir.
token=${CONCLAVE_API_TOKEN:-}
if [ -z "$token" ] && [ -r "${CONCLAVE_DATA_DIR:-.conclave}/api.token" ]; then token=$(cat "${CONCLAVE_DATA_DIR:-.conclave}/api.token"); fi
[ -n "$token" ] || { echo "$0: set CONCLAVE_API_TOKEN (any token of the agent's tenant, or its operator token)" >&2; exit 2; }
self=$(curl -fsS --max-time 5 -H "Authorization: Bearer $token" "$api/v1/self") || { echo "$0: cannot read $api/v1/self (is the agent up, and the token valid?)" >&2; exit 1; }
peer=$(printf '%s' "$self" | sed -n 's/.*"peerId":"\([^"]*\)".*/\1/p')
[ -n "$peer" ] || { echo "$0: no peerId in $api/v1/self" >&2; exit 1; }
case "$host" in
  *:*) proto=ip6 ;;
  *[!0-9.]*) proto=dns4 ;;
  *) proto=ip4 ;;
esac
echo "/$proto/$host/tcp/$port/p2p/$peer"
