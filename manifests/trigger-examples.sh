#!/usr/bin/env bash
# Running layers by hand with kubectl, for release "medallion" in namespace "medallion" (set NS and
# RELEASE to use others). Every layer is a CronJob, so any layer runs now as a Job from it; the
# silver Job's submitter creates a SparkApplication and exits with its outcome.
set -euo pipefail
NS=${NS:-medallion}
RELEASE=${RELEASE:-medallion}
LAYER=${1:-bronze}   # bronze | silver | gold | pipeline (bronze -> silver -> gold in one Job)

job="${RELEASE}-${LAYER}-manual-$(date +%s)"
kubectl -n "$NS" create job --from="cronjob/${RELEASE}-${LAYER}" "$job"

# Follow it and wait for the outcome (a layer run is bounded by jobs.activeDeadlineSeconds).
kubectl -n "$NS" logs -f "job/$job" --all-containers --pod-running-timeout=5m || true
kubectl -n "$NS" wait --for=condition=complete --timeout=2h "job/$job"

# Silver: the SparkApplications it created, newest last, and the driver's log of the newest.
#   kubectl -n "$NS" get sparkapplications -l app.kubernetes.io/instance=$RELEASE --sort-by=.metadata.creationTimestamp
#   kubectl -n "$NS" logs "$(kubectl -n "$NS" get sparkapplications -l medallion.io/app=silver \
#       --sort-by=.metadata.creationTimestamp -o name | tail -1 | cut -d/ -f2)-driver"
# The same through the API:  medallion k8s trigger "$LAYER" --wait -n "$NS" --release "$RELEASE"
# Suspend or resume a layer's schedule:
#   kubectl -n "$NS" patch cronjob "${RELEASE}-gold" -p '{"spec":{"suspend":true}}'
