"""``medallion cluster``: a real single-node Kubernetes on this machine, without Docker."""

from __future__ import annotations

import shlex
import time
from typing import Annotated

import typer

from medallion.console import console, err

app = typer.Typer(no_args_is_help=True, help="A local Kubernetes cluster built from registries.")


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


@app.command("build")
def build_cmd() -> None:
    """Build the cluster's binaries (Kubernetes, CoreDNS, kube-router, pause) into the cache."""
    from medallion.artifacts import SetupError
    from medallion.cluster import build

    log = build.bin_dir().parent / "build.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    with console.status("building the cluster's binaries (first time: about 10 minutes)"):
        try:
            build.build_all(log)
        except SetupError as exc:
            raise _fail(f"{exc}\n(full log: {log})") from exc
    console.print(f"binaries in {build.bin_dir()} ({time.monotonic() - began:.0f}s)")


@app.command("up")
def up_cmd() -> None:
    """Start the cluster (builds what is missing first); a no-op when it runs."""
    from medallion.cluster import lifecycle
    from medallion.cluster.config import ClusterConfig

    build_cmd()
    cfg = ClusterConfig.from_env()
    began = time.monotonic()
    try:
        lifecycle.up(cfg, progress=lambda line: console.print(f"  {line}"))
    except Exception as exc:
        raise _fail(f"cluster up failed and was torn down: {exc}") from exc
    console.print(
        f"cluster [bold]{cfg.name}[/] up in {time.monotonic() - began:.1f}s; "
        f'use it with: eval "$(medallion cluster env)"'
    )


@app.command("down")
def down_cmd() -> None:
    """Stop the cluster and remove its network namespace and mounts (its state stays)."""
    from medallion.cluster import lifecycle
    from medallion.cluster.config import ClusterConfig

    lifecycle.down(ClusterConfig.from_env())
    console.print("cluster down")


@app.command("delete")
def delete_cmd(
    yes: Annotated[bool, typer.Option("--yes", help="really remove the cluster's state")] = False,
) -> None:
    """Stop the cluster and remove its home (etcd, volumes, certificates)."""
    import shutil

    from medallion.cluster import lifecycle
    from medallion.cluster.config import ClusterConfig

    if not yes:
        raise _fail("this removes every volume of the cluster: pass --yes", 2)
    cfg = ClusterConfig.from_env()
    lifecycle.down(cfg)
    shutil.rmtree(cfg.home, ignore_errors=True)
    console.print(f"removed {cfg.home}")


@app.command("status")
def status_cmd() -> None:
    """The cluster's processes and whether they run."""
    from medallion.cluster import lifecycle
    from medallion.cluster.config import ClusterConfig

    cfg = ClusterConfig.from_env()
    rows = lifecycle.status(cfg)
    for row in rows:
        state = f"[green]running[/] (pid {row.pid})" if row.pid else "[red]stopped[/]"
        console.print(f"{row.name:26} {state}")
    if not all(row.pid for row in rows):
        raise typer.Exit(1)


@app.command("env")
def env_cmd() -> None:
    """Shell variables for kubectl, helm and the CLI: eval "$(medallion cluster env)"."""
    from medallion.cluster import lifecycle
    from medallion.cluster.build import bin_dir
    from medallion.cluster.config import ClusterConfig

    for key, value in lifecycle.env(ClusterConfig.from_env()).items():
        print(f"export {key}={shlex.quote(value)}")
    print(f'export PATH={shlex.quote(str(bin_dir()))}:"$PATH"')


@app.command("load")
def load_cmd(
    images: Annotated[
        list[str] | None,
        typer.Argument(help="image references in the local builder (default: every project image)"),
    ] = None,
) -> None:
    """Import images from the local builder (buildah) into the cluster's containerd."""
    from medallion.cluster import addons
    from medallion.cluster.config import ClusterConfig
    from medallion.images import IMAGES

    images = images or [image.ref for image in IMAGES.values()]
    began = time.monotonic()
    loaded = addons.load_images(ClusterConfig.from_env(), images)
    skipped = len(images) - len(loaded)
    console.print(
        f"imported {len(loaded)} image(s), {skipped} already there "
        f"({time.monotonic() - began:.1f}s)"
    )
