#!/bin/sh
# The image's entrypoint: every TIANQU_<NAME>_FROM_FILE variable is read into TIANQU_<NAME>
# (Docker and Kubernetes secrets arrive as files) and then removed; then the command runs.
# Not "_FILE": several settings are file paths themselves (TIANQU_API_MQTT_PASSWORD_FILE is
# mosquitto's password file, not a secret to read).
set -eu
for name in $(env | sed -n 's/^\(TIANQU_[A-Z0-9_]*\)_FROM_FILE=.*/\1/p'); do
  file=$(printenv "${name}_FROM_FILE")
  if [ ! -r "$file" ]; then
    echo "tianqu-entrypoint: ${name}_FROM_FILE=$file is not readable" >&2
    exit 2
  fi
  value=$(cat "$file")
  export "$name=$value"
  unset "${name}_FROM_FILE"
done
exec "$@"
