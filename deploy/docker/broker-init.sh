#!/bin/sh
# One-shot, idempotent: what the broker needs before it starts.
#  1. a CA and the broker's server certificate, unless the city's own are already in the PKI
#     volume (put ca.crt, server.crt, server.key — and ca.key if the API signs device CSRs);
#  2. the broker logins of the platform's services (ingesters, rule evaluator), made once,
#     their passwords kept as files in the secrets volume for the services' *_FROM_FILE variables;
#  3. mosquitto's password and ACL files, rendered by the API from its registry.
# Runs with the API's environment (TIANQU_API_*), on the API's state volume.
set -eu
pki=${TIANQU_PKI_DIR:-/var/lib/tianqu/pki}
secrets=${TIANQU_SECRETS_DIR:-/var/lib/tianqu/secrets}
umask 027

if [ ! -s "$pki/server.crt" ]; then
  python -m api dev-pki --dir "$pki" --host "${MQTT_PUBLIC_HOST:-localhost}" --host broker
fi
# The broker runs as another user in the same group: it reads the certificate and its key.
chmod 0640 "$pki/server.crt" "$pki/server.key" "$pki/ca.crt"

for account in ingest alerting; do
  if [ ! -s "$secrets/$account-mqtt-password" ]; then
    python -m api service-account --username "$account" --out "$secrets/$account.json"
    python -c 'import json, sys; sys.stdout.write(json.load(open(sys.argv[1]))["password"])' \
      "$secrets/$account.json" > "$secrets/$account-mqtt-password"
    rm -f "$secrets/$account.json"
    echo "broker login for $account created"
  fi
done

python -m api sync-broker
