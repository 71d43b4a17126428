"""Config parity: the pods mount the very files the embedded stack reads (same bytes), at the
paths the programs read them from, with every placeholder variable set in the pod."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.charts import PodSpec, dig, pod_specs

from medallion.paths import charts_file
from medallion.stack.config import StackConfig

Docs = list[dict[str, Any]]

# (ConfigMap, key) -> the shared file it must equal byte for byte.
CATALOG = ("trino", "files", "catalog")
SHARED = {
    ("medallion-trino-catalog", "iceberg.properties"): (*CATALOG, "iceberg.properties"),
    ("medallion-trino-catalog", "landing.properties"): (*CATALOG, "landing.properties"),
    ("medallion-trino-catalog", "serving.properties"): (*CATALOG, "serving.properties"),
    ("medallion-hive-metastore", "metastore-site.xml"): (
        "hive-metastore", "files", "metastore-site.xml",
    ),
    ("medallion-spark-conf", "spark-defaults.conf"): (
        "medallion", "files", "spark", "spark-defaults.conf",
    ),
    ("medallion-dbt-profiles", "profiles.yml"): ("medallion", "files", "dbt", "profiles.yml"),
    ("medallion-trino-coordinator", "rules.json"): (
        "trino", "files", "access-control", "rules.json",
    ),
}  # fmt: skip
PLACEHOLDERS = [
    re.compile(r"\$\{ENV:(\w+)\}"),  # Trino
    re.compile(r"\$\{env\.(\w+)\}"),  # Hadoop XML
    re.compile(r"\$\{env:(\w+)\}"),  # medallion's Spark conf loader
    re.compile(r"env_var\('(\w+)'\)"),  # dbt, without a default
]
# Variables a file reads with a default (dbt env_var('X', 'default')) need not be set.
OPTIONAL = re.compile(r"env_var\('(\w+)',")


def configmaps(docs: Docs) -> dict[str, dict[str, str]]:
    return {d["metadata"]["name"]: d.get("data") or {} for d in docs if d["kind"] == "ConfigMap"}


def needed_variables(text: str) -> set[str]:
    """The variables a config file reads (comments left out)."""
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    names = {m for pattern in PLACEHOLDERS for m in pattern.findall(text)}
    return names - set(OPTIONAL.findall(text))


@pytest.mark.parametrize("item", sorted(SHARED), ids=lambda i: f"{i[0]}:{i[1]}")
def test_rendered_config_is_the_shared_file(
    renders: dict[str, Docs], item: tuple[str, str]
) -> None:
    expected = charts_file(*SHARED[item]).read_bytes()
    for case in ("default", "kind", "external"):
        data = configmaps(renders[case])
        assert item[0] in data, f"{case}: ConfigMap {item[0]} missing"
        assert data[item[0]][item[1]].encode() == expected, f"{case}: {item} differs"


def test_trino_jvm_config_is_the_shared_file_plus_the_heap(renders: dict[str, Docs]) -> None:
    shared = charts_file("trino", "files", "jvm.config").read_bytes()
    data = configmaps(renders["default"])
    for role in ("coordinator", "worker"):
        rendered = data[f"medallion-trino-{role}"]["jvm.config"].encode()
        assert rendered.startswith(shared)
        rest = rendered[len(shared) :].decode()
        assert re.fullmatch(r"\n?-Xmx\d+[KMG]\n", rest), rest


def property_keys(text: str) -> list[str]:
    lines = [line.strip() for line in text.splitlines()]
    return [line.split("=", 1)[0] for line in lines if line and not line.startswith("#")]


def test_trino_server_config_is_the_shared_files_plus_the_nodes_own_lines(
    renders: dict[str, Docs], tmp_path: Path
) -> None:
    from medallion.artifacts import layout
    from medallion.stack.engines.trino import Trino

    def server(name: str) -> str:
        return charts_file("trino", "files", "server", name).read_text()

    common, coordinator = server("common.properties"), server("coordinator.properties")
    trino = Trino(StackConfig(home=tmp_path), layout())
    trino.prepare()
    data = configmaps(renders["default"])
    configs = {
        "coordinator pod": (data["medallion-trino-coordinator"], common + coordinator),
        "worker pod": (data["medallion-trino-worker"], common),
        "embedded stack": (
            {f: (trino.etc / f).read_text() for f in ("config.properties", "log.properties")},
            common + coordinator,
        ),
    }
    for where, (files, head) in configs.items():
        config = files["config.properties"]
        assert config.startswith(head), where
        keys = property_keys(config)
        # a key set both in a shared file and by the runtime would be ambiguous
        assert len(keys) == len(set(keys)), where
        assert ("coordinator" in property_keys(head)) != (where == "worker pod"), where
        assert files["log.properties"] == server("log.properties"), where


def env_names(container: dict[str, Any]) -> set[str]:
    return {e["name"] for e in container.get("env") or []}


def mounts_of(pod: PodSpec, configmap: str) -> list[tuple[dict[str, Any], str]]:
    """(container, mount path of the ConfigMap's volume) for every container mounting it."""
    volumes = set()
    for volume in pod.spec.get("volumes") or []:
        names = [dig(volume, "configMap", "name")]
        names += [dig(s, "configMap", "name") for s in dig(volume, "projected", "sources") or []]
        if configmap in names:
            volumes.add(volume["name"])
    return [
        (c, m["mountPath"])
        for c in pod.all_containers
        for m in c.get("volumeMounts") or []
        if m["name"] in volumes
    ]


# Where the programs read each file (the images' layouts and the apps' defaults).
READ_AT = {
    "medallion-trino-catalog": {"/etc/trino"},
    "medallion-hive-metastore": {"/opt/hive/conf/metastore-site.xml"},
    "medallion-spark-conf": {"/opt/medallion/conf"},
    "medallion-dbt-profiles": {"/opt/medallion/profiles"},
}


def strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for value in node.values() for s in strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in strings(value)]
    return [node] if isinstance(node, str) else []


def profile_variables(text: str, target: str) -> set[str]:
    """What dbt needs of profiles.yml: it renders only the selected output (DBT_TARGET), so a
    Spark pod needs none of the Trino output's variables (its password above all)."""
    profile = yaml.safe_load(text)["medallion"]
    selected = [profile["target"], *strings(profile["outputs"][target])]
    return needed_variables("\n".join(selected))


def test_each_dbt_target_needs_only_its_own_variables() -> None:
    text = charts_file("medallion", "files", "dbt", "profiles.yml").read_text()
    trino = profile_variables(text, "trino")
    assert {"TRINO_HOST", "TRINO_PORT", "TRINO_USER", "TRINO_PASSWORD", "TRINO_CA_FILE"} <= trino
    assert not {name for name in profile_variables(text, "spark") if name.startswith("TRINO_")}


def container_needs(configmap: str, files: dict[str, str], container: dict[str, Any]) -> set[str]:
    if configmap == "medallion-dbt-profiles":
        env = {e["name"]: e.get("value") for e in container.get("env") or []}
        return profile_variables(files["profiles.yml"], env.get("DBT_TARGET") or "trino")
    return set().union(*(needed_variables(text) for text in files.values()))


@pytest.mark.parametrize("configmap", sorted(READ_AT))
def test_pods_mount_the_files_where_they_are_read_and_set_their_variables(
    docs: Docs, configmap: str
) -> None:
    files = {key: text for (cm, key), text in _texts(docs).items() if cm == configmap}
    mounted_somewhere = False
    for pod in pod_specs(docs):
        for container, path in mounts_of(pod, configmap):
            mounted_somewhere = True
            assert path in READ_AT[configmap], f"{pod.where} mounts {configmap} at {path}"
            missing = container_needs(configmap, files, container) - env_names(container)
            assert not missing, f"{pod.where} {container['name']}: {sorted(missing)} not set"
    assert mounted_somewhere, f"nothing mounts {configmap}"


def _texts(docs: Docs) -> dict[tuple[str, str], str]:
    return {
        (name, key): text
        for name, data in configmaps(docs).items()
        for key, text in data.items()
        if (name, key) in SHARED
    }


def test_the_env_names_are_the_embedded_stacks(tmp_path: Path) -> None:
    """The placeholder names in the shared files are variables the embedded stack sets (its
    StackConfig.env(), the env contract's values outside pods)."""
    stack = set(StackConfig(home=tmp_path).env())
    found: set[str] = set()
    for parts in SHARED.values():
        found |= needed_variables(Path(charts_file(*parts)).read_text())
    assert found, "no placeholder found: has the syntax changed?"
    assert found <= stack, found - stack


def test_silver_pods_read_the_spark_conf_from_the_apps_default(docs: Docs) -> None:
    for pod in pod_specs(docs):
        if pod.kind not in ("SparkApplication", "ScheduledSparkApplication"):
            continue
        for container in pod.containers:
            env = {e["name"]: e.get("value") for e in container.get("env") or []}
            assert env["MEDALLION_SPARK_CONF"] == "/opt/medallion/conf/spark-defaults.conf"
            assert env["DBT_PROFILES_DIR"] == "/opt/medallion/profiles"
