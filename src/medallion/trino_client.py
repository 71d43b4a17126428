"""Run statements on a stack's Trino and hand back the rows."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import trino
import trino.auth
import trino.exceptions
import yaml

from medallion.paths import charts_file


class QueryError(RuntimeError):
    """Trino rejected the statement; the message is Trino's."""


class UnreachableError(QueryError):
    """Trino, or S3, the metastore or PostgreSQL behind it, did not answer (down, or the address
    is wrong); the message names the component and its address (``medallion.dependencies``)."""


@functools.cache
def chart_values() -> dict[str, Any]:
    """The trino chart's values.yaml: the home of its users, the pipeline's user and its HTTPS
    port, read by the embedded stack and by a workstation's access to a release alike."""
    values: dict[str, Any] = yaml.safe_load(charts_file("trino", "values.yaml").read_text())
    return values


def users() -> list[str]:
    """Trino's users, one per role of the chart's ``files/access-control/rules.json``."""
    return [str(user) for user in chart_values()["auth"]["users"]]


def pipeline_user() -> str:
    return str(chart_values()["auth"]["pipelineUser"])


def address(env: Mapping[str, str]) -> str:
    return f"{env.get('TRINO_HTTP_SCHEME', 'http')}://{env['TRINO_HOST']}:{env['TRINO_PORT']}"


@dataclass(frozen=True)
class Result:
    columns: list[str]
    rows: list[tuple[Any, ...]]


def connect(env: Mapping[str, str], catalog: str = "iceberg", schema: str | None = None) -> Any:
    """A connection as ``TRINO_USER``: with ``TRINO_PASSWORD``, a password login over HTTPS that
    trusts the certificate authority in ``TRINO_CA_FILE``."""
    password = env.get("TRINO_PASSWORD")
    auth = trino.auth.BasicAuthentication(env["TRINO_USER"], password) if password else None
    session = None
    if ca := env.get("TRINO_CA_FILE"):
        if not Path(ca).is_file():
            raise UnreachableError(
                f"Trino at {address(env)} is not reachable: the certificate it is trusted by, "
                f"{ca}, does not exist (Trino makes it on its first start)"
            )
        # requests lets REQUESTS_CA_BUNDLE in the environment win over a session's own CA, so a
        # host behind a TLS proxy would distrust Trino; this session trusts Trino's CA alone.
        session = requests.Session()
        session.trust_env = False
        session.verify = ca
    return trino.dbapi.connect(  # type: ignore[no-untyped-call]
        host=env["TRINO_HOST"],
        port=int(env["TRINO_PORT"]),
        user=env["TRINO_USER"],
        auth=auth,
        http_session=session,
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
        except trino.exceptions.HttpError as exc:
            if "error 401" in str(exc):
                raise QueryError(
                    f"Trino at {address(env)} refused the login of {env['TRINO_USER']}: {exc}"
                ) from exc
            raise UnreachableError(f"Trino at {address(env)} answered with {exc}") from exc
        except (trino.exceptions.OperationalError, requests.exceptions.RequestException) as exc:
            raise UnreachableError(f"Trino at {address(env)} is not reachable: {exc}") from exc
        columns = [d[0] for d in (cur.description or [])]
        return Result(columns, rows)
    finally:
        conn.close()


def table_exists(env: Mapping[str, str], table: str) -> bool:
    """Whether ``table`` (``catalog.schema.name``) exists, from the catalog's information schema."""
    catalog, schema, name = table.split(".")
    rows = query(
        env,
        f"select 1 from {catalog}.information_schema.tables "
        "where table_schema = ? and table_name = ?",
        [schema, name],
    ).rows
    return bool(rows)
