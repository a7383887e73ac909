"""Start-up cost: import time of each tool's entry module, and the installed size of its runtime dependencies."""

# ruff: noqa: S603, S607 - the only commands run are the interpreters and pip of known virtualenvs

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from bench.common import BENCH, DBTC_PYTHON, ROOT, log, median

REPEATS = 9
RUNTIME_VENV = BENCH / ".venv-runtime"
# The runtime libraries the project's brief prescribes: no entry module built on them can import faster.
STACK = ("httpx", "pydantic", "pydantic_settings", "tenacity")
# What every virtualenv has before anything is installed into it.
BASELINE = {"pip", "setuptools", "wheel", "distribute"}
SIZES = """
import importlib.metadata as md, json, os
out = {}
for dist in md.distributions():
    name = dist.metadata["Name"]
    total = 0
    for f in dist.files or []:
        path = f.locate()
        if os.path.isfile(path):
            total += os.path.getsize(path)
    out[name] = total
print(json.dumps(out))
"""


def top_level_import_us(stderr: str, prefixes: tuple[str, ...]) -> int:
    """Sum of the cumulative microseconds of the top-level imports of the named package(s)."""
    total = 0
    for line in stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        parts = line.split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2][1:]
        if name.startswith(" "):
            continue  # nested import, already inside a top-level one's cumulative time
        if name.strip() in prefixes or name.strip().startswith(tuple(f"{p}." for p in prefixes)):
            total += int(parts[1])
    return total


def heaviest(stderr: str, root: str, count: int = 8) -> list[tuple[str, float]]:
    """The modules with the largest cumulative import time under `root` (nested ones overlap their parents)."""
    rows: list[tuple[str, float]] = []
    for line in stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit() and parts[2].strip() != root:
            rows.append((parts[2].strip(), int(parts[1]) / 1000))
    return sorted(rows, key=lambda row: -row[1])[:count]


def _import_once(python: Path, module: str) -> str:
    done = subprocess.run(
        [str(python), "-X", "importtime", "-c", f"import {module}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"import {module} failed in {python}:\n{done.stderr[-1500:]}")
    return done.stderr


def import_times(tools: dict[str, tuple[Path, str, tuple[str, ...]]]) -> dict[str, Any]:
    """`python -X importtime -c "import module"` per tool: once to warm the bytecode cache, then REPEATS times,
    the tools taking turns so that a busy moment of the machine weighs on both alike."""
    samples: dict[str, list[float]] = {tool: [] for tool in tools}
    last: dict[str, str] = {}
    for attempt in range(REPEATS + 1):
        for tool, (python, module, packages) in tools.items():
            last[tool] = _import_once(python, module)
            if attempt:
                samples[tool].append(top_level_import_us(last[tool], packages) / 1000)
    return {
        tool: {
            "module": module,
            "ms_median": median(samples[tool]),
            "ms_samples": samples[tool],
            "heaviest": heaviest(last[tool], module),
        }
        for tool, (_python, module, _package) in tools.items()
    }


def installed(python: Path) -> dict[str, Any]:
    """Bytes installed per distribution in a virtualenv (its RECORD files), pip and setuptools left out."""
    done = subprocess.run([str(python), "-c", SIZES], capture_output=True, text=True, check=True)
    sizes: dict[str, int] = json.loads(done.stdout)
    kept = {name: size for name, size in sizes.items() if name.lower() not in BASELINE}
    return {
        "mb": sum(kept.values()) / 1e6,
        "packages": {name: round(size / 1e6, 2) for name, size in sorted(kept.items(), key=lambda kv: -kv[1])},
    }


def ensure_runtime_venv() -> Path:
    """A virtualenv with exactly the locked runtime dependencies, as the image installs them; it stays
    (git-ignored) and is made again when requirements.lock changes."""
    lock = (ROOT / "requirements.lock").read_bytes()
    stamp = RUNTIME_VENV / "requirements.lock.sha256"
    digest = hashlib.sha256(lock).hexdigest()
    python = RUNTIME_VENV / "bin" / "python"
    if python.exists() and stamp.exists() and stamp.read_text(encoding="utf-8") == digest:
        return python
    log("  installing requirements.lock into bench/.venv-runtime ...")
    shutil.rmtree(RUNTIME_VENV, ignore_errors=True)
    subprocess.run(["python3", "-m", "venv", str(RUNTIME_VENV)], check=True)
    done = subprocess.run(
        [
            str(RUNTIME_VENV / "bin" / "pip"),
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--require-hashes",
            "-r",
            str(ROOT / "requirements.lock"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"pip install -r requirements.lock failed:\n{done.stderr[-2000:]}")
    stamp.write_text(digest, encoding="utf-8")
    return python


def sizes() -> dict[str, Any]:
    """Installed runtime size of both tools."""
    return {"ours": installed(ensure_runtime_venv()), "dbtc": installed(DBTC_PYTHON)}


def imports() -> dict[str, Any]:
    """Import time of both tools' entry modules, ours with only the image's dependencies installed; and of the
    runtime libraries the brief prescribes alone, the floor under ours."""
    runtime = ensure_runtime_venv()
    return import_times(
        {
            "ours": (runtime, "autoscale_ci.run", ("autoscale_ci",)),
            "dbtc": (DBTC_PYTHON, "dbtc", ("dbtc",)),
            "stack": (runtime, ", ".join(STACK), STACK),
        }
    )
