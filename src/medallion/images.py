"""Build the project's container images (``images/<name>/Dockerfile``) without a registry.

Every image sits on a Debian base (``debian:bookworm-slim`` or ``debian:trixie-slim``). Where no
registry is reachable, :func:`build_base` makes those bases with mmdebstrap and stores them under
the same names the Dockerfiles use, so ``FROM debian:bookworm-slim`` resolves locally; where a
registry is reachable, the builder just pulls them. The Dockerfiles are the same either way.

Tags follow the chart that deploys the image (its ``appVersion``), and the engines' versions reach
the Dockerfiles as ``--build-arg`` values read from ``versions.toml``: no Dockerfile repeats one.
The builder is buildah (the default when no Docker engine answers) or docker (``IMAGE_BUILDER``).
:func:`archive` exports an image to a docker-archive tar for ``ctr images import``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from medallion.paths import cache_dir, project_dir
from medallion.stack.engines import trino

VERSIONS: Mapping[str, str] = tomllib.loads(Path(__file__).with_name("versions.toml").read_text())

# Files that the slim Debian images leave out; the rule stays in the image
# (/etc/dpkg/dpkg.cfg.d/), so packages installed by a Dockerfile skip them too.
SLIM_PATH_EXCLUDES = (
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/info/*",
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/locale/*",
    "path-include=/usr/share/locale/locale.alias",
    "path-exclude=/usr/share/lintian/*",
    "path-exclude=/usr/share/linda/*",
    "path-exclude=/usr/share/groff/*",
)


class ImageError(RuntimeError):
    """A build step failed; the message says which and where its log is."""


@dataclass(frozen=True)
class Base:
    """A Debian slim base image, as a registry names it."""

    suite: str

    @property
    def ref(self) -> str:
        return f"debian:{self.suite}-slim"

    @property
    def local_name(self) -> str:
        # The fully qualified name a short `FROM debian:...` resolves to.
        return f"docker.io/library/{self.ref}"


BASES: dict[str, Base] = {suite: Base(suite) for suite in ("bookworm", "trixie")}


@dataclass(frozen=True)
class Image:
    """One image: its Dockerfile folder, the chart whose appVersion tags it, its build args."""

    name: str
    chart: str
    # build arg -> key of versions.toml
    version_args: Mapping[str, str] = field(default_factory=dict)
    # build arg -> another project image (FROM it); built first
    image_args: Mapping[str, str] = field(default_factory=dict)
    # build arg -> a value the project defines elsewhere (not a version)
    fixed_args: Mapping[str, str] = field(default_factory=dict)
    # a fixed tag instead of the chart's appVersion (an image no project chart deploys)
    tag_from_version: str = ""

    @property
    def dockerfile(self) -> Path:
        return project_dir() / "images" / self.name / "Dockerfile"

    @property
    def bases(self) -> tuple[str, ...]:
        """The Debian suites whose slim images the Dockerfile builds FROM."""
        refs = set(re.findall(r"^FROM (\S+)", self.dockerfile.read_text(), flags=re.M | re.I))
        return tuple(suite for suite, base in BASES.items() if base.ref in refs)

    @property
    def tag(self) -> str:
        if self.tag_from_version:
            return VERSIONS[self.tag_from_version].removeprefix("v")
        return chart_app_version(self.chart)

    @property
    def ref(self) -> str:
        return f"medallion/{self.name}:{self.tag}"

    def build_args(self) -> dict[str, str]:
        args = {arg: VERSIONS[key] for arg, key in self.version_args.items()}
        args.update(self.fixed_args)
        args.update({arg: IMAGES[other].ref for arg, other in self.image_args.items()})
        return args


# In build order: an image that builds FROM another comes after it.
IMAGES: dict[str, Image] = {
    image.name: image
    for image in (
        Image("postgres", "postgres", {"POSTGRES_MAJOR": "postgres"}),
        Image("minio", "minio", {"MINIO_VERSION": "minio"}),
        Image(
            "hive-metastore",
            "hive-metastore",
            {
                "HIVE_VERSION": "hive_metastore",
                "HADOOP_VERSION": "hadoop_metastore",
                "POSTGRESQL_JDBC_VERSION": "postgresql_jdbc",
            },
        ),
        Image(
            "trino",
            "trino",
            {"TRINO_VERSION": "trino"},
            # the plugins the catalogs use, as the embedded stack keeps them
            fixed_args={"TRINO_PLUGINS": " ".join(trino.PLUGINS)},
        ),
        Image(
            "dbt",
            "medallion",
        ),
        Image(
            "spark",
            "medallion",
            {"ICEBERG_VERSION": "iceberg", "SPARK_MINOR": "spark", "SCALA_VERSION": "scala"},
        ),
        Image(
            "spark-operator",
            "medallion",
            {"SPARK_OPERATOR_VERSION": "spark_operator"},
            {"SPARK_IMAGE": "spark"},
            tag_from_version="spark_operator",
        ),
    )
}


def chart_app_version(chart: str) -> str:
    meta = yaml.safe_load((project_dir() / "charts" / chart / "Chart.yaml").read_text())
    return str(meta["appVersion"])


def images_dir() -> Path:
    return cache_dir() / "images"


def _log_path(name: str) -> Path:
    path = images_dir() / "logs" / f"{name}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _run(cmd: list[str], log: Path, *, cwd: Path | None = None) -> None:
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(cmd)}\n")
        out.flush()
        result = subprocess.run(
            cmd, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, check=False
        )  # fmt: skip
    if result.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-25:]
        raise ImageError(
            f"{cmd[0]} {cmd[1] if len(cmd) > 1 else ''} failed ({result.returncode}); "
            f"log: {log}\n" + "\n".join(tail)
        )


def _output(cmd: list[str]) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()


def builder() -> str:
    """``IMAGE_BUILDER`` if set, else docker when its engine answers, else buildah."""
    chosen = os.environ.get("IMAGE_BUILDER")
    if chosen:
        return chosen
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "info"], capture_output=True, check=False)
        if probe.returncode == 0:
            return "docker"
    return "buildah"


def _require(tool: str, how: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise ImageError(f"{tool} not found: {how}")
    return path


def image_id(ref: str, tool: str | None = None) -> str | None:
    """The ID of a local image, or None when the builder's store does not have it."""
    tool = tool or builder()
    if tool == "buildah":
        cmd = [tool, "inspect", "--type", "image", "--format", "{{.FromImageID}}", ref]
    else:
        cmd = [tool, "image", "inspect", "--format", "{{.Id}}", ref]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None


def by_repository(repository: str) -> str:
    """The name of the project image published as ``repository`` (e.g. medallion/dbt)."""
    for name, image in IMAGES.items():
        if image.ref.rsplit(":", 1)[0] == repository:
            return name
    known = ", ".join(i.ref.rsplit(":", 1)[0] for i in IMAGES.values())
    raise ImageError(f"{repository or '(none)'} is not a project image ({known})")


def tag(ref: str, new: str, tool: str | None = None) -> str:
    """Give the local image ``ref`` the further name ``new``; returns its ID."""
    tool = tool or builder()
    found = image_id(ref, tool)
    if found is None:
        raise ImageError(f"{ref} is not built: run medallion images build")
    result = subprocess.run([tool, "tag", ref, new], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ImageError(f"{tool} tag {ref} {new}: {result.stderr.strip()}")
    return found


def image_size(ref: str, tool: str | None = None) -> str:
    """The size of a local image as the builder reports it (e.g. "127 MB")."""
    tool = tool or builder()
    if tool == "buildah":
        rows = json.loads(_output([tool, "images", "--json", ref]))
        return str(rows[0]["size"]) if rows else "?"
    size = int(_output([tool, "image", "inspect", "--format", "{{.Size}}", ref]))
    return f"{size / 1e6:.0f} MB"


@dataclass(frozen=True)
class Built:
    ref: str
    seconds: float
    size: str
    skipped: bool = False


def build_base(suite: str, *, tool: str | None = None) -> Built:
    """Make ``debian:<suite>-slim`` in the builder's store with mmdebstrap, unless it is there."""
    base = BASES[suite]
    tool = tool or builder()
    if image_id(base.local_name, tool):
        return Built(base.local_name, 0.0, image_size(base.local_name, tool), skipped=True)
    if tool != "buildah":
        raise ImageError(f"{base.ref} is missing: pull it ({tool} pull {base.ref})")
    mmdebstrap = _require("mmdebstrap", "apt-get install mmdebstrap")
    log = _log_path(f"base-{suite}")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"base-{suite}-", dir=_tmp_parent()) as tmp:
        rootfs = Path(tmp) / "rootfs.tar"
        _run(
            [
                mmdebstrap,
                "--variant=minbase",
                "--format=tar",
                *(f"--dpkgopt={rule}" for rule in SLIM_PATH_EXCLUDES),
                # apt as in the registry's slim images: no caches kept after an install.
                "--aptopt=Binary::apt::APT::Keep-Downloaded-Packages false",
                "--customize-hook=rm -rf $1/var/cache/apt/* $1/var/lib/apt/lists/* $1/var/log/*",
                suite,
                str(rootfs),
            ],
            log,
        )
        container = _output([tool, "from", "scratch"])
        try:
            _run([tool, "add", container, str(rootfs), "/"], log)
            _run(
                [
                    tool, "config",
                    "--env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "--cmd", "bash",
                    "--label", f"org.opencontainers.image.description=Debian {suite} slim",
                    container,
                ],
                log,
            )  # fmt: skip
            _run([tool, "commit", "--rm", container, base.local_name], log)
        except ImageError:
            subprocess.run([tool, "rm", container], capture_output=True, check=False)
            raise
    return Built(base.local_name, time.monotonic() - started, image_size(base.local_name, tool))


def _tmp_parent() -> Path:
    path = images_dir() / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


# Where a build container finds the extra trust of a TLS-intercepting egress proxy (see below).
BUILD_CA = "/run/medallion-build/ca.pem"
BUILD_JAVA_TRUSTSTORE = "/run/medallion-build/java-cacerts"
BUILD_TRUST_ENV = {
    "SSL_CERT_FILE": BUILD_CA,  # Go, OpenSSL
    "PIP_CERT": BUILD_CA,
    "JAVA_TOOL_OPTIONS": f"-Djavax.net.ssl.trustStore={BUILD_JAVA_TRUSTSTORE}",  # Maven
}


def build_trust() -> tuple[Path, Path | None] | None:
    """The host's CA bundle (and Java trust store) that RUN steps must trust, if any.

    Where egress goes through a proxy that re-signs TLS with its own CA, the build containers'
    stock trust fails (Go, pip, Maven). ``IMAGE_BUILD_CA`` (default: ``SSL_CERT_FILE``) names a
    PEM bundle with that CA, and ``IMAGE_BUILD_JAVA_TRUSTSTORE`` (default: ``java/cacerts`` beside
    the bundle, Debian's layout) a Java trust store with it. buildah mounts them into RUN steps
    only: nothing of them is committed, and the final image's environment is left as written.
    """
    ca = os.environ.get("IMAGE_BUILD_CA") or os.environ.get("SSL_CERT_FILE")
    if not ca or not Path(ca).is_file():
        return None
    store = os.environ.get("IMAGE_BUILD_JAVA_TRUSTSTORE") or str(
        Path(ca).parent / "java" / "cacerts"
    )
    return Path(ca).resolve(), Path(store).resolve() if Path(store).is_file() else None


def build_command(image: Image, tool: str) -> list[str]:
    cmd = [tool, "build"] if tool == "docker" else [tool, "bud", "--layers", "--network", "host"]
    if tool == "buildah":
        # Local bases only (a registry's copy is never needed), and the per-Dockerfile ignore file
        # that docker's BuildKit picks up by itself.
        cmd += ["--pull=never", "--format", "docker"]
        ignore = image.dockerfile.with_name("Dockerfile.dockerignore")
        if ignore.is_file():
            cmd += ["--ignorefile", str(ignore)]
        trust = build_trust()
        if trust:
            ca, store = trust
            cmd += ["--volume", f"{ca}:{BUILD_CA}:ro"]
            env = dict(BUILD_TRUST_ENV)
            if store:
                cmd += ["--volume", f"{store}:{BUILD_JAVA_TRUSTSTORE}:ro"]
            else:
                del env["JAVA_TOOL_OPTIONS"]
            # A Dockerfile declares, in the stages that fetch over TLS, the variables its tools
            # read (ARG SSL_CERT_FILE, PIP_CERT, JAVA_TOOL_OPTIONS): build args reach RUN steps
            # only and stay out of the image's configuration.
            declared = set(re.findall(r"^ARG (\w+)\s*$", image.dockerfile.read_text(), re.M))
            for key, value in env.items():
                if key in declared:
                    cmd += ["--build-arg", f"{key}={value}"]
    cmd += ["-f", str(image.dockerfile), "-t", image.ref]
    for arg, value in image.build_args().items():
        cmd += ["--build-arg", f"{arg}={value}"]
    return [*cmd, str(project_dir())]


def resolve(names: Iterable[str]) -> list[Image]:
    """The images asked for plus the project images they build FROM, in build order."""
    wanted = set(names) or set(IMAGES)
    unknown = wanted - set(IMAGES)
    if unknown:
        raise ImageError(
            f"unknown image(s) {', '.join(sorted(unknown))}; see: medallion images list"
        )
    closure = set(wanted)
    for name in wanted:
        closure.update(IMAGES[name].image_args.values())
    return [image for name, image in IMAGES.items() if name in closure]


def build(
    names: Iterable[str] = (),
    *,
    tool: str | None = None,
    on_done: Callable[[Built], None] | None = None,
) -> list[Built]:
    """Build the images (and the Debian bases they need), one after the other."""
    tool = tool or builder()
    images = resolve(names)
    done: list[Built] = []
    for suite in sorted({suite for image in images for suite in image.bases}):
        built = build_base(suite, tool=tool)
        done.append(built)
        if on_done:
            on_done(built)
    for image in images:
        log = _log_path(image.name)
        log.write_text("")
        started = time.monotonic()
        _run(build_command(image, tool), log, cwd=project_dir())
        built = Built(image.ref, time.monotonic() - started, image_size(image.ref, tool))
        done.append(built)
        if on_done:
            on_done(built)
    return done


def archive(name: str, *, tool: str | None = None) -> Path:
    """A docker-archive tar of the built image, for ``ctr -n k8s.io images import``.

    The tar is written once per image ID: a rebuild that changed nothing reuses the file.
    """
    tool = tool or builder()
    image = IMAGES[name]
    found = image_id(image.ref, tool)
    if found is None:
        raise ImageError(f"{image.ref} is not built: run medallion images build {name}")
    out_dir = images_dir() / "archives"
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{name}-{image.tag}.tar"
    stamp = target.with_suffix(".id")
    if target.exists() and stamp.exists() and stamp.read_text() == found:
        return target
    partial = target.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    log = _log_path(f"archive-{name}")
    if tool == "buildah":
        _run([tool, "push", image.ref, f"docker-archive:{partial}:{image.ref}"], log)
    else:
        _run([tool, "save", "-o", str(partial), image.ref], log)
    partial.replace(target)
    stamp.write_text(found)
    return target
