"""Known, recorded defects injected into a copy of the clean world.

Every defect is decided here and written to the manifest together with the exact line, so the
pipeline's quarantine can be tested against ground truth instead of heuristics. Two rules keep
that ground truth unambiguous:

* a defective row carries exactly one defect and is otherwise clean, and its key is used by no
  other row unless the kind itself is about sharing a key (the duplicates);
* nothing clean depends on a defective row. Defective orders, customers, sellers, products and
  geolocation rows are therefore *extra* entities nobody references, while defects in the
  child tables corrupt existing rows of clean orders (their order stays clean).
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from medallion import vocabulary
from medallion.generate._tables import DEFECT_REASONS, HEADERS, KEYS, TableSpec

#: A row as laid out for writing: fields for the csv writer, a pre-rendered line (defects, whose
#: bytes must match the manifest exactly), or None for a row moved to another batch.
Row = list[str] | str | None

BAD_TIMESTAMPS = (
    "2018-02-30 25:61:00",
    "not a date",
    "31/12/2018",
    "2018-13-45 10:00:00",
    "0000-00-00 00:00:00",
)
#: None of these parse as a number in any common reader (no "nan"/"inf", no null markers).
BAD_NUMBERS = ("12,5x", "abc", "1.2.3", "--5", "R$ 10,00", "x9")
UNKNOWN_STATUSES = ("lost", "returned", "pending", "in_transit", "on_hold")
UNKNOWN_PAYMENT_TYPES = ("pix", "cash", "paypal", "bank_transfer", "crypto")
_SCORES = vocabulary.load()
OUT_OF_RANGE_SCORES = tuple(
    str(s)
    for s in (
        _SCORES.review_score_min - 1,
        _SCORES.review_score_max + 1,
        _SCORES.review_score_max + 4,
    )
)
BLANKS = ("", "", " ", "   ")


class _Renderer:
    """Renders one row exactly as ``csv.writer`` writes it into the files (QUOTE_MINIMAL,
    ``\\n``), so a manifest line and the file line are the same bytes."""

    def __init__(self) -> None:
        self._buf = io.StringIO()
        self._writer = csv.writer(self._buf, lineterminator="\n")

    def __call__(self, fields: Sequence[str]) -> str:
        self._buf.seek(0)
        self._buf.truncate()
        self._writer.writerow(fields)
        return self._buf.getvalue()[:-1]


render = _Renderer()


@dataclass
class Layout:
    """One table's rows per batch. ``base`` keeps generation order; ``extras`` (updates,
    duplicates, defective entities, moved rows) are scattered into it when written."""

    base: list[list[Row]]
    extras: list[list[list[str] | str]]

    @classmethod
    def empty(cls, days: int) -> Layout:
        return cls([[] for _ in range(days)], [[] for _ in range(days)])


@dataclass
class Injector:
    """Decides which rows become defective and records each defective physical line."""

    rng: random.Random
    rate: float
    batch_ids: list[str]
    entries: list[dict[str, object]] = field(default_factory=list)

    def count(self, n: int) -> int:
        """How many defects a table of ``n`` clean rows gets."""
        return min(n, round(self.rate * n))

    def _plan(self, kinds: Sequence[str], d: int) -> list[str]:
        """``d`` kinds cycling through all applicable ones, so even small runs cover every
        kind, in random order."""
        if not kinds:
            return []
        order = list(kinds)
        self.rng.shuffle(order)
        plan = [order[i % len(order)] for i in range(d)]
        self.rng.shuffle(plan)
        return plan

    def _record(
        self,
        spec: TableSpec,
        batch: int,
        kind: str,
        fields: Sequence[str],
        line: str,
        *,
        parent: int | None = None,
    ) -> None:
        key = {
            name: fields[i] if i < len(fields) else ""
            for name, i in zip(KEYS[spec.stem], spec.key_cols, strict=True)
        }
        self.entries.append(
            {
                "table": spec.stem,
                "batch": self.batch_ids[batch],
                "kind": kind,
                "reason": DEFECT_REASONS[kind],
                "key": key,
                "line": line,
                "parent_batch": None if parent is None else self.batch_ids[parent],
            }
        )

    def corrupt(self, spec: TableSpec, kind: str, row: Sequence[str]) -> tuple[list[str], str]:
        """Apply a single-line defect kind; returns the fields (for the key) and the line."""
        rng = self.rng
        f = list(row)
        header = HEADERS[spec.stem]
        if kind == "null_key":
            f[spec.null_col] = rng.choice(BLANKS)
        elif kind == "bad_timestamp":
            f[rng.choice(spec.timestamp_cols)] = rng.choice(BAD_TIMESTAMPS)
        elif kind == "bad_number":
            f[rng.choice(spec.number_cols)] = rng.choice(BAD_NUMBERS)
        elif kind == "negative_amount":
            positive = [c for c in spec.amount_cols if float(f[c]) > 0]
            col = rng.choice(positive or list(spec.amount_cols))
            f[col] = "-" + f[col] if float(f[col]) > 0 else "-1.00"
        elif kind == "unknown_order_status":
            f[header.index("order_status")] = rng.choice(UNKNOWN_STATUSES)
        elif kind == "unknown_payment_type":
            f[header.index("payment_type")] = rng.choice(UNKNOWN_PAYMENT_TYPES)
        elif kind == "review_score_out_of_range":
            f[header.index("review_score")] = rng.choice(OUT_OF_RANGE_SCORES)
        elif kind == "malformed_field_count":
            if rng.random() < 0.5:
                f.pop()
            else:
                f.append(f[-1] or "x")
        elif kind == "malformed_quoting":
            # Open a quote at a non-key field that is not the last one, so at least one comma
            # is swallowed and a reader of this line alone sees fewer fields than the header.
            # Clean fields never contain a double quote, so nothing closes it.
            j = rng.randrange(len(spec.key_cols), len(f) - 1)
            tail = ",".join(v.replace('"', "") for v in f[j:])
            return f, f'{render(f[:j])},"{tail}'
        else:
            raise ValueError(f"{kind} does not apply to {spec.stem}")
        return f, render(f)

    def inject_entities(
        self,
        spec: TableSpec,
        layout: Layout,
        n_clean: int,
        make: Callable[[], tuple[int, list[str]]],
        variant: Callable[[list[str], int], list[str]] | None,
    ) -> None:
        """Defects for tables whose rows other rows reference (and for orders).

        Exact duplicates copy an existing clean row (the pair collapses to one accepted row, so
        it may stay referenced); every other kind is applied to a fresh entity from ``make`` that
        nothing references, so quarantining it cannot orphan anything.
        """
        d = self.count(n_clean)
        if d == 0:
            return
        rng = self.rng
        existing = [(b, i) for b, rows in enumerate(layout.base) for i in range(len(rows))]
        rng.shuffle(existing)
        dup_pool = iter(existing)
        for kind in self._plan(spec.kinds, d):
            if kind == "exact_duplicate":
                picked = next(dup_pool, None)
                if picked is None:
                    continue
                b, i = picked
                row = layout.base[b][i]
                assert isinstance(row, list)
                line = render(row)
                layout.extras[b].append(line)
                self._record(spec, b, kind, row, line)
                continue
            b, row = make()
            if kind == "conflicting_duplicate":
                assert variant is not None
                for fields in (row, variant(row, b)):
                    line = render(fields)
                    layout.extras[b].append(line)
                    self._record(spec, b, kind, fields, line)
                continue
            fields, line = self.corrupt(spec, kind, row)
            layout.extras[b].append(line)
            self._record(spec, b, kind, fields, line)

    def inject_children(
        self,
        spec: TableSpec,
        layout: Layout,
        late_ok: list[list[bool]],
        order_col: int,
        *,
        variant: Callable[[list[str]], list[str]],
        fresh_id: Callable[[], str],
    ) -> None:
        """Defects for items, payments and reviews: existing rows of clean orders are corrupted
        in place, duplicated, re-pointed to an order that never arrives (orphan) or moved one
        batch before their order (late_parent)."""
        base = layout.base
        index = [(b, i) for b, rows in enumerate(base) for i in range(len(rows))]
        d = self.count(len(index))
        if d == 0:
            return
        rng = self.rng
        order = list(range(len(index)))
        rng.shuffle(order)
        late_pool = [k for k in order if index[k][0] >= 1 and late_ok[index[k][0]][index[k][1]]]
        kinds = [k for k in spec.kinds if k != "late_parent" or late_pool]
        used: set[int] = set()
        any_iter, late_iter = iter(order), iter(late_pool)
        for kind in self._plan(kinds, d):
            pool = late_iter if kind == "late_parent" else any_iter
            k = next((k for k in pool if k not in used), None)
            if k is None:
                continue
            used.add(k)
            b, i = index[k]
            row = base[b][i]
            assert isinstance(row, list)
            if kind == "exact_duplicate":
                line = render(row)
                layout.extras[b].append(line)
                self._record(spec, b, kind, row, line)
            elif kind == "conflicting_duplicate":
                other = variant(row)
                base[b][i] = render(row)
                layout.extras[b].append(render(other))
                self._record(spec, b, kind, row, render(row))
                self._record(spec, b, kind, other, render(other))
            elif kind == "late_parent":
                line = render(row)
                base[b][i] = None
                layout.extras[b - 1].append(line)
                self._record(spec, b - 1, kind, row, line, parent=b)
            elif kind == "orphan":
                fields = list(row)
                fields[order_col] = fresh_id()
                line = render(fields)
                base[b][i] = line
                self._record(spec, b, kind, fields, line)
            else:
                fields, line = self.corrupt(spec, kind, row)
                base[b][i] = line
                self._record(spec, b, kind, fields, line)

    def manifest_entries(self) -> list[dict[str, object]]:
        """Entries sorted by (batch, table, line) so the manifest is stable and diffable."""
        return sorted(
            self.entries, key=lambda e: (str(e["batch"]), str(e["table"]), str(e["line"]))
        )


def scatter(base: list[Row], extras: list[list[str] | str], rng: random.Random) -> list[Row]:
    """Insert ``extras`` at random positions of ``base`` (dropping moved-away rows) in one pass,
    so updates and defects are not conveniently bunched at the end of a file."""
    if not extras:
        return [r for r in base if r is not None]
    n = len(base)
    slots = sorted((rng.randint(0, n), k) for k in range(len(extras)))
    out: list[Row] = []
    start = 0
    for pos, k in slots:
        out.extend(r for r in base[start:pos] if r is not None)
        out.append(extras[k])
        start = pos
    out.extend(r for r in base[start:] if r is not None)
    return out
