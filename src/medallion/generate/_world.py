"""The clean synthetic world: geography, sellers, products, customers, orders and their children.

Everything here is defect free; ``_defects`` corrupts a copy of it afterwards. Keeping the two
apart means the clean data does not depend on the defect rate (a run with ``defects=0.02`` has
the same clean orders as one with ``defects=0``, minus the rows that were corrupted), and it
means every invariant the tests check on clean rows is established in one place.

Times are integer seconds since midnight of the first batch day; they are only turned into
strings by :class:`Clock`, which avoids per-row ``datetime``/``strftime`` work (the single
biggest cost when this was first profiled).
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import accumulate
from typing import TypeVar

from medallion.generate._reference import (
    CATEGORIES,
    CITIES,
    MESSAGES_BAD,
    MESSAGES_GOOD,
    MESSAGES_MEH,
    STATE_WEIGHTS,
    TITLES_BAD,
    TITLES_GOOD,
    TITLES_MEH,
    ZIP_RANGES,
    strip_accents,
)

DAY = 86_400
T = TypeVar("T")

#: Row counts of the real dataset; ``scale`` multiplies them.
TARGETS: dict[str, int] = {
    "orders": 99_441,
    "items": 112_650,
    "payments": 103_886,
    "reviews": 99_224,
    "products": 32_951,
    "sellers": 3_095,
    "geolocation": 1_000_163,
    "prefixes": 19_015,
}
#: Upper bound on distinct zip prefixes so rejection sampling in the 100,000 prefix space stays
#: cheap even at very large scales (rows per prefix grow instead).
MAX_PREFIXES = 60_000

#: Share of each reference table that already exists in the first batch; the rest trickles in.
FIRST_BATCH_SHARE = {"geolocation": 0.85, "sellers": 0.9, "products": 0.85, "customers": 0.5}

#: Final order status distribution of Olist (delivered ~97%).
FINAL_STATUS: tuple[tuple[str, float], ...] = (
    ("delivered", 96_478),
    ("shipped", 1_107),
    ("canceled", 625),
    ("unavailable", 609),
    ("invoiced", 314),
    ("processing", 301),
    ("created", 5),
    ("approved", 2),
)
RANK = {
    "created": 0,
    "approved": 1,
    "invoiced": 2,
    "processing": 3,
    "shipped": 4,
    "delivered": 5,
    "canceled": 5,
    "unavailable": 5,
}
#: For each final status, the states an order may be first seen in (with weights) when a later
#: batch carries its update.
INITIAL_STATES: dict[str, tuple[tuple[str, float], ...]] = {
    "delivered": (
        ("shipped", 6),
        ("approved", 3),
        ("invoiced", 1),
        ("processing", 1),
        ("created", 0.5),
    ),
    "shipped": (("approved", 3), ("invoiced", 2), ("processing", 2), ("created", 0.5)),
    "canceled": (("created", 2), ("approved", 3), ("processing", 1)),
    "unavailable": (("approved", 3), ("created", 1)),
    "invoiced": (("approved", 3), ("created", 1)),
    "processing": (("approved", 3), ("invoiced", 1)),
    "approved": (("created", 1),),
}
UPDATE_SHARE = 0.3
LATE_SHARE = 0.081
REPEAT_CUSTOMER_SHARE = 0.034
EMPTY_CATEGORY_SHARE = 0.0185
#: Primary payment type of an order (vouchers mostly show up as extra rows of split payments).
PAY_TYPES: tuple[tuple[str, float], ...] = (
    ("credit_card", 76.6),
    ("boleto", 20.5),
    ("voucher", 1.35),
    ("debit_card", 1.55),
)
INSTALLMENTS: tuple[tuple[int, float], ...] = (
    (1, 48),
    (2, 12),
    (3, 10),
    (4, 7),
    (5, 5),
    (6, 4),
    (7, 1.6),
    (8, 4.2),
    (9, 0.6),
    (10, 5.3),
    (12, 0.13),
    (15, 0.07),
    (18, 0.03),
    (20, 0.02),
    (24, 0.018),
)
#: Review score weights by situation: delivered on time, delivered late, never delivered.
SCORES: dict[str, tuple[tuple[int, float], ...]] = {
    "on_time": ((5, 61), (4, 21), (3, 8), (2, 2.5), (1, 7.5)),
    "late": ((5, 23), (4, 12), (3, 11), (2, 9), (1, 45)),
    "undelivered": ((5, 14), (4, 6), (3, 10), (2, 8), (1, 62)),
}
SCORE_VALUES = (5, 4, 3, 2, 1)
#: Purchases per hour of day (quiet nights, busy evenings).
HOUR_WEIGHTS: tuple[float, ...] = (
    3, 1.5, 0.8, 0.5, 0.4, 0.6, 1.5, 3, 6, 8.5, 9.5, 9.5,
    9, 9.5, 10, 9.5, 9.5, 9, 8.5, 9, 9.5, 9.5, 9, 6.5,
)  # fmt: skip


def hex_id(rng: random.Random) -> str:
    """A 32-char lowercase hex id like Olist's, drawn from ``rng`` so it is reproducible."""
    return f"{rng.getrandbits(128):032x}"


def weighted(rng: random.Random, population: Sequence[T], cum_weights: Sequence[float]) -> T:
    """One draw from ``population`` by cumulative weights.

    Same result and random consumption as ``rng.choices(population, cum_weights=...)[0]`` but
    without its per-call overhead, which showed up in the profile at ~600,000 draws.
    """
    hi = len(cum_weights) - 1
    return population[bisect_right(cum_weights, rng.random() * cum_weights[-1], 0, hi)]


def cents(value: int) -> str:
    """Format integer cents as Olist writes money ("29.99"); integers avoid float drift."""
    return f"{value // 100}.{value % 100:02d}"


def scaled(target: str, scale: float, minimum: int = 0) -> int:
    """Row count of a table at ``scale``."""
    return max(minimum, round(TARGETS[target] * scale))


class Clock:
    """Turns second offsets into Olist timestamp strings with two list look-ups.

    All 86,400 "HH:MM:SS" strings and the needed date strings are precomputed; that is several
    times faster than ``datetime + strftime`` for the ~700,000 timestamps of a scale-1 run.
    """

    def __init__(self, start: date) -> None:
        self._start = start
        self._days: list[str] = []
        self._hms = [
            f" {h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)
        ]
        self._extend(400)

    def _extend(self, n: int) -> None:
        start = self._start
        self._days.extend(
            (start + timedelta(days=d)).isoformat() for d in range(len(self._days), n)
        )

    def day(self, day: int) -> str:
        """``YYYY-MM-DD`` of a day offset."""
        if day < 0:
            raise ValueError("timestamps before the first batch are not generated")
        if day >= len(self._days):
            self._extend(day + 1)
        return self._days[day]

    def ts(self, sec: int) -> str:
        """``YYYY-MM-DD HH:MM:SS`` of a second offset."""
        day, rest = divmod(sec, DAY)
        days = self._days
        if 0 <= day < len(days):
            return days[day] + self._hms[rest]
        return self.day(day) + self._hms[rest]

    def midnight(self, day: int) -> str:
        """Date-only Olist columns are written with a 00:00:00 time."""
        return self.day(day) + " 00:00:00"


def _cum(pairs: Sequence[tuple[object, float]]) -> list[float]:
    return list(accumulate(w for _, w in pairs))


class ZipAllocator:
    """Hands out distinct 5-digit zip prefixes inside each state's real CEP ranges.

    States are drawn with the customer weights, so SP gets the most prefixes. Used prefixes are
    kept in a set only for membership tests; iteration order never leaks into the output.
    """

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._states = [s for s, _ in STATE_WEIGHTS]
        self._cum = list(accumulate(w for _, w in STATE_WEIGHTS))
        self._used: set[int] = set()
        self._free = {s: sum(hi - lo + 1 for lo, hi in ZIP_RANGES[s]) for s in self._states}
        self.exhausted = False

    def allocate(self) -> tuple[str, str] | None:
        """A fresh (prefix, state), or None when the prefix space is (nearly) exhausted.

        A state whose ranges keep rejecting is treated as full and the allocator remembers
        exhaustion, so high defect rates (one fresh prefix per defective geolocation row) cannot
        turn rejection sampling into a crawl.
        """
        if self.exhausted:
            return None
        rng = self._rng
        for _ in range(200):
            state = weighted(rng, self._states, self._cum)
            if self._free[state] <= 0:
                continue
            ranges = ZIP_RANGES[state]
            for _ in range(50):
                lo, hi = ranges[0] if len(ranges) == 1 else rng.choice(ranges)
                value = rng.randint(lo, hi)
                if value not in self._used:
                    self._used.add(value)
                    self._free[state] -= 1
                    return f"{value:05d}", state
            self._free[state] = 0
        self.exhausted = True
        return None


@dataclass(slots=True)
class Prefix:
    """One zip prefix: its location and how many geolocation rows it gets."""

    zip: str
    state: str
    city: str
    city_accented: str
    lat: float
    lng: float
    batch: int
    rows: int = 0


@dataclass(slots=True)
class Seller:
    """A seller row and the batch it is first delivered in."""

    id: str
    row: list[str]
    batch: int


@dataclass(slots=True)
class Product:
    """A product row with its batch, seller and list price/freight (items vary around them)."""

    id: str
    row: list[str]
    batch: int
    seller: int
    price: int
    freight: int


@dataclass(slots=True)
class Order:
    """An order's whole life; rows for any state along its path are derived from it."""

    id: str
    customer_id: str
    batch: int
    status: str
    purchase: int
    approved: int | None
    carrier: int | None
    delivered: int | None
    estimated_day: int
    late: bool
    pay_type: str
    path: list[tuple[int, str]] = field(default_factory=list)
    total: int = 0


@dataclass
class Flat:
    """Rows of a child table in generation order, with the batch of each row and whether it may
    be used for a late_parent defect (everything it references exists one batch earlier)."""

    batches: list[int] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    late_ok: list[bool] = field(default_factory=list)

    def add(self, batch: int, row: list[str], late_ok: bool = True) -> None:
        self.batches.append(batch)
        self.rows.append(row)
        self.late_ok.append(late_ok)


def child_counts(
    rng: random.Random, n_slots: int, target: int, multi: float, cap: int
) -> list[int]:
    """Split ``target`` children over ``n_slots`` parents: one each, then a ``multi`` share of
    parents gets more with a heavy tail (as Olist's multi-item orders), summing exactly to
    ``target`` so the row counts hit the scaled Olist numbers."""
    if n_slots == 0 or target <= 0:
        return [0] * n_slots
    if target <= n_slots:
        counts = [0] * n_slots
        for i in rng.sample(range(n_slots), target):
            counts[i] = 1
        return counts
    counts = [1] * n_slots
    extra = target - n_slots
    m = min(extra, max(1, round(multi * n_slots)), n_slots)
    chosen = rng.sample(range(n_slots), m)
    for i in chosen:
        counts[i] += 1
    for _ in range(extra - m):
        i = chosen[int(m * rng.random() ** 3)]
        if counts[i] >= cap:
            i = chosen[rng.randrange(m)]
            if counts[i] >= cap:
                i = rng.randrange(n_slots)
        counts[i] += 1
    return counts


def _availability(batches: list[int], days: int) -> list[int]:
    """``avail[b]`` = number of leading list entries whose batch is <= b (lists are sorted)."""
    counts = [0] * days
    for b in batches:
        counts[b] += 1
    return list(accumulate(counts))


def _spread_batch(rng: random.Random, days: int, first_share: float) -> int:
    if days == 1 or rng.random() < first_share:
        return 0
    return rng.randrange(1, days)


class World:
    """The clean data set, built table by table from independent random streams.

    Each table has its own ``random.Random`` derived from the seed, so changing how one table is
    generated does not reshuffle the others, and ``hash()``/clock/global random never enter.
    """

    def __init__(self, seed: int, scale: float, days: int, start: date) -> None:
        self.seed = seed
        self.scale = scale
        self.days = days
        self.clock = Clock(start)
        self._seed = seed
        self.zip_alloc = ZipAllocator(self.rng("zip"))
        self._accents: dict[str, str] = {}
        self._status_cum = _cum(FINAL_STATUS)
        self._pay_cum = _cum(PAY_TYPES)
        self._inst_cum = _cum(INSTALLMENTS)
        self._hour_cum = list(accumulate(HOUR_WEIGHTS))
        self._score_cum = {
            k: list(accumulate(dict(v)[s] for s in SCORE_VALUES)) for k, v in SCORES.items()
        }
        self._city_cum = {s: list(accumulate(c[3] for c in CITIES[s])) for s in CITIES}
        self._cat_names = [c for c, en, _ in CATEGORIES if en is not None]
        self._cat_cum = list(accumulate(w for _, en, w in CATEGORIES if en is not None))
        self._untranslated = [c for c, en, _ in CATEGORIES if en is None]
        self.prefixes: list[Prefix] = []
        self.prefix_avail: list[int] = []
        self.sellers: list[Seller] = []
        self.seller_avail: list[int] = []
        self._seller_cum: list[float] = []
        self.products: list[Product] = []
        self.product_avail: list[int] = []
        self._product_cum: list[float] = []
        self.customers: list[list[list[str]]] = [[] for _ in range(days)]
        self._customer_pool: list[tuple[str, Prefix]] = []
        self.orders: list[Order] = []
        self.items = Flat()
        self.payments = Flat()
        self.reviews = Flat()

    def rng(self, name: str) -> random.Random:
        """An independent, reproducible stream (str seeds are hashed with SHA-512 by random)."""
        return random.Random(f"medallion:{self._seed}:{name}")

    def build(self) -> World:
        """Generate the tables parents first, so every reference can be drawn from rows that
        already exist in the same or an earlier batch."""
        self._build_geography()
        self._build_sellers()
        self._build_products()
        self._build_orders()
        self._build_items()
        self._build_payments()
        self._build_reviews()
        return self

    # ---------------------------------------------------------------- geography

    def unaccented(self, name: str) -> str:
        cached = self._accents.get(name)
        if cached is None:
            cached = self._accents[name] = strip_accents(name)
        return cached

    def new_prefix(self, rng: random.Random, batch: int) -> Prefix | None:
        """A fresh prefix centred on a weighted city of its state (None if the space is full)."""
        got = self.zip_alloc.allocate()
        if got is None:
            return None
        zip_, state = got
        name, lat, lng, _ = weighted(rng, CITIES[state], self._city_cum[state])
        return Prefix(
            zip_,
            state,
            self.unaccented(name),
            name,
            lat + rng.gauss(0.0, 0.04),
            lng + rng.gauss(0.0, 0.04),
            batch,
        )

    def _build_geography(self) -> None:
        rng = self.rng("geolocation")
        n_rows = scaled("geolocation", self.scale, 1)
        n_prefixes = min(n_rows, scaled("prefixes", self.scale, 1), MAX_PREFIXES)
        prefixes: list[Prefix] = []
        for i in range(n_prefixes):
            batch = 0 if i == 0 else _spread_batch(rng, self.days, FIRST_BATCH_SHARE["geolocation"])
            prefix = self.new_prefix(rng, batch)
            if prefix is None:
                break
            prefixes.append(prefix)
        prefixes.sort(key=lambda p: p.batch)
        # Heavy-tailed rows per prefix (big-city prefixes have hundreds of rows in Olist).
        weights = [rng.lognormvariate(0.0, 1.0) for _ in prefixes]
        spare = n_rows - len(prefixes)
        total_w = sum(weights)
        for p, w in zip(prefixes, weights, strict=True):
            p.rows = 1 + int(spare * w / total_w)
        for _ in range(n_rows - sum(p.rows for p in prefixes)):
            prefixes[rng.randrange(len(prefixes))].rows += 1
        self.prefixes = prefixes
        self.prefix_avail = _availability([p.batch for p in prefixes], self.days)

    def pick_prefix(self, rng: random.Random, batch: int) -> Prefix:
        """A prefix that already exists in ``batch`` (so the reference arrives before its use)."""
        return self.prefixes[int(rng.random() * self.prefix_avail[batch])]

    def geolocation_rows(self, rng: random.Random, p: Prefix) -> list[list[str]]:
        """The geolocation rows of one prefix: jittered points, both city spellings."""
        rnd = rng.random
        lat, lng, z, st = p.lat, p.lng, p.zip, p.state
        city, accented = p.city, p.city_accented
        return [
            [
                z,
                str(lat + (rnd() - 0.5) * 0.02),
                str(lng + (rnd() - 0.5) * 0.02),
                accented if rnd() < 0.15 else city,
                st,
            ]
            for _ in range(p.rows)
        ]

    # ---------------------------------------------------------------- sellers and products

    def seller_row(self, rng: random.Random, batch: int, seller_id: str) -> list[str]:
        p = self.pick_prefix(rng, batch)
        return [seller_id, p.zip, p.city, p.state]

    def _build_sellers(self) -> None:
        rng = self.rng("sellers")
        n = scaled("sellers", self.scale, 1)
        batches = sorted(
            0 if i == 0 else _spread_batch(rng, self.days, FIRST_BATCH_SHARE["sellers"])
            for i in range(n)
        )
        for b in batches:
            sid = hex_id(rng)
            self.sellers.append(Seller(sid, self.seller_row(rng, b, sid), b))
        self.seller_avail = _availability(batches, self.days)
        # Pareto popularity: a few big sellers, a long tail (Olist's top seller has ~2% of items).
        self._seller_cum = list(accumulate(rng.paretovariate(1.5) for _ in range(n)))

    def product_fields(
        self, rng: random.Random, product_id: str, category: str | None = None
    ) -> tuple[list[str], int, int]:
        """A product row plus its list price and freight in cents.

        Products without a category also lack name/description lengths and photo counts, as
        in Olist.
        """
        if category is None:
            if rng.random() < EMPTY_CATEGORY_SHARE:
                category = ""
            else:
                category = weighted(rng, self._cat_names, self._cat_cum)
        weight = int(min(40_000, max(50, rng.lognormvariate(math.log(700), 1.2))))
        length = int(min(105, max(7, rng.lognormvariate(math.log(25), 0.45))))
        height = int(min(105, max(2, rng.lognormvariate(math.log(13), 0.6))))
        width = int(min(118, max(6, rng.lognormvariate(math.log(20), 0.45))))
        if category:
            name_len = str(int(min(76, max(5, rng.gauss(48, 10)))))
            desc_len = str(int(min(3992, max(4, rng.lognormvariate(math.log(600), 0.7)))))
            photos = str(min(20, 1 + int(rng.expovariate(0.9))))
        else:
            name_len = desc_len = photos = ""
        row = [
            product_id,
            category,
            name_len,
            desc_len,
            photos,
            str(weight),
            str(length),
            str(height),
            str(width),
        ]
        price = int(min(673_500, max(85, rng.lognormvariate(math.log(7_500), 0.95))))
        freight = 0
        if rng.random() > 0.004:
            freight = int(700 + weight * 0.12 + rng.lognormvariate(math.log(800), 0.5))
        return row, price, freight

    def pick_seller(self, rng: random.Random, batch: int) -> int:
        avail = self.seller_avail[batch]
        cum = self._seller_cum
        return min(avail - 1, bisect_right(cum, rng.random() * cum[avail - 1], 0, avail))

    def _build_products(self) -> None:
        rng = self.rng("products")
        n = scaled("products", self.scale, 1)
        batches = sorted(
            0 if i < 2 else _spread_batch(rng, self.days, FIRST_BATCH_SHARE["products"])
            for i in range(n)
        )
        for i, b in enumerate(batches):
            pid = hex_id(rng)
            # The first two products carry the two untranslated categories, so the pipeline
            # always meets them (they are also the first items sold, see _build_items).
            forced = self._untranslated[i] if i < len(self._untranslated) else None
            row, price, freight = self.product_fields(rng, pid, forced)
            self.products.append(Product(pid, row, b, self.pick_seller(rng, b), price, freight))
        self.product_avail = _availability(batches, self.days)
        # Best sellers sell a few hundred units at scale 1, most products a handful.
        self._product_cum = list(accumulate(rng.paretovariate(1.7) for _ in range(n)))

    def pick_product(self, rng: random.Random, batch: int) -> int:
        avail = self.product_avail[batch]
        cum = self._product_cum
        return min(avail - 1, bisect_right(cum, rng.random() * cum[avail - 1], 0, avail))

    # ---------------------------------------------------------------- customers and orders

    def customer_row(self, rng: random.Random, batch: int, repeat: bool = True) -> list[str]:
        """A customer row that can be written in ``batch``; ~3% reuse an earlier person's
        customer_unique_id (and address), like Olist's returning customers."""
        pool = self._customer_pool
        unique_id = ""
        prefix: Prefix | None = None
        if repeat and pool and rng.random() < REPEAT_CUSTOMER_SHARE:
            unique_id, prefix = pool[rng.randrange(len(pool))]
            if prefix.batch > batch:
                prefix = None
        if not unique_id:
            unique_id = hex_id(rng)
        if prefix is None:
            prefix = self.pick_prefix(rng, batch)
        if repeat:
            pool.append((unique_id, prefix))
        return [hex_id(rng), unique_id, prefix.zip, prefix.city, prefix.state]

    def new_order(self, rng: random.Random, batch: int, customer_rng: random.Random) -> Order:
        """An order purchased on day ``batch`` with a fresh customer registered in or before
        that batch; the customer row is stored, the order is returned."""
        status = weighted(rng, FINAL_STATUS, self._status_cum)[0]
        if status == "canceled" and rng.random() < 0.005:
            pay_type = "not_defined"
        else:
            pay_type = weighted(rng, PAY_TYPES, self._pay_cum)[0]
        hour = weighted(rng, range(24), self._hour_cum)
        purchase = batch * DAY + hour * 3600 + rng.randrange(3600)
        approved: int | None = None
        if status != "created" and not (status == "canceled" and rng.random() < 0.1):
            if pay_type == "boleto":
                delay = rng.randint(DAY // 2, 3 * DAY)
            else:
                delay = min(2 * DAY, int(rng.lognormvariate(6.8, 1.1)))
            approved = purchase + max(60, delay)
        estimated_day = purchase // DAY + max(7, round(rng.triangular(7, 50, 20)))
        carrier: int | None = None
        delivered: int | None = None
        late = False
        if status == "delivered" and approved is not None:
            estimated = estimated_day * DAY
            if rng.random() < LATE_SHARE:
                late = True
                delivered = estimated + DAY + min(60 * DAY, int(rng.expovariate(1 / (5 * DAY))))
            else:
                lo = approved + int(0.8 * DAY)
                delivered = lo + int((estimated - 1 - lo) * rng.random() ** 1.4)
            carrier = approved + int((delivered - approved) * rng.uniform(0.08, 0.45))
        elif approved is not None and (
            status == "shipped" or (status == "canceled" and rng.random() < 0.12)
        ):
            carrier = approved + int(rng.lognormvariate(math.log(2 * DAY), 0.6))
        customer_batch = batch
        if batch > 0 and customer_rng.random() < FIRST_BATCH_SHARE["customers"]:
            customer_batch = 0
        customer = self.customer_row(customer_rng, customer_batch)
        self.customers[customer_batch].append(customer)
        return Order(
            hex_id(rng),
            customer[0],
            batch,
            status,
            purchase,
            approved,
            carrier,
            delivered,
            estimated_day,
            late,
            pay_type,
        )

    def order_row(self, o: Order, state: str) -> list[str]:
        """The full orders row of ``o`` as it looks while in ``state`` (dates of later steps
        are still empty)."""
        ts = self.clock.ts
        approved = ts(o.approved) if o.approved is not None and state != "created" else ""
        carrier = ""
        if o.carrier is not None and state in ("shipped", "delivered", "canceled"):
            carrier = ts(o.carrier)
        delivered = ts(o.delivered) if o.delivered is not None and state == "delivered" else ""
        return [
            o.id,
            o.customer_id,
            state,
            ts(o.purchase),
            approved,
            carrier,
            delivered,
            self.clock.midnight(o.estimated_day),
        ]

    def _plan_path(self, rng: random.Random, o: Order) -> None:
        """Decide in which batches the order shows up and in which state: usually once, in its
        final state; sometimes first in an earlier state, with full-row updates later."""
        o.path = [(o.batch, o.status)]
        later = self.days - 1 - o.batch
        initial = INITIAL_STATES.get(o.status)
        if later <= 0 or initial is None or rng.random() >= UPDATE_SHARE:
            return
        if o.approved is None:
            initial = tuple(s for s in initial if s[0] == "created")
            if not initial:
                return
        first = weighted(rng, initial, _cum(initial))[0]
        chain = [first]
        if o.status == "delivered" and RANK[first] < RANK["shipped"] and later >= 2:
            chain.append("shipped")
        chain.append(o.status)
        update_batches = sorted(rng.sample(range(o.batch + 1, self.days), len(chain) - 1))
        o.path = [(o.batch, first), *zip(update_batches, chain[1:], strict=True)]

    def _build_orders(self) -> None:
        rng = self.rng("orders")
        customer_rng = self.rng("customers")
        n = scaled("orders", self.scale, 1)
        for b in range(self.days):
            size = n * (b + 1) // self.days - n * b // self.days
            batch_orders = [self.new_order(rng, b, customer_rng) for _ in range(size)]
            batch_orders.sort(key=lambda o: o.purchase)
            for o in batch_orders:
                self._plan_path(rng, o)
            self.orders.extend(batch_orders)

    # ---------------------------------------------------------------- children

    def _build_items(self) -> None:
        rng = self.rng("items")
        ts = self.clock.ts

        def has_items(o: Order) -> bool:
            if o.status in ("unavailable", "created"):
                return False
            return o.status != "canceled" or rng.random() < 0.75

        slots = [o for o in self.orders if has_items(o)]
        counts = child_counts(rng, len(slots), scaled("items", self.scale), 0.0994, 21)
        forced = list(range(min(2, len(self.products))))
        for o, k in zip(slots, counts, strict=True):
            if k == 0:
                continue
            b = o.batch
            base = o.approved if o.approved is not None else o.purchase
            limit = ts(base + rng.randint(2 * DAY, 7 * DAY))
            p = self.products[0]
            price = freight = 0
            for n in range(1, k + 1):
                if n == 1 or rng.random() >= 0.55:
                    idx = forced.pop(0) if forced and b == 0 else self.pick_product(rng, b)
                    p = self.products[idx]
                    price = p.price
                    if rng.random() < 0.2:
                        price = max(85, int(price * rng.uniform(0.9, 1.1)))
                    freight = int(p.freight * rng.uniform(0.85, 1.15))
                seller_id = self.sellers[p.seller].id
                row = [o.id, str(n), p.id, seller_id, limit, cents(price), cents(freight)]
                o.total += price + freight
                self.items.add(b, row, p.batch < b)

    def _build_payments(self) -> None:
        rng = self.rng("payments")
        counts = child_counts(rng, len(self.orders), scaled("payments", self.scale), 0.0298, 29)
        inst_values = [i for i, _ in INSTALLMENTS]
        for o, k in zip(self.orders, counts, strict=True):
            if k == 0:
                continue
            total = o.total or int(max(1_000, rng.lognormvariate(math.log(12_000), 0.9)))
            types = [o.pay_type] + ["voucher"] * (k - 1)
            if k > 1:
                main = 0 if rng.random() < 0.6 else rng.randrange(k)
                types[0], types[main] = types[main], types[0]
            values = self._split(rng, max(total, k), k)
            for seq, (kind, value) in enumerate(zip(types, values, strict=True), start=1):
                inst = 1
                if kind == "credit_card":
                    inst = weighted(rng, inst_values, self._inst_cum)
                self.payments.add(o.batch, [o.id, str(seq), kind, str(inst), cents(value)])

    @staticmethod
    def _split(rng: random.Random, total: int, k: int) -> list[int]:
        """Split ``total`` cents into ``k`` positive parts that sum exactly to it (the first,
        the main payment, takes the biggest share)."""
        if k == 1:
            return [total]
        weights = [rng.uniform(1.5, 3.0)] + [rng.uniform(0.1, 1.0) for _ in range(k - 1)]
        scale = total / sum(weights)
        parts = [max(1, int(w * scale)) for w in weights]
        parts[0] += total - sum(parts)
        if parts[0] < 1:  # pathological tiny totals: fall back to an even split
            parts = [total // k] * k
            parts[0] += total - sum(parts)
        return parts

    def _build_reviews(self) -> None:
        rng = self.rng("reviews")
        n = len(self.orders)
        target = scaled("reviews", self.scale)
        # ~0.8% of orders get no review and about as many get a second one, as in Olist; the
        # rest of the gap to the target is closed exactly so the count matches the scale.
        counts = [1] * n
        for i in rng.sample(range(n), min(n, round(0.0077 * n) + max(0, n - target))):
            counts[i] = 0
        with_review = [i for i in range(n) if counts[i]]
        extra = target - len(with_review)
        if extra > 0 and with_review:
            for i in rng.sample(with_review, min(extra, len(with_review))):
                counts[i] += 1
            for _ in range(extra - len(with_review)):
                counts[rng.choice(with_review)] += 1
        for o, k in zip(self.orders, counts, strict=True):
            for _ in range(k):
                self.reviews.add(o.batch, self.review_row(rng, o))

    def review_row(self, rng: random.Random, o: Order) -> list[str]:
        """A review whose score and text follow the delivery experience (late -> low)."""
        if o.status != "delivered" or o.delivered is None:
            situation = "undelivered"
            day = max(o.purchase // DAY + 1, o.estimated_day + rng.randint(-3, 2))
        else:
            situation = "late" if o.late else "on_time"
            day = o.delivered // DAY + 1 + (rng.random() < 0.3)
        score = weighted(rng, SCORE_VALUES, self._score_cum[situation])
        if score >= 4:
            titles, messages = TITLES_GOOD, MESSAGES_GOOD
        elif score == 3:
            titles, messages = TITLES_MEH, MESSAGES_MEH
        else:
            titles, messages = TITLES_BAD, MESSAGES_BAD
        title = rng.choice(titles) if rng.random() < 0.12 else ""
        message = ""
        if rng.random() < 0.41:
            parts = rng.sample(messages, min(len(messages), rng.randint(1, 3)))
            message = (", " if rng.random() < 0.6 else ". ").join(parts)
            message = message[0].upper() + message[1:]
        answer = day * DAY + rng.randint(DAY // 5, 4 * DAY)
        return [
            hex_id(rng),
            o.id,
            str(score),
            title,
            message,
            self.clock.midnight(day),
            self.clock.ts(answer),
        ]
