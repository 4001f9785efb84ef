#!/bin/sh
# mosquitto with a reload on change: the API rewrites the password and ACL files (write to a
# temporary file, then rename) in the shared broker-auth volume; a SIGHUP makes mosquitto
# reread both. mosquitto cannot watch them itself and the API cannot signal another
# container, so this script compares the files' identity every 2 seconds.
# `entrypoint.sh health` is the health check: mosquitto is listening on 1883.
set -eu
AUTH_DIR=${AUTH_DIR:-/mosquitto/auth}

if [ "${1:-}" = "health" ]; then
  # 1883 = 0x075B, state 0A = LISTEN (IPv4 or IPv6)
  grep -qs ':075B [0-9A-F:]* 0A' /proc/net/tcp /proc/net/tcp6
  exit $?
fi

# inode, size and mtime of both files (a rename always brings a new inode); busybox and GNU stat
stamp() { stat -c '%i %s %Y' "$AUTH_DIR/passwords" "$AUTH_DIR/acl" 2>/dev/null || true; }

"$@" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null' TERM INT
last=$(stamp)
while kill -0 "$child" 2>/dev/null; do
  sleep 2 &
  wait $! || true
  now=$(stamp)
  if [ "$now" != "$last" ]; then
    last=$now
    kill -HUP "$child" 2>/dev/null || true
  fi
done
wait "$child"
