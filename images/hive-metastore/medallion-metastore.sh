#!/bin/bash
# Entry points of the medallion metastore image.
#   serve            run the Hive Metastore (Thrift on METASTORE_PORT)
#   init-schema      idempotent: initialise an empty database, upgrade an old schema, keep a current one
#   wait-for-schema  block until the schema answers (init container of the metastore pod)
# The settings are /opt/hive/conf/metastore-site.xml (mounted by the chart), which reads hosts,
# ports and credentials from the environment as ${env.NAME}.
set -euo pipefail

HIVE_HOME=${HIVE_HOME:-/opt/hive}
HADOOP_HOME=${HADOOP_HOME:-/opt/hadoop}
export HIVE_CONF_DIR="${HIVE_HOME}/conf"
export METASTORE_HOME="${METASTORE_HOME:-${HIVE_HOME}}"
export HADOOP_CLIENT_OPTS="${HADOOP_CLIENT_OPTS:-} ${SERVICE_OPTS:-}"

# The metastore's own schema tool reads metastore-site.xml through MetastoreConf, like the server;
# the schema scripts are under ${METASTORE_HOME}/scripts/metastore/upgrade/postgres.
schematool() {
  HADOOP_CLASSPATH="${HIVE_CONF_DIR}:${HIVE_HOME}/lib/*" HADOOP_USER_CLASSPATH_FIRST=true \
    "${HADOOP_HOME}/bin/hadoop" org.apache.hadoop.hive.metastore.tools.schematool.MetastoreSchemaTool \
    -dbType postgres "$@"
}

case "${1:-serve}" in
  serve)
    export METASTORE_PORT="${METASTORE_PORT:-9083}"
    exec "${HIVE_HOME}/bin/hive" --skiphadoopversion --skiphbasecp --service metastore
    ;;
  init-schema)
    if schematool -info; then
      echo "metastore schema present: upgrading if it is older than ${HIVE_VER:-this release}"
      schematool -upgradeSchema
    else
      echo "no metastore schema yet: initialising"
      schematool -initSchema
    fi
    ;;
  wait-for-schema)
    until schematool -info >/dev/null 2>&1; do
      echo "waiting for the metastore schema (the schema Job creates it)"
      sleep 5
    done
    ;;
  *)
    echo "usage: medallion-metastore serve|init-schema|wait-for-schema" >&2
    exit 2
    ;;
esac
