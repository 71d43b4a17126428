"""Silver's submitter: run one SparkApplication to its end, so silver is triggered like any layer.

The silver CronJob's container runs ``python -m medallion.k8s.submitter``. It reads the
SparkApplication that the chart rendered into a ConfigMap, gives it a unique name, creates it,
watches it until the Spark Operator reports a final state (or the timeout passes) and exits with
that outcome, so the Job, ``kubectl create job --from=cronjob/<release>-silver`` and
``medallion k8s trigger silver --wait`` all see silver's real result.

It needs exactly these verbs on ``sparkapplications`` (the chart's Role grants nothing else):
``create`` the run, ``get`` its state, ``list`` + ``watch`` (a watch is a list with
``watch=true``), and ``delete`` when it times out.

Only the standard library, PyYAML and the ``kubernetes`` client are imported, so the module runs
in the small dbt image.
"""

from __future__ import annotations

import argparse
import copy
import os
import secrets
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum
from pathlib import Path
from typing import Any, Protocol

import yaml

GROUP = "sparkoperator.k8s.io"
VERSION = "v1beta2"
PLURAL = "sparkapplications"
KIND = "SparkApplication"
DEFAULT_TEMPLATE = "/etc/medallion/silver/sparkapplication.yaml"
SERVICEACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
# Spark derives pod and service names from the application name; keep room for their suffixes.
MAX_NAME = 48
TRIGGERED_BY_LABEL = "medallion.io/triggered-by"
WATCH_CHUNK_SECONDS = 300


class ExitCode(IntEnum):
    """The submitter's exit status, one per outcome."""

    COMPLETED = 0
    FAILED = 1
    SUBMISSION_FAILED = 2
    TIMEOUT = 3
    ERROR = 4


# Final states of a SparkApplication (restartPolicy Never) and what the submitter exits with.
FINAL_STATES: dict[str, ExitCode] = {
    "COMPLETED": ExitCode.COMPLETED,
    "FAILED": ExitCode.FAILED,
    "SUBMISSION_FAILED": ExitCode.SUBMISSION_FAILED,
}


class SubmitterError(RuntimeError):
    """The template is unusable or the API refused a call; the message says which."""


class CustomObjects(Protocol):
    """The part of ``kubernetes.client.CustomObjectsApi`` the submitter uses."""

    def create_namespaced_custom_object(
        self, group: str, version: str, namespace: str, plural: str, body: dict[str, Any]
    ) -> Any: ...

    def get_namespaced_custom_object(
        self, group: str, version: str, namespace: str, plural: str, name: str
    ) -> Any: ...

    def list_namespaced_custom_object(
        self,
        group: str,
        version: str,
        namespace: str,
        plural: str,
        *,
        field_selector: str | None = ...,
        label_selector: str | None = ...,
        resource_version: str | None = ...,
        timeout_seconds: int | None = ...,
        watch: bool | None = ...,
    ) -> Any: ...

    def delete_namespaced_custom_object(
        self, group: str, version: str, namespace: str, plural: str, name: str
    ) -> Any: ...


# ``kubernetes.watch.Watch().stream``: (list function, **its arguments) -> watch events.
WatchStream = Callable[..., Iterable[dict[str, Any]]]


def load_template(path: Path) -> dict[str, Any]:
    """The SparkApplication manifest the chart rendered (one YAML document)."""
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise SubmitterError(f"cannot read the template {path}: {exc}") from exc
    if not isinstance(data, dict) or data.get("kind") != KIND:
        raise SubmitterError(f"{path} is not a {KIND} manifest")
    if data.get("apiVersion") != f"{GROUP}/{VERSION}":
        raise SubmitterError(f"{path}: apiVersion must be {GROUP}/{VERSION}")
    return data


def unique_name(base: str, now: datetime, token: str) -> str:
    """``<base>-<UTC yyyymmdd-hhmmss>-<token>``, the base shortened to stay within MAX_NAME."""
    suffix = f"-{now.astimezone(UTC):%Y%m%d-%H%M%S}-{token}"
    return base[: MAX_NAME - len(suffix)].rstrip("-") + suffix


def build_application(
    template: dict[str, Any],
    *,
    name: str,
    namespace: str,
    executors: int | None = None,
    triggered_by: str | None = None,
) -> dict[str, Any]:
    """A copy of the template with its run's name, namespace and (optional) executor count."""
    app = copy.deepcopy(template)
    meta = app.setdefault("metadata", {})
    meta["name"] = name
    meta["namespace"] = namespace
    for key in ("resourceVersion", "uid", "creationTimestamp", "generation", "managedFields"):
        meta.pop(key, None)
    app.pop("status", None)
    if triggered_by:
        meta.setdefault("labels", {})[TRIGGERED_BY_LABEL] = triggered_by[:63]
    if executors is not None:
        if executors < 1:
            raise SubmitterError("executors must be at least 1")
        app.setdefault("spec", {}).setdefault("executor", {})["instances"] = executors
    return app


def application_state(obj: dict[str, Any] | None) -> str:
    """The operator's ``status.applicationState.state`` ("" before the operator saw it)."""
    status = (obj or {}).get("status") or {}
    state = (status.get("applicationState") or {}).get("state") or ""
    return str(state)


def exit_code_for(state: str) -> ExitCode | None:
    """The exit code of a final state; None while the application is still going."""
    return FINAL_STATES.get(state)


def _status_of(exc: Exception) -> int | None:
    status = getattr(exc, "status", None)
    return status if isinstance(status, int) else None


@dataclass
class Submitter:
    """Creates one SparkApplication and follows it to its end through the API."""

    api: CustomObjects
    namespace: str
    stream: WatchStream
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    log: Callable[[str], None] = field(default=lambda line: print(line, flush=True))
    #: the operator's error message of the last application that ended (None if it gave none)
    message: str | None = None

    def create(self, app: dict[str, Any]) -> str:
        name = str(app["metadata"]["name"])
        try:
            self.api.create_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL, app)
        except Exception as exc:
            raise SubmitterError(f"cannot create {KIND} {name}: {exc}") from exc
        self.log(f"created {KIND} {self.namespace}/{name}")
        return name

    def get(self, name: str) -> dict[str, Any]:
        obj = self.api.get_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL, name)
        return dict(obj)

    def delete(self, name: str) -> None:
        try:
            self.api.delete_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL, name)
            self.log(f"deleted {KIND} {name}")
        except Exception as exc:  # the outcome is already decided; say so and go on
            self.log(f"could not delete {KIND} {name}: {exc}")

    def wait(self, name: str, timeout: float) -> ExitCode:
        """Follow the application until a final state; TIMEOUT after ``timeout`` seconds."""
        deadline = self.clock() + timeout
        last = None
        while (remaining := deadline - self.clock()) > 0:
            # Read the current state first: the run may have ended before a watch began, and a
            # watch that the server closed (or that expired, 410 Gone) resumes from here.
            try:
                obj = self.get(name)
            except Exception as exc:
                if _status_of(exc) == 404:
                    self.log(f"{KIND} {name} was deleted before it finished")
                    return ExitCode.ERROR
                self.log(f"reading {name} failed ({exc}); retrying")
                self.sleep(min(5.0, max(remaining, 0.0)))
                continue
            state = application_state(obj)
            if state != last:
                self.log(f"{name}: {state or 'NEW'}")
                last = state
            if (code := exit_code_for(state)) is not None:
                return self._finish(name, obj, code)
            version = (obj.get("metadata") or {}).get("resourceVersion")
            try:
                for event in self.stream(
                    self.api.list_namespaced_custom_object,
                    group=GROUP,
                    version=VERSION,
                    namespace=self.namespace,
                    plural=PLURAL,
                    field_selector=f"metadata.name={name}",
                    resource_version=version,
                    timeout_seconds=max(1, int(min(remaining, WATCH_CHUNK_SECONDS))),
                ):
                    if event.get("type") == "DELETED":
                        self.log(f"{KIND} {name} was deleted before it finished")
                        return ExitCode.ERROR
                    obj = dict(event.get("object") or {})
                    state = application_state(obj)
                    if state != last:
                        self.log(f"{name}: {state or 'NEW'}")
                        last = state
                    if (code := exit_code_for(state)) is not None:
                        return self._finish(name, obj, code)
                    if self.clock() >= deadline:
                        break
            except Exception as exc:
                self.log(f"watch of {name} ended ({exc}); resuming")
                self.sleep(min(1.0, max(deadline - self.clock(), 0.0)))
        self.log(f"{name} did not finish within {timeout:.0f}s; deleting it")
        self.delete(name)
        return ExitCode.TIMEOUT

    def _finish(self, name: str, obj: dict[str, Any], code: ExitCode) -> ExitCode:
        message = ((obj.get("status") or {}).get("applicationState") or {}).get("errorMessage")
        self.message = str(message) if message else None
        verdict = "completed" if code is ExitCode.COMPLETED else f"ended {code.name}"
        self.log(f"{name} {verdict}" + (f": {message}" if message else ""))
        return code

    def run(self, app: dict[str, Any], timeout: float) -> ExitCode:
        """Create the application and wait for it; the exit code of its outcome."""
        name = self.create(app)
        return self.wait(name, timeout)


def current_namespace(explicit: str | None) -> str:
    """--namespace, else POD_NAMESPACE, else the pod's service account namespace, else default."""
    if explicit:
        return explicit
    if env := os.environ.get("POD_NAMESPACE"):
        return env
    try:
        return SERVICEACCOUNT_NAMESPACE.read_text().strip() or "default"
    except OSError:
        return "default"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m medallion.k8s.submitter",
        description="Create a uniquely named SparkApplication from a template and wait for it.",
    )
    parser.add_argument("--template", type=Path, default=Path(DEFAULT_TEMPLATE))
    parser.add_argument("--namespace", default=None)
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds (default 3600)")
    parser.add_argument("--executors", type=int, default=None, help="override executor.instances")
    parser.add_argument("--kubeconfig", default=None, help="outside a cluster: the kubeconfig")
    return parser.parse_args(argv)


@dataclass(frozen=True)
class Outcome:
    name: str
    code: ExitCode
    message: str | None

    def describe(self) -> str:
        """One line for a log or the run ledger."""
        verdict = "completed" if self.code is ExitCode.COMPLETED else f"ended {self.code.name}"
        return f"{KIND} {self.name} {verdict}" + (f": {self.message}" if self.message else "")


def submit(args: argparse.Namespace) -> Outcome:
    """Create the application of ``args.template`` under a unique name and wait for its end."""
    from kubernetes import client

    from medallion.k8s._client import load_config, watch_stream

    load_config(kubeconfig=args.kubeconfig)
    namespace = current_namespace(args.namespace)
    template = load_template(args.template)
    base = str(template.get("metadata", {}).get("name") or "silver")
    name = unique_name(base, datetime.now(UTC), secrets.token_hex(2))
    app = build_application(
        template,
        name=name,
        namespace=namespace,
        executors=args.executors,
        triggered_by=os.environ.get("MEDALLION_TRIGGERED_BY"),
    )
    submitter = Submitter(api=client.CustomObjectsApi(), namespace=namespace, stream=watch_stream())
    code = submitter.run(app, args.timeout)
    return Outcome(name, code, submitter.message)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: the exit status is the application's outcome (see ExitCode)."""
    try:
        return int(submit(parse_args(argv)).code)
    except SubmitterError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return int(ExitCode.ERROR)


if __name__ == "__main__":
    sys.exit(main())
