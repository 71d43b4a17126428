"""``medallion images``: build the project's container images without a registry."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from medallion import images
from medallion.console import console, err

app = typer.Typer(no_args_is_help=True, help="Build the project's container images (images/*).")


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(1)


def _show(built: images.Built) -> None:
    when = "present" if built.skipped else f"{built.seconds:.0f} s"
    console.print(f"{built.ref}: {when}, {built.size}", highlight=False, soft_wrap=True)


@app.command("list")
def list_images() -> None:
    """The images, their tags, bases and build args."""
    for image in images.IMAGES.values():
        args = " ".join(f"{k}={v}" for k, v in image.build_args().items())
        bases = ", ".join(images.BASES[s].ref for s in image.bases)
        console.print(f"{image.ref}  [dim]on {bases}  {args}[/]", highlight=False, soft_wrap=True)


@app.command()
def base() -> None:
    """Make the Debian bases (debian:bookworm-slim, debian:trixie-slim) unless they exist."""
    try:
        for suite in images.BASES:
            _show(images.build_base(suite))
    except images.ImageError as exc:
        raise _fail(str(exc)) from exc


@app.command()
def build(
    names: Annotated[
        list[str] | None, typer.Argument(help="images to build (default: all)")
    ] = None,
) -> None:
    """Build images (and the bases and project images they build on), one after the other."""
    try:
        console.print(f"builder: {images.builder()}", highlight=False)
        images.build(names or [], on_done=_show)
    except images.ImageError as exc:
        raise _fail(str(exc)) from exc


@app.command()
def archive(
    names: Annotated[
        list[str] | None, typer.Argument(help="images to export (default: all)")
    ] = None,
) -> None:
    """Export built images to docker-archive tars (for ctr images import); prints their paths."""
    try:
        for name in names or list(images.IMAGES):
            typer.echo(str(images.archive(name)))  # plain: scripts read these paths
    except images.ImageError as exc:
        raise _fail(str(exc)) from exc


@app.command("skaffold-build")
def skaffold_build() -> None:
    """skaffold's custom builder (profile ``local``): build ``$IMAGE`` with the project's builder
    and import it into the local cluster.

    skaffold names an image it did not push after its ID (``REPO:<image id>``) and deploys that
    name, so the image is imported under both names. skaffold reads the ID through the Docker API
    of the same image store (``DOCKER_HOST`` from ``medallion cluster env``).
    """
    from medallion.cluster import addons
    from medallion.cluster.config import ClusterConfig

    ref, repo = os.environ.get("IMAGE", ""), os.environ.get("IMAGE_REPO", "")
    try:
        name = images.by_repository(repo)
        # buildah, whatever answers on DOCKER_HOST (there, the image API of this very store):
        # the cluster imports from buildah's store
        images.build([name], tool="buildah", on_done=_show)
        image_id = images.tag(images.IMAGES[name].ref, ref, tool="buildah")
        by_id = f"{repo}:{image_id.removeprefix('sha256:')}"
        images.tag(ref, by_id, tool="buildah")
        loaded = addons.load_images(ClusterConfig.from_env(), [ref, by_id])
    except (images.ImageError, addons.AddonError) as exc:
        raise _fail(str(exc)) from exc
    console.print(f"{ref} ({by_id}): imported {len(loaded)} name(s) into the cluster")
