"""One home per fact. Every pinned version is written in src/medallion/versions.toml and nowhere
else that a person edits: the images get it as a build arg, the charts' appVersions are checked
equal to it here, the prose says "the pinned version" or is generated from the chart. The
environment the engines read is written once, in the env contract (charts/common/env.yaml): the
embedded stack fills it (``StackConfig.env()``), the charts' env helpers are generated from it."""

from __future__ import annotations

import ast
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from medallion import env_contract
from medallion.paths import project_dir
from medallion.stack.config import StackConfig

ROOT = project_dir()
VERSIONS_FILE = "src/medallion/versions.toml"
VERSIONS: dict[str, Any] = tomllib.loads((ROOT / VERSIONS_FILE).read_text())

# Values too short to search for alone (they match ports, addresses and other packages'
# versions) are searched after their name ("Spark 9.9", "postgresql-99"); their uses are checked
# where they are read too: spark and scala by tests/k8s/test_images.py (pyspark's pin, the image's
# build args), postgres by the chart's appVersion below.
NAMED = {"spark": r"(?:py)?spark", "scala": "scala", "postgres": "postgres(?:ql)?"}

# The chart whose appVersion is the pinned version (the images' tags follow it).
APP_VERSIONS = {
    "trino": "trino",
    "hive_metastore": "hive-metastore",
    "postgres": "postgres",
    "minio": "minio",
}

# Files that may carry a pinned version besides its home, and why. Keep this short: prefer
# taking the number out of the prose.
ALLOWED = {
    VERSIONS_FILE: "the home",
    "src/medallion/artifacts.lock.json": "the artifacts' checksums, keyed by their Maven paths "
    "(written by `medallion setup --update-lock` for the versions versions.toml pins)",
    "manifests/crds/spark-operator/source.toml": "written by `medallion k8s vendor-crds`; "
    "tests/k8s/test_operator_crds.py checks its version against versions.toml",
}
# Generated files: helm-docs writes each chart's README.md from its README.md.gotmpl (searched
# here) and Chart.yaml; tests/k8s/test_chart_docs.py checks they are what helm-docs writes.
GENERATED = re.compile(r"charts/[^/]+/README\.md")
# Lines that hold the same digits for another reason.
OTHER_FACTS = {
    "scripts/deps/metastore/pom.xml": re.compile(r"POM/4\.0\.0|<modelVersion>4\.0\.0<"),
}


def pattern(value: str) -> re.Pattern[str]:
    """The value as a whole token (``987`` but not ``1987`` or ``987.1``); a ``v9.8.7`` value
    is found with or without its ``v``, but not as a Python pin (``pkg==9.8.7``)."""
    core = re.escape(value.removeprefix("v"))
    prefix = "v?" if value.startswith("v") else ""
    return re.compile(rf"(?<![\w.=]){prefix}{core}(?!\w|\.\d)")


def named_pattern(name: str, value: str) -> re.Pattern[str]:
    """The value right after its name: ``Spark 9.9``, ``postgresql-99``, not ``spark-x-9.9``."""
    return re.compile(rf"(?i)(?<!\w){name}[ -]?v?{re.escape(value)}(?!\w|\.\d)")


SEARCHED = {
    key: named_pattern(NAMED[key], str(value)) if key in NAMED else pattern(str(value))
    for key, value in VERSIONS.items()
}


def tracked_texts() -> dict[str, str]:
    """Every tracked text file (binary files left out)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    texts = {}
    for name in filter(None, listed.split("\0")):
        path = ROOT / name
        if not path.is_file():
            continue  # deleted in the working tree
        data = path.read_bytes()
        if b"\0" not in data:
            texts[name] = data.decode(errors="replace")
    return texts


def app_version(chart: str) -> str:
    meta = yaml.safe_load((ROOT / "charts" / chart / "Chart.yaml").read_text())
    return str(meta["appVersion"])


def outside_home(name: str, text: str) -> list[str]:
    """'file:line: key' for each pinned version written in a file that is not its home."""
    if name in ALLOWED or GENERATED.fullmatch(name):
        return []
    # Most files hold none: a plain substring test first keeps this fast.
    keys = [
        key
        for key, regex in SEARCHED.items()
        if str(VERSIONS[key]).removeprefix("v") in text and regex.search(text)
    ]
    found = []
    other = OTHER_FACTS.get(name)
    for number, line in enumerate(text.splitlines(), start=1):
        if re.fullmatch(r"charts/[^/]+/Chart\.yaml", name) and line.startswith("appVersion:"):
            continue  # checked equal to versions.toml below
        searched = other.sub("", line) if other else line
        for key in keys:
            if SEARCHED[key].search(searched):
                found.append(f"{name}:{number}: {key} = {VERSIONS[key]!r}")
    return found


def test_versions_are_written_only_in_versions_toml() -> None:
    found = [hit for name, text in tracked_texts().items() for hit in outside_home(name, text)]
    assert not found, (
        "a pinned version is written outside src/medallion/versions.toml; read it from there "
        "(a build arg, the chart's appVersion) or say 'the pinned version':\n" + "\n".join(found)
    )


@pytest.mark.parametrize("key", sorted(APP_VERSIONS))
def test_charts_app_version_is_the_pinned_one(key: str) -> None:
    assert app_version(APP_VERSIONS[key]) == str(VERSIONS[key])


def test_allowed_files_exist_and_need_their_place() -> None:
    """An allowance whose file is gone or no longer holds a version is removed."""
    texts = tracked_texts()
    for name in set(ALLOWED) - {VERSIONS_FILE}:
        assert name in texts, f"{name}: not tracked; drop it from ALLOWED"
        assert any(r.search(texts[name]) for r in SEARCHED.values()), f"{name}: drop from ALLOWED"


def test_the_search_finds_what_it_should() -> None:
    # Made-up versions: this file is searched too.
    engine = pattern("987")
    assert engine.search("Engine 987") and engine.search("engine-server-987.tar.gz")
    assert not engine.search("19870") and not engine.search("987.5") and not engine.search("a987b")
    three = pattern("9.0.0")
    assert three.search("Hive 9.0.0,") and not three.search("10.249.0.0/24")
    tool = pattern("v9.87.6")
    assert tool.search("Tool v9.87.6") and tool.search("Tool 9.87.6")
    assert not tool.search("somepackage==9.87.6")
    assert not tool.search("v9.87.61") and not tool.search("v9.87.6.1")
    spark = named_pattern(NAMED["spark"], "9.9")
    assert spark.search("Spark 9.9 on JDK 17") and spark.search("pyspark 9.9 as SPARK_HOME")
    assert not spark.search("iceberg-spark-runtime-9.9_2.13") and not spark.search("Spark 9.9.1")
    postgres = named_pattern(NAMED["postgres"], "99")
    assert postgres.search("Debian's postgresql-99") and not postgres.search("postgres:5499")


# The env-var contract (charts/common/env.yaml). Variables a chart sets that are not the
# contract's: each container's own settings (dbt's, the launcher's...), not shared config.
CHART_ONLY = {
    "SERVICE_OPTS": "the metastore launcher's JVM flags (the stack's metastore engine sets them "
    "for its own process only)",
}


def helper_bodies() -> dict[str, str]:
    """Each named template of the charts: its body up to the next definition."""
    bodies = {}
    for path in sorted((ROOT / "charts").glob("*/templates/_*.tpl")):
        parts = re.split(r'\{\{-? define "([^"]+)" -?\}\}', path.read_text())
        for name, body in zip(parts[1::2], parts[2::2], strict=True):
            bodies[name] = body
    return bodies


def helper_env_names(name: str, bodies: dict[str, str]) -> set[str]:
    """The variables a helper sets, with those of the helpers it includes."""
    body = bodies[name]
    names = set(re.findall(r"^\s*- name: ([A-Z][A-Z0-9_]*)\s*$", body, flags=re.M))
    for included in re.findall(r'include "([^"]+)"', body):
        names |= helper_env_names(included, bodies)
    return names


def test_the_stack_sets_the_contracts_variables(tmp_path: Path) -> None:
    """StackConfig.env() fills every format string of the contract (a placeholder it does not
    provide fails here) and sets nothing else."""
    cfg = StackConfig(home=tmp_path)
    env = cfg.env()
    assert set(env) == {v.name for v in env_contract.variables() if v.stack is not None}
    assert env["S3_ENDPOINT"] == f"http://127.0.0.1:{cfg.ports['s3']}"
    assert env["S3_BUCKET"] == env_contract.global_defaults()["s3"]["bucket"]


def test_the_charts_env_helpers_are_the_contracts_groups() -> None:
    """Each group with pod values is a generated helper that sets exactly its variables, and
    every one is used by a chart."""
    bodies = helper_bodies()
    templates = "\n".join(
        p.read_text()
        for p in (ROOT / "charts").glob("*/templates/**/*")
        if p.is_file() and p.name != "_env.tpl"
    )
    for group in env_contract.groups():
        in_pods = {v.name for v in env_contract.variables() if v.group == group and v.chart}
        if not in_pods:
            continue
        helper = f"common.env.{group}"
        assert helper_env_names(helper, bodies) == in_pods, helper
        assert f'include "{helper}"' in templates, f"{helper} is used by no chart"


def test_no_chart_writes_a_contract_variable_by_hand() -> None:
    """The contract's variables reach pods only through the generated helpers."""
    contract = {v.name for v in env_contract.variables()}
    by_hand = {
        name: sorted(paths)
        for name, paths in chart_set_variables(exclude="_env.tpl").items()
        if name in contract
    }
    assert not by_hand, f"set outside charts/common/templates/_env.tpl: {by_hand}"


def test_the_contract_covers_what_the_charts_set_for_shared_config() -> None:
    """Every variable the shared config files expand is the contract's (tests/k8s checks that
    each pod sets those its files need); what else the charts set is a container's own."""
    helpers = ("trino.env", "hive-metastore.env")
    bodies = helper_bodies()
    set_by_helpers = set().union(*(helper_env_names(h, bodies) for h in helpers))
    contract = {v.name for v in env_contract.variables()}
    assert set_by_helpers - contract == set(CHART_ONLY)


# Python that writes a contract variable itself, and why (it overrides a value the contract
# filled; it never adds a name).
PYTHON_OVERRIDES = {
    ("src/medallion/cli.py", "TRINO_USER"): "`medallion query --user` logs in as another user",
    ("src/medallion/cli.py", "TRINO_PASSWORD"): "that user's password",
}


def python_writes(path: Path, names: set[str]) -> set[str]:
    """The contract variables a module writes: dict keys, item assignments, keyword names."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        keys: list[object]
        if isinstance(node, ast.Dict):
            keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store):
            keys = [node.slice.value] if isinstance(node.slice, ast.Constant) else []
        elif isinstance(node, ast.keyword):
            keys = [node.arg]
        else:
            continue
        found |= {k for k in keys if isinstance(k, str) and k in names}
    return found


def test_no_python_writes_a_contract_variable_by_hand() -> None:
    """medallion's code fills the contract (env_contract.environment) and reads its variables;
    it sets none of them itself but for the overrides listed above."""
    names = {v.name for v in env_contract.variables()}
    written = {
        (str(path.relative_to(ROOT)), name)
        for pattern in ("src/**/*.py", "spark-apps/**/*.py", "scripts/**/*.py")
        for path in sorted(ROOT.glob(pattern))
        for name in python_writes(path, names)
    }
    assert written == set(PYTHON_OVERRIDES), written ^ set(PYTHON_OVERRIDES)


def test_the_release_access_env_is_the_contracts() -> None:
    """medallion.k8s.access hands a workstation the release's services under the contract's
    names: it fills the contract (and, above, writes no variable itself)."""
    source = (ROOT / "src" / "medallion" / "k8s" / "access.py").read_text()
    assert "env_contract.environment(" in source


# Variables a chart sets for a program that reads them itself (not medallion's code or files).
READ_BY_THE_PROGRAM = {
    "MINIO_BROWSER": "the MinIO server",
    "MINIO_REGION": "the MinIO server",
    "MINIO_ROOT_USER": "the MinIO server",
    "MINIO_ROOT_PASSWORD_FILE": "the MinIO server",
    "AWS_ACCESS_KEY_ID": "the AWS SDK's default credential chain (the metastore's S3 clients)",
    "AWS_SECRET_ACCESS_KEY": "the AWS SDK's default credential chain",
}
# Where medallion reads its variables: its code, the dbt project, the shared config files, the
# images' scripts.
READERS = ("src/**/*.py", "spark-apps/**/*.py", "dbt/**/*.sql", "dbt/**/*.yml",
           "charts/*/files/**/*", "images/**/*")  # fmt: skip


def chart_set_variables(exclude: str = "") -> dict[str, set[str]]:
    """Every variable a chart's template sets in a container (name -> templates), but in the
    template named ``exclude``."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "charts").glob("*/templates/**/*")):
        if path.is_file() and path.name != exclude:
            for name in re.findall(r"^\s*- name: ([A-Z][A-Z0-9_]*)\s*$", path.read_text(), re.M):
                found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_variable_a_chart_sets_has_a_reader() -> None:
    """A variable set in a pod that nothing reads is a contract nobody keeps (it stays set after
    its reader changed, and misleads the next reader of the chart)."""
    text = "\n".join(
        path.read_text(errors="replace")
        for pattern in READERS
        for path in ROOT.glob(pattern)
        if path.is_file()
    )
    unread = {
        name: sorted(templates)
        for name, templates in chart_set_variables().items()
        if name not in READ_BY_THE_PROGRAM
        and not re.search(rf"(?<![A-Za-z0-9_]){name}(?![A-Za-z0-9_])", text)
    }
    assert not unread, f"set by the charts, read by nothing: {unread}"
    assert set(READ_BY_THE_PROGRAM) <= set(chart_set_variables()), "stale READ_BY_THE_PROGRAM"
    # the parsing sees the SparkApplications' and the layer Jobs' variables too
    assert {"MEDALLION_SPARK_CONF", "MEDALLION_PIPELINE_ID", "DBT_TARGET"} <= set(
        chart_set_variables()
    )


def test_the_table_of_landed_files_is_the_dbt_sources() -> None:
    """The loader writes ``medallion.landed.TABLE``; bronze's lookup and the freshness check read
    it as the dbt source ``audit.landed_files`` (Jinja cannot import the Python name)."""
    from medallion import landed

    sources = yaml.safe_load((ROOT / "dbt/models/bronze/_sources.yml").read_text())["sources"]
    audit = next(s for s in sources if s["name"] == "audit")
    catalog, schema, table = landed.TABLE.split(".")
    assert f"'{catalog}' if target.type == 'trino'" in audit["database"]
    assert (audit["schema"], [t["name"] for t in audit["tables"]]) == (schema, [table])
