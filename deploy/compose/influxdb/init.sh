#!/bin/bash
# InfluxDB 2.7 for the Tianqu services, idempotent (run it again after changing a password):
#  - the InfluxQL DBRP mapping database "$TIANQU_DATABASE" → the bucket, so the v1 API that
#    the ingesters, the API and Grafana speak (/write?db=…, /query?db=…) reaches the bucket;
#  - two v1 logins with least privilege: $TIANQU_INGEST_USER may only write the bucket,
#    $TIANQU_READ_USER (API, Grafana) may only read it. Passwords come from the environment.
# Needs: INFLUX_HOST, INFLUX_TOKEN (the operator token from the initial setup), INFLUX_ORG.
set -euo pipefail

placeholder() {
  case "${1,,}" in
    ""|changeme|change-me|change_me|secret|password|admin|tianqu) return 0 ;;
  esac
  [ "${#1}" -lt 16 ]
}
for var in TIANQU_INGEST_PASSWORD TIANQU_READ_PASSWORD; do
  if placeholder "${!var}"; then
    echo "influxdb-init: $var is a placeholder or shorter than 16 characters" >&2
    exit 2
  fi
done

for _ in $(seq 1 60); do
  influx ping >/dev/null 2>&1 && break
  sleep 2
done

bucket_id=$(influx bucket list --name "$TIANQU_BUCKET" --hide-headers | awk '{print $1}')
if [ -z "$bucket_id" ]; then
  echo "influxdb-init: bucket $TIANQU_BUCKET does not exist" >&2
  exit 1
fi

if ! influx v1 dbrp list --db "$TIANQU_DATABASE" --hide-headers 2>/dev/null | grep -q "$bucket_id"; then
  influx v1 dbrp create --db "$TIANQU_DATABASE" --rp autogen --bucket-id "$bucket_id" --default
  echo "influxdb-init: database $TIANQU_DATABASE mapped to bucket $TIANQU_BUCKET"
fi

v1_login() {  # user, password, --write-bucket|--read-bucket
  local user=$1 password=$2 permission=$3
  # A v1 authorisation's "token" is its username.
  if influx v1 auth list --json | grep -q "\"token\": *\"$user\""; then
    influx v1 auth set-password --username "$user" --password "$password" >/dev/null
  else
    influx v1 auth create --username "$user" --password "$password" "$permission" "$bucket_id" \
      --description "tianqu: $user" >/dev/null
    echo "influxdb-init: v1 login $user created ($permission)"
  fi
}
v1_login "$TIANQU_INGEST_USER" "$TIANQU_INGEST_PASSWORD" --write-bucket
v1_login "$TIANQU_READ_USER" "$TIANQU_READ_PASSWORD" --read-bucket
echo "influxdb-init: done"
