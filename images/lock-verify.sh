#!/bin/sh
# lock-verify LOCK KEY FILE [KEY FILE ...]: check each FILE against the SHA-256 that LOCK (the
# project's src/medallion/artifacts.lock.json, one "key": "sum" per line) records under KEY.
# Used in the images' build stages; a file with no entry or another sum fails the build.
set -eu
lock=$1
shift
while [ "$#" -ge 2 ]; do
  key=$1
  file=$2
  shift 2
  line=$(grep -F "\"$key\": " "$lock" || true)
  if [ -z "$line" ]; then
    echo "lock-verify: $key is not in the lock file" >&2
    exit 1
  fi
  want=${line##*: \"}
  want=${want%%\"*}
  echo "$want  $file" | sha256sum --check --quiet - || {
    echo "lock-verify: $file does not match the lock ($key)" >&2
    exit 1
  }
done
if [ "$#" -ne 0 ]; then
  echo "usage: lock-verify LOCK KEY FILE [KEY FILE ...]" >&2
  exit 2
fi
