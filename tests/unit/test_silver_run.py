"""The silver and maintenance applications' plumbing, without Spark: arguments, the dbt command,
summaries, and the command of the stack's Spark that ``medallion.run.silver`` runs them on."""

from __future__ import annotations

import importlib.util
import json
import stat
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from medallion import sparkconf
from medallion.paths import project_dir
from medallion.run import silver
from medallion.run.dbt import dbt_args
from medallion.selection import SelectionError
from medallion.spark import write_properties


def load_app(name: str) -> ModuleType:
    path = project_dir() / "spark-apps" / name / "main.py"
    spec = importlib.util.spec_from_file_location(f"spark_app_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def silver_app() -> ModuleType:
    return load_app("silver")


@pytest.fixture(scope="module")
def maintenance_app() -> ModuleType:
    return load_app("maintenance")


def test_silver_defaults_are_the_image_layout(silver_app: ModuleType) -> None:
    args = silver_app.parse_args([], {})
    assert args.conf == "/opt/medallion/conf/spark-defaults.conf"
    assert args.project_dir == "/opt/medallion/dbt"
    assert args.target == "spark" and args.summary is None
    cmd = silver_app.dbt_command(args)
    assert cmd[:5] == ["build", "--project-dir", "/opt/medallion/dbt", "--target", "spark"]
    assert "--profiles-dir" not in cmd  # dbt reads DBT_PROFILES_DIR itself
    assert cmd[cmd.index("--selector") + 1] == "silver"
    assert "--select" not in cmd


def test_silver_takes_environment_and_extra_dbt_arguments(silver_app: ModuleType) -> None:
    env = {
        "MEDALLION_SPARK_CONF": "/c/spark.conf",
        "MEDALLION_DBT_PROJECT_DIR": "/p",
        "DBT_PROFILES_DIR": "/profiles",
        "DBT_TARGET_PATH": "/tmp/t",
        "MEDALLION_SILVER_SUMMARY": "/tmp/s.json",
    }
    args = silver_app.parse_args(["--", "--vars", "{silver_reprocess: true}"], env)
    assert (args.conf, args.summary) == ("/c/spark.conf", "/tmp/s.json")
    cmd = silver_app.dbt_command(args)
    assert cmd[cmd.index("--profiles-dir") + 1] == "/profiles"
    assert cmd[cmd.index("--target-path") + 1] == "/tmp/t"
    assert "--log-path" not in cmd
    assert cmd[-2:] == ["--vars", "{silver_reprocess: true}"]


def _result(name: str, kind: str, status: str, rows: Any = None) -> Any:
    node = SimpleNamespace(name=name, unique_id=f"{kind}.medallion.{name}", resource_type=kind)
    return SimpleNamespace(
        node=node,
        status=status,
        execution_time=1.5,
        adapter_response={"rows_affected": rows} if rows is not None else {},
        failures=None if status != "fail" else 3,
        message="boom" if status in ("error", "fail") else None,
    )


def test_failed_nodes_make_exit_code_one(
    silver_app: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = [
        _result("fct_orders", "model", "success", 10),
        _result("unique_fct_orders_order_id", "test", "fail"),
        _result("dim_sellers", "model", "skipped"),
    ]

    class Runner:
        def invoke(self, cmd: list[str]) -> Any:
            return SimpleNamespace(
                success=False, result=SimpleNamespace(results=results), exception=None
            )

    import dbt.cli.main

    monkeypatch.setattr(dbt.cli.main, "dbtRunner", Runner)
    code, nodes, error = silver_app.run_dbt(["build"])
    assert code == 1
    assert error == "test unique_fct_orders_order_id: fail"
    assert nodes[0]["rows"] == 10 and nodes[1]["failures"] == 3 and nodes[2]["rows"] is None


def test_a_dbt_crash_is_exit_code_two(
    silver_app: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Runner:
        def invoke(self, cmd: list[str]) -> Any:
            return SimpleNamespace(success=False, result=None, exception=RuntimeError("no db"))

    import dbt.cli.main

    monkeypatch.setattr(dbt.cli.main, "dbtRunner", Runner)
    assert silver_app.run_dbt(["build"]) == (2, [], "no db")


def test_summary_is_written_atomically(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "summary.json"
    sparkconf.write_summary(str(target), {"exit_code": 0, "nodes": []})
    assert json.loads(target.read_text()) == {"exit_code": 0, "nodes": []}
    assert not list(target.parent.glob("*.tmp"))
    sparkconf.write_summary(None, {"ignored": True})


def test_maintenance_arguments(maintenance_app: ModuleType) -> None:
    args = maintenance_app.parse_args([], {})
    assert (args.namespaces, args.retention_days, args.retain_last) == ("bronze,silver", 7.0, 1)
    args = maintenance_app.parse_args(
        ["--retention-days", "0.5"], {"MEDALLION_MAINTENANCE_NAMESPACES": "silver"}
    )
    assert (args.namespaces, args.retention_days) == ("silver", 0.5)
    with pytest.raises(SystemExit):
        maintenance_app.parse_args(["--retention-days", "-1"], {})


def test_the_stacks_spark_is_a_loopback_connect_server_with_cached_jars(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from medallion import sparkconf
    from medallion.artifacts import layout
    from medallion.spark import conf_file
    from medallion.stack.config import StackConfig
    from medallion.stack.engines import default_ports
    from medallion.stack.engines.base import RETURN_IDLE_HEAP
    from medallion.stack.engines.spark import SERVER_CLASS, SparkConnect

    cfg = StackConfig(home=tmp_path, ports={**default_ports(), "spark": 4321})
    engine = SparkConnect(cfg, layout())
    monkeypatch.setenv("SPARK_REMOTE", "sc://elsewhere:15002")
    assert "SPARK_REMOTE" not in engine.environment()
    cmd = engine.command()
    assert cmd[0].endswith("bin/spark-submit")
    assert cmd[cmd.index("--class") + 1] == SERVER_CLASS
    assert cmd[cmd.index("--master") + 1] == "local[*]"
    assert cmd[cmd.index("--properties-file") + 1] == str(engine.properties)
    assert cmd[cmd.index("--driver-memory") + 1] == "2g"
    jars = cmd[cmd.index("--jars") + 1].split(",")
    assert len(jars) == 2 and all(j.endswith(".jar") for j in jars)
    assert "--packages" not in cmd
    # the shared conf's driver options are kept, with the idle JVM returning its heap
    shared = sparkconf.load(conf_file(), cfg.env())["spark.driver.extraJavaOptions"].split()
    options = cmd[cmd.index("--driver-java-options") + 1].split()
    assert options == [*shared, *RETURN_IDLE_HEAP.split()]
    confs = dict(cmd[i + 1].split("=", 1) for i, arg in enumerate(cmd) if arg == "--conf")
    assert confs["spark.connect.grpc.binding.address"] == "127.0.0.1"
    assert confs["spark.connect.grpc.binding.port"] == "4321"
    assert confs["spark.sql.catalog.iceberg.cache-enabled"] == "false"
    assert cfg.env()["MEDALLION_SPARK_REMOTE"] == "sc://127.0.0.1:4321"


def test_properties_file_is_filled_and_private(tmp_path: Path) -> None:
    env = {
        "HIVE_METASTORE_URI": "thrift://h:1",
        "S3_ENDPOINT": "http://s3:9",
        "S3_ACCESS_KEY": "ak",
        "S3_SECRET_KEY": "sk",
        "S3_REGION": "r",
    }
    path = write_properties(env, tmp_path / "spark-defaults.conf")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = dict(line.split(" ", 1) for line in path.read_text().splitlines())
    assert lines["spark.sql.catalog.iceberg.uri"] == "thrift://h:1"
    assert lines["spark.sql.catalog.iceberg.s3.secret-access-key"] == "sk"
    assert "${env:" not in path.read_text()


def test_silver_result_becomes_a_layer_result() -> None:
    summary = {
        "nodes": [
            {"name": "fct_orders", "kind": "model", "status": "success", "seconds": 2, "rows": 5},
            {"name": "t", "kind": "test", "status": "fail", "seconds": 1, "message": "3 rows"},
        ]
    }
    nodes = silver._nodes(summary)
    result = silver.SilverResult(1, 9.0, nodes, "test t: fail")
    layer = result.layer_result()
    assert (layer.layer, layer.success, layer.error) == ("silver", False, "test t: fail")
    assert [n.name for n in layer.failed] == ["t"] == [n.name for n in result.failed]
    assert layer.rows_written == 5


@pytest.mark.parametrize("flag", ["--exclude", "--select", "-s", "--selector", "--select=x"])
def test_silver_refuses_extra_arguments_that_dbt_ignores_beside_the_selector(
    silver_app: ModuleType, flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # dbt drops --select/--exclude without a word when --selector is given: refuse them
    argv = ["--", flag, "resource_type:test"] if "=" not in flag else ["--", flag]
    with pytest.raises(SelectionError, match="cannot change the silver selector"):
        silver_app.dbt_command(silver_app.parse_args(argv, {}))
    assert silver_app.main(argv) == 2
    assert "narrow the run with --resource-type" in capsys.readouterr().err


def test_layer_commands_refuse_selection_overrides_and_keep_resource_types() -> None:
    with pytest.raises(SelectionError, match="--exclude"):
        dbt_args("gold", "trino", ["--exclude", "daily_orders"])
    cmd = dbt_args("gold", "trino", ["--resource-type", "model"])
    assert cmd[cmd.index("--selector") + 1] == "gold" and cmd[-2:] == ["--resource-type", "model"]
