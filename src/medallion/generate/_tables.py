"""The nine Olist files: headers, keys and which defect kinds apply to which table.

This is the contract shared by the generator, its tests and the downstream quarantine rules, so
it lives in one small module with no logic: the Bronze loader can import ``HEADERS`` and
``DEFECT_REASONS`` instead of re-typing them (the original spellings, "lenght" included, are
easy to "fix" by accident).
"""

from __future__ import annotations

from dataclasses import dataclass

from medallion import vocabulary

CUSTOMERS = "olist_customers_dataset"
GEOLOCATION = "olist_geolocation_dataset"
ORDER_ITEMS = "olist_order_items_dataset"
ORDER_PAYMENTS = "olist_order_payments_dataset"
ORDER_REVIEWS = "olist_order_reviews_dataset"
ORDERS = "olist_orders_dataset"
PRODUCTS = "olist_products_dataset"
SELLERS = "olist_sellers_dataset"
TRANSLATION = "product_category_name_translation"

HEADERS: dict[str, tuple[str, ...]] = {
    CUSTOMERS: (
        "customer_id",
        "customer_unique_id",
        "customer_zip_code_prefix",
        "customer_city",
        "customer_state",
    ),
    GEOLOCATION: (
        "geolocation_zip_code_prefix",
        "geolocation_lat",
        "geolocation_lng",
        "geolocation_city",
        "geolocation_state",
    ),
    ORDER_ITEMS: (
        "order_id",
        "order_item_id",
        "product_id",
        "seller_id",
        "shipping_limit_date",
        "price",
        "freight_value",
    ),
    ORDER_PAYMENTS: (
        "order_id",
        "payment_sequential",
        "payment_type",
        "payment_installments",
        "payment_value",
    ),
    ORDER_REVIEWS: (
        "review_id",
        "order_id",
        "review_score",
        "review_comment_title",
        "review_comment_message",
        "review_creation_date",
        "review_answer_timestamp",
    ),
    ORDERS: (
        "order_id",
        "customer_id",
        "order_status",
        "order_purchase_timestamp",
        "order_approved_at",
        "order_delivered_carrier_date",
        "order_delivered_customer_date",
        "order_estimated_delivery_date",
    ),
    PRODUCTS: (
        "product_id",
        "product_category_name",
        "product_name_lenght",
        "product_description_lenght",
        "product_photos_qty",
        "product_weight_g",
        "product_length_cm",
        "product_height_cm",
        "product_width_cm",
    ),
    SELLERS: ("seller_id", "seller_zip_code_prefix", "seller_city", "seller_state"),
    TRANSLATION: ("product_category_name", "product_category_name_english"),
}

#: File names in the order they are written (alphabetical, like the Kaggle download).
FILES: list[str] = [f"{stem}.csv" for stem in HEADERS]

#: Natural key of each table; the key columns are always the first columns of the header, which
#: is what lets a malformed line keep its key readable. Geolocation has many rows per prefix, so
#: its "key" identifies a group, not a row.
KEYS: dict[str, tuple[str, ...]] = {
    CUSTOMERS: ("customer_id",),
    GEOLOCATION: ("geolocation_zip_code_prefix",),
    ORDER_ITEMS: ("order_id", "order_item_id"),
    ORDER_PAYMENTS: ("order_id", "payment_sequential"),
    ORDER_REVIEWS: ("review_id", "order_id"),
    ORDERS: ("order_id",),
    PRODUCTS: ("product_id",),
    SELLERS: ("seller_id",),
    TRANSLATION: ("product_category_name",),
}

#: The vocabularies silver accepts, from their one home (the dbt project's vars).
ORDER_STATUSES: tuple[str, ...] = vocabulary.load().order_statuses
PAYMENT_TYPES: tuple[str, ...] = vocabulary.load().payment_types

#: Defect kind -> quarantine reason code the pipeline must produce (None: not quarantined, the
#: exact duplicate collapses into one accepted row; late_parent is an orphan only until its
#: order arrives).
DEFECT_REASONS: dict[str, str | None] = {
    "null_key": "null_key",
    "bad_timestamp": "unparseable_timestamp",
    "bad_number": "unparseable_number",
    "negative_amount": "negative_amount",
    "unknown_order_status": "unknown_order_status",
    "unknown_payment_type": "unknown_payment_type",
    "review_score_out_of_range": "review_score_out_of_range",
    "exact_duplicate": None,
    "conflicting_duplicate": "conflicting_duplicate",
    "orphan": "orphan",
    "late_parent": "orphan",
    "malformed_field_count": "malformed_row",
    "malformed_quoting": "malformed_row",
}
DEFECT_KINDS: tuple[str, ...] = tuple(DEFECT_REASONS)


@dataclass(frozen=True)
class TableSpec:
    """Where each defect kind may strike in one table.

    Column positions rather than names, because the defect code edits rows as lists.
    ``null_col`` is the key column that null_key blanks: for child tables it is the sequence
    number or review_id, never the order_id, so a blanked key can only read as null_key and not
    be mistaken for an orphan by a pipeline that checks the foreign key first.
    """

    stem: str
    kinds: tuple[str, ...]
    null_col: int
    timestamp_cols: tuple[int, ...] = ()
    number_cols: tuple[int, ...] = ()
    amount_cols: tuple[int, ...] = ()

    @property
    def header(self) -> tuple[str, ...]:
        return HEADERS[self.stem]

    @property
    def key_cols(self) -> tuple[int, ...]:
        header = HEADERS[self.stem]
        return tuple(header.index(c) for c in KEYS[self.stem])


_MALFORMED = ("malformed_field_count", "malformed_quoting")
_REFERENCE_KINDS = ("null_key", "exact_duplicate", "conflicting_duplicate", *_MALFORMED)
_CHILD_KINDS = ("exact_duplicate", "conflicting_duplicate", "orphan", "late_parent", *_MALFORMED)

SPECS: dict[str, TableSpec] = {
    CUSTOMERS: TableSpec(CUSTOMERS, _REFERENCE_KINDS, null_col=0),
    GEOLOCATION: TableSpec(GEOLOCATION, ("null_key", *_MALFORMED), null_col=0),
    SELLERS: TableSpec(SELLERS, _REFERENCE_KINDS, null_col=0),
    PRODUCTS: TableSpec(PRODUCTS, _REFERENCE_KINDS, null_col=0),
    ORDERS: TableSpec(
        ORDERS,
        (
            "null_key",
            "bad_timestamp",
            "unknown_order_status",
            "exact_duplicate",
            "conflicting_duplicate",
            *_MALFORMED,
        ),
        null_col=0,
        timestamp_cols=(3,),
    ),
    ORDER_ITEMS: TableSpec(
        ORDER_ITEMS,
        ("null_key", "bad_timestamp", "bad_number", "negative_amount", *_CHILD_KINDS),
        null_col=1,
        timestamp_cols=(4,),
        number_cols=(5,),
        amount_cols=(5, 6),
    ),
    ORDER_PAYMENTS: TableSpec(
        ORDER_PAYMENTS,
        ("null_key", "bad_number", "negative_amount", "unknown_payment_type", *_CHILD_KINDS),
        null_col=1,
        number_cols=(3, 4),
        amount_cols=(4,),
    ),
    ORDER_REVIEWS: TableSpec(
        ORDER_REVIEWS,
        ("null_key", "bad_timestamp", "bad_number", "review_score_out_of_range", *_CHILD_KINDS),
        null_col=0,
        timestamp_cols=(5,),
        number_cols=(2,),
    ),
}
