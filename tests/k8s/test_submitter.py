"""The silver submitter against a fake Kubernetes API: the object it creates, the verbs it uses
(which the chart's Role must allow exactly) and its exit code for every outcome."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.charts import Helm, Kubeconform, embedded_spark_applications

from medallion.k8s import submitter as sub

Docs = list[dict[str, Any]]


class NotFoundError(Exception):
    status = 404


@dataclass
class FakeCustomObjects:
    """Records every call as its RBAC verb; states are served from a script."""

    states: list[str]
    calls: list[str] = field(default_factory=list)
    created: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    get_states: list[str] | None = None
    missing: bool = False

    def _obj(self, state: str) -> dict[str, Any]:
        body = self.created[-1]
        status = {"applicationState": {"state": state}} if state else {}
        return {**body, "metadata": {**body["metadata"], "resourceVersion": "7"}, "status": status}

    def create_namespaced_custom_object(
        self, group: str, version: str, namespace: str, plural: str, body: dict[str, Any]
    ) -> Any:
        self.calls.append(f"create {group}/{plural}")
        assert (group, version, plural) == (sub.GROUP, sub.VERSION, sub.PLURAL)
        assert body["metadata"]["namespace"] == namespace
        self.created.append(body)
        return body

    def get_namespaced_custom_object(
        self, group: str, version: str, namespace: str, plural: str, name: str
    ) -> Any:
        self.calls.append(f"get {group}/{plural}")
        if self.missing:
            raise NotFoundError(name)
        states = self.get_states if self.get_states is not None else [""]
        return self._obj(states.pop(0) if len(states) > 1 else states[0])

    def list_namespaced_custom_object(
        self,
        group: str,
        version: str,
        namespace: str,
        plural: str,
        *,
        field_selector: str | None = None,
        label_selector: str | None = None,
        resource_version: str | None = None,
        timeout_seconds: int | None = None,
        watch: bool | None = None,
    ) -> Any:
        raise AssertionError("only called through the watch stream")

    def delete_namespaced_custom_object(
        self, group: str, version: str, namespace: str, plural: str, name: str
    ) -> Any:
        self.calls.append(f"delete {group}/{plural}")
        self.deleted.append(name)
        return {}

    def stream(self, func: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """A Watch().stream stand-in: a watch is a list call with watch=true."""
        assert func == self.list_namespaced_custom_object
        assert kwargs["field_selector"] == f"metadata.name={self.created[-1]['metadata']['name']}"
        self.calls.append(f"list {kwargs['group']}/{kwargs['plural']}")
        self.calls.append(f"watch {kwargs['group']}/{kwargs['plural']}")
        while self.states:
            state = self.states.pop(0)
            if state == "DELETED":
                yield {"type": "DELETED", "object": self._obj("")}
                return
            yield {"type": "MODIFIED", "object": self._obj(state)}


class Clock:
    """Time that moves only when the submitter sleeps or a watch event passes."""

    def __init__(self, step: float = 1.0) -> None:
        self.now = 0.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="module")
def template(helm: Helm) -> dict[str, Any]:
    (app,) = embedded_spark_applications(helm.template(set_values=["silver.replicas=3"]))
    return app


def run(
    template: dict[str, Any], api: FakeCustomObjects, timeout: float = 100.0
) -> tuple[sub.ExitCode, list[str]]:
    log: list[str] = []
    clock = Clock()
    submitter = sub.Submitter(
        api=api, namespace="lake", stream=api.stream, clock=clock, sleep=clock.sleep,
        log=log.append,
    )  # fmt: skip
    app = sub.build_application(template, name="medallion-silver-x", namespace="lake")
    return submitter.run(app, timeout), log


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        (["SUBMITTED", "RUNNING", "SUCCEEDING", "COMPLETED"], sub.ExitCode.COMPLETED),
        (["SUBMITTED", "RUNNING", "FAILING", "FAILED"], sub.ExitCode.FAILED),
        (["SUBMISSION_FAILED"], sub.ExitCode.SUBMISSION_FAILED),
        (["RUNNING", "DELETED"], sub.ExitCode.ERROR),
    ],
)
def test_exit_code_follows_the_final_state(
    template: dict[str, Any], states: list[str], expected: sub.ExitCode
) -> None:
    api = FakeCustomObjects(states=list(states))
    code, log = run(template, api)
    assert code == expected
    assert expected != sub.ExitCode.COMPLETED or code == 0
    assert expected == sub.ExitCode.COMPLETED or code != 0
    assert not api.deleted
    assert any(states[-1] in line or "deleted" in line for line in log)


def test_timeout_deletes_the_application_and_fails(template: dict[str, Any]) -> None:
    api = FakeCustomObjects(states=["RUNNING"] * 500)
    code, log = run(template, api, timeout=30)
    assert code == sub.ExitCode.TIMEOUT
    assert int(code) != 0
    assert api.deleted == ["medallion-silver-x"]
    assert any("did not finish" in line for line in log)


def test_an_application_that_ended_before_the_watch_is_seen(template: dict[str, Any]) -> None:
    api = FakeCustomObjects(states=[], get_states=["COMPLETED"])
    code, _ = run(template, api)
    assert code == sub.ExitCode.COMPLETED
    assert not any(c.startswith("watch") for c in api.calls)


def test_a_dropped_watch_resumes_until_the_end(template: dict[str, Any]) -> None:
    api = FakeCustomObjects(states=["RUNNING"], get_states=["RUNNING", "RUNNING", "FAILED"])
    code, _ = run(template, api)
    assert code == sub.ExitCode.FAILED
    assert api.calls.count("watch sparkoperator.k8s.io/sparkapplications") >= 1


def test_a_vanished_application_is_an_error(template: dict[str, Any]) -> None:
    api = FakeCustomObjects(states=[], missing=True)
    code, _ = run(template, api)
    assert code == sub.ExitCode.ERROR


def test_verbs_used_are_exactly_the_roles(template: dict[str, Any], helm: Helm) -> None:
    used: set[str] = set()
    for states, get_states in (
        (["RUNNING", "COMPLETED"], None),
        (["RUNNING"] * 500, None),
        ([], ["FAILED"]),
    ):
        api = FakeCustomObjects(states=list(states), get_states=get_states)
        run(template, api, timeout=30)
        used |= set(api.calls)
    role = next(
        d for d in helm.template() if d["kind"] == "Role" and d["metadata"]["name"].endswith(
            "-submitter"
        )
    )  # fmt: skip
    allowed = {
        f"{verb} {group}/{resource}"
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    assert used == allowed


def test_created_application_matches_the_crd(
    template: dict[str, Any], kubeconform: Kubeconform
) -> None:
    api = FakeCustomObjects(states=["COMPLETED"])
    run(template, api)
    (created,) = api.created
    assert not kubeconform.errors([created]), kubeconform.errors([created])
    assert created["spec"]["executor"]["instances"] == 3  # silver.replicas
    assert created["metadata"]["namespace"] == "lake"


def test_build_application_names_and_labels_a_copy(template: dict[str, Any]) -> None:
    app = sub.build_application(
        template, name="n", namespace="ns", executors=4, triggered_by="medallion-silver-manual-1"
    )
    assert app["metadata"]["name"] == "n"
    assert app["spec"]["executor"]["instances"] == 4
    assert app["metadata"]["labels"][sub.TRIGGERED_BY_LABEL] == "medallion-silver-manual-1"
    assert template["metadata"]["name"] != "n", "the template itself is left alone"
    with pytest.raises(sub.SubmitterError):
        sub.build_application(template, name="n", namespace="ns", executors=0)


def test_unique_names_are_short_valid_and_distinct() -> None:
    now = datetime(2026, 12, 1, 14, 5, 9, tzinfo=UTC)
    a = sub.unique_name("medallion-silver", now, "ab12")
    assert a == "medallion-silver-20261201-140509-ab12"
    long = sub.unique_name("a-very-long-release-name-that-goes-on-and-on-silver", now, "ab12")
    assert len(long) <= sub.MAX_NAME and long.endswith("-20261201-140509-ab12")
    assert sub.unique_name("medallion-silver", now, "cd34") != a


def test_load_template_refuses_other_kinds(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap"}))
    with pytest.raises(sub.SubmitterError):
        sub.load_template(path)
    with pytest.raises(sub.SubmitterError):
        sub.load_template(tmp_path / "missing.yaml")


def test_main_returns_the_outcome(
    template: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "sparkapplication.yaml"
    path.write_text(yaml.safe_dump(template))
    api = FakeCustomObjects(states=["RUNNING", "FAILED"])

    import kubernetes.client

    import medallion.k8s._client as client_mod

    monkeypatch.setattr(client_mod, "load_config", lambda **_: True)
    monkeypatch.setattr(client_mod, "watch_stream", lambda: api.stream)
    monkeypatch.setattr(kubernetes.client, "CustomObjectsApi", lambda: api)
    monkeypatch.setenv("POD_NAMESPACE", "lake")
    monkeypatch.setenv("MEDALLION_TRIGGERED_BY", "medallion-silver-29001")
    code = sub.main(["--template", str(path), "--timeout", "60"])
    assert code == sub.ExitCode.FAILED
    assert int(code) == 1
    (created,) = api.created
    assert created["metadata"]["name"].startswith("medallion-silver-")
    assert created["metadata"]["labels"][sub.TRIGGERED_BY_LABEL] == "medallion-silver-29001"


def test_main_reports_a_bad_template(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import medallion.k8s._client as client_mod

    monkeypatch.setattr(client_mod, "load_config", lambda **_: True)
    code = sub.main(["--template", str(tmp_path / "nope.yaml"), "--namespace", "x"])
    assert code == sub.ExitCode.ERROR
