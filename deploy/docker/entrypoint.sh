#!/bin/sh
# The image's entrypoint: every TIANQU_*_FILE variable is read into TIANQU_* (Docker and
# Kubernetes secrets arrive as files), the _FILE variable is removed, then the command runs.
set -eu
for name in $(env | sed -n 's/^\(TIANQU_[A-Z0-9_]*\)_FILE=.*/\1/p'); do
  file=$(printenv "${name}_FILE")
  if [ ! -r "$file" ]; then
    echo "tianqu-entrypoint: ${name}_FILE=$file is not readable" >&2
    exit 2
  fi
  value=$(cat "$file")
  export "$name=$value"
  unset "${name}_FILE"
done
exec "$@"
