"""The few untyped entry points of the ``kubernetes`` package, typed once for the rest of k8s/."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

WatchStream = Callable[..., Iterable[dict[str, Any]]]


def load_config(kubeconfig: str | None = None, context: str | None = None) -> bool:
    """In-cluster config when running in a pod (and no file or context is asked for), else the
    kubeconfig; True when in-cluster. Raises kubernetes.config.ConfigException when neither works.
    """
    from kubernetes import config

    if kubeconfig is None and context is None:
        try:
            config.load_incluster_config()  # type: ignore[no-untyped-call]
            return True
        except config.ConfigException:
            pass
    config.load_kube_config(config_file=kubeconfig, context=context)  # type: ignore[no-untyped-call]
    return False


def context_namespace(kubeconfig: str | None, context: str | None) -> str:
    """The namespace set on the chosen (or active) kubeconfig context, else "default"."""
    from kubernetes import config

    contexts, active = config.list_kube_config_contexts(config_file=kubeconfig)  # type: ignore[no-untyped-call]
    chosen = next((c for c in contexts if c["name"] == context), active) if context else active
    return str(((chosen or {}).get("context") or {}).get("namespace") or "default")


def watch_stream() -> WatchStream:
    """A fresh ``Watch().stream`` (one Watch per follow, as the client expects)."""
    from kubernetes import watch

    stream: WatchStream = watch.Watch().stream  # type: ignore[no-untyped-call]
    return stream
