"""``medallion k8s trigger`` and ``status`` against fake API objects (no cluster)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from kubernetes import client
from tests.charts import Helm
from typer.testing import CliRunner

from medallion.k8s import runs
from medallion.k8s.cli import app


@pytest.fixture(scope="module")
def bronze_cronjob(helm: Helm) -> Any:
    """The chart's bronze CronJob as the API would return it (a V1CronJob)."""
    doc = next(
        d for d in helm.template() if d["kind"] == "CronJob" and d["metadata"]["name"].endswith(
            "-bronze"
        )
    )  # fmt: skip
    doc["metadata"]["uid"] = "1234-abcd"
    return client.ApiClient().deserialize(json.dumps(doc), "V1CronJob", "application/json")


def condition(kind: str) -> client.V1JobCondition:
    return client.V1JobCondition(type=kind, status="True")


@dataclass
class FakeBatch:
    cronjob: Any
    outcomes: list[str] = field(default_factory=list)
    created: list[Any] = field(default_factory=list)

    def read_namespaced_cron_job(self, name: str, namespace: str) -> Any:
        if name != self.cronjob.metadata.name:
            raise client.ApiException(status=404, reason="Not Found")
        return self.cronjob

    def create_namespaced_job(self, namespace: str, body: Any) -> Any:
        self.created.append(body)
        return body

    def _job(self, state: str) -> client.V1Job:
        job: client.V1Job = self.created[-1]
        assert job.metadata is not None
        conditions = [condition(state)] if state in ("Complete", "Failed") else None
        return client.V1Job(
            metadata=client.V1ObjectMeta(name=job.metadata.name, resource_version="3"),
            status=client.V1JobStatus(active=1 if not conditions else None, conditions=conditions),
        )

    def read_namespaced_job(self, name: str, namespace: str) -> Any:
        return self._job("")

    def list_namespaced_job(self, namespace: str, **kwargs: Any) -> Any:
        raise AssertionError("only through the watch stream")

    def stream(self, func: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
        for state in self.outcomes:
            yield {"type": "MODIFIED", "object": self._job(state)}


def cluster(batch: FakeBatch) -> runs.Cluster:
    return runs.Cluster(batch=batch, custom=None, namespace="lake", stream=batch.stream)


def test_job_from_cronjob_is_what_kubectl_creates(bronze_cronjob: Any) -> None:
    job = runs.job_from_cronjob(bronze_cronjob, "medallion-bronze-manual-1")
    template = bronze_cronjob.spec.job_template
    assert job.metadata.name == "medallion-bronze-manual-1"
    assert job.metadata.annotations["cronjob.kubernetes.io/instantiate"] == "manual"
    assert job.metadata.labels == template.metadata.labels
    (owner,) = job.metadata.owner_references
    assert (owner.kind, owner.name, owner.uid, owner.controller) == (
        "CronJob", "medallion-bronze", "1234-abcd", True,
    )  # fmt: skip
    assert job.spec == template.spec
    assert job.spec.template.spec.containers[0].command[2:] == ["medallion.run.job", "bronze"]


def test_manual_job_names_fit() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    assert (
        runs.manual_job_name("medallion-gold", now)
        == f"medallion-gold-manual-{int(now.timestamp())}"
    )
    assert len(runs.manual_job_name("x" * 80, now)) <= 63


@pytest.mark.parametrize(
    ("outcomes", "expected"),
    [
        (["", "Complete"], runs.JobOutcome.SUCCEEDED),
        (["", "Failed"], runs.JobOutcome.FAILED),
    ],
)
def test_trigger_and_wait(
    bronze_cronjob: Any, outcomes: list[str], expected: runs.JobOutcome
) -> None:
    batch = FakeBatch(bronze_cronjob, outcomes=outcomes)
    name = runs.trigger(cluster(batch), "medallion-bronze")
    assert batch.created[0].metadata.name == name
    seen: list[str] = []
    assert runs.wait_for_job(cluster(batch), name, 60, on_change=seen.append) == expected
    assert seen[0] == "running"


def test_wait_times_out(bronze_cronjob: Any) -> None:
    batch = FakeBatch(bronze_cronjob, outcomes=[""] * 3)
    runs.trigger(cluster(batch), "medallion-bronze")
    ticks = iter(range(0, 10_000, 10))
    outcome = runs.wait_for_job(cluster(batch), "x", 25, clock=lambda: float(next(ticks)))
    assert outcome == runs.JobOutcome.TIMEOUT


def test_trigger_of_a_missing_cronjob_says_what_to_check(bronze_cronjob: Any) -> None:
    with pytest.raises(runs.ClusterError, match="is the chart installed"):
        runs.trigger(cluster(FakeBatch(bronze_cronjob)), "medallion-silver")


def test_cli_trigger_wait(bronze_cronjob: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    batch = FakeBatch(bronze_cronjob, outcomes=["", "Complete"])
    connected: dict[str, Any] = {}

    def connect(**kwargs: Any) -> runs.Cluster:
        connected.update(kwargs)
        return cluster(batch)

    monkeypatch.setattr(runs, "connect", connect)
    result = CliRunner().invoke(
        app, ["trigger", "bronze", "--wait", "-n", "lake", "--release", "medallion",
              "--context", "kind-medallion"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "succeeded" in result.output
    assert connected == {"kubeconfig": None, "context": "kind-medallion", "namespace": "lake"}


def test_cli_trigger_failure_exits_non_zero(
    bronze_cronjob: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = FakeBatch(bronze_cronjob, outcomes=["Failed"])
    monkeypatch.setattr(runs, "connect", lambda **_: cluster(batch))
    result = CliRunner().invoke(app, ["trigger", "bronze", "--wait"])
    assert result.exit_code == 1


def test_status_lists_layers_and_applications(bronze_cronjob: Any) -> None:
    job = runs.job_from_cronjob(bronze_cronjob, "medallion-bronze-manual-1")
    job.metadata.creation_timestamp = datetime(2026, 12, 1, tzinfo=UTC)
    job.status = client.V1JobStatus(
        conditions=[condition("Complete")],
        start_time=datetime(2026, 12, 1, 0, 0, tzinfo=UTC),
        completion_time=datetime(2026, 12, 1, 0, 2, 5, tzinfo=UTC),
    )

    @dataclass
    class Listing:
        items: list[Any]

    class Batch:
        def list_namespaced_cron_job(self, namespace: str, label_selector: str) -> Listing:
            assert "app.kubernetes.io/instance=medallion" in label_selector
            return Listing([bronze_cronjob])

        def list_namespaced_job(self, namespace: str, label_selector: str) -> Listing:
            return Listing([job])

    class Custom:
        def list_namespaced_custom_object(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
            return {
                "items": [
                    {
                        "metadata": {
                            "name": "medallion-silver-20261201-000000-ab12",
                            "creationTimestamp": "2026-12-01T00:00:00Z",
                            "labels": {"medallion.io/app": "silver"},
                        },
                        "spec": {"executor": {"instances": 2}},
                        "status": {"applicationState": {"state": "COMPLETED"}},
                    }
                ]
            }

    c = runs.Cluster(batch=Batch(), custom=Custom(), namespace="lake", stream=lambda *a, **k: [])
    (layer,) = runs.layer_status(c, "medallion")
    assert (layer.layer, layer.last_state, layer.last_duration) == ("bronze", "succeeded", "2m05s")
    (application,) = runs.spark_applications(c, "medallion", 10)
    assert (application.state, application.executors) == ("COMPLETED", 2)
    assert runs.layers_table([layer], "t").row_count == 1
    assert runs.applications_table([application], "t").row_count == 1
