"""Where the landing zone is: its S3 prefix and its Trino catalog and schema.

A module of its own, with no imports, so that what only names the landing tables (the per-file
accounts that every layer Job brings up to date) does not load the loader and the data
generator it checks files against.
"""

PREFIX = "landing/olist"
SCHEMA = "olist"
CATALOG = "landing"
RECORDS = f"{PREFIX}/_records"
