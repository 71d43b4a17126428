"""How a CSV file is cut into records: quoted line breaks, stray quotes, BOM, line ends."""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path

import pytest

from medallion.load import LoadError, parse_file
from medallion.records import Record, as_row, records


def cut(text: str) -> list[Record]:
    return list(records(io.StringIO(text, newline="")))


def fields(text: str) -> list[list[str]]:
    return [r.fields for r in cut(text)]


@pytest.mark.parametrize("end", ["\n", "\r\n"])
@pytest.mark.parametrize("final", [True, False])
@pytest.mark.parametrize("bom", ["", "\ufeff"])
def test_well_formed_files_give_what_the_csv_module_gives(end: str, final: bool, bom: str) -> None:
    rows = [
        ["id", "score", "comment"],
        ["a", "5", "plain"],
        ["b", "4", "line one\nline two"],
        ["c", "3", "windows\r\nbreak"],
        ["d", "1", 'says "hi", twice\n\nand more'],
        ["e", "2", ""],
        ["f", "5", ","],
    ]
    buf = io.StringIO()
    csv.writer(buf, lineterminator=end).writerows(rows)
    text = buf.getvalue() if final else buf.getvalue().removesuffix(end)
    got = cut(bom + text)
    assert [r.fields for r in got] == rows
    assert not any(r.malformed for r in got)
    assert [r.line for r in got] == [1, 2, 3, 5, 7, 10, 11]


def test_a_stray_quote_spoils_only_its_own_line() -> None:
    text = 'id,a,b\n1,x,y\n2,"broken,z\n3,p,q\n4,r,s\n'
    got = cut(text)
    assert [r.fields[0] for r in got] == ["id", "1", "2", "3", "4"]
    assert [r.raw for r in got] == [None, None, '2,"broken,z', None, None]


def test_a_stray_quote_before_a_real_multi_line_record() -> None:
    text = 'id,a,b\n1,"open,z\n2,p,q\n3,"two\nlines",s\n4,r,t\n'
    got = cut(text)
    assert [r.fields for r in got] == [
        ["id", "a", "b"],
        ["1", "open,z"],
        ["2", "p", "q"],
        ["3", "two\nlines", "s"],
        ["4", "r", "t"],
    ]
    assert [r.malformed for r in got] == [False, True, False, False, False]


def test_two_stray_quotes_do_not_pair_up_into_one_record() -> None:
    text = 'id,a,b\n1,"x,y\n2,p,q\n3,"u,v\n4,r,s\n'
    got = cut(text)
    assert [r.fields[0] for r in got] == ["id", "1", "2", "3", "4"]
    assert [r.line for r in got if r.malformed] == [2, 4]


def test_an_unclosed_quote_at_the_end_is_one_malformed_line() -> None:
    got = cut('id,a,b\n1,x,y\n2,"never closed\n')
    assert got[-1] == Record(["2", "never closed"], 3, '2,"never closed')


def test_wrong_field_counts_keep_their_raw_line() -> None:
    got = cut("id,a,b\n1,x\n2,x,y,z\n3,x,y\r\n")
    assert [(r.fields, r.raw) for r in got[1:]] == [
        (["1", "x"], "1,x"),
        (["2", "x", "y", "z"], "2,x,y,z"),
        (["3", "x", "y"], None),
    ]


def test_text_after_a_closing_quote_is_malformed() -> None:
    got = cut('id,a,b\n1,"x"y,z\n2,p,q\n')
    assert got[1].malformed and got[1].raw == '1,"x"y,z'
    assert got[2] == Record(["2", "p", "q"], 3)


def test_empty_lines_are_no_records() -> None:
    assert fields("id,a\n\n1,x\n\r\n2,y\n\n") == [["id", "a"], ["1", "x"], ["2", "y"]]


def test_every_line_belongs_to_exactly_one_record() -> None:
    rng = random.Random(3)
    cells = ["a", "", "b c", '"q"', "x,y", "one\ntwo", "r\r\nn", '"open']
    lines = []
    for _ in range(300):
        row = [rng.choice(cells) for _ in range(3)]
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(row)
        line = buf.getvalue()
        if rng.random() < 0.1:
            line = line.replace('"', "", 1)  # an unbalanced quote, at random
        lines.append(line)
    text = "h1,h2,h3\n" + "".join(lines)
    got = cut(text)
    spans = [r.line for r in got]
    assert spans == sorted(spans) and len(set(spans)) == len(spans)
    assert sum(r.malformed for r in got) <= text.count("\n")


def test_as_row_fills_the_landing_columns() -> None:
    columns = ["id", "a", "b"]
    assert as_row(Record(["1", "x", "y"], 2), columns) == {
        "id": "1",
        "a": "x",
        "b": "y",
        "_line": "2",
    }
    assert as_row(Record(["1", "x", "y", "z", "w"], 3, "1,x,y,z,w"), columns) == {
        "id": "1",
        "a": "x",
        "b": "y",
        "_extra_fields": "z,w",
        "_line": "3",
        "_raw_line": "1,x,y,z,w",
    }
    assert as_row(Record(["1"], 4, "1"), columns) == {"id": "1", "_line": "4", "_raw_line": "1"}


def test_parse_file_writes_one_json_line_per_record(tmp_path: Path) -> None:
    src = tmp_path / "olist_x.csv"
    src.write_bytes(b'\xef\xbb\xbfID,Note\r\n1,"a\r\nb"\r\n2,"bad\r\n3,c')
    parsed = parse_file(src, tmp_path / "x.jsonl")
    assert (parsed.columns, parsed.records, parsed.malformed) == (["id", "note"], 3, 1)
    rows = [json.loads(line) for line in (tmp_path / "x.jsonl").read_text().splitlines()]
    assert rows == [
        {"id": "1", "note": "a\r\nb", "_line": "2"},
        {"id": "2", "note": "bad", "_line": "4", "_raw_line": '2,"bad'},
        {"id": "3", "note": "c", "_line": "5"},
    ]


def test_parse_file_refuses_a_header_that_is_no_column_list(tmp_path: Path) -> None:
    src = tmp_path / "bad.csv"
    src.write_text("id,two words\n1,x\n")
    with pytest.raises(LoadError, match="not a plain column name"):
        parse_file(src, tmp_path / "x.jsonl")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(LoadError, match="empty"):
        parse_file(tmp_path / "empty.csv", tmp_path / "x.jsonl")
