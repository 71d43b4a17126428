"""``generate()``: build the clean world, inject defects, lay rows out per batch, write files."""

from __future__ import annotations

import csv
import datetime
import json
import math
import random
import re
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from medallion.generate._defects import Injector, Layout, Row, scatter
from medallion.generate._reference import CATEGORIES, CITIES
from medallion.generate._tables import (
    CUSTOMERS,
    GEOLOCATION,
    HEADERS,
    ORDER_ITEMS,
    ORDER_PAYMENTS,
    ORDER_REVIEWS,
    ORDERS,
    PRODUCTS,
    SELLERS,
    SPECS,
    TRANSLATION,
)
from medallion.generate._world import Flat, Prefix, World, cents, hex_id

MANIFEST = "defects.json"
_CHUNK = 50_000
_BATCH_DIR = re.compile(r"^batch=\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class GenerateSummary:
    """What a run wrote: batch ids in order, data rows per file stem over all batches
    (physical records, headers excluded), defective lines in the manifest and total bytes of
    all files including the manifest."""

    batches: list[str]
    rows: dict[str, int]
    defects: int
    bytes: int
    out: Path
    manifest: Path


def generate(
    out: Path,
    *,
    scale: float = 0.1,
    days: int = 3,
    seed: int = 42,
    defects: float = 0.0,
    multiline: float = 0.0,
    start_date: datetime.date = datetime.date(2018, 1, 1),
    progress: Callable[[str, int], None] | None = None,
) -> GenerateSummary:
    """Write ``days`` daily batches of Olist-format CSVs under ``out`` plus ``defects.json``.

    Same arguments give byte-identical files: all randomness comes from streams seeded by
    ``seed`` and nothing depends on the clock, ``hash()`` or set order. ``defects`` is the share
    of data rows per table (the translation file excepted) that carry one known defect, each
    listed in the manifest. ``multiline`` is the share of reviews whose comment spans lines, as
    about 1% of the real Olist reviews do: a quoted field holding ``\\n`` or ``\\r\\n`` (and
    sometimes a doubled quote); these rows are clean, not defects.
    ``progress(file_stem, rows_written_so_far)`` is called every 50,000 rows and after each
    file, with the table's running total over all batches.

    Existing ``batch=YYYY-MM-DD`` folders under ``out`` that this run does not write are
    removed, so the directory never mixes two runs; other files are left alone.
    """
    _validate(scale, days, defects)
    if not (isinstance(multiline, int | float) and 0.0 <= multiline <= 1.0):
        raise ValueError(f"multiline is a rate between 0 and 1, got {multiline!r}")
    out = Path(out)
    world = World(seed, scale, days, start_date).build()
    batch_ids = [(start_date + datetime.timedelta(days=b)).isoformat() for b in range(days)]
    injector = Injector(world.rng("defects"), defects, batch_ids)
    layouts = _lay_out(world, injector)
    defective = {
        key.get("review_id")
        for e in injector.entries
        if e["table"] == ORDER_REVIEWS and isinstance(key := e["key"], dict)
    }
    _span_lines(layouts[ORDER_REVIEWS], world.rng("multiline"), multiline, defective)

    out.mkdir(parents=True, exist_ok=True)
    _remove_stale_batches(out, set(batch_ids))
    rows = dict.fromkeys(HEADERS, 0)
    total_bytes = 0
    place_rng = world.rng("placement")
    geo_rng = world.rng("geolocation-rows")
    for b, batch_id in enumerate(batch_ids):
        folder = out / f"batch={batch_id}"
        folder.mkdir(exist_ok=True)
        for stem, header in HEADERS.items():
            path = folder / f"{stem}.csv"
            if stem == GEOLOCATION:
                content = _geolocation(world, layouts[stem], b, geo_rng)
            else:
                layout = layouts[stem]
                content = scatter(layout.base[b], layout.extras[b], place_rng)
            tick = None if progress is None else _ticker(progress, stem, rows[stem])
            rows[stem] += _write(path, header, content, tick)
            total_bytes += path.stat().st_size
            if progress is not None:
                progress(stem, rows[stem])

    entries = injector.manifest_entries()
    manifest = out / MANIFEST
    meta = {
        "seed": seed,
        "scale": float(scale),
        "days": days,
        "rate": float(defects),
        "start_date": start_date.isoformat(),
    }
    with manifest.open("w", encoding="utf-8", newline="") as fh:
        fh.write(_manifest_text(meta, entries))
    total_bytes += manifest.stat().st_size
    return GenerateSummary(batch_ids, rows, len(entries), total_bytes, out, manifest)


#: The line breaks a multi-line review comment holds, and what a comment may gain.
_BREAKS = ("\n", "\r\n", "\n\n")
_QUOTED = ('Produto "top"', 'veio "quase" certo', "obrigado")


def _span_lines(layout: Layout, rng: random.Random, rate: float, skip: set[object]) -> None:
    """Give a ``rate`` share of the clean reviews a comment with line breaks inside (the csv
    writer quotes it). Reviews a defect copies or touches (ids in ``skip``) keep theirs, so the
    manifest's lines stay the files' lines; edited rows are copies."""
    if rate <= 0:
        return
    message = HEADERS[ORDER_REVIEWS].index("review_comment_message")
    for rows in layout.base:
        for i, row in enumerate(rows):
            if not isinstance(row, list) or rng.random() >= rate or row[0] in skip:
                continue
            first = row[message] or rng.choice(_QUOTED)
            edited = list(row)
            edited[message] = f"{first}{rng.choice(_BREAKS)}{rng.choice(_QUOTED)}"
            rows[i] = edited


def _manifest_text(meta: dict[str, object], entries: list[dict[str, object]]) -> str:
    """The manifest as JSON with one defect per line: valid JSON for tools, greppable and
    diffable for people (tens of thousands of entries at scale 1)."""
    head = json.dumps(meta, ensure_ascii=False)[:-1] + ', "defects": ['
    if not entries:
        return head + "]}\n"
    body = ",\n".join(json.dumps(e, ensure_ascii=False) for e in entries)
    return f"{head}\n{body}\n]}}\n"


def _validate(scale: float, days: int, defects: float) -> None:
    if not (isinstance(scale, int | float) and math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive number, got {scale!r}")
    if not isinstance(days, int) or isinstance(days, bool) or days < 1:
        raise ValueError(f"days must be an integer >= 1, got {days!r}")
    if not (isinstance(defects, int | float) and 0.0 <= defects <= 1.0):
        raise ValueError(f"defects is a rate between 0 and 1, got {defects!r}")


def _remove_stale_batches(out: Path, keep: set[str]) -> None:
    """Delete ``batch=YYYY-MM-DD`` folders of an earlier, longer run, so the output directory
    describes exactly this run (the manifest would not cover them). Nothing else is touched."""
    for child in sorted(out.iterdir()):
        if child.is_dir() and _BATCH_DIR.match(child.name) and child.name[6:] not in keep:
            shutil.rmtree(child)


def _ticker(progress: Callable[[str, int], None], stem: str, done: int) -> Callable[[int], None]:
    """Adapt ``progress`` to one file: rows of this file -> rows of the table so far."""

    def tick(n: int) -> None:
        progress(stem, done + n)

    return tick


def _write(
    path: Path,
    header: Iterable[str],
    rows: Iterable[Row],
    tick: Callable[[int], None] | None = None,
) -> int:
    """Write a CSV (UTF-8, no BOM, ``\\n``, minimal quoting); pre-rendered lines go out
    verbatim so defective bytes match the manifest. ``tick(rows_so_far)`` is called every
    ``_CHUNK`` rows so a progress bar moves during the million-row geolocation file.
    Returns the number of data rows."""
    count = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        pending: list[list[str]] = []
        for row in rows:
            if row is None:
                continue
            count += 1
            if isinstance(row, str):
                if pending:
                    writer.writerows(pending)
                    pending = []
                fh.write(row)
                fh.write("\n")
            else:
                pending.append(row)
                if len(pending) >= _CHUNK:
                    writer.writerows(pending)
                    pending = []
                    if tick is not None:
                        tick(count)
        writer.writerows(pending)
    return count


def _geolocation(world: World, layout: Layout, b: int, rng: random.Random) -> Iterable[Row]:
    """Stream one batch of geolocation rows prefix by prefix (a million rows at scale 1 are
    never held in memory at once), with that batch's defective lines scattered between
    prefixes."""
    start = world.prefix_avail[b - 1] if b else 0
    prefixes = world.prefixes[start : world.prefix_avail[b]]
    buckets: dict[int, list[str]] = {}
    for line in layout.extras[b]:
        assert isinstance(line, str)
        buckets.setdefault(rng.randint(0, len(prefixes)), []).append(line)
    for i, prefix in enumerate(prefixes):
        yield from buckets.get(i, ())
        yield from world.geolocation_rows(rng, prefix)
    yield from buckets.get(len(prefixes), ())


def _lay_out(world: World, inj: Injector) -> dict[str, Layout]:
    """Place every clean row in its batch and let the injector add the defects.

    Orders go first because a defective order brings its own (clean) customer.
    """
    days = world.days
    rng = inj.rng
    layouts = {stem: Layout.empty(days) for stem in HEADERS}

    orders = layouts[ORDERS]
    for o in world.orders:
        orders.base[o.batch].append(world.order_row(o, o.path[0][1]))
        for b, state in o.path[1:]:
            orders.extras[b].append(world.order_row(o, state))

    def make_order() -> tuple[int, list[str]]:
        b = rng.randrange(days)
        o = world.new_order(rng, b, rng)
        return b, world.order_row(o, o.status)

    def order_variant(row: list[str], b: int) -> list[str]:
        v = list(row)
        if v[2] == "delivered":
            v[2], v[6] = "shipped", ""
            return v
        day, clock = v[3][:10], v[3][11:]
        secs = int(clock[:2]) * 3600 + int(clock[3:5]) * 60 + int(clock[6:8])
        shift = rng.randint(1, 600)
        secs = secs - shift if secs >= shift else secs + shift
        v[3] = f"{day} {secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"
        return v

    n_order_rows = sum(len(o.path) for o in world.orders)  # updates are order rows too
    inj.inject_entities(SPECS[ORDERS], orders, n_order_rows, make_order, order_variant)

    all_cities = sorted({world.unaccented(c[0]) for cities in CITIES.values() for c in cities})

    def relocate(row: list[str], b: int, first: int) -> list[str]:
        """Another valid address for a conflicting duplicate of a customer or seller."""
        v = list(row)
        for _ in range(10):
            p = world.pick_prefix(rng, b)
            if p.zip != v[first]:
                v[first : first + 3] = [p.zip, p.city, p.state]
                return v
        v[first + 1] = rng.choice([c for c in all_cities if c != v[first + 1]])
        return v

    customers = layouts[CUSTOMERS]
    customers.base = [list(rows) for rows in world.customers]

    def make_customer() -> tuple[int, list[str]]:
        b = rng.randrange(days)
        return b, world.customer_row(rng, b, repeat=False)

    inj.inject_entities(
        SPECS[CUSTOMERS],
        customers,
        sum(len(r) for r in customers.base),
        make_customer,
        lambda row, b: relocate(row, b, 2),
    )

    sellers = layouts[SELLERS]
    for s in world.sellers:
        sellers.base[s.batch].append(s.row)

    def make_seller() -> tuple[int, list[str]]:
        b = rng.randrange(days)
        return b, world.seller_row(rng, b, hex_id(rng))

    inj.inject_entities(
        SPECS[SELLERS],
        sellers,
        len(world.sellers),
        make_seller,
        lambda row, b: relocate(row, b, 1),
    )

    products = layouts[PRODUCTS]
    for p in world.products:
        products.base[p.batch].append(p.row)

    def make_product() -> tuple[int, list[str]]:
        b = rng.randrange(days)
        return b, world.product_fields(rng, hex_id(rng))[0]

    def product_variant(row: list[str], b: int) -> list[str]:
        v = list(row)
        v[5] = str(int(v[5]) + rng.randint(1, 500))
        return v

    inj.inject_entities(
        SPECS[PRODUCTS], products, len(world.products), make_product, product_variant
    )

    geo = layouts[GEOLOCATION]
    defect_prefixes: list[Prefix] = []

    def make_geo() -> tuple[int, list[str]]:
        # A prefix of its own, so no clean geolocation row shares the defective row's key
        # (only once the prefix space is exhausted do defective rows share prefixes).
        b = rng.randrange(days)
        prefix = world.new_prefix(rng, b)
        if prefix is None:
            prefix = replace(rng.choice(defect_prefixes or world.prefixes), batch=b)
        else:
            defect_prefixes.append(prefix)
        return b, world.geolocation_rows(rng, replace(prefix, rows=1))[0]

    inj.inject_entities(
        SPECS[GEOLOCATION], geo, sum(p.rows for p in world.prefixes), make_geo, None
    )

    translation = layouts[TRANSLATION]
    translation.base[0] = [[pt, en] for pt, en, _ in CATEGORIES if en is not None]

    def bump_money(col: int) -> Callable[[list[str]], list[str]]:
        def variant(row: list[str]) -> list[str]:
            v = list(row)
            value = round(float(v[col]) * 100)
            v[col] = cents(value + rng.randint(1, max(1, value // 5)))
            return v

        return variant

    def other_score(row: list[str]) -> list[str]:
        v = list(row)
        v[2] = str(rng.choice([s for s in range(1, 6) if str(s) != v[2]]))
        return v

    children: tuple[tuple[str, Flat, int, Callable[[list[str]], list[str]]], ...] = (
        (ORDER_ITEMS, world.items, 0, bump_money(5)),
        (ORDER_PAYMENTS, world.payments, 0, bump_money(4)),
        (ORDER_REVIEWS, world.reviews, 1, other_score),
    )
    for stem, flat, order_col, variant in children:
        layout = layouts[stem]
        late_ok: list[list[bool]] = [[] for _ in range(days)]
        for b, row, ok in zip(flat.batches, flat.rows, flat.late_ok, strict=True):
            layout.base[b].append(row)
            late_ok[b].append(ok)
        inj.inject_children(
            SPECS[stem], layout, late_ok, order_col, variant=variant, fresh_id=lambda: hex_id(rng)
        )
    return layouts
