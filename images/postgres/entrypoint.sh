#!/bin/bash
# Entrypoint of the medallion postgres image.
#   [postgres] [-c name=value ...]   initialise PGDATA if it is empty, then run the server
#   anything else                    run that command
# First start: initdb with POSTGRES_USER as superuser and POSTGRES_PASSWORD (scram-sha-256),
# create POSTGRES_DB (default: POSTGRES_USER), run /docker-entrypoint-initdb.d/* in name order
# (*.sql and *.sql.gz through psql into POSTGRES_DB, *.sh sourced) on a server that listens on its
# socket only. Then the server listens on every address with scram-sha-256 password auth.
# POSTGRES_PASSWORD_FILE names a file holding the password (a mounted Secret); it wins over
# POSTGRES_PASSWORD, so the password need not be in the process's environment.
set -euo pipefail

if [[ $# -eq 0 || $1 == -* ]]; then
  set -- postgres "$@"
fi
if [[ $1 != postgres ]]; then
  exec "$@"
fi
shift

export PGDATA=${PGDATA:-/var/lib/postgresql/data}
POSTGRES_USER=${POSTGRES_USER:-postgres}
POSTGRES_DB=${POSTGRES_DB:-$POSTGRES_USER}
INITDB_DIR=${INITDB_DIR:-/docker-entrypoint-initdb.d}
SOCKET_DIR=${SOCKET_DIR:-/var/run/postgresql}
if [[ -n ${POSTGRES_PASSWORD_FILE:-} ]]; then
  POSTGRES_PASSWORD=$(<"$POSTGRES_PASSWORD_FILE")
fi

psql_init() {
  PGPASSWORD=$POSTGRES_PASSWORD psql -v ON_ERROR_STOP=1 --no-psqlrc --host "$SOCKET_DIR" \
    --username "$POSTGRES_USER" "$@"
}

first_start() {
  if [[ -z ${POSTGRES_PASSWORD:-} ]]; then
    echo "error: PGDATA ($PGDATA) is empty and POSTGRES_PASSWORD is not set" >&2
    exit 1
  fi
  echo "initialising a new cluster in $PGDATA"
  mkdir -p "$PGDATA"
  chmod 0700 "$PGDATA"
  initdb --pgdata "$PGDATA" --username "$POSTGRES_USER" \
    --pwfile <(printf '%s\n' "$POSTGRES_PASSWORD") \
    --auth-local scram-sha-256 --auth-host scram-sha-256 \
    --encoding UTF8 --locale C.UTF-8
  printf '\n# medallion: clients from any address, with a password\nhost all all all scram-sha-256\n' \
    >>"$PGDATA/pg_hba.conf"

  pg_ctl --pgdata "$PGDATA" --wait --silent \
    --options "-c listen_addresses='' -c unix_socket_directories=$SOCKET_DIR" start
  if [[ $POSTGRES_DB != postgres ]]; then
    psql_init --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
  fi
  local script
  for script in "$INITDB_DIR"/*; do
    [[ -f $script ]] || continue
    case $script in
      *.sh) echo "running $script"; # shellcheck disable=SC1090
        . "$script" ;;
      *.sql) echo "running $script"; psql_init --dbname "$POSTGRES_DB" -f "$script" ;;
      *.sql.gz) echo "running $script"; gzip -dc "$script" | psql_init --dbname "$POSTGRES_DB" ;;
      *) echo "ignoring $script" ;;
    esac
  done
  pg_ctl --pgdata "$PGDATA" --wait --silent --mode fast stop
  echo "cluster initialised"
}

if [[ ! -s $PGDATA/PG_VERSION ]]; then
  first_start
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' "$@"
