"""Run statements on a stack's Trino and hand back the rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests
import trino
import trino.exceptions


class QueryError(RuntimeError):
    """Trino rejected the statement; the message is Trino's."""


class UnreachableError(QueryError):
    """Trino, or S3, the metastore or PostgreSQL behind it, did not answer (down, or the address
    is wrong); the message names the component and its address (``medallion.dependencies``)."""


def address(env: Mapping[str, str]) -> str:
    return f"{env.get('TRINO_HTTP_SCHEME', 'http')}://{env['TRINO_HOST']}:{env['TRINO_PORT']}"


@dataclass(frozen=True)
class Result:
    columns: list[str]
    rows: list[tuple[Any, ...]]


def connect(env: Mapping[str, str], catalog: str = "iceberg", schema: str | None = None) -> Any:
    return trino.dbapi.connect(  # type: ignore[no-untyped-call]
        host=env["TRINO_HOST"],
        port=int(env["TRINO_PORT"]),
        user=env.get("TRINO_USER", "medallion"),
        catalog=catalog,
        schema=schema,
        http_scheme=env.get("TRINO_HTTP_SCHEME", "http"),
        # one HTTP exchange (Trino answers each within about a second while a query runs)
        request_timeout=60,
    )


def query(env: Mapping[str, str], sql: str, params: Sequence[Any] | None = None) -> Result:
    """One statement; DDL and DML return their update count as a single row."""
    conn = connect(env)
    try:
        cur = conn.cursor()
        try:
            cur.execute(sql, params) if params is not None else cur.execute(sql)
            rows = [tuple(r) for r in cur.fetchall()]
        except trino.exceptions.TrinoQueryError as exc:
            from medallion.dependencies import describe

            text = f"{exc.error_name}: {exc.message}"
            if (dead := describe(text, env)) is not None:
                raise UnreachableError(dead) from exc
            raise QueryError(text) from exc
        except trino.exceptions.TrinoUserError as exc:  # pragma: no cover - subclass above
            raise QueryError(str(exc)) from exc
        except (trino.exceptions.OperationalError, requests.exceptions.RequestException) as exc:
            raise UnreachableError(f"Trino at {address(env)} is not reachable: {exc}") from exc
        columns = [d[0] for d in (cur.description or [])]
        return Result(columns, rows)
    finally:
        conn.close()
