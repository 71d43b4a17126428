#!/bin/bash
# How the Hive Metastore runs, in the metastore image (its entry point) and on the embedded stack
# alike:
#   serve [ARGS]     run the Hive Metastore (Thrift on METASTORE_PORT, default 9083; ARGS go to it)
#   init-schema      idempotent: initialise an empty database, upgrade an old schema, keep a current one
#   wait-for-schema  block until the schema answers (init container of the metastore pod)
# The settings are metastore-site.xml and metastore-log4j2.properties in METASTORE_CONF_DIR (the
# files beside this one; the chart mounts the site file), which read hosts, ports and credentials
# from the environment as ${env.NAME}. java (the first on PATH) runs the metastore's main classes
# directly, with no Hadoop install; METASTORE_CLASSPATH replaces the default class path (the conf
# directory and METASTORE_HOME/lib), SERVICE_OPTS adds JVM options (the heap).
set -euo pipefail

METASTORE_HOME=${METASTORE_HOME:-/opt/hive}
CONF_DIR=${METASTORE_CONF_DIR:-$METASTORE_HOME/conf}
CLASS_PATH=${METASTORE_CLASSPATH:-$CONF_DIR:$METASTORE_HOME/lib/*}
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

# SERVICE_OPTS holds space-separated JVM options.
SERVICE_JVM_OPTS=()
read -r -a SERVICE_JVM_OPTS <<<"${SERVICE_OPTS:-}"

# The JVM every command runs its main class in.
JAVA=(java "${JVM_OPTS[@]}" "${SERVICE_JVM_OPTS[@]}" -cp "$CLASS_PATH")

schematool() {
  (cd "$METASTORE_HOME" && "${JAVA[@]}" org.apache.hadoop.hive.metastore.tools.schematool.MetastoreSchemaTool \
    -dbType postgres "$@")
}

command=${1:-serve}
shift || true
case "$command" in
  serve)
    exec "${JAVA[@]}" org.apache.hadoop.hive.metastore.HiveMetaStore -p "${METASTORE_PORT:-9083}" "$@"
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
