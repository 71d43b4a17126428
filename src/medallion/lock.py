"""One writer per layer: a lease in the serving database that every layer run takes first.

``medallion run`` on the embedded stack and the CronJobs' containers on Kubernetes
(``medallion.run.job``) both take it, through ``medallion.ledger.recorded``, so two runs of a layer
never interleave, whoever started them (a schedule, ``kubectl create job --from``, two shells). The
CronJobs' ``concurrencyPolicy: Forbid`` alone cannot promise that: a manual Job bypasses it.

The lease is a row of ``serving.audit.layer_locks``, whose primary key (the layer) PostgreSQL
enforces: of two runs inserting at once, one gets a duplicate-key error and is refused, with the
holder's run, host and start in the message. The holder renews its heartbeat every
``HEARTBEAT_SECONDS``; a run that died (kill -9, a lost node) stops renewing, and after
``EXPIRY_SECONDS`` the next run takes its lease over. Only Trino is needed, as for the ledger.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from medallion.trino_client import QueryError, query

CATALOG, SCHEMA, NAME = "serving", "audit", "layer_locks"
TABLE = f"{CATALOG}.{SCHEMA}.{NAME}"
HEARTBEAT_SECONDS = 20.0
EXPIRY_SECONDS = 90
# PostgreSQL's own DDL: Trino's CREATE TABLE cannot declare the primary key the lease relies on.
DDL = (
    f"create table if not exists {SCHEMA}.{NAME} ("
    "layer varchar(32) primary key, run_id varchar(64) not null, "
    "pipeline_id varchar(128) not null, holder varchar(256) not null, "
    "acquired_at timestamp(6) not null, heartbeat_at timestamp(6) not null)"
)
NOW = "cast(current_timestamp at time zone 'UTC' as timestamp(6))"


class LayerBusyError(RuntimeError):
    """Another run holds the layer; the message names it."""


def ensure(env: Mapping[str, str]) -> None:
    query(env, f"create schema if not exists {CATALOG}.{SCHEMA}")
    query(env, f"call {CATALOG}.system.execute(query => '{DDL}')")


def holder() -> str:
    """Who runs: the host (a pod's name on Kubernetes) and the process."""
    return f"{socket.gethostname()} pid {os.getpid()}"


@dataclass(frozen=True)
class Lease:
    """A lease row: who held a layer, since when, and their last heartbeat."""

    layer: str
    run_id: str
    pipeline_id: str
    holder: str
    acquired_at: dt.datetime
    heartbeat_at: dt.datetime


def _expire(env: Mapping[str, str], layer: str) -> list[Lease]:
    """Remove the layer's lease if its holder stopped renewing it; return what was removed."""
    stale = f"layer = ? and heartbeat_at < {NOW} - interval '{EXPIRY_SECONDS}' second"
    rows = query(
        env,
        f"select layer, run_id, pipeline_id, holder, acquired_at, heartbeat_at from {TABLE} "
        f"where {stale}",
        [layer],
    ).rows
    if rows:
        query(env, f"delete from {TABLE} where {stale}", [layer])
    return [Lease(str(a), str(b), str(c), str(d), e, f) for a, b, c, d, e, f in rows]


def acquire(env: Mapping[str, str], layer: str, run_id: str, pipeline_id: str) -> list[Lease]:
    """Take the layer's lease, or raise LayerBusyError naming the run that holds it. Returns
    the expired lease it took over, if any (a run that died without giving the layer back)."""
    ensure(env)
    expired = _expire(env, layer)
    try:
        query(
            env,
            f"insert into {TABLE} values (?, ?, ?, ?, {NOW}, {NOW})",
            [layer, run_id, pipeline_id, holder()],
        )
    except QueryError as exc:
        if "duplicate key" not in str(exc):
            raise
        rows = query(
            env,
            f"select run_id, pipeline_id, holder, acquired_at, heartbeat_at from {TABLE} "
            "where layer = ?",
            [layer],
        ).rows
        if not rows:  # released between the insert and the read: a rare race, refuse anyway
            raise LayerBusyError(f"{layer} was just taken by another run; try again") from exc
        other, pipeline, host, since, beat = rows[0]
        raise LayerBusyError(
            f"{layer} is being run by run {other} (pipeline {pipeline}, {host}), started "
            f"{since:%Y-%m-%d %H:%M:%S} UTC, alive at {beat:%H:%M:%S} UTC; a run that died "
            f"gives the layer up {EXPIRY_SECONDS} s after its last heartbeat"
        ) from exc
    return expired


def renew(env: Mapping[str, str], layer: str, run_id: str) -> None:
    query(
        env,
        f"update {TABLE} set heartbeat_at = {NOW} where layer = ? and run_id = ?",
        [layer, run_id],
    )


def release(env: Mapping[str, str], layer: str, run_id: str) -> None:
    query(env, f"delete from {TABLE} where layer = ? and run_id = ?", [layer, run_id])


@contextlib.contextmanager
def held(
    env: Mapping[str, str], layer: str, run_id: str, pipeline_id: str
) -> Iterator[list[Lease]]:
    """The layer's lease for the ``with`` block, renewed in the background, released after.
    The block gets the expired leases that were taken over (``acquire``). When the block
    raises, its error is the one that propagates: a release that fails then (Trino gone with
    the run) leaves the lease to expire, or to ``release`` by whoever knows the run is over."""
    taken = acquire(env, layer, run_id, pipeline_id)
    stop = threading.Event()

    def heartbeat() -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            with contextlib.suppress(Exception):  # a missed beat is retried; expiry is generous
                renew(env, layer, run_id)

    beat = threading.Thread(target=heartbeat, name=f"lease-{layer}", daemon=True)
    beat.start()
    done = False
    try:
        yield taken
        done = True
    finally:
        stop.set()
        beat.join(timeout=5)
        try:
            release(env, layer, run_id)
        except QueryError:
            if done:
                raise
