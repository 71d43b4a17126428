"""Fetch, verify and unpack what the embedded stack runs into the cache directory.

The engines' modules (``medallion.stack.engines``) say what each needs; this module fetches it.
Everything comes through the ordinary clients (Maven for the JVM artifacts, ``go install`` for
helm and versitygw), so no download address is written here. Maven artifacts land in a Maven
repository inside the cache (``<cache>/m2``) and are checked against the SHA-256 sums in
``artifacts.lock.json``; Go modules are checked by the Go checksum database. Unpacked folders
carry a marker so a warm ``setup`` only re-checks what changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from medallion.paths import cache_dir

LOCK_FILE = Path(__file__).with_name("artifacts.lock.json")
VERSIONS = tomllib.loads(Path(__file__).with_name("versions.toml").read_text())


class SetupError(RuntimeError):
    """A prerequisite is missing or a download failed; the message says what to do."""


@dataclass(frozen=True)
class MavenArtifact:
    group: str
    artifact: str
    version: str
    packaging: str = "jar"
    classifier: str = ""

    @property
    def coords(self) -> str:
        parts = [self.group, self.artifact, self.version, self.packaging]
        if self.classifier:
            parts.append(self.classifier)
        return ":".join(parts)

    @property
    def repo_path(self) -> str:
        suffix = f"-{self.classifier}" if self.classifier else ""
        name = f"{self.artifact}-{self.version}{suffix}.{self.packaging}"
        return "/".join([*self.group.split("."), self.artifact, self.version, name])


def spark_jars() -> list[MavenArtifact]:
    ice, spark, scala = VERSIONS["iceberg"], VERSIONS["spark"], VERSIONS["scala"]
    return [
        MavenArtifact("org.apache.iceberg", f"iceberg-spark-runtime-{spark}_{scala}", ice),
        MavenArtifact("org.apache.iceberg", "iceberg-aws-bundle", ice),
    ]


@dataclass(frozen=True)
class Layout:
    """Where the unpacked engines sit inside the cache."""

    root: Path

    @property
    def m2(self) -> Path:
        return self.root / "m2"

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def spark_jars(self) -> list[Path]:
        return [self.m2 / a.repo_path for a in spark_jars()]

    @property
    def helm(self) -> Path:
        return self.bin / "helm"

    @property
    def log(self) -> Path:
        return self.root / "setup.log"


def layout() -> Layout:
    return Layout(cache_dir())


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Verifier:
    """Checks files against the lock; remembers (size, mtime) of checked files to skip rehashing."""

    def __init__(self, root: Path, *, update: bool) -> None:
        self.root = root
        self.update = update
        self.lock: dict[str, str] = json.loads(LOCK_FILE.read_text()) if LOCK_FILE.exists() else {}
        self._stamps_file = root / ".verified.json"
        self._stamps: dict[str, list[int]] = (
            json.loads(self._stamps_file.read_text()) if self._stamps_file.exists() else {}
        )

    def check(self, path: Path) -> None:
        key = path.relative_to(self.root).as_posix()
        stat = path.stat()
        stamp = [stat.st_size, stat.st_mtime_ns]
        if not self.update and self._stamps.get(key) == stamp and key in self.lock:
            return
        actual = sha256_of(path)
        expected = self.lock.get(key)
        if self.update:
            self.lock[key] = actual
        elif expected is None:
            raise SetupError(f"{key} has no checksum in {LOCK_FILE.name}; run setup --update-lock")
        elif expected != actual:
            path.unlink()
            raise SetupError(
                f"checksum mismatch for {key}: expected {expected}, got {actual}; "
                "the file was removed, run setup again"
            )
        self._stamps[key] = stamp

    def save(self) -> None:
        self._stamps_file.write_text(json.dumps(self._stamps, indent=1, sort_keys=True))
        if self.update:
            LOCK_FILE.write_text(json.dumps(self.lock, indent=1, sort_keys=True) + "\n")


def _run(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> None:
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(cmd)}\n")
        out.flush()
        result = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, check=False)
    if result.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        raise SetupError(f"{cmd[0]} failed ({result.returncode}):\n" + "\n".join(tail))


def require_tool(name: str, how: str) -> str:
    found = shutil.which(name)
    if not found:
        raise SetupError(f"{name} is not on PATH: {how}")
    return found


def mvn(lay: Layout, *args: str) -> None:
    mvn = require_tool("mvn", "install Maven 3.8+ (Debian/Ubuntu: apt-get install maven)")
    lay.root.mkdir(parents=True, exist_ok=True)
    _run([mvn, "-B", "-q", f"-Dmaven.repo.local={lay.m2}", *args], lay.log)


def fetch_maven(lay: Layout, artifact: MavenArtifact, verifier: Verifier) -> Path:
    path = lay.m2 / artifact.repo_path
    if not path.exists():
        mvn(lay, "dependency:get", "-Dtransitive=false", f"-Dartifact={artifact.coords}")
    verifier.check(path)
    return path


def extract(archive: Path, dest: Path, prune: Callable[[Path], None] | None = None) -> None:
    """Unpack ``archive`` (its top folder stripped) into ``dest``, then let ``prune`` trim it.

    GNU tar does it in seconds; Python's tarfile, the fallback, resolves the Trino tarball's many
    hard links one by one and takes minutes. Unpacking everything first keeps hard links whose
    target sits in a part that is pruned afterwards.
    """
    tmp = dest.with_name(dest.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    tar = shutil.which("tar")
    if tar:
        cmd = [tar, "-xzf", str(archive), "-C", str(tmp), "--strip-components=1"]
        subprocess.run(cmd, check=True)
    else:
        with tarfile.open(archive) as handle:
            members = []
            for member in handle.getmembers():
                member.name = member.name.partition("/")[2]
                if member.islnk():
                    member.linkname = member.linkname.partition("/")[2]
                if member.name:
                    members.append(member)
            handle.extractall(tmp, members=members, filter="tar")
    if prune:
        prune(tmp)
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)


def unpacked(dest: Path, source: Path, extract: Callable[[], None], extract_key: str = "") -> None:
    """Run ``extract`` unless ``dest`` was unpacked from ``source`` with the same selection."""
    marker = dest / ".unpacked-from"
    if marker.exists() and marker.read_text() == f"{source.name} {extract_key}":
        return
    extract()
    marker.write_text(f"{source.name} {extract_key}")


def setup_spark(lay: Layout, verifier: Verifier) -> None:
    for artifact in spark_jars():
        fetch_maven(lay, artifact, verifier)


def go_install(lay: Layout, package: str, version: str, binary: Path) -> None:
    marker = binary.with_name(binary.name + ".version")
    if binary.exists() and marker.exists() and marker.read_text() == version:
        return
    go = require_tool(
        "go", "install Go 1.22+ (https://go.dev/doc/install or apt-get install golang)"
    )
    lay.bin.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GOBIN": str(lay.bin), "CGO_ENABLED": "0"}
    _run([go, "install", f"{package}@{version}"], lay.log, env=env)
    marker.write_text(version)


def setup_helm(lay: Layout, _verifier: Verifier) -> None:
    go_install(lay, "helm.sh/helm/v3/cmd/helm", VERSIONS["helm"], lay.helm)


@dataclass(frozen=True)
class SetupStep:
    """One thing ``medallion setup`` fetches. Steps of one lane run one after the other (the
    Maven lane shares one local repository); lanes run side by side."""

    name: str
    run: Callable[[Layout, Verifier], None]
    lane: str


# What the tools need besides the engines (each engine lists its own steps).
TOOL_STEPS = (SetupStep("helm", setup_helm, lane="helm"),)


def iter_files(root: Path) -> Iterator[Path]:
    for path in root.rglob("*"):
        if path.is_file():
            yield path


def download_size(lay: Layout) -> int:
    """Bytes fetched into the cache's Maven repository (the downloads, not the unpacked copies)."""
    return sum(p.stat().st_size for p in iter_files(lay.m2)) if lay.m2.exists() else 0
