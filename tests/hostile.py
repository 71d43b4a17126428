"""Hostile batches for ``medallion load``: each one a clean batch with one thing wrong.

``write(out, good)`` copies the files of a clean batch folder ``good`` (``medallion generate``
with no defects) into one source folder per case under ``out`` and spoils it in one way: binary
garbage, an empty file, a header only, a wrong or a reordered header, a 10 MiB line, invalid
UTF-8, a NUL byte, UTF-16 text, a file of an unknown table, a batch id with ``../`` or quotes,
a batch over the size limit, a batch without CSV files. Each case says what ``medallion load``
must do with it: refuse it before anything is written, with an error holding ``expect`` (the
whole batch is there, so good files are refused with the bad one), or let it land (``expect`` is
then empty, and the batch holds the file at fault alone), and which file is at fault.

``python -m tests.hostile OUT GOOD`` writes them for a look by hand.
"""

from __future__ import annotations

import csv
import gzip
import io
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from medallion.generate import FILES
from medallion.load import MAX_BATCH_BYTES, MAX_BATCH_ENV

ORDERS = "olist_orders_dataset.csv"
CUSTOMERS = "olist_customers_dataset.csv"
SELLERS = "olist_sellers_dataset.csv"
GEOLOCATION = "olist_geolocation_dataset.csv"
TRANSLATION = "product_category_name_translation.csv"
UNKNOWN = "olist_refunds_dataset.csv"
#: The length of the long line: 10 MiB, 80 times Python's csv field limit.
LONG_LINE = 10 << 20


@dataclass(frozen=True)
class Hostile:
    """One hostile batch: ``medallion load SRC [--batch BATCH]`` lands it as ``batch_id`` or
    refuses it with an error that holds every string of ``expect``."""

    name: str
    src: Path
    batch_id: str
    outcome: Literal["refused", "lands"]
    file: str
    expect: tuple[str, ...] = ()
    batch: str | None = None

    @property
    def folder(self) -> Path:
        """The batch folder (the source itself when it is a flat folder)."""
        return self.src if self.batch is not None else self.src / f"batch={self.batch_id}"


def _copy(good: Path, folder: Path) -> Path:
    folder.mkdir(parents=True)
    for name in FILES:
        if (good / name).is_file():
            shutil.copyfile(good / name, folder / name)
    return folder


def _line_start(data: bytes, line: int) -> int:
    """Byte offset of the first byte of physical line ``line`` (1 = the header)."""
    at = 0
    for _ in range(line - 1):
        at = data.index(b"\n", at) + 1
    return at


def _binary(folder: Path) -> tuple[str, ...]:
    """The orders file gzipped under its own name: a binary file (0x1f 0x8b ...)."""
    path = folder / ORDERS
    path.write_bytes(gzip.compress(path.read_bytes(), mtime=0))
    return (ORDERS, "not UTF-8: byte 0x8b", "byte offset 1 ", "line 1, column 2")


def _empty(folder: Path) -> tuple[str, ...]:
    (folder / ORDERS).write_bytes(b"")
    return (f"{ORDERS} is empty", "a header line is needed")


def _blank(folder: Path) -> tuple[str, ...]:
    (folder / SELLERS).write_bytes(b"\n\r\n\n")
    return (f"{SELLERS} is empty", "a header line is needed")


def _header_only(folder: Path) -> tuple[str, ...]:
    path = folder / ORDERS
    path.write_bytes(path.read_bytes().split(b"\n", 1)[0] + b"\n")
    return ()


def _wrong_header(folder: Path) -> tuple[str, ...]:
    path = folder / ORDERS
    header, rest = path.read_bytes().split(b"\n", 1)
    columns = header.decode().split(",")
    columns[columns.index("order_status")] = "status"
    path.write_bytes(",".join([*columns, "coupon"]).encode() + b"\n" + rest)
    # an added column (coupon) alone would land (schema evolution); a missing one never does
    return (ORDERS, "missing order_status", "in any order", "never drop one")


def _reordered(folder: Path) -> tuple[str, ...]:
    """The orders file with its columns in reverse order, every row alike."""
    path = folder / ORDERS
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\n").writerows([row[::-1] for row in rows])
    path.write_text(buf.getvalue(), encoding="utf-8")
    return ()


def _long_line(folder: Path) -> tuple[str, ...]:
    """A 10 MiB line of ``A`` between the first and second order (line 3)."""
    path = folder / ORDERS
    head, first, rest = path.read_bytes().split(b"\n", 2)
    path.write_bytes(b"\n".join([head, first, b"A" * LONG_LINE, rest]))
    return ()


def _latin1(folder: Path) -> tuple[str, ...]:
    """The city of the customer on line 3 written in Latin-1: 0xe3 then 'o' is no UTF-8."""
    path = folder / CUSTOMERS
    data = path.read_bytes()
    start = _line_start(data, 3)
    end = data.index(b"\n", start)
    fields = data[start:end].split(b",")
    fields[3] = "são paulo".encode("latin-1")
    line = b",".join(fields)
    at = start + line.index(b"\xe3")
    path.write_bytes(data[:start] + line + data[end:])
    column = at - start + 1
    return (CUSTOMERS, "not UTF-8: byte 0xe3", f"byte offset {at:,} ", f"line 3, column {column}")


def _nul(folder: Path) -> tuple[str, ...]:
    """A NUL byte in the middle of the seller on line 2."""
    path = folder / SELLERS
    data = path.read_bytes()
    at = _line_start(data, 2) + 5
    path.write_bytes(data[:at] + b"\0" + data[at:])
    return (SELLERS, "a NUL byte", f"byte offset {at:,} ", "line 2, column 6")


def _utf16(folder: Path) -> tuple[str, ...]:
    path = folder / TRANSLATION
    path.write_bytes(path.read_text(encoding="utf-8").encode("utf-16"))
    return (TRANSLATION, "UTF-16", "save it as UTF-8")


def _unknown(folder: Path) -> tuple[str, ...]:
    (folder / UNKNOWN).write_text("order_id,refund_value\nabc,1.00\n", encoding="utf-8")
    return (f"{UNKNOWN} is not an Olist file", *FILES)


def _oversized(folder: Path) -> tuple[str, ...]:
    """A geolocation file one byte over the limit on its own: sparse, so it costs no disk
    (and, being refused on its size, it is never read)."""
    path = folder / GEOLOCATION
    with path.open("r+b") as handle:
        handle.truncate(MAX_BATCH_BYTES + 1)
    return ("over the limit of", f"{MAX_BATCH_BYTES:,} bytes per batch", MAX_BATCH_ENV)


def _no_csv(folder: Path) -> tuple[str, ...]:
    for path in folder.glob("*.csv"):
        path.rename(path.with_suffix(".txt"))
    return ("holds no CSV files",)


Spoil = Callable[[Path], tuple[str, ...]]
#: name -> (outcome, file at fault, what spoils the batch)
CASES: dict[str, tuple[Literal["refused", "lands"], str, Spoil]] = {
    "binary-garbage": ("refused", ORDERS, _binary),
    "empty-file": ("refused", ORDERS, _empty),
    "blank-file": ("refused", SELLERS, _blank),
    "header-only": ("lands", ORDERS, _header_only),
    "wrong-header": ("refused", ORDERS, _wrong_header),
    "reordered-header": ("lands", ORDERS, _reordered),
    "long-line": ("lands", ORDERS, _long_line),
    "invalid-utf8": ("refused", CUSTOMERS, _latin1),
    "nul-byte": ("refused", SELLERS, _nul),
    "utf16": ("refused", TRANSLATION, _utf16),
    "unknown-table": ("refused", UNKNOWN, _unknown),
    "oversized-batch": ("refused", GEOLOCATION, _oversized),
    "no-csv-files": ("refused", "", _no_csv),
}
#: Batch ids that must be refused before any file is read: (name, id, given as --batch).
BAD_IDS: dict[str, tuple[str, bool]] = {
    "id-dot-dot-slash": ("../../etc", True),
    "id-quotes": ("2018-01-01' or '1'='1", False),
    "id-double-quote": ('b"1', False),
}


def write(out: Path, good: Path) -> dict[str, Hostile]:
    """Every hostile case as a source folder under ``out``, from the clean batch ``good``."""
    cases: dict[str, Hostile] = {}
    for name, (outcome, fault, spoil) in CASES.items():
        src = out / name
        batch_id = f"hostile-{name}"
        folder = _copy(good, src / f"batch={batch_id}")
        expect = spoil(folder)
        if outcome == "lands":  # the file at fault alone: loading it adds nothing else
            for path in folder.glob("*.csv"):
                if path.name != fault:
                    path.unlink()
        cases[name] = Hostile(name, src, batch_id, outcome, fault, expect)
    for name, (batch_id, as_option) in BAD_IDS.items():
        src = out / name
        if as_option:  # a flat folder of Olist files, loaded with --batch
            _copy(good, src)
        else:
            _copy(good, src / f"batch={batch_id}")
        expect = ("batch id", repr(batch_id), "letters, digits")
        cases[name] = Hostile(
            name, src, batch_id, "refused", "", expect, batch_id if as_option else None
        )
    return cases


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m tests.hostile OUT GOOD_BATCH_FOLDER", file=sys.stderr)
        return 2
    for case in write(Path(argv[0]), Path(argv[1])).values():
        print(f"{case.outcome:8} {case.name:18} {case.src}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
