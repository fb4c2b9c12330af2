#!/bin/sh
# Run a bootstrap peer: an ordinary agent with a stable identity and an address others can reach.
#   PUBLIC_HOST=boot.example.net bootstrap/start-bootstrap.sh
# Environment:
#   PUBLIC_HOST   name or address external peers dial (required)
#   P2P_PORT      libp2p TCP port (default 4001)
#   IDENTITY      identity key file, created on first run (default $CONCLAVE_DATA_DIR/bootstrap.key)
#   CONCLAVE      the conclave command (default `conclave`; `npx conclave` in a checkout)
# Any other CONCLAVE_* variable passes through to the agent (CONCLAVE_DATA_DIR, CONCLAVE_HTTP, …).
set -eu
: "${PUBLIC_HOST:?PUBLIC_HOST is required: the name or address external peers dial}"
port=${P2P_PORT:-4001}
conclave=${CONCLAVE:-conclave}
data=${CONCLAVE_DATA_DIR:-.conclave}
identity=${IDENTITY:-$data/bootstrap.key}

if [ ! -s "$identity" ]; then
  mkdir -p "$(dirname "$identity")"
  $conclave keygen --out "$identity" >/dev/null
fi
peer=$($conclave id --identity "$identity")
case "$PUBLIC_HOST" in
  *:*) proto=ip6 ;;
  *[!0-9.]*) proto=dns4 ;;
  *) proto=ip4 ;;
esac
announce="/$proto/$PUBLIC_HOST/tcp/$port"
echo "bootstrap multiaddr: $announce/p2p/$peer" >&2
echo "external peers join with: conclave start --bootstrap $announce/p2p/$peer" >&2

export CONCLAVE_DATA_DIR="$data"
export CONCLAVE_IDENTITY="$identity"
export CONCLAVE_LISTEN="${CONCLAVE_LISTEN:-/ip4/0.0.0.0/tcp/$port}"
# Announce the public address as well as the listen addresses peers inside the network use.
export CONCLAVE_ANNOUNCE="${CONCLAVE_ANNOUNCE:-$announce}"
exec $conclave start
