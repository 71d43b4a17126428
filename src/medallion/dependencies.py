"""What a layer run needs besides Trino, and one clear sentence when one of them is down.

Bronze and gold reach S3, the Hive Metastore and PostgreSQL only through Trino, which reports a
dead one in its connectors' words (``HIVE_METASTORE_ERROR: ... Failed connecting to Hive
metastore``, ``JDBC_ERROR: Connection to ... refused``); silver's Spark application reaches the
metastore and S3 itself and reports them in Java's. ``describe`` turns any such text into one
sentence naming the component and its address, which is what ``medallion run``, the layer Jobs and
the ledger row say. ``check`` has Trino touch the metastore and S3 before a layer starts, so that a
dead one stops the run before its first model, within the clients' own retry bounds (about 20 s
for the metastore and 30 s for S3 with Trino's defaults). PostgreSQL needs no probe of its own:
the layer's lease (``medallion.lock``) is the first thing every run writes there.

The addresses come from the environment the stack and the charts set (``S3_ENDPOINT``,
``HIVE_METASTORE_URI``, ``SERVING_DB_HOST``/``PORT``, ``METASTORE_DB_HOST``/``PORT``; the
chart gives the layer containers these addresses, without keys); where the environment does not
say, from the error text itself.
Only the standard library and the Trino client are imported: the layer Jobs' image runs this.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

TRINO = "Trino"
S3 = "S3"
METASTORE = "the Hive Metastore"
METASTORE_DB = "PostgreSQL (the metastore's database)"
SERVING = "PostgreSQL (the serving store and run ledger)"
SPARK = "Spark"

#: The first rule whose pattern occurs in an error's text names the component that failed. The
#: metastore's database comes before the metastore (the metastore reports its database's outage
#: in its own error), S3 before the metastore (the metastore reports S3's outage too), the
#: serving store after them (PgJDBC's words are also in the metastore's database errors), and
#: Trino itself last (its client's words may wrap the error of a dependency behind it).
_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        METASTORE_DB,
        re.compile(
            r"JDOFatalDataStoreException|Unable to open a test connection to the given database"
            r"|JDBC url = jdbc:",
            re.IGNORECASE,
        ),
    ),
    (
        S3,
        re.compile(
            r"HIVE_FILESYSTEM_ERROR|ICEBERG_FILESYSTEM_ERROR|SdkClientException"
            r"|Unable to execute HTTP request|Failed to list directory: s3a?://"
            r"|(?:Failed|Error|Unable) (?:to )?(?:open|read|write|create|list)\w* .*s3a?://",
            re.IGNORECASE,
        ),
    ),
    (
        METASTORE,
        re.compile(
            r"Failed connecting to Hive metastore|Could not connect to meta ?store"
            r"|TTransportException|HIVE_METASTORE_ERROR: .*(?:timed out|refused|reset|closed)"
            r"|thrift://\S+.*(?:timed out|refused)",
            re.IGNORECASE,
        ),
    ),
    (
        SERVING,
        re.compile(
            r"Connection to \S+ refused|postmaster|the database system is (?:shutting down|"
            r"starting up|in recovery mode)|terminating connection due to administrator command"
            r"|An I/O error occurred while sending to the backend|This connection has been closed",
            re.IGNORECASE,
        ),
    ),
    (
        # the Spark Connect client's words when the embedded stack's Spark server is down or dies
        # under a running statement (gRPC's; a Java error inside Spark is reported as such)
        SPARK,
        re.compile(
            r"StatusCode\.UNAVAILABLE|failed to connect to all addresses|\[RETRIES_EXCEEDED\]"
            r"|SPARK_CONNECT_SESSION_NOT_FOUND|INVALID_HANDLE\.SESSION_NOT_FOUND",
            re.IGNORECASE,
        ),
    ),
    (
        # the Python client's words (dbt-trino's, medallion's) when Trino itself is down or dies
        # under a running statement: no Java server writes them
        TRINO,
        re.compile(
            r"HTTPS?ConnectionPool\(host=\S+, port=\d+\): Max retries exceeded"
            r"|(?:failed to (?:execute|fetch)|Error communicating with Trino)\b.*"
            r"(?:Connection (?:refused|aborted|reset)|RemoteDisconnected|Read timed out)",
            re.IGNORECASE,
        ),
    ),
)

#: host:port in an error's text: ``[10.0.0.7:9083]``, ``Connection to db:5432 refused``,
#: ``Connect to minio:9000 [...] failed``, ``http://minio:9000``.
_ADDRESS = re.compile(
    r"(?:[a-z][a-z0-9+.-]*://)?(?<![\w.-])((?:\d{1,3}\.){3}\d{1,3}|[a-z][\w-]*(?:\.[\w-]+)*):"
    r"(\d{2,5})\b",
    re.IGNORECASE,
)
#: the Python client's way of naming Trino: ``HTTPConnectionPool(host='trino', port=8080)``
_POOL = re.compile(r"ConnectionPool\(host='?([^',]+)'?, port=(\d+)\)")


_UNKNOWN = "the address in Trino's catalog"


def address(component: str, env: Mapping[str, str]) -> str | None:
    """Where ``component`` is, from the environment; None when the environment does not say."""
    if component == TRINO:
        from medallion import trino_client

        return (
            trino_client.address(env) if env.get("TRINO_HOST") and env.get("TRINO_PORT") else None
        )
    if component == S3:
        return env.get("S3_ENDPOINT") or None
    if component == METASTORE:
        return env.get("HIVE_METASTORE_URI") or None
    if component == SPARK:
        return env.get("MEDALLION_SPARK_REMOTE") or None
    prefix = "METASTORE_DB" if component == METASTORE_DB else "SERVING_DB"
    host, port = env.get(f"{prefix}_HOST"), env.get(f"{prefix}_PORT")
    return f"{host}:{port}" if host and port else None


def address_in(text: str) -> str | None:
    """The first ``host:port`` the text names (a URL's host and port), if any."""
    match = _POOL.search(text) or _ADDRESS.search(text)
    return f"{match.group(1)}:{match.group(2)}" if match else None


def _match(text: str) -> tuple[str, str] | None:
    """The component an error's text says failed and the line that says so."""
    for component, pattern in _RULES:
        if found := pattern.search(text):
            start = text.rfind("\n", 0, found.start()) + 1
            end = text.find("\n", found.end())
            return component, text[start : end if end >= 0 else len(text)]
    return None


def component_of(text: str) -> str | None:
    """The component an error's text says failed, or None when it is not a dead dependency."""
    found = _match(text)
    return None if found is None else found[0]


def brief(text: str, limit: int = 300) -> str:
    """The text on one line, at most ``limit`` characters."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def sentence(component: str, text: str, env: Mapping[str, str]) -> str:
    """``<component> at <address> is not reachable: <the error, briefly>``."""
    where = address(component, env) or address_in(text) or _UNKNOWN
    return f"{component} at {where} is not reachable: {brief(text)}"


def describe(text: str, env: Mapping[str, str]) -> str | None:
    """One sentence naming the dead component and its address, or None when ``text`` is not
    about a dead dependency (a SQL error, a failed test). Of a Java stack trace only the line
    that names the failure is kept (``Caused by: MetaException(...Could not connect...``)."""
    found = _match(text)
    if found is None:
        return None
    component, line = found
    where = address(component, env) or address_in(line) or address_in(text)
    return f"{component} at {where or _UNKNOWN} is not reachable: {brief(line)}"


def check(env: Mapping[str, str]) -> None:
    """Have Trino touch the metastore (list the Iceberg schemas) and S3 (list one landing
    table's files); raise ``UnreachableError`` naming the first that fails. Nothing is written.

    A landing zone with no table yet has nothing to list: S3 is then first touched by the run.
    """
    from medallion import landing
    from medallion.trino_client import QueryError, UnreachableError, query

    def probe(
        component: str, sql: str, params: list[str] | None = None
    ) -> list[tuple[object, ...]]:
        try:
            return query(env, sql, params).rows
        except UnreachableError:
            raise
        except QueryError as exc:  # the probe's component, in words the rules do not know
            raise UnreachableError(sentence(component, str(exc), env)) from exc

    probe(METASTORE, "show schemas from iceberg")
    tables = probe(
        METASTORE,
        f"select table_name from {landing.CATALOG}.information_schema.tables "
        "where table_schema = ? order by table_name limit 1",
        [landing.SCHEMA],
    )
    if tables:
        table = str(tables[0][0])
        probe(S3, f'select "$path" from {landing.CATALOG}.{landing.SCHEMA}."{table}" limit 1')


def check_spark(env: Mapping[str, str]) -> None:
    """Raise ``UnreachableError`` unless the embedded stack's Spark takes connections (the
    Spark Connect client would otherwise retry for minutes before it says so)."""
    import socket
    from urllib.parse import urlsplit

    from medallion.trino_client import UnreachableError

    remote = env["MEDALLION_SPARK_REMOTE"]
    where = urlsplit(remote)
    try:
        socket.create_connection((where.hostname or "", where.port or 0), timeout=3).close()
    except OSError as exc:
        raise UnreachableError(sentence(SPARK, f"{remote}: {exc}", env)) from exc
