"""Compiling the C load generators (wsload, v1load) on demand, cached by source and flags."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path


def compile_c(source: Path, name: str, cflags: Sequence[str], cache: Path) -> Path:
    """The binary ``name`` built from ``source`` with ``cflags``, compiling it if needed.

    The cache key is the source's and the flags' digest, so an edited source is rebuilt; the
    binary appears atomically, so a concurrent build never runs half a file.
    """
    digest = hashlib.sha256(source.read_bytes() + " ".join(cflags).encode()).hexdigest()[:16]
    binary = cache / digest / name
    if binary.exists():
        return binary
    compiler = os.environ.get("CC") or shutil.which("cc")
    if compiler is None:
        raise RuntimeError(f"no C compiler: install one (cc) to build {name}")
    binary.parent.mkdir(parents=True, exist_ok=True)
    partial = binary.with_name(f"{name}.{os.getpid()}.tmp")
    done = subprocess.run(
        [compiler, *cflags, "-o", str(partial), str(source)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        raise RuntimeError(f"building {name} from {source} failed:\n{done.stderr}")
    partial.replace(binary)
    return binary


def timeout_flag(args: Sequence[str], default: float = 60.0) -> float:
    """The ``--timeout`` a load generator was given (both use 60 s by default)."""
    for i, arg in enumerate(args):
        if arg == "--timeout" and i + 1 < len(args):
            return float(args[i + 1])
        if arg.startswith("--timeout="):
            return float(arg.split("=", 1)[1])
    return default
