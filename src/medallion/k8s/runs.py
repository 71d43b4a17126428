"""Layer runs through the Kubernetes API: a Job from a layer's CronJob, its outcome, the status.

``trigger`` does what ``kubectl create job --from=cronjob/NAME`` does: a Job with the CronJob's
job template, its labels and annotations, ``cronjob.kubernetes.io/instantiate: manual`` and the
CronJob as controlling owner.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from rich.table import Table

from medallion.k8s.submitter import GROUP, PLURAL, VERSION, application_state

WatchStream = Callable[..., Iterable[dict[str, Any]]]
MANUAL_ANNOTATION = "cronjob.kubernetes.io/instantiate"
MAX_JOB_NAME = 63


class ClusterError(RuntimeError):
    """The cluster could not be reached or refused a call; the message says what to do."""


class JobOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMEOUT = "timed out"


@dataclass
class Cluster:
    """API clients bound to one namespace."""

    batch: Any
    custom: Any
    namespace: str
    stream: WatchStream


def connect(
    *, kubeconfig: str | None = None, context: str | None = None, namespace: str | None = None
) -> Cluster:
    """Clients for the kubeconfig (or the in-cluster config); the namespace defaults to the
    context's."""
    from kubernetes import client, config

    from medallion.k8s._client import context_namespace, load_config, watch_stream
    from medallion.k8s.submitter import current_namespace

    try:
        incluster = load_config(kubeconfig, context)
        default_ns = (
            current_namespace(None) if incluster else context_namespace(kubeconfig, context)
        )
    except (config.ConfigException, OSError) as exc:
        raise ClusterError(
            f"no usable Kubernetes configuration ({exc}); pass --kubeconfig/--context "
            "or set KUBECONFIG"
        ) from exc
    return Cluster(
        batch=client.BatchV1Api(),
        custom=client.CustomObjectsApi(),
        namespace=namespace or default_ns,
        stream=watch_stream(),
    )


def manual_job_name(cronjob: str, now: datetime) -> str:
    """``<cronjob>-manual-<unix seconds>``, shortened to a valid Job name."""
    suffix = f"-manual-{int(now.timestamp())}"
    return cronjob[: MAX_JOB_NAME - len(suffix)].rstrip("-") + suffix


def job_from_cronjob(cronjob: Any, name: str) -> Any:
    """The Job ``kubectl create job --from=cronjob/...`` would create, as a V1Job."""
    from kubernetes import client

    template = cronjob.spec.job_template
    meta = template.metadata or client.V1ObjectMeta()
    annotations = dict(meta.annotations or {})
    annotations[MANUAL_ANNOTATION] = "manual"
    return client.V1Job(
        api_version="batch/v1",
        kind="Job",
        metadata=client.V1ObjectMeta(
            name=name,
            namespace=cronjob.metadata.namespace,
            labels=dict(meta.labels or {}),
            annotations=annotations,
            owner_references=[
                client.V1OwnerReference(
                    api_version="batch/v1",
                    kind="CronJob",
                    name=cronjob.metadata.name,
                    uid=cronjob.metadata.uid,
                    controller=True,
                )
            ],
        ),
        spec=template.spec,
    )


def _api_error(what: str, exc: Exception) -> ClusterError:
    status = getattr(exc, "status", None)
    reason = getattr(exc, "reason", None) or exc
    hint = {
        401: "check your credentials",
        403: "your user may not do this in that namespace",
        404: "is the chart installed there? (helm list -n NAMESPACE; --release, --namespace)",
    }.get(status if isinstance(status, int) else 0, "")
    return ClusterError(f"{what}: {reason}" + (f" ({hint})" if hint else ""))


def trigger(cluster: Cluster, cronjob_name: str, now: datetime | None = None) -> str:
    """Create a Job from the CronJob now; returns the Job's name."""
    try:
        cronjob = cluster.batch.read_namespaced_cron_job(cronjob_name, cluster.namespace)
    except Exception as exc:
        raise _api_error(f"cannot read cronjob {cluster.namespace}/{cronjob_name}", exc) from exc
    name = manual_job_name(cronjob_name, now or datetime.now(UTC))
    job = job_from_cronjob(cronjob, name)
    try:
        cluster.batch.create_namespaced_job(cluster.namespace, job)
    except Exception as exc:
        raise _api_error(f"cannot create job {cluster.namespace}/{name}", exc) from exc
    return name


def job_outcome(job: Any) -> JobOutcome | None:
    """SUCCEEDED or FAILED once the Job has a true Complete/Failed condition, else None."""
    status = getattr(job, "status", None)
    for cond in getattr(status, "conditions", None) or []:
        if cond.status == "True" and cond.type == "Complete":
            return JobOutcome.SUCCEEDED
        if cond.status == "True" and cond.type == "Failed":
            return JobOutcome.FAILED
    return None


def _job_phase(job: Any) -> str:
    status = getattr(job, "status", None)
    if status is None:
        return "pending"
    if outcome := job_outcome(job):
        return outcome.value
    if status.active:
        return "running"
    return "pending"


def wait_for_job(
    cluster: Cluster,
    name: str,
    timeout: float,
    on_change: Callable[[str], None] = lambda _state: None,
    clock: Callable[[], float] = time.monotonic,
) -> JobOutcome:
    """Watch the Job until it succeeds or fails, or ``timeout`` seconds pass."""
    deadline = clock() + timeout
    last = ""
    while (remaining := deadline - clock()) > 0:
        try:
            job = cluster.batch.read_namespaced_job(name, cluster.namespace)
        except Exception as exc:
            raise _api_error(f"cannot read job {cluster.namespace}/{name}", exc) from exc
        if outcome := job_outcome(job):
            return outcome
        try:
            for event in cluster.stream(
                cluster.batch.list_namespaced_job,
                namespace=cluster.namespace,
                field_selector=f"metadata.name={name}",
                resource_version=job.metadata.resource_version,
                timeout_seconds=max(1, int(min(remaining, 300))),
            ):
                obj = event.get("object")
                phase = _job_phase(obj)
                if phase != last:
                    on_change(phase)
                    last = phase
                if outcome := job_outcome(obj):
                    return outcome
                if clock() >= deadline:
                    break
        except Exception as exc:
            if getattr(exc, "status", None) not in (410, None):
                raise _api_error(f"watching job {name} failed", exc) from exc
            # 410 Gone or a dropped connection: read the Job again and resume.
    return JobOutcome.TIMEOUT


@dataclass(frozen=True)
class LayerStatus:
    layer: str
    cronjob: str
    schedule: str
    suspended: bool
    last_schedule: datetime | None
    last_job: str
    last_state: str
    last_started: datetime | None
    last_duration: str


def _selector(release: str) -> str:
    return f"app.kubernetes.io/instance={release},app.kubernetes.io/name=medallion"


def _duration(start: datetime | None, end: datetime | None) -> str:
    if start is None:
        return ""
    seconds = int(((end or datetime.now(UTC)) - start).total_seconds())
    return f"{seconds // 60}m{seconds % 60:02d}s"


def layer_status(cluster: Cluster, release: str) -> list[LayerStatus]:
    """Every layer CronJob of the release with its most recent Job."""
    try:
        cronjobs = cluster.batch.list_namespaced_cron_job(
            cluster.namespace, label_selector=_selector(release)
        ).items
        jobs = cluster.batch.list_namespaced_job(
            cluster.namespace, label_selector=_selector(release)
        ).items
    except Exception as exc:
        raise _api_error(f"cannot list cronjobs and jobs in {cluster.namespace}", exc) from exc
    result = []
    for cj in sorted(cronjobs, key=lambda c: c.metadata.name):
        owned = [
            j
            for j in jobs
            if any(
                ref.kind == "CronJob" and ref.name == cj.metadata.name
                for ref in (j.metadata.owner_references or [])
            )
        ]
        last = max(owned, key=lambda j: j.metadata.creation_timestamp, default=None)
        labels = cj.metadata.labels or {}
        started = last.status.start_time if last is not None and last.status else None
        finished = last.status.completion_time if last is not None and last.status else None
        result.append(
            LayerStatus(
                layer=labels.get("medallion.io/layer", cj.metadata.name),
                cronjob=cj.metadata.name,
                schedule=cj.spec.schedule,
                suspended=bool(cj.spec.suspend),
                last_schedule=cj.status.last_schedule_time if cj.status else None,
                last_job=last.metadata.name if last is not None else "",
                last_state=_job_phase(last) if last is not None else "never run",
                last_started=started,
                last_duration=_duration(started, finished),
            )
        )
    return result


@dataclass(frozen=True)
class ApplicationStatus:
    name: str
    app: str
    state: str
    executors: int | None
    submitted: str
    finished: str
    triggered_by: str


def spark_applications(cluster: Cluster, release: str, limit: int) -> list[ApplicationStatus]:
    """The release's most recent SparkApplications, newest first."""
    try:
        listing = cluster.custom.list_namespaced_custom_object(
            GROUP, VERSION, cluster.namespace, PLURAL, label_selector=_selector(release)
        )
    except Exception as exc:
        if getattr(exc, "status", None) == 404:
            raise ClusterError(
                "the SparkApplication CRD is not installed: install the Kubeflow Spark Operator"
            ) from exc
        raise _api_error(f"cannot list SparkApplications in {cluster.namespace}", exc) from exc
    items: list[dict[str, Any]] = list(listing.get("items", []))
    items.sort(key=lambda o: str(o.get("metadata", {}).get("creationTimestamp", "")), reverse=True)
    result = []
    for obj in items[:limit]:
        meta = obj.get("metadata", {})
        status = obj.get("status") or {}
        executor = (obj.get("spec") or {}).get("executor") or {}
        result.append(
            ApplicationStatus(
                name=str(meta.get("name", "")),
                app=str((meta.get("labels") or {}).get("medallion.io/app", "")),
                state=application_state(obj) or "NEW",
                executors=executor.get("instances"),
                submitted=str(status.get("lastSubmissionAttemptTime") or ""),
                finished=str(status.get("terminationTime") or ""),
                triggered_by=str((meta.get("labels") or {}).get("medallion.io/triggered-by", "")),
            )
        )
    return result


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if value else ""


_STATE_STYLE = {"succeeded": "green", "COMPLETED": "green", "failed": "red", "FAILED": "red"}


def layers_table(layers: list[LayerStatus], title: str) -> Table:
    table = Table(
        "layer", "cronjob", "schedule", "suspended", "last scheduled", "last run", "state",
        "started", "took", title=title,
    )  # fmt: skip
    for s in layers:
        style = _STATE_STYLE.get(s.last_state, "")
        table.add_row(
            s.layer,
            s.cronjob,
            s.schedule,
            "yes" if s.suspended else "no",
            _when(s.last_schedule),
            s.last_job,
            f"[{style}]{s.last_state}[/]" if style else s.last_state,
            _when(s.last_started),
            s.last_duration,
        )
    return table


def applications_table(apps: list[ApplicationStatus], title: str) -> Table:
    table = Table(
        "name", "app", "state", "executors", "submitted", "finished", "triggered by", title=title
    )
    for a in apps:
        style = _STATE_STYLE.get(a.state, "")
        table.add_row(
            a.name,
            a.app,
            f"[{style}]{a.state}[/]" if style else a.state,
            "" if a.executors is None else str(a.executors),
            a.submitted,
            a.finished,
            a.triggered_by,
        )
    return table
