#!/bin/sh
# Identities and tenant credentials for the pods of docker/k8s/statefulset.yaml, one pair per
# ordinal (<pod>.key, <pod>.cred), in a folder to turn into the Secret `conclave-credentials`.
#   bootstrap/k8s-credentials.sh acme.tenant.json 34 ./conclave-credentials
#   kubectl -n conclave create secret generic conclave-credentials --from-file=./conclave-credentials
# Re-running keeps existing keys (peer ids do not change) and re-issues every credential, e.g.
# after scaling up or before credentials expire. Environment: ROLES (default: every role of the
# StatefulSet), TTL (default 365d), STATEFULSET (pod name prefix, default conclave), CONCLAVE.
set -eu
if [ $# -lt 2 ]; then
  echo "usage: $0 <tenant file> <replicas> [out dir]" >&2
  exit 2
fi
tenant=$1
replicas=$2
out=${3:-conclave-credentials}
roles=${ROLES:-tpm,senior-software-architect,coder,tester,reviewer}
ttl=${TTL:-365d}
set_name=${STATEFULSET:-conclave}
conclave=${CONCLAVE:-conclave}
case "$replicas" in ''|*[!0-9]*) echo "$0: replicas must be a number, not '$replicas'" >&2; exit 2 ;; esac
[ -r "$tenant" ] || { echo "$0: cannot read tenant file $tenant" >&2; exit 2; }

mkdir -p "$out"
i=0
while [ "$i" -lt "$replicas" ]; do
  pod="$set_name-$i"
  [ -s "$out/$pod.key" ] || $conclave keygen --out "$out/$pod.key" >/dev/null
  peer=$($conclave id --identity "$out/$pod.key")
  rm -f "$out/$pod.cred"
  $conclave tenant issue --tenant "$tenant" --peer "$peer" --roles "$roles" --ttl "$ttl" --out "$out/$pod.cred" >/dev/null
  echo "$pod $peer"
  i=$((i + 1))
done
echo "next: kubectl -n conclave create secret generic conclave-credentials --from-file=$out" >&2
