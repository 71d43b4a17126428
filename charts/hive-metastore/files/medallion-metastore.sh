#!/bin/bash
# Entry points of the medallion metastore image.
#   serve            run the Hive Metastore (Thrift on METASTORE_PORT, default 9083)
#   init-schema      idempotent: initialise an empty database, upgrade an old schema, keep a current one
#   wait-for-schema  block until the schema answers (init container of the metastore pod)
# The settings are ${METASTORE_HOME}/conf/metastore-site.xml (mounted by the chart), which reads
# hosts, ports and credentials from the environment as ${env.NAME}. java runs the metastore's main
# classes directly (no Hadoop install), as the embedded stack does; SERVICE_OPTS adds JVM options
# (the chart passes the heap there).
set -euo pipefail

METASTORE_HOME=${METASTORE_HOME:-/opt/hive}
CONF_DIR=${METASTORE_CONF_DIR:-$METASTORE_HOME/conf}
export METASTORE_HOME

# What Hive's own scripts open up on JDK 17, and the AWS SDK checksum settings S3 servers other
# than AWS need.
JVM_OPTS=(
  -XX:+ExitOnOutOfMemoryError
  --add-opens=java.base/java.nio=ALL-UNNAMED
  --add-opens=java.base/java.net=ALL-UNNAMED
  --add-opens=java.base/java.lang=ALL-UNNAMED
  --add-opens=java.base/java.util=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED
  --add-opens=java.base/java.util.regex=ALL-UNNAMED
  --add-opens=java.base/java.lang.reflect=ALL-UNNAMED
  --add-opens=java.base/java.io=ALL-UNNAMED
  -Daws.requestChecksumCalculation=when_required
  -Daws.responseChecksumValidation=when_required
  "-Dlog4j2.configurationFile=file:$CONF_DIR/metastore-log4j2.properties"
)

run_java() {
  local opts=()
  # SERVICE_OPTS holds space-separated JVM options.
  read -r -a opts <<<"${SERVICE_OPTS:-}"
  java "${JVM_OPTS[@]}" "${opts[@]}" -cp "$CONF_DIR:$METASTORE_HOME/lib/*" "$@"
}

schematool() {
  (cd "$METASTORE_HOME" && run_java org.apache.hadoop.hive.metastore.tools.schematool.MetastoreSchemaTool \
    -dbType postgres "$@")
}

case "${1:-serve}" in
  serve)
    opts=()
    read -r -a opts <<<"${SERVICE_OPTS:-}"
    exec java "${JVM_OPTS[@]}" "${opts[@]}" -cp "$CONF_DIR:$METASTORE_HOME/lib/*" \
      org.apache.hadoop.hive.metastore.HiveMetaStore -p "${METASTORE_PORT:-9083}"
    ;;
  init-schema)
    if schematool -info; then
      echo "metastore schema present: upgrading it if it is older than this release"
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
    echo "metastore schema present"
    ;;
  *)
    echo "usage: medallion-metastore serve|init-schema|wait-for-schema" >&2
    exit 2
    ;;
esac
