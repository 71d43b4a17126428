#!/bin/bash
# Entrypoint of the medallion Spark image, for Spark on Kubernetes (and the Spark Operator).
#
#   driver ARGS...   a driver pod: Spark passes `driver --properties-file FILE --class CLASS ...`
#                    and the pod's IP as SPARK_DRIVER_BIND_ADDRESS. The driver runs inside the pod,
#                    so spark-submit runs in client mode there, bound to that address.
#   executor         an executor pod: Spark describes it in the environment (SPARK_DRIVER_URL,
#                    SPARK_EXECUTOR_ID, SPARK_EXECUTOR_CORES, SPARK_EXECUTOR_MEMORY,
#                    SPARK_APPLICATION_ID, SPARK_EXECUTOR_POD_IP, SPARK_EXECUTOR_POD_NAME,
#                    SPARK_RESOURCE_PROFILE_ID, SPARK_JAVA_OPT_0..N, SPARK_CLASSPATH), and
#                    spark-class starts KubernetesExecutorBackend with them.
#   anything else    run as a command (e.g. `spark-submit ...`, `python ...`, `bash`).
set -euo pipefail

SPARK_HOME=${SPARK_HOME:-/opt/spark}

# The process's user needs a name (Hadoop's login asks for it); a uid without one gets SPARK_USER.
if ! getent passwd "$(id -u)" >/dev/null; then
  export SPARK_USER=${SPARK_USER:-spark}
fi

case "${1:-}" in
  driver)
    shift
    : "${SPARK_DRIVER_BIND_ADDRESS:?the driver pod must set SPARK_DRIVER_BIND_ADDRESS (its IP)}"
    exec "$SPARK_HOME/bin/spark-submit" \
      --deploy-mode client \
      --conf "spark.driver.bindAddress=$SPARK_DRIVER_BIND_ADDRESS" \
      --conf "spark.executorEnv.SPARK_DRIVER_POD_IP=$SPARK_DRIVER_BIND_ADDRESS" \
      "$@"
    ;;
  executor)
    shift
    for name in SPARK_DRIVER_URL SPARK_EXECUTOR_ID SPARK_EXECUTOR_CORES SPARK_EXECUTOR_MEMORY \
      SPARK_APPLICATION_ID SPARK_EXECUTOR_POD_IP; do
      if [[ -z ${!name:-} ]]; then
        echo "spark-entrypoint: an executor pod must set $name" >&2
        exit 2
      fi
    done
    # SPARK_JAVA_OPT_<n> in the order of n: the executor's JVM options as Spark computed them.
    java_opts=()
    while IFS= read -r name; do
      java_opts+=("${!name}")
    done < <(compgen -e | sed -n 's/^SPARK_JAVA_OPT_\([0-9][0-9]*\)$/\1 &/p' | sort -n | cut -d' ' -f2)
    # spark-class builds the java command (Spark's jars, SPARK_CONF_DIR, the JDK 17 module
    # options); it takes the heap (-Xmx) from SPARK_DRIVER_MEMORY for a class it has no role for,
    # the extra classpath from SPARK_DIST_CLASSPATH, and further JVM options from JDK_JAVA_OPTIONS
    # (which its own small launcher JVM sees too: no -Xms there, it would exceed that one's heap).
    quoted=""
    for opt in "${java_opts[@]}"; do
      quoted+=" \"${opt//\"/\\\"}\""
    done
    export JDK_JAVA_OPTIONS="${JDK_JAVA_OPTIONS:-}$quoted"
    export SPARK_DRIVER_MEMORY=$SPARK_EXECUTOR_MEMORY
    export SPARK_DIST_CLASSPATH="${SPARK_CLASSPATH:-}${SPARK_DIST_CLASSPATH:+:$SPARK_DIST_CLASSPATH}"
    if [[ -n ${SPARK_EXECUTOR_DIRS:-} ]]; then
      export SPARK_LOCAL_DIRS=$SPARK_EXECUTOR_DIRS
    fi
    args=(
      --driver-url "$SPARK_DRIVER_URL"
      --executor-id "$SPARK_EXECUTOR_ID"
      --cores "$SPARK_EXECUTOR_CORES"
      --app-id "$SPARK_APPLICATION_ID"
      --hostname "$SPARK_EXECUTOR_POD_IP"
      --resourceProfileId "${SPARK_RESOURCE_PROFILE_ID:-0}"
    )
    if [[ -n ${SPARK_EXECUTOR_POD_NAME:-} ]]; then
      args+=(--podName "$SPARK_EXECUTOR_POD_NAME")
    fi
    exec "$SPARK_HOME/bin/spark-class" org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend "${args[@]}"
    ;;
  "")
    echo "usage: spark-entrypoint driver ARGS... | executor | COMMAND [ARGS...]" >&2
    exit 2
    ;;
  *)
    exec "$@"
    ;;
esac
