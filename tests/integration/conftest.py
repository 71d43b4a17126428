"""One embedded stack per test module, on free ports, in a temporary MEDALLION_HOME.

Each module gets a fresh stack so that the data one module lands cannot leak into another's
counts; a start costs about half a minute.

The stack's engines are the real ones (PostgreSQL, versitygw, Hive Metastore, Trino, Spark), started
by these fixtures; `medallion setup` must have fetched them (``make test`` does).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import StackHandle


@pytest.fixture(scope="module")
def spark(stack: StackHandle) -> Iterator[Any]:
    from tests.spark_session import session

    spark = session(stack.env, cores=1, app_name="medallion-tests")
    yield spark
    spark.stop()
