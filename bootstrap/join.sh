#!/bin/sh
# Join a mesh from outside its network (another machine, outside the Compose or Swarm network)
# with one setting: the bootstrap peer's multiaddr.
#   bootstrap/join.sh /dns4/boot.example.net/tcp/4001/p2p/12D3KooW…
# Multicast does not cross networks, so mDNS is off. Any CONCLAVE_* variable passes through
# (CONCLAVE_ROLES, CONCLAVE_CREDENTIALS, CONCLAVE_HTTP, …). CONCLAVE: the conclave command.
set -eu
if [ $# -ne 1 ]; then
  echo "usage: $0 <bootstrap multiaddr>, e.g. /dns4/boot.example.net/tcp/4001/p2p/<peer id>" >&2
  exit 2
fi
export CONCLAVE_MDNS="${CONCLAVE_MDNS:-false}"
exec ${CONCLAVE:-conclave} start --bootstrap "$1"
