"""The whole pipeline on the real stack: gold equals an independent computation, row by row."""

from __future__ import annotations

import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from medallion.generate import generate
from medallion.landing import CATALOG, SCHEMA
from medallion.load import load_dir
from medallion.pipeline import run_pipeline
from medallion.run.dbt import PROJECT_DIR_ENV, dbt_dir, run_layer
from medallion.run.silver import run_silver
from medallion.timetravel import rollback, snapshots
from medallion.trino_client import QueryError, query
from tests.conftest import StackHandle

from . import reference
from .tables import contents

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: The published names: BI contracts, no layer prefix (the dbt models keep theirs).
MARTS = (
    "sales_by_category_month",
    "daily_orders",
    "seller_performance",
    "delivery_by_state",
    "payment_mix_month",
)


def gold_rows(env: dict[str, str], mart: str) -> list[tuple[Any, ...]]:
    """A mart as a BI tool sees it: straight from PostgreSQL."""
    with psycopg.connect(
        host=env["SERVING_DB_HOST"],
        port=int(env["SERVING_DB_PORT"]),
        user=env["SERVING_DB_USER"],
        password=env["SERVING_DB_PASSWORD"],
        dbname=env["SERVING_DB_NAME"],
    ) as conn:
        rows = conn.execute(f"select * from gold.{mart}").fetchall()
    return sorted(tuple(r) for r in rows)


@pytest.fixture(scope="module")
def olist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("olist")
    generate(out, scale=0.01, days=3, seed=11, defects=0.03)
    return out


@pytest.fixture(scope="module")
def batches(olist: Path) -> list[str]:
    return sorted(p.name.removeprefix("batch=") for p in olist.glob("batch=*"))


@pytest.fixture(scope="module")
def pipeline(stack: StackHandle, olist: Path, batches: list[str]) -> Iterator[None]:
    """Load the three batches one after the other, running all layers after each."""
    for i, batch in enumerate(batches):
        load_dir(stack.env, olist, batch)
        results = run_pipeline("all", env=stack.env)
        assert [r.layer for r in results] == ["bronze", "silver", "gold"], results[-1].error
        assert all(r.success for r in results), results[-1].error
        if i == 0:
            expected = reference.gold(reference.silver(olist, batches[:1]))
            assert gold_rows(stack.env, "daily_orders") == expected["daily_orders"]
    yield


@pytest.mark.parametrize("mart", MARTS)
def test_gold_equals_independent_computation(
    stack: StackHandle, olist: Path, batches: list[str], pipeline: None, mart: str
) -> None:
    expected = reference.gold(reference.silver(olist, batches))[mart]
    got = gold_rows(stack.env, mart)
    assert expected, f"the reference computed no rows for {mart}"
    missing = [r for r in expected if r not in got]
    extra = [r for r in got if r not in expected]
    assert not missing and not extra, f"{mart}: missing {missing[:5]}, unexpected {extra[:5]}"


def test_the_marts_are_published_under_their_contract_names(
    stack: StackHandle, pipeline: None
) -> None:
    published = {r[0] for r in stack.sql("show tables from serving.gold").rows}
    assert published == set(MARTS)


def test_the_report_renders_in_a_browser(
    stack: StackHandle, batches: list[str], pipeline: None, tmp_path: Path
) -> None:
    """The HTML report as a reader sees it, in headless Chromium (Debian's package, which
    `make system-deps` installs): every chart drawn with bars of height, one daily bar per
    purchase day, the data-quality table with a row per batch and a total, nothing wider than
    the window; the screenshot is kept beside the report for a look."""
    import shutil

    from playwright.sync_api import sync_playwright

    from medallion.report import build

    chromium = shutil.which("chromium")
    assert chromium, "no chromium on PATH: make system-deps installs Debian's package"
    page_file = build(stack.env, tmp_path / "report.html")
    days = stack.scalar("select count(*) from serving.gold.daily_orders")
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 900, "height": 1000})
            page.goto(page_file.as_uri())
            charts = page.locator("svg")
            assert charts.count() == 5
            for i in range(charts.count()):
                chart = charts.nth(i)
                box = chart.bounding_box()
                assert box and box["width"] > 600 and box["height"] > 200, (i, box)
                drawn = chart.evaluate(
                    "svg => [...svg.querySelectorAll('rect[height]')]"
                    ".filter(r => r.getBBox().height > 0 && r.querySelector('title')).length"
                )
                assert drawn > 0, f"chart {i} drew no bar"
            titles = charts.locator("text.t").all_text_contents()  # SVG text has no innerText
            assert titles[0] == "Orders placed per day"
            per_day = charts.first.locator("rect:has(title)").count()
            assert per_day == days, (per_day, days)
            rows = page.locator("table.q tbody tr")
            assert rows.count() == len(batches)
            assert rows.locator("td").first.inner_text() == batches[0]
            assert page.locator("table.q tfoot td").first.inner_text() == "all"
            assert page.locator("table.q tr.off").count() == 0, "a batch does not add up"
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 900, f"the report is {width} px wide in a 900 px window"
            shot = page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
            assert len(shot) > 20_000
        finally:
            browser.close()


def test_a_full_rebuild_equals_the_daily_runs(stack: StackHandle, pipeline: None) -> None:
    """Silver merged batch by batch (each run reads only what is new) and gold on it equal silver
    rebuilt from every bronze row at once (``--full-refresh``) and gold on that: the incremental
    path loses, doubles or keeps stale nothing."""
    silver = contents(stack, "silver")
    marts = {m: gold_rows(stack.env, m) for m in MARTS}
    assert set(silver) >= {"fct_orders", "dim_customers", "quarantine"}
    assert all(silver.values()) and all(marts.values())
    rebuilt = run_silver(stack.env, extra_dbt_args=["--full-refresh"], echo=None)
    assert rebuilt.success, f"silver failed: {rebuilt.error} (log: {rebuilt.log_file})"
    gold = run_layer(stack.env, "gold")
    assert gold.success, gold.error
    again = contents(stack, "silver")
    for table, rows in silver.items():
        assert again[table] == rows, table
    assert {m: gold_rows(stack.env, m) for m in MARTS} == marts


def failing_project(tmp_path: Path, model: str) -> Path:
    """A copy of the dbt project in which ``model`` fails at run time: its pre-hook is a statement
    Trino refuses (the product's models carry no test seam)."""
    copy = tmp_path / "dbt"
    shutil.copytree(dbt_dir(), copy, ignore=shutil.ignore_patterns("target", "logs"))
    path = next(copy.glob(f"models/**/{model}.sql"))
    hook = "{{ config(pre_hook=\"select cast('forced failure' as integer)\") }}\n"
    path.write_text(hook + path.read_text())
    return copy


def test_failing_model_stops_the_run_and_is_recorded(
    stack: StackHandle, pipeline: None, tmp_path: Path
) -> None:
    project = failing_project(tmp_path, "brz_orders")
    result = stack.cli("run", "all", check=False, env={PROJECT_DIR_ENV: str(project)})
    assert result.returncode != 0
    message = " ".join((result.stdout + result.stderr).split())
    assert "bronze failed" in message and "brz_orders" in message
    assert "silver:" not in message, "silver must not run after bronze failed"
    last = stack.sql(
        "select layer, status, error from serving.audit.pipeline_runs "
        "order by started_at desc limit 1"
    ).rows[0]
    assert last[0] == "bronze" and last[1] == "failed" and "brz_orders" in last[2]
    runs = stack.cli("runs", "--limit", "5")
    assert "failed" in runs.stdout


def test_rollback_restores_previous_snapshot_row_count(stack: StackHandle, pipeline: None) -> None:
    table = "bronze.brz_orders"
    history = snapshots(stack.env, table).rows
    current = stack.scalar(f"select count(*) from iceberg.{table}")
    assert int(history[-1][4]) == current
    # the newest earlier snapshot of another size (e.g. the one before the last batch's insert)
    previous = next(s for s in reversed(history[:-1]) if int(s[4]) != current)
    previous_count = int(previous[4])
    assert rollback(stack.env, table, previous[0]) == previous_count
    assert stack.scalar(f"select count(*) from iceberg.{table}") == previous_count
    listed = stack.cli("history", table)
    assert str(previous[0]) in listed.stdout


# Trino's roles (charts/trino/files/access-control/rules.json): the pipeline ran as data_engineer.


def as_user(stack: StackHandle, user: str, password: str | None = None) -> dict[str, str]:
    """The stack's client environment, logged in as another Trino user."""
    known = stack.stack.cfg.credentials().trino_passwords[user]
    return {**stack.env, "TRINO_USER": user, "TRINO_PASSWORD": password or known}


def test_the_pipeline_ran_as_the_data_engineer(stack: StackHandle, pipeline: None) -> None:
    users = query(
        as_user(stack, "admin"),
        "select distinct \"user\" from system.runtime.queries where source like 'dbt-trino%'",
    ).rows
    assert users == [("data_engineer",)]


def test_the_analyst_reads_every_mart(stack: StackHandle, pipeline: None) -> None:
    analyst = as_user(stack, "analyst")
    for mart in MARTS:
        count = query(analyst, f"select count(*) from serving.gold.{mart}").rows[0][0]
        assert count == len(gold_rows(stack.env, mart)) > 0, mart


@pytest.mark.parametrize(
    "statement",
    [
        "insert into serving.gold.daily_orders select * from serving.gold.daily_orders limit 1",
        "delete from serving.gold.daily_orders",
        "create table serving.gold.analyst_scratch (x integer)",
        "drop table serving.gold.daily_orders",
        "select _raw_record from iceberg.silver.quarantine",
        "select count(*) from iceberg.bronze.brz_orders",
        f"select count(*) from {CATALOG}.{SCHEMA}.orders",
        "select count(*) from serving.audit.pipeline_runs",
        "select count(*) from system.runtime.queries",
    ],
)
def test_the_analyst_is_refused_anything_but_reading_gold(
    stack: StackHandle, pipeline: None, statement: str
) -> None:
    with pytest.raises(QueryError, match=r"^PERMISSION_DENIED: Access Denied: "):
        query(as_user(stack, "analyst"), statement)


def test_medallion_sql_as_the_analyst(stack: StackHandle, pipeline: None) -> None:
    read = stack.cli("sql", "--user", "analyst", "--format", "csv",
                     "select count(*) from serving.gold.daily_orders")  # fmt: skip
    assert int(read.stdout.split()[-1]) == len(gold_rows(stack.env, "daily_orders"))
    write = stack.cli("sql", "--user", "analyst", "delete from serving.gold.daily_orders",
                      check=False)  # fmt: skip
    assert write.returncode == 1
    assert "Access Denied: Cannot delete from table serving.gold.daily_orders" in " ".join(
        write.stderr.split()
    )


def test_a_wrong_password_or_plain_http_is_refused(stack: StackHandle, pipeline: None) -> None:
    with pytest.raises(QueryError, match=r"refused the login of data_engineer: .*401"):
        query(as_user(stack, "data_engineer", password="not-the-password"), "select 1")
    http = f"http://{stack.env['TRINO_HOST']}:{stack.stack.cfg.ports['trino']}/v1/statement"
    request = urllib.request.Request(http, data=b"select 1", headers={"X-Trino-User": "admin"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 403
    assert b"Authentication over HTTP is not enabled" in refused.value.read()
