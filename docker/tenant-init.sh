#!/bin/sh
# One-shot set-up of a tenant for one agent (docker/compose.yml's tenant-init service):
# the tenant authority, the agent's identity key and a credential binding it, made once.
# Environment: TENANT, ROLES, AUTHORITY_DIR, SECRETS_DIR, OWNER (uid:gid that must read the
# secrets, optional), CONCLAVE (the conclave command, default `conclave`).
set -eu
: "${TENANT:?TENANT is required}" "${AUTHORITY_DIR:?AUTHORITY_DIR is required}" "${SECRETS_DIR:?SECRETS_DIR is required}"
conclave=${CONCLAVE:-conclave}
roles=${ROLES:-}
authority="$AUTHORITY_DIR/$TENANT.tenant.json"
key="$SECRETS_DIR/agent.key"
cred="$SECRETS_DIR/agent.cred"

if [ -s "$cred" ] && [ -s "$key" ]; then
  echo "tenant-init: $cred exists; nothing to do"
  exit 0
fi
mkdir -p "$AUTHORITY_DIR" "$SECRETS_DIR"
[ -s "$authority" ] || $conclave tenant create --id "$TENANT" --out "$authority"
[ -s "$key" ] || $conclave keygen --out "$key" >/dev/null
peer=$($conclave id --identity "$key")
$conclave tenant issue --tenant "$authority" --peer "$peer" ${roles:+--roles "$roles"} --ttl 365d --out "$cred"
if [ -n "${OWNER:-}" ]; then chown "$OWNER" "$key" "$cred"; fi
echo "tenant-init: agent $peer holds a credential of tenant $TENANT"
