"""helm lint and helm template of every chart; the umbrella's objects and their contract."""

from __future__ import annotations

import base64
import json
import re
import ssl
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.charts import Helm, dig

from medallion.k8s.charts import CHARTS, HelmError
from medallion.trino_client import chart_values

Docs = list[dict[str, Any]]
LAYERS = ("bronze", "silver", "gold", "pipeline")
TRINO_SECRETS = {"medallion-trino-auth", "medallion-trino-tls"}


def by_kind(docs: Docs, kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def test_lint_umbrella_per_values_case(
    helm: Helm, case: str, values_file: Callable[[str], tuple[Path, ...]]
) -> None:
    out = helm.lint("medallion", values_file(case))
    assert "1 chart(s) linted, 0 chart(s) failed" in out


@pytest.mark.parametrize("chart", [c for c in CHARTS if c != "medallion"])
def test_lint_subchart(helm: Helm, chart: str) -> None:
    assert "0 chart(s) failed" in helm.lint(chart)


@pytest.mark.parametrize("chart", ["minio", "postgres", "hive-metastore", "trino"])
def test_subchart_renders_alone(helm: Helm, chart: str) -> None:
    docs = helm.template(chart, release="solo")
    kinds = Counter(d["kind"] for d in docs)
    workloads = kinds["Deployment"] + kinds["StatefulSet"]
    assert workloads >= 1, kinds


def test_object_counts(renders: dict[str, Docs]) -> None:
    """The object counts per values case (the report quotes them); fails loudly on a change."""
    counts = {case: len(docs) for case, docs in renders.items()}
    assert counts["default"] == counts["kind"], "kind values must not add or drop objects"
    assert counts["external"] < counts["default"], "external S3/PostgreSQL drops MinIO/PostgreSQL"
    for docs in renders.values():
        names = [(d["kind"], d["metadata"]["name"]) for d in docs]
        assert len(names) == len(set(names)), "duplicate objects"


def test_every_layer_is_a_cronjob_with_the_trigger_contract(docs: Docs) -> None:
    cronjobs = by_kind(docs, "CronJob")
    assert set(cronjobs) == {f"medallion-{layer}" for layer in LAYERS}
    for name, cj in cronjobs.items():
        spec = cj["spec"]
        assert spec["concurrencyPolicy"] == "Forbid", name
        assert spec["startingDeadlineSeconds"] > 0, name
        assert spec["successfulJobsHistoryLimit"] >= 1, name
        assert spec["failedJobsHistoryLimit"] >= 1, name
        job = spec["jobTemplate"]["spec"]
        assert "backoffLimit" in job, name
        assert job["template"]["spec"]["restartPolicy"] == "Never", name


def test_a_refused_layer_run_fails_its_job_without_retries(docs: Docs) -> None:
    """medallion.run.job exits REFUSED when another run holds the layer (medallion.lock)."""
    from medallion.run.job import REFUSED

    for layer in ("bronze", "silver", "gold", "pipeline"):
        job = dig(by_kind(docs, "CronJob")[f"medallion-{layer}"], "spec", "jobTemplate", "spec")
        assert job["podFailurePolicy"]["rules"] == [
            {"action": "FailJob", "onExitCodes": {"operator": "In", "values": [REFUSED]}}
        ], layer


def test_silver_cronjob_runs_the_submitter(docs: Docs) -> None:
    cj = by_kind(docs, "CronJob")["medallion-silver"]
    pod = dig(cj, "spec", "jobTemplate", "spec", "template", "spec")
    (container,) = pod["containers"]
    assert container["command"][:4] == ["python", "-m", "medallion.run.job", "silver"]
    assert pod["serviceAccountName"] == "medallion-submitter"
    template = container["command"][container["command"].index("--template") + 1]
    mount = next(m for m in container["volumeMounts"] if template.startswith(m["mountPath"]))
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    assert volume["configMap"]["name"] in by_kind(docs, "ConfigMap")
    env = {e["name"] for e in container["env"]}
    assert {"TRINO_HOST", "TRINO_PORT", "MEDALLION_PIPELINE_ID"} <= env


def test_silver_executors_follow_silver_replicas(helm: Helm) -> None:
    from tests.charts import embedded_spark_applications

    docs = helm.template(set_values=["silver.replicas=5"])
    (app,) = embedded_spark_applications(docs)
    assert app["spec"]["executor"]["instances"] == 5
    assert app["spec"]["mainApplicationFile"] == "local:///opt/medallion/spark-apps/silver/main.py"
    assert app["spec"]["type"] == "Python"
    assert str(app["spec"]["sparkVersion"]).startswith("4.0.")
    for role in ("driver", "executor"):
        assert app["spec"][role]["javaOptions"] == (
            "-Daws.requestChecksumCalculation=when_required "
            "-Daws.responseChecksumValidation=when_required"
        )


def test_external_case_uses_the_given_endpoints(renders: dict[str, Docs]) -> None:
    docs = renders["external"]
    assert not by_kind(docs, "StatefulSet"), "no bundled MinIO or PostgreSQL"
    trino = by_kind(docs, "Deployment")["medallion-trino-coordinator"]
    (container,) = dig(trino, "spec", "template", "spec", "containers")
    env = {e["name"]: e for e in container["env"]}
    assert env["S3_ENDPOINT"]["value"] == "https://s3.eu-west-1.amazonaws.com"
    assert env["SERVING_DB_HOST"]["value"].endswith(".rds.amazonaws.com")
    assert env["S3_ACCESS_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "lakehouse-s3"
    assert env["SERVING_DB_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "lakehouse-postgres"
    # credentials of external services are never generated; the bundled Trino makes its own
    assert set(by_kind(docs, "Secret")) == TRINO_SECRETS


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (["minio.enabled=false", "global.s3.endpoint=https://s3.example"], "existingSecret"),
        (["minio.enabled=false", "global.s3.existingSecret=s3"], "global.s3.endpoint"),
        (["postgres.enabled=false", "global.postgres.host=db"], "existingSecret"),
        (["trino.enabled=false"], "query.host"),
        (["trino.enabled=false", "query.host=t", "query.port=443"], "query.user"),
        (
            [
                "trino.enabled=false",
                "query.host=t",
                "query.port=443",
                "query.user=u",
                "query.existingSecret=s",
            ],
            "query.caSecret",
        ),
    ],
)
def test_external_endpoint_without_its_settings_fails(
    helm: Helm, settings: list[str], message: str
) -> None:
    with pytest.raises(HelmError, match=message):
        helm.template(set_values=settings)


def test_credentials_only_from_secrets(docs: Docs) -> None:
    """Every credential variable comes from a secretKeyRef, never a literal value (a ``*_FILE``
    variable names a mounted Secret's file: test_chart_hardening checks where it points)."""
    from tests.charts import pod_specs

    for pod in pod_specs(docs):
        for container in pod.all_containers:
            for env in container.get("env") or []:
                name = env["name"]
                if name.endswith("_FILE"):
                    continue
                credential = any(w in name for w in ("PASSWORD", "SECRET", "ACCESS_KEY"))
                if credential or (name.endswith("_USER") and name != "TRINO_USER"):
                    source = env.get("valueFrom") or {}
                    assert "secretKeyRef" in source, f"{pod.where}: {name} must come from a Secret"


def test_default_credentials_are_generated_once_and_kept(renders: dict[str, Docs]) -> None:
    secrets = by_kind(renders["default"], "Secret")
    assert set(secrets) == {
        "medallion-s3-credentials", "medallion-postgres-credentials", *TRINO_SECRETS
    }  # fmt: skip
    for secret in secrets.values():
        assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"


def test_network_policies_default_deny_and_named_flows(docs: Docs) -> None:
    policies = by_kind(docs, "NetworkPolicy")
    deny = policies["medallion-default-deny"]["spec"]
    assert deny["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in deny and "egress" not in deny
    assert deny["podSelector"] == {"matchLabels": {"app.kubernetes.io/instance": "medallion"}}
    for name, policy in policies.items():
        for rule in policy["spec"].get("ingress", []):
            assert rule.get("from"), f"{name}: an ingress rule open to every source"
            for peer in rule["from"]:
                assert "ipBlock" not in peer, f"{name}: ingress from an address range"
        for rule in policy["spec"].get("egress", []):
            if not rule.get("ports"):
                # Spark's driver and executors use several ports among themselves (RPC, block
                # manager): the only rule allowed without ports, and only towards Spark pods.
                assert name == "medallion-spark", f"{name}: an egress rule open on every port"
                spark_only = [
                    {"key": "app.kubernetes.io/component", "operator": "In", "values": ["spark"]}
                ]
                assert all(
                    dig(peer, "podSelector", "matchExpressions") == spark_only
                    for peer in rule["to"]
                ), rule
            if not rule.get("to"):
                assert name == "medallion-dbt", f"{name}: egress to every destination"
    covered = {
        (dig(p, "spec", "podSelector", "matchLabels") or {}).get("app.kubernetes.io/name")
        for p in policies.values()
    }
    assert {"trino", "hive-metastore", "medallion"} <= covered


def test_only_api_users_get_a_token(docs: Docs) -> None:
    """ServiceAccount tokens are mounted only into the submitter and Spark driver pods."""
    from tests.charts import pod_specs

    with_token = set()
    for pod in pod_specs(docs):
        if pod.spec.get("automountServiceAccountToken", True):
            with_token.add(pod.spec.get("serviceAccountName") or pod.spec.get("serviceAccount"))
    assert with_token <= {"medallion-submitter", None}, with_token


def test_layer_containers_know_where_their_dependencies_are(renders: dict[str, Docs]) -> None:
    """Their errors about a dead S3, metastore or PostgreSQL name its address
    (medallion.dependencies); they reach them through Trino and get their addresses only."""
    docs = renders["external"]
    for layer in ("bronze", "gold"):
        cj = by_kind(docs, "CronJob")[f"medallion-{layer}"]
        spec = dig(cj, "spec", "jobTemplate", "spec", "template", "spec")
        (container,) = [c for c in spec["containers"] if c["name"] == layer]
        env = {e["name"]: e for e in container["env"]}
        assert env["S3_ENDPOINT"]["value"] == "https://s3.eu-west-1.amazonaws.com", layer
        assert env["SERVING_DB_HOST"]["value"].endswith(".rds.amazonaws.com"), layer
        assert env["HIVE_METASTORE_URI"]["value"].startswith("thrift://"), layer
        assert not {"S3_ACCESS_KEY", "S3_SECRET_KEY", "SERVING_DB_PASSWORD"} & set(env), layer


# --- Trino: password logins over TLS, file-based access control ---------------------------------


def secret_data(docs: Docs, name: str) -> dict[str, str]:
    secret = by_kind(docs, "Secret")[name]
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


def test_trino_auth_secret_holds_a_password_per_user_and_their_hashes(docs: Docs) -> None:
    users = chart_values()["auth"]["users"]
    data = secret_data(docs, "medallion-trino-auth")
    assert set(data) == {*users, "shared-secret", "password.db"}
    assert all(len(data[user]) >= 16 for user in users)
    assert len(data["shared-secret"]) >= 32
    lines = data["password.db"].splitlines()
    assert [line.split(":", 1)[0] for line in lines] == users
    for line in lines:  # Trino's file authenticator: bcrypt ($2a$/$2y$) of cost 8 or more
        assert re.fullmatch(r"\w+:\$2[ay]\$(\d\d)\$[./A-Za-z0-9]{53}", line), line
        assert int(line.split("$")[2]) >= 8


def _handshake(server: ssl.SSLContext, client: ssl.SSLContext, hostname: str) -> None:
    """A TLS handshake in memory; the client raises if it does not trust the server for
    ``hostname``."""
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    c = client.wrap_bio(c_in, c_out, server_hostname=hostname)
    s = server.wrap_bio(s_in, s_out, server_side=True)
    done = {"c": False, "s": False}
    for _ in range(20):
        for key, side in (("c", c), ("s", s)):
            if not done[key]:
                try:
                    side.do_handshake()
                    done[key] = True
                except ssl.SSLWantReadError:
                    pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if all(done.values()):
            return
    raise AssertionError(f"no handshake for {hostname}")


def test_trino_tls_secret_is_trusted_for_the_service_names_and_loopback(
    renders: dict[str, Docs], tmp_path: Path
) -> None:
    data = secret_data(renders["default"], "medallion-trino-tls")
    assert set(data) == {"ca.crt", "tls.crt", "tls.key", "keystore.pem"}
    # Trino's PEM keystore: the key, then the certificate
    assert data["keystore.pem"] == data["tls.key"] + data["tls.crt"]
    for name in ("ca.crt", "keystore.pem"):
        (tmp_path / name).write_text(data[name])
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(tmp_path / "keystore.pem")
    client = ssl.create_default_context(cafile=str(tmp_path / "ca.crt"))
    service = "medallion-trino"
    for host in (service, f"{service}.medallion", f"{service}.medallion.svc",
                 f"{service}.medallion.svc.cluster.local", "localhost", "127.0.0.1"):  # fmt: skip
        _handshake(server, client, host)
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(server, client, "elsewhere.example")


def _coordinator(docs: Docs) -> tuple[dict[str, Any], dict[str, Any]]:
    deployment = by_kind(docs, "Deployment")["medallion-trino-coordinator"]
    spec = dig(deployment, "spec", "template", "spec")
    (container,) = spec["containers"]
    return spec, container


def _projected(spec: dict[str, Any]) -> dict[str, str]:
    """The etc volume's files (path under /etc/trino -> ConfigMap/Secret name and key)."""
    (etc,) = [v for v in spec["volumes"] if v["name"] == "etc"]
    files = {}
    for source in etc["projected"]["sources"]:
        for kind in ("configMap", "secret"):
            if kind in source:
                for item in source[kind].get("items") or []:
                    files[item["path"]] = f"{kind}/{source[kind]['name']}/{item['key']}"
    return files


def test_trino_coordinator_logs_clients_in_over_https_with_the_rules(docs: Docs) -> None:
    https = chart_values()["httpsPort"]
    config = by_kind(docs, "ConfigMap")["medallion-trino-coordinator"]["data"]
    lines = set(config["config.properties"].splitlines())
    assert {
        "http-server.authentication.type=PASSWORD",
        "http-server.https.enabled=true",
        f"http-server.https.port={https}",
        "http-server.https.keystore.path=/etc/trino/tls/keystore.pem",
        "internal-communication.shared-secret=${ENV:TRINO_SHARED_SECRET}",
    } <= lines
    assert config["password-authenticator.properties"].splitlines() == [
        "password-authenticator.name=file",
        "file.password-file=/etc/trino/auth/password.db",
    ]
    assert config["access-control.properties"].splitlines() == [
        "access-control.name=file",
        "security.config-file=/etc/trino/rules.json",
    ]
    spec, container = _coordinator(docs)
    # only the files the coordinator needs, straight from their Secrets, group-readable only
    files = _projected(spec)
    assert files["auth/password.db"] == "secret/medallion-trino-auth/password.db"
    assert files["tls/keystore.pem"] == "secret/medallion-trino-tls/keystore.pem"
    (etc,) = [v for v in spec["volumes"] if v["name"] == "etc"]
    for source in etc["projected"]["sources"]:
        for item in (source.get("secret") or {}).get("items") or []:
            assert item["mode"] == 0o440, item
    assert {"name": "https", "containerPort": https, "protocol": "TCP"} in container["ports"]
    service = by_kind(docs, "Service")["medallion-trino"]
    assert {"name": "https", "port": https, "targetPort": "https", "protocol": "TCP"} in service[
        "spec"
    ]["ports"]


def test_trino_nodes_sign_with_the_shared_secret_from_the_auth_secret(docs: Docs) -> None:
    for role in ("coordinator", "worker"):
        config = by_kind(docs, "ConfigMap")[f"medallion-trino-{role}"]["data"]
        assert (
            "internal-communication.shared-secret=${ENV:TRINO_SHARED_SECRET}"
            in config["config.properties"].splitlines()
        ), role
        deployment = by_kind(docs, "Deployment")[f"medallion-trino-{role}"]
        (container,) = dig(deployment, "spec", "template", "spec", "containers")
        env = {e["name"]: e for e in container["env"]}
        assert env["TRINO_SHARED_SECRET"]["valueFrom"]["secretKeyRef"] == {
            "name": "medallion-trino-auth", "key": "shared-secret"
        }, role  # fmt: skip
    # the workers get neither the password file nor the keystore
    worker = by_kind(docs, "Deployment")["medallion-trino-worker"]
    assert set(_projected(dig(worker, "spec", "template", "spec"))) == {
        f"catalog/{name}" for name in ("iceberg.properties", "landing.properties",
                                       "serving.properties")
    }  # fmt: skip


def test_every_trino_client_logs_in_with_its_password_and_the_ca(docs: Docs) -> None:
    """Every container that talks to Trino (the layer jobs, the submitter's ledger row, the helm
    test) goes to the HTTPS port as the pipeline's user, with the password from the auth Secret
    and the CA mounted from the TLS Secret (that key alone)."""
    from tests.charts import pod_specs

    values = chart_values()
    clients = 0
    for pod in pod_specs(docs):
        volumes = {v["name"]: v for v in pod.spec.get("volumes") or []}
        for c in pod.all_containers:
            env = {e["name"]: e for e in c.get("env") or []}
            if "TRINO_HOST" not in env:
                continue
            clients += 1
            at = f"{pod.where} {c['name']}"
            assert env["TRINO_PORT"]["value"] == str(values["httpsPort"]), at
            assert env["TRINO_HTTP_SCHEME"]["value"] == "https", at
            assert env["TRINO_USER"]["value"] == values["auth"]["pipelineUser"], at
            assert env["TRINO_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
                "name": "medallion-trino-auth", "key": values["auth"]["pipelineUser"]
            }, at  # fmt: skip
            ca_file = Path(env["TRINO_CA_FILE"]["value"])
            (mount,) = [m for m in c["volumeMounts"] if m["mountPath"] == str(ca_file.parent)]
            assert mount["readOnly"] is True, at
            secret = volumes[mount["name"]]["secret"]
            assert secret["secretName"] == "medallion-trino-tls", at
            assert secret["items"] == [{"key": "ca.crt", "path": ca_file.name}], at
    # bronze, silver, gold; the pipeline's three; the helm test
    assert clients == 7


def test_trino_network_policy_opens_https_to_clients_and_http_to_nodes(docs: Docs) -> None:
    values = chart_values()
    policy = by_kind(docs, "NetworkPolicy")["medallion-trino"]["spec"]
    ports = {
        json.dumps(peer, sort_keys=True): [p["port"] for p in rule["ports"]]
        for rule in policy["ingress"]
        for peer in rule["from"]
    }
    trino_peer = json.dumps(
        {"podSelector": {"matchLabels": {"app.kubernetes.io/instance": "medallion",
                                         "app.kubernetes.io/name": "trino"}}},
        sort_keys=True,
    )  # fmt: skip
    assert ports.pop(trino_peer) == [values["port"]]
    assert ports and all(p == [values["httpsPort"]] for p in ports.values()), ports
    for name in ("medallion-dbt", "medallion-submitter"):
        egress = by_kind(docs, "NetworkPolicy")[name]["spec"]["egress"]
        to_trino = [r for r in egress if "trino" in json.dumps(r.get("to", []))]
        assert [[p["port"] for p in r["ports"]] for r in to_trino] == [[values["httpsPort"]]]
