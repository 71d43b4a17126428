"""Hostile batches through the loader's pre-flight, with no service: each is refused with an error
naming the file and its problem, or passes and is cut into the records it should land as."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from medallion.generate import HEADERS, generate
from medallion.load import (
    MAX_BATCH_ENV,
    CheckedBatch,
    LoadError,
    batch_limit,
    check_batch,
    choose_batches,
    count_rows,
    load_dir,
    parse_file,
    table_of,
)
from medallion.records import MAX_LINE_CHARS, Record, records
from medallion.stack import StackConfig
from medallion.stack.engines import default_ports
from tests import hostile
from tests.conftest import REPO, free_port

REFUSED = [n for n, (outcome, _, _) in hostile.CASES.items() if outcome == "refused"]
REFUSED += list(hostile.BAD_IDS)
LANDS = [n for n, (outcome, _, _) in hostile.CASES.items() if outcome == "lands"]


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("good")
    summary = generate(out, scale=0.01, days=1, seed=3, defects=0.0)
    return out / f"batch={summary.batches[0]}"


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory, good: Path) -> dict[str, hostile.Hostile]:
    return hostile.write(tmp_path_factory.mktemp("hostile"), good)


def preflight(case: hostile.Hostile) -> list[CheckedBatch]:
    """What ``load_dir`` checks before it asks the store anything."""
    return [check_batch(b, folder) for b, folder in choose_batches(case.src, case.batch)]


#: A store and a query engine nobody listens on: a load that got past its checks would fail
#: with a connection error instead of the expected message.
DEAD = {
    "S3_ENDPOINT": f"http://127.0.0.1:{free_port()}",
    "S3_BUCKET": "warehouse",
    "S3_REGION": "us-east-1",
    "S3_ACCESS_KEY": "nobody",
    "S3_SECRET_KEY": "nothing",
    "TRINO_HOST": "127.0.0.1",
    "TRINO_PORT": str(free_port()),
}


def assert_names(message: str, case: hostile.Hostile) -> None:
    assert case.expect
    for part in (case.file, *case.expect):
        assert part in message, f"{case.name}: {part!r} not in {message!r}"


def test_a_good_batch_passes_with_every_file_accounted(good: Path) -> None:
    checked = check_batch(good.name.removeprefix("batch="), good)
    assert sorted(f.path.name for f in checked.files) == sorted(f"{s}.csv" for s in HEADERS)
    for f in checked.files:
        assert f.columns == HEADERS[f.path.name.removesuffix(".csv")]
        assert f.table == table_of(f.path.name)
        assert (f.lines, f.bytes, f.sha256) == count_rows(f.path)
        assert f.lines > 0


@pytest.mark.parametrize("name", REFUSED)
def test_a_refused_batch_names_the_file_and_the_problem(
    cases: dict[str, hostile.Hostile], name: str
) -> None:
    case = cases[name]
    with pytest.raises(LoadError) as caught:
        preflight(case)
    assert_names(str(caught.value), case)


@pytest.mark.parametrize("name", REFUSED)
def test_load_dir_refuses_before_asking_the_store(
    cases: dict[str, hostile.Hostile], name: str
) -> None:
    case = cases[name]
    with pytest.raises(LoadError) as caught:
        load_dir(DEAD, case.src, case.batch)
    assert_names(str(caught.value), case)


def test_one_bad_batch_among_good_ones_stops_the_load_before_any(
    cases: dict[str, hostile.Hostile], good: Path, tmp_path: Path
) -> None:
    """Batches load in order, but every one is checked before the first is written."""
    (tmp_path / good.name).symlink_to(good, target_is_directory=True)
    bad = cases["nul-byte"]
    (tmp_path / "batch=zzz").symlink_to(bad.folder, target_is_directory=True)
    with pytest.raises(LoadError, match="a NUL byte"):
        load_dir(DEAD, tmp_path)


@pytest.mark.parametrize("name", LANDS)
def test_what_lands_passes_the_checks(cases: dict[str, hostile.Hostile], name: str) -> None:
    case = cases[name]
    (checked,) = preflight(case)
    assert case.file in [f.path.name for f in checked.files]


def test_a_header_only_file_is_zero_records(
    cases: dict[str, hostile.Hostile], tmp_path: Path
) -> None:
    case = cases["header-only"]
    parsed = parse_file(case.folder / case.file, tmp_path / "x.jsonl")
    assert (parsed.records, parsed.malformed) == (0, 0)
    assert (tmp_path / "x.jsonl").read_bytes() == b""
    assert count_rows(case.folder / case.file)[0] == 0


def test_a_reordered_header_lands_every_value_under_its_column(
    cases: dict[str, hostile.Hostile], good: Path, tmp_path: Path
) -> None:
    case = cases["reordered-header"]
    parse_file(case.folder / case.file, tmp_path / "reordered.jsonl")
    parse_file(good / case.file, tmp_path / "good.jsonl")
    reordered = (tmp_path / "reordered.jsonl").read_text().splitlines()
    original = (tmp_path / "good.jsonl").read_text().splitlines()
    assert [json.loads(r) for r in reordered] == [json.loads(r) for r in original]
    assert reordered[0] != original[0]  # the keys came in another order


def test_a_10_mib_line_is_one_malformed_record_and_the_counts_reconcile(
    cases: dict[str, hostile.Hostile], good: Path, tmp_path: Path
) -> None:
    case = cases["long-line"]
    path = case.folder / case.file
    parsed = parse_file(path, tmp_path / "x.jsonl")
    lines = count_rows(path)[0]
    assert lines == count_rows(good / case.file)[0] + 1
    assert (parsed.records, parsed.malformed) == (lines, 1)
    rows = [json.loads(r) for r in (tmp_path / "x.jsonl").read_text().splitlines()]
    (bad,) = [r for r in rows if "_raw_line" in r]
    assert bad == {"_line": "3", "_raw_line": "A" * MAX_LINE_CHARS}
    assert [r["_line"] for r in rows] == [str(n) for n in range(2, lines + 2)]


def test_a_line_over_the_limit_spoils_only_itself() -> None:
    long = "1," + "x" * MAX_LINE_CHARS
    text = f'id,note\r\n{long}\r\n2,"a\r\nb"\r\n3,c'
    assert list(records(io.StringIO(text, newline=""))) == [
        Record(["id", "note"], 1),
        Record([], 2, long[:MAX_LINE_CHARS]),
        Record(["2", "a\r\nb"], 3),
        Record(["3", "c"], 5),
    ]
    # at the limit a line is still read as fields (its key readable); a field this long is
    # beyond the csv module's limit, so the record is malformed all the same
    at_limit = "1," + "x" * (MAX_LINE_CHARS - 2)
    _, record = records(io.StringIO(f"id,note\n{at_limit}\n", newline=""))
    assert record == Record(["1", "x" * (MAX_LINE_CHARS - 2)], 2, at_limit)
    assert csv.field_size_limit() < MAX_LINE_CHARS


def test_the_batch_limit_has_one_home_and_says_how_to_change_it(good: Path) -> None:
    batch = good.name.removeprefix("batch=")
    assert batch_limit({}) == batch_limit({MAX_BATCH_ENV: ""}) > 100 * 2**20
    small = batch_limit({MAX_BATCH_ENV: "1000"})
    with pytest.raises(LoadError) as caught:
        check_batch(batch, good, max_bytes=small)
    message = str(caught.value)
    assert "over the limit of 1,000 bytes per batch" in message
    assert MAX_BATCH_ENV in message and batch in message
    with pytest.raises(LoadError, match=MAX_BATCH_ENV):
        batch_limit({MAX_BATCH_ENV: "1 GB"})


# The command line: the message, a non-zero exit and no traceback, with no stack running.


@pytest.fixture(scope="module")
def dead_stack(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    ports = {name: free_port() for name in default_ports()}
    cfg = StackConfig(home=tmp_path_factory.mktemp("stack"), ports=ports)
    cfg.save()
    env = {"MEDALLION_HOME": str(cfg.home), "COLUMNS": "300"}
    env.update({f"MEDALLION_{n.upper()}_PORT": str(p) for n, p in ports.items()})
    return env


def medallion_load(case: hostile.Hostile, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    argv = ["load", str(case.src), *(["--batch", case.batch] if case.batch else [])]
    return subprocess.run(
        [sys.executable, "-m", "medallion", *argv], env={**os.environ, **env},
        capture_output=True, text=True, check=False, cwd=REPO, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize("name", ["binary-garbage", "wrong-header", "id-dot-dot-slash"])
def test_medallion_load_prints_the_error_and_exits_non_zero(
    cases: dict[str, hostile.Hostile], dead_stack: dict[str, str], name: str
) -> None:
    case = cases[name]
    done = medallion_load(case, dead_stack)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert_names(" ".join(done.stderr.split()), case)


def test_medallion_load_reads_the_batch_limit_from_the_environment(
    cases: dict[str, hostile.Hostile], dead_stack: dict[str, str]
) -> None:
    done = medallion_load(cases["header-only"], {**dead_stack, MAX_BATCH_ENV: "100"})
    assert done.returncode == 1, done.stdout + done.stderr
    message = " ".join(done.stderr.split())
    assert "over the limit of 100 bytes per batch" in message, message
    assert "Traceback" not in done.stderr


def _with_header(good: Path, tmp_path: Path, change: str) -> Path:
    """The good batch's orders file with ``change`` appended to its header and, as an empty
    value, to every row."""
    stem = "olist_orders_dataset"
    rows = list(csv.reader(io.StringIO((good / f"{stem}.csv").read_text(), newline="")))
    out = tmp_path / f"{stem}.csv"
    with out.open("w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(
            [[*rows[0], change], *([*r, ""] for r in rows[1:])]
        )
    return out


def test_a_column_after_the_tables_own_is_added_not_refused(good: Path, tmp_path: Path) -> None:
    """Schema evolution: the checked file carries the table's columns, then the added one."""
    from medallion.load import check_file

    checked = check_file(_with_header(good, tmp_path, "order_channel"))
    assert checked.columns == (*HEADERS["olist_orders_dataset"], "order_channel")


@pytest.mark.parametrize("column", ["_raw_line", "batch_id"])
def test_a_column_named_like_the_loaders_own_is_refused(
    good: Path, tmp_path: Path, column: str
) -> None:
    from medallion.load import check_file

    with pytest.raises(LoadError, match=f"reserved .*{column}"):
        check_file(_with_header(good, tmp_path, column))
