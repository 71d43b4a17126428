"""Unit tests of the platform's pure logic (no services)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from medallion import artifacts, sparkconf
from medallion.jdk import _major_of
from medallion.load import LoadError, count_rows, find_batches, read_header, table_of
from medallion.paths import charts_file, project_dir
from medallion.stack.config import StackConfig
from medallion.stack.engines import default_ports, metastore, trino
from medallion.stack.process import (
    PRIVATE_LOWEST,
    Pidfile,
    StackError,
    ephemeral_lowest,
    port_free,
    private_port,
    serves_http2,
)
from medallion.timetravel import split


def test_sparkconf_fills_env_placeholders_and_skips_comments() -> None:
    text = "# comment\n\nspark.a  ${env:HOST}:${env:PORT}\nspark.b plain value\n"
    assert sparkconf.parse(text, {"HOST": "h", "PORT": "1"}) == {
        "spark.a": "h:1",
        "spark.b": "plain value",
    }


def test_sparkconf_names_the_missing_variable_and_bad_lines() -> None:
    with pytest.raises(
        sparkconf.SparkConfError, match=r"spark\.a needs the environment variable X"
    ):
        sparkconf.parse("spark.a ${env:X}\n", {})
    with pytest.raises(sparkconf.SparkConfError, match="line 1"):
        sparkconf.parse("lonely\n", {})


def test_shared_spark_conf_resolves_with_the_stack_env(tmp_path: Path) -> None:
    env = StackConfig(home=tmp_path).env()
    conf = sparkconf.load(charts_file("medallion", "files", "spark", "spark-defaults.conf"), env)
    assert conf["spark.sql.catalog.iceberg.uri"] == env["HIVE_METASTORE_URI"]
    assert "when_required" in conf["spark.driver.extraJavaOptions"]
    assert not any("${" in v for v in conf.values())


def test_every_placeholder_of_the_shared_config_files_is_set_by_the_stack(tmp_path: Path) -> None:
    import re

    env = StackConfig(home=tmp_path).env()
    files = [
        *charts_file("trino", "files", "catalog").glob("*.properties"),
        charts_file("hive-metastore", "files", "metastore-site.xml"),
    ]
    names = set()
    for path in files:
        text = re.sub(r"<!--.*?-->", "", path.read_text(), flags=re.S)
        text = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
        names |= set(re.findall(r"\$\{ENV:([A-Z0-9_]+)\}", text))
        names |= set(re.findall(r"\$\{env\.([A-Z0-9_]+)\}", text))
    assert names, "no placeholders found"
    assert names <= set(env), f"unset: {sorted(names - set(env))}"


def test_stack_config_ports_env_over_saved_over_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in default_ports():
        monkeypatch.delenv(f"MEDALLION_{name.upper()}_PORT", raising=False)
    assert StackConfig.load(tmp_path).ports == default_ports()
    StackConfig(home=tmp_path, ports={**default_ports(), "trino": 1234}).save()
    assert StackConfig.load(tmp_path).ports["trino"] == 1234
    monkeypatch.setenv("MEDALLION_TRINO_PORT", "4321")
    assert StackConfig.load(tmp_path).ports["trino"] == 4321


def test_credentials_are_generated_once_with_mode_0600(tmp_path: Path) -> None:
    cfg = StackConfig(home=tmp_path)
    first = cfg.credentials()
    assert cfg.credentials() == first
    mode = stat.S_IMODE((tmp_path / "credentials.json").stat().st_mode)
    assert mode == 0o600
    other = StackConfig(home=tmp_path / "other").credentials()
    assert other.s3_secret_key != first.s3_secret_key


def test_pidfile_ignores_dead_and_reused_pids(tmp_path: Path) -> None:
    pidfile = Pidfile(tmp_path / "x.pid")
    assert pidfile.read() is None
    pidfile.write(os.getpid())
    assert pidfile.read() == os.getpid()
    record = json.loads(pidfile.path.read_text())
    pidfile.path.write_text(json.dumps({"pid": record["pid"], "created": record["created"] + 1}))
    assert pidfile.read() is None


def test_pidfile_of_an_earlier_version_still_finds_its_process(tmp_path: Path) -> None:
    """Earlier versions recorded the kernel's start time in clock ticks since boot."""
    pidfile = Pidfile(tmp_path / "x.pid")
    fields = Path(f"/proc/{os.getpid()}/stat").read_text().rsplit(")", 1)[1].split()
    pidfile.path.write_text(json.dumps({"pid": os.getpid(), "start": int(fields[19])}))
    assert pidfile.read() == os.getpid()
    pidfile.path.write_text(json.dumps({"pid": os.getpid(), "start": int(fields[19]) + 100}))
    assert pidfile.read() is None


def test_port_free_sees_a_listening_socket() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        assert not port_free(sock.getsockname()[1])


def test_an_open_port_that_does_not_speak_http2_is_not_a_connect_server() -> None:
    import socket
    import threading

    with socket.socket() as silent, socket.socket() as http1:
        for sock in (silent, http1):
            sock.bind(("127.0.0.1", 0))
            sock.listen()

        def answer() -> None:
            conn, _ = http1.accept()
            with conn:
                conn.recv(64)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")

        thread = threading.Thread(target=answer, daemon=True)
        thread.start()
        assert not serves_http2("127.0.0.1", http1.getsockname()[1])  # an answer, not SETTINGS
        assert not serves_http2("127.0.0.1", silent.getsockname()[1])  # accepted, never answers
        thread.join(timeout=5)
        closed = silent.getsockname()[1]
    assert not serves_http2("127.0.0.1", closed)  # refused


def test_private_ports_avoid_the_ephemeral_range_taken_ports_and_the_other_slices() -> None:
    import socket

    taken: set[int] = set()
    first = [private_port(taken, 0, 2) for _ in range(50)]
    second = [private_port(taken, 1, 2) for _ in range(50)]
    assert len(taken) == 100, "a port is handed out once"
    assert max(first) < min(second), "the two slices are disjoint"
    assert min(first) >= PRIVATE_LOWEST and max(second) < ephemeral_lowest()
    with socket.socket() as sock:  # a listening port in a slice of one port is not free
        sock.bind(("127.0.0.1", private_port(set(), 0, 1)))
        sock.listen()
        busy = sock.getsockname()[1]
        parts = ephemeral_lowest() - PRIVATE_LOWEST
        with pytest.raises(StackError, match="no free port"):
            private_port(set(), busy - PRIVATE_LOWEST, parts)


def test_table_of_maps_olist_file_names() -> None:
    assert table_of("olist_order_items_dataset.csv") == "order_items"
    assert table_of("product_category_name_translation.csv") == "product_category_name_translation"


def test_count_rows_counts_lines_after_the_header(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b"h1,h2\n1,2\n3,4")  # no final newline
    rows, size, digest = count_rows(path)
    assert (rows, size, len(digest)) == (2, 13, 64)


def test_find_batches_orders_batch_folders_and_takes_a_flat_folder_as_one(tmp_path: Path) -> None:
    for b in ("2018-01-02", "2018-01-01"):
        (tmp_path / "gen" / f"batch={b}").mkdir(parents=True)
    assert [b for b, _ in find_batches(tmp_path / "gen")] == ["2018-01-01", "2018-01-02"]
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "olist_orders_dataset.csv").write_text("order_id\n")
    assert len(find_batches(flat)) == 1
    with pytest.raises(LoadError):
        find_batches(tmp_path / "missing")


def test_read_header_strips_bom_and_rejects_odd_names(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text('\ufeff"product_category_name","product_category_name_english"\n', "utf-8")
    assert read_header(path) == ["product_category_name", "product_category_name_english"]
    path.write_text("a b,c\n")
    with pytest.raises(LoadError, match="not a plain column name"):
        read_header(path)


def test_timetravel_split_accepts_schema_table_only() -> None:
    assert split("silver.fct_orders") == ("silver", "fct_orders")
    assert split("iceberg.bronze.brz_orders") == ("bronze", "brz_orders")
    with pytest.raises(ValueError, match=r"schema\.table"):
        split("fct_orders; drop table x")


def test_jdk_major_is_read_from_the_release_file(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "java").write_text("")
    (tmp_path / "release").write_text('JAVA_VERSION="25.0.1"\n')
    assert _major_of(tmp_path) == 25
    assert _major_of(tmp_path / "nope") is None


def test_verifier_rejects_and_removes_a_file_with_the_wrong_checksum(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lock = tmp_path / "lock.json"
    target = tmp_path / "cache" / "f.bin"
    target.parent.mkdir()
    target.write_bytes(b"payload")
    lock.write_text(json.dumps({"f.bin": "0" * 64}))
    monkeypatch.setattr(artifacts, "LOCK_FILE", lock)
    verifier = artifacts.Verifier(tmp_path / "cache", update=False)
    with pytest.raises(artifacts.SetupError, match="checksum mismatch"):
        verifier.check(target)
    assert not target.exists()
    target.write_bytes(b"payload")
    updating = artifacts.Verifier(tmp_path / "cache", update=True)
    updating.check(target)
    updating.save()
    assert json.loads(lock.read_text())["f.bin"] == artifacts.sha256_of(target)


def test_lock_covers_every_maven_artifact_the_setup_fetches() -> None:
    lock = json.loads(artifacts.LOCK_FILE.read_text())
    for artifact in [
        trino.server_tarball(),
        metastore.tarball(),
        *artifacts.spark_jars(),
    ]:
        assert f"m2/{artifact.repo_path}" in lock


def test_the_engine_registry_gives_each_port_and_setup_step_one_owner() -> None:
    from medallion.stack.engines import ENGINES, setup_steps

    keys = [key for engine in ENGINES for key in engine.ports]
    numbers = [port for engine in ENGINES for port in engine.ports.values()]
    assert len(set(keys)) == len(keys) and len(set(numbers)) == len(numbers)
    names = [one.name for one in setup_steps()]
    assert len(set(names)) == len(names)
    assert {"trino", "hive-metastore", "versitygw", "spark jars", "helm"} <= set(names)
    assert [engine.name for engine in ENGINES] == ["postgres", "s3", "metastore", "trino", "spark"]


def test_the_readme_lists_the_engines_ports_as_the_registry_has_them() -> None:
    """The README's ports row is the registry's defaults (stack.engines is their home)."""
    row = next(
        line
        for line in (project_dir() / "README.md").read_text().splitlines()
        if line.startswith("| `MEDALLION_POSTGRES_PORT`")
    )
    names, ports = (cell.strip() for cell in row.strip("|").split("|")[:2])
    assert names == ", ".join(f"`MEDALLION_{key.upper()}_PORT`" for key in default_ports())
    assert ports == ", ".join(str(port) for port in default_ports().values())
