"""`make container-test`: build the Dockerfile with podman and run the image as a GitHub runner runs a Docker action.

The image is built from the repository's Dockerfile and started against the local dbt Cloud emulator with the
runner's mounts (/github/workflow, /github/file_commands, /github/workspace, /github/home) and environment
(hyphenated INPUT_ variables passed by name, every input action.yml declares, the GITHUB_ variables). Checked:

- the image holds the action and its locked dependencies, without the emulator;
- a plain trigger on an idle job exits 0 and writes its outputs and job summary;
- on the clone path, SIGINT to the container (`podman kill --signal INT`, as a cancelled workflow) exits 130 within
  5 s, with the run cancelled and the clone deleted, and the post entrypoint after it exits 0;
- after SIGKILL (the runner's last resort) the post entrypoint, fed STATE_ variables, cancels the run, deletes the
  clone and exits 0.

No image registry is needed: `python:3.12-slim` is replaced with a Debian bookworm rootfs made by mmdebstrap
(Python 3.11), shaped like the official image (python, python3 and pip in /usr/local/bin, pip free to install
system-wide), imported into podman and put in place of the Dockerfile's FROM with `podman build --from`. The rootfs
tarball is cached in .cache/container/; podman's storage (vfs driver) lives in a temporary directory removed at the
end, so each run builds the image afresh and nothing global is touched.

Needs root, podman, runc and mmdebstrap (`--install-deps` installs them with apt-get) and network access to
deb.debian.org (first run only) and PyPI. Exit status: 0 pass, 1 fail, 77 skipped (this host cannot build or run
containers; the reason is printed).
"""

# ruff: noqa: S603 - the only commands run are podman, mmdebstrap and apt-get, with arguments built here

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dbt_cloud_emulator import Emulator, EmulatorConfig  # noqa: E402
from tests.harness import input_defaults, parse_file_commands, pr_event  # noqa: E402

SKIPPED = 77
TOOLS = {"podman": "podman", "runc": "runc", "mmdebstrap": "mmdebstrap"}  # command -> Debian package
BASE_TAG = "localhost/autoscale-ci-base:bookworm"
IMAGE_TAG = "localhost/autoscale-dbt-ci:container-test"
LABEL = "autoscale-dbt-ci.container-test"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
SHA_IDLE, SHA_BUSY, SHA_SIGINT, SHA_SIGKILL = "a" * 40, "b" * 40, "c" * 40, "d" * 40

# The stand-in for python:3.12-slim. Changing anything here changes the cache key, so the rootfs is made again.
BASE_RECIPE: dict[str, Any] = {
    "suite": "bookworm",
    "mirror": "http://deb.debian.org/debian",
    "variant": "apt",
    "include": ["python3", "python3-pip", "python-is-python3", "ca-certificates"],
    "options": [
        "--aptopt=APT::Install-Recommends false",
        "--dpkgopt=path-exclude=/usr/share/doc/*",
        "--dpkgopt=path-exclude=/usr/share/man/*",
        "--dpkgopt=path-exclude=/usr/share/locale/*",
        # The official image's interpreter and pip live in /usr/local/bin (post.py's shebang names it), and pip may
        # install into the system interpreter there, which Debian forbids by default (PEP 668).
        '--customize-hook=rm -f "$1"/usr/lib/python3*/EXTERNALLY-MANAGED',
        '--customize-hook=ln -sf /usr/bin/python3 "$1"/usr/local/bin/python',
        '--customize-hook=ln -sf /usr/bin/python3 "$1"/usr/local/bin/python3',
        '--customize-hook=ln -sf /usr/bin/pip3 "$1"/usr/local/bin/pip',
        '--customize-hook=rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*',
    ],
    # What python:3.12-slim sets; an imported tarball has no configuration of its own.
    "changes": [
        "ENV=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "ENV=LANG=C.UTF-8",
        'CMD=["python3"]',
    ],
}


class HostUnfitError(Exception):
    """This host cannot run the test; the message says why."""


class StepError(Exception):
    """A setup step failed; the message says which and how."""


def log(message: str) -> None:
    """Progress on stderr, timestamped, so a slow phase is visible."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def tail(text: str, lines: int = 25) -> str:
    """The last lines of a command's output, indented."""
    return "\n".join("    " + line for line in text.rstrip().splitlines()[-lines:])


def run(
    cmd: Sequence[str], *, timeout: float, env: Mapping[str, str] | None = None, what: str
) -> subprocess.CompletedProcess[str]:
    """Run a command to completion; a timeout or a non-zero exit raises StepError with the output's tail."""
    try:
        done = subprocess.run(
            list(cmd),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=dict(env) if env is not None else None,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        output = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        raise StepError(f"{what}: no answer within {timeout:.0f} s\n{tail(output)}") from exc
    if done.returncode != 0:
        raise StepError(f"{what}: exit {done.returncode}\n{tail(done.stdout + done.stderr)}")
    return done


# -- host preparation ----------------------------------------------------------------------------------------------


def ensure_tools(install: bool) -> None:
    """Raise HostUnfitError unless the host can run rootful podman; install missing Debian packages when asked."""
    if sys.platform != "linux":
        raise HostUnfitError(f"needs Linux, this is {sys.platform}")
    if os.geteuid() != 0:
        raise HostUnfitError("needs root: rootful podman with the vfs driver (no user namespaces or fuse needed)")
    missing = sorted(package for command, package in TOOLS.items() if shutil.which(command) is None)
    if not missing:
        return
    if not (install and shutil.which("apt-get")):
        raise HostUnfitError(
            f"missing {', '.join(missing)}: apt-get install -y {' '.join(missing)} (or --install-deps)"
        )
    log(f"installing {' '.join(missing)} with apt-get")
    apt_env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        run(["apt-get", "update", "-qq"], timeout=300, env=apt_env, what="apt-get update")
        run(["apt-get", "install", "-y", "-qq", *missing], timeout=900, env=apt_env, what="apt-get install")
    except StepError as exc:
        raise HostUnfitError(f"cannot install {', '.join(missing)}: {exc}") from exc
    missing = sorted(package for command, package in TOOLS.items() if shutil.which(command) is None)
    if missing:
        raise HostUnfitError(f"{', '.join(missing)} still not on PATH after apt-get install")


def ulimit_args() -> list[str]:
    """Explicit limits for every container.

    Rootful podman asks for 1048576 open files and processes by default, which needs CAP_SYS_RESOURCE (missing in
    sandboxed VMs), and podman 4.3 lowers its own process limit to 32768 at start; limits within both always apply.
    """

    def within(kind: int, cap: int) -> int:
        hard = resource.getrlimit(kind)[1]
        return cap if hard == resource.RLIM_INFINITY else min(hard, cap)

    files, processes = within(resource.RLIMIT_NOFILE, 65536), within(resource.RLIMIT_NPROC, 4096)
    return ["--ulimit", f"nofile={files}:{files}", "--ulimit", f"nproc={processes}:{processes}"]


def ca_bundle() -> Path | None:
    """The host's CA bundle, which the build's pip needs when the host reaches PyPI through an inspecting proxy."""
    for candidate in (os.environ.get("PIP_CERT"), os.environ.get("SSL_CERT_FILE"), str(CA_BUNDLE)):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def base_rootfs(cache: Path) -> Path:
    """The stand-in base image's rootfs tarball, made with mmdebstrap once per recipe."""
    key = hashlib.sha256(json.dumps(BASE_RECIPE, sort_keys=True).encode()).hexdigest()[:16]
    tarball = cache / f"base-{BASE_RECIPE['suite']}-{key}.tar"
    if tarball.is_file():
        log(f"base rootfs: cached {tarball.relative_to(ROOT) if tarball.is_relative_to(ROOT) else tarball}")
        return tarball
    cache.mkdir(parents=True, exist_ok=True)
    for stale in cache.glob("base-*.tar*"):
        stale.unlink()
    partial = tarball.with_suffix(".tar.partial")
    log(f"base rootfs: mmdebstrap {BASE_RECIPE['suite']} with {', '.join(BASE_RECIPE['include'])} (about a minute)")
    cmd = [
        "mmdebstrap",
        f"--variant={BASE_RECIPE['variant']}",
        f"--include={','.join(BASE_RECIPE['include'])}",
        "--format=tar",
        *BASE_RECIPE["options"],
        BASE_RECIPE["suite"],
        str(partial),
        BASE_RECIPE["mirror"],
    ]
    try:
        run(cmd, timeout=900, what="mmdebstrap")
    except StepError as exc:
        partial.unlink(missing_ok=True)
        raise HostUnfitError(f"cannot make the base rootfs (Debian mirror unreachable?): {exc}") from exc
    partial.rename(tarball)
    return tarball


# -- podman ----------------------------------------------------------------------------------------------------------


@dataclass
class Podman:
    """Rootful podman confined to a private storage directory: vfs, cgroupfs, runc, file events."""

    storage: Path
    limits: list[str] = field(default_factory=ulimit_args)

    def command(self, *args: str) -> list[str]:
        """A podman command line with every global setting pointing into the private storage."""
        return [
            "podman",
            "--root",
            str(self.storage / "root"),
            "--runroot",
            str(self.storage / "run"),
            "--tmpdir",
            str(self.storage / "tmp"),
            "--network-config-dir",
            str(self.storage / "networks"),
            "--storage-driver",
            "vfs",
            "--cgroup-manager",
            "cgroupfs",
            "--events-backend",
            "file",
            "--runtime",
            "runc",
            *args,
        ]

    def run(self, *args: str, timeout: float, what: str) -> subprocess.CompletedProcess[str]:
        """Run one podman command to completion."""
        return run(self.command(*args), timeout=timeout, what=what)

    def remove_all(self) -> None:
        """Stop and remove every container in the private storage (best effort, on the way out)."""
        subprocess.run(
            self.command("rm", "--all", "--force", "--time", "0"), capture_output=True, timeout=120, check=False
        )


def prepare_images(podman: Podman, cache: Path) -> float:
    """Import the stand-in base image, check that a container runs at all, then build the action's image; how long
    the build took (what every job pays with `image: Dockerfile`, and a prebuilt image saves)."""
    tarball = base_rootfs(cache)
    log(f"podman import -> {BASE_TAG}")
    changes = [arg for change in BASE_RECIPE["changes"] for arg in ("--change", change)]
    try:
        podman.run("import", *changes, str(tarball), BASE_TAG, timeout=300, what="podman import")
        podman.run(
            "run", "--rm", "--network", "host", *podman.limits, BASE_TAG, "python", "-c", "pass",
            timeout=120, what="a container from the base image",
        )  # fmt: skip
    except StepError as exc:
        raise HostUnfitError(f"podman cannot run containers here: {exc}") from exc
    bundle = ca_bundle()
    mounts = ["--volume", f"{bundle}:{CA_BUNDLE}:ro"] if bundle else []
    log(f"podman build --from {BASE_TAG} (pip install from PyPI)")
    started = time.monotonic()
    podman.run(
        "build", "--from", BASE_TAG, "--pull=never", "--network", "host", *podman.limits, *mounts,
        "--file", str(ROOT / "Dockerfile"), "--tag", IMAGE_TAG, str(ROOT),
        timeout=900, what="podman build",
    )  # fmt: skip
    took = time.monotonic() - started
    log(f"built {IMAGE_TAG} in {took:.0f} s")
    return took


def load_image(podman: Podman, archive: Path) -> None:
    """Load a built image (`docker save` or buildx `type=docker` output) in place of building one."""
    log(f"podman load -i {archive}")
    loaded = podman.run("load", "--input", str(archive), timeout=600, what="podman load").stdout
    names = [line.split(":", 1)[1].strip() for line in loaded.splitlines() if line.startswith("Loaded image")]
    if not names:
        raise StepError(f"podman load named no image\n{tail(loaded)}")
    podman.run("tag", names[-1].split(",")[0].strip(), IMAGE_TAG, timeout=60, what="podman tag")


# -- figures ---------------------------------------------------------------------------------------------------------


@dataclass
class Figures:
    """What the container test measures for CONTRIBUTING.md: sizes, start to first request, build time."""

    build_seconds: float | None = None
    size_bytes: int | None = None
    compressed_bytes: int | None = None
    own_size_bytes: int | None = None
    own_compressed_bytes: int | None = None
    first_request_seconds: float | None = None
    empty_container_seconds: float | None = None

    def lines(self) -> list[str]:
        """The figures, one a line, for whatever was measured."""

        def mb(value: int | None) -> str:
            return f"{value / 1e6:.1f} MB" if value is not None else "?"

        out = []
        if self.size_bytes is not None:
            own = f" (the action's layers: {mb(self.own_size_bytes)})" if self.own_size_bytes is not None else ""
            out.append(f"image size, uncompressed: {mb(self.size_bytes)}{own}")
        if self.compressed_bytes is not None:
            own = f" (the action's layers: {mb(self.own_compressed_bytes)})" if self.own_compressed_bytes else ""
            out.append(f"image size, compressed as a registry stores it: {mb(self.compressed_bytes)}{own}")
        if self.first_request_seconds is not None:
            empty = self.empty_container_seconds
            baseline = f" (an empty container of the image: {empty:.2f} s to start and stop)" if empty else ""
            first = self.first_request_seconds
            out.append(f"container start to the first request to dbt Cloud: {first:.2f} s{baseline}")
        if self.build_seconds is not None:
            out.append(f"image build, which a prebuilt image saves every job: {self.build_seconds:.0f} s")
        return out


def _layers(podman: Podman, image: str) -> int:
    found = podman.run("image", "inspect", "--format", "{{len .RootFS.Layers}}", image, timeout=60, what="inspect")
    return int(found.stdout.strip())


def _compressed_size(layout: Path, layer: dict[str, Any]) -> int:
    """A layer's size as a registry stores it: gzip, as pushed; a layer the push left uncompressed is gzipped here."""
    if str(layer["mediaType"]).endswith("gzip"):
        return int(layer["size"])
    blob = layout / "blobs" / "sha256" / str(layer["digest"]).split(":", 1)[1]
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: the gzip format
    size = 0
    with blob.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            size += len(compressor.compress(chunk))
    return size + len(compressor.flush())


def measure_image(podman: Podman, figures: Figures, workdir: Path, *, has_base: bool) -> None:
    """Uncompressed size, and compressed (gzip layers, as pushed), of the image and of its own layers."""
    size = podman.run("image", "inspect", "--format", "{{.Size}}", IMAGE_TAG, timeout=60, what="image inspect")
    figures.size_bytes = int(size.stdout.strip())
    layout = workdir / "oci-layout"
    podman.run(
        "push", "--compression-format", "gzip", IMAGE_TAG, f"oci:{layout}:measured",
        timeout=600, what="podman push to an OCI layout",
    )  # fmt: skip
    index = json.loads((layout / "index.json").read_text(encoding="utf-8"))
    manifest_digest = index["manifests"][0]["digest"].split(":", 1)[1]
    manifest = json.loads((layout / "blobs" / "sha256" / manifest_digest).read_text(encoding="utf-8"))
    sizes = [_compressed_size(layout, layer) for layer in manifest["layers"]]
    figures.compressed_bytes = sum(sizes)
    if has_base:
        base_layers = _layers(podman, BASE_TAG)
        figures.own_compressed_bytes = sum(sizes[base_layers:])
        base = podman.run("image", "inspect", "--format", "{{.Size}}", BASE_TAG, timeout=60, what="image inspect")
        figures.own_size_bytes = figures.size_bytes - int(base.stdout.strip())


# -- the runner --------------------------------------------------------------------------------------------------------


@dataclass
class Finished:
    """What one container step left behind."""

    returncode: int
    stdout: str
    outputs: dict[str, str]
    summary: str
    state: dict[str, str]
    seconds: float


@dataclass
class RunnerStep:
    """One Docker action step laid out as actions/runner lays it out on the host and in `docker run`."""

    podman: Podman
    workdir: Path
    inputs: dict[str, str]
    event: dict[str, Any]
    event_name: str = "pull_request"
    name: str = field(default_factory=lambda: f"autoscale-ci-{uuid.uuid4().hex[:12]}")
    process: subprocess.Popen[str] | None = field(default=None, repr=False)
    files: dict[str, Path] = field(default_factory=dict)
    started: float = 0.0

    def __post_init__(self) -> None:
        temp = self.workdir / "_temp"
        for folder in ("_github_home", "_github_workflow", "_runner_file_commands", "workspace"):
            (temp / folder).mkdir(parents=True, exist_ok=True)
        (temp / "_github_workflow" / "event.json").write_text(json.dumps(self.event), encoding="utf-8")
        self.new_file_commands()

    def new_file_commands(self) -> None:
        """Fresh file-command files, as the runner makes for every step (the post step included)."""
        commands = self.workdir / "_temp" / "_runner_file_commands"
        for variable, prefix in (
            ("GITHUB_OUTPUT", "set_output"),
            ("GITHUB_STATE", "save_state"),
            ("GITHUB_STEP_SUMMARY", "step_summary"),
            ("GITHUB_ENV", "set_env"),
            ("GITHUB_PATH", "add_path"),
        ):
            path = commands / f"{prefix}_{uuid.uuid4()}"
            path.write_text("", encoding="utf-8")
            self.files[variable] = path

    def environment(self) -> dict[str, str]:
        """The variables the runner hands to `docker run` by name (`-e NAME`), with their values."""
        pr = self.event.get("pull_request", {})
        number = str(pr.get("number", ""))
        inputs = {**input_defaults(), **self.inputs}
        unknown = set(self.inputs) - set(input_defaults())
        if unknown:
            raise StepError(f"inputs not declared in action.yml: {sorted(unknown)}")
        env = {f"INPUT_{name.upper()}": value for name, value in inputs.items()}  # hyphens kept, as the runner does
        env.update(
            {
                "HOME": "/github/home",
                "GITHUB_JOB": "dbt-cloud-ci",
                "GITHUB_REF": f"refs/pull/{number}/merge",
                "GITHUB_SHA": "f" * 40,  # the test merge commit, which the action must not use
                "GITHUB_REPOSITORY": "acme/analytics",
                "GITHUB_REPOSITORY_OWNER": "acme",
                "GITHUB_RUN_ID": "4242",
                "GITHUB_RUN_NUMBER": "7",
                "GITHUB_RETENTION_DAYS": "90",
                "GITHUB_RUN_ATTEMPT": "1",
                "GITHUB_ACTOR": "octocat",
                "GITHUB_TRIGGERING_ACTOR": "octocat",
                "GITHUB_WORKFLOW": "dbt Cloud CI",
                "GITHUB_HEAD_REF": str(pr.get("head", {}).get("ref", "")),
                "GITHUB_BASE_REF": str(pr.get("base", {}).get("ref", "")),
                "GITHUB_EVENT_NAME": self.event_name,
                "GITHUB_SERVER_URL": "https://github.com",
                "GITHUB_API_URL": "https://api.github.com",
                "GITHUB_GRAPHQL_URL": "https://api.github.com/graphql",
                "GITHUB_REF_NAME": f"{number}/merge",
                "GITHUB_REF_PROTECTED": "false",
                "GITHUB_REF_TYPE": "branch",
                "GITHUB_WORKSPACE": "/github/workspace",
                "GITHUB_ACTION": "__org_autoscale-dbt-ci",
                "GITHUB_EVENT_PATH": "/github/workflow/event.json",
                "GITHUB_ACTION_REPOSITORY": "org/autoscale-dbt-ci",
                "GITHUB_ACTION_REF": "v1",
                "RUNNER_OS": "Linux",
                "RUNNER_ARCH": "X64",
                "RUNNER_NAME": "container-test",
                "RUNNER_ENVIRONMENT": "self-hosted",
                "RUNNER_TOOL_CACHE": "/opt/hostedtoolcache",
                "RUNNER_TEMP": "/home/runner/work/_temp",
                "RUNNER_WORKSPACE": "/home/runner/work/analytics",
                "GITHUB_ACTIONS": "true",
                "CI": "true",
            }
        )
        env.update({variable: f"/github/file_commands/{path.name}" for variable, path in self.files.items()})
        return env

    def start(self, *, entrypoint: str | None = None, state: Mapping[str, str] | None = None) -> RunnerStep:
        """`docker run` as the runner words it: --rm, the /github mounts, the workspace as workdir, `-e NAME`."""
        env = self.environment()
        env.update({f"STATE_{name}": value for name, value in (state or {}).items()})
        temp = self.workdir / "_temp"
        mounts = {
            temp / "_github_home": "/github/home",
            temp / "_github_workflow": "/github/workflow",
            temp / "_runner_file_commands": "/github/file_commands",
            temp / "workspace": "/github/workspace",
        }
        args = ["run", "--name", self.name, "--label", LABEL, "--workdir", "/github/workspace", "--rm"]
        args += ["--network", "host", *self.podman.limits]  # the emulator listens on the host's loopback
        for name in env:
            args += ["-e", name]
        for host, guest in mounts.items():
            args += ["-v", f"{host}:{guest}"]
        if entrypoint:
            args += ["--entrypoint", entrypoint]
        args.append(IMAGE_TAG)
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            self.podman.command(*args),
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        return self

    def kill(self, signum: signal.Signals) -> float:
        """Signal the container's PID 1 as `docker kill --signal` does; returns when the signal was sent."""
        self.podman.run("kill", "--signal", signum.name.removeprefix("SIG"), self.name, timeout=30, what="podman kill")
        return time.monotonic()

    def wait(self, timeout: float = 120.0) -> Finished:
        """Wait for `podman run` to return and read the files the step wrote."""
        assert self.process is not None
        try:
            stdout, _ = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.podman.run("rm", "--force", "--time", "0", self.name, timeout=60, what="podman rm")
            stdout, _ = self.process.communicate(timeout=60)
            raise StepError(f"container {self.name} still running after {timeout:.0f} s\n{tail(stdout)}") from None

        def read(variable: str) -> str:
            return self.files[variable].read_text(encoding="utf-8")

        return Finished(
            returncode=self.process.returncode,
            stdout=stdout,
            outputs=parse_file_commands(read("GITHUB_OUTPUT")),
            summary=read("GITHUB_STEP_SUMMARY"),
            state=parse_file_commands(read("GITHUB_STATE")),
            seconds=time.monotonic() - self.started,
        )

    def saved_state(self) -> dict[str, str]:
        """What the step has saved for its post step so far."""
        return parse_file_commands(self.files["GITHUB_STATE"].read_text(encoding="utf-8"))

    def post(self, state: Mapping[str, str], timeout: float = 120.0) -> Finished:
        """The post step: the same container setup, fresh file commands, the saved state as STATE_ variables."""
        self.name = f"{self.name}-post"
        self.new_file_commands()
        return self.start(entrypoint="/app/post.py", state=state).wait(timeout)


# -- checks ---------------------------------------------------------------------------------------------------------


@dataclass
class Report:
    """Every check, passed or failed, in order."""

    results: list[tuple[bool, str, str]] = field(default_factory=list)

    def check(self, passed: bool, name: str, detail: str = "") -> bool:
        """Record one check and print it at once."""
        self.results.append((passed, name, detail))
        print(f"{'PASS' if passed else 'FAIL'}  {name}" + (f"\n{tail(detail, 40)}" if detail and not passed else ""))
        sys.stdout.flush()
        return passed

    @property
    def failed(self) -> int:
        """How many checks failed."""
        return sum(1 for passed, _, _ in self.results if not passed)


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll until `condition` holds; StepError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            raise StepError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


def active_run(emu: Emulator, pr: int, sha: str) -> dict[str, Any] | None:
    """The queued, starting or running run for the PR at `sha`, if any."""
    for run_ in emu.runs():
        trigger = run_["trigger"]
        if trigger["github_pull_request_id"] == pr and trigger["git_sha"] == sha and run_["status"] in (1, 2, 3):
            return run_
    return None


def run_status(emu: Emulator, run_id: int) -> int:
    """A run's status code (10 success, 20 error, 30 cancelled)."""
    return int(next(run_ for run_ in emu.runs() if run_["id"] == run_id)["status"])


def job_state(emu: Emulator, job_id: int) -> int:
    """A job's state (1 active, 2 deleted)."""
    return int(next(job for job in emu.jobs() if job["id"] == job_id)["state"])


def time_empty_container(podman: Podman, figures: Figures) -> None:
    """How long the engine itself takes to start and remove a container of the image: the part of the start no
    image change can save."""
    began = time.monotonic()
    podman.run(
        "run", "--rm", "--network", "host", *podman.limits, "--entrypoint", "true", IMAGE_TAG,
        timeout=120, what="an empty container",
    )  # fmt: skip
    figures.empty_container_seconds = time.monotonic() - began


def check_image(podman: Podman, report: Report) -> None:
    """The image holds the action and its dependencies; .dockerignore keeps the emulator, tests and bench out."""
    probe = (
        "import json, os, sys, importlib.metadata as m; print(json.dumps({'python': sys.version.split()[0], "
        "'app': sorted(os.listdir('/app')), 'emulator': os.path.exists('/app/dbt_cloud_emulator'), "
        "'deps': {d: m.version(d) for d in ('httpx', 'pydantic-settings', 'tenacity')}, "
        "'post_mode': oct(os.stat('/app/post.py').st_mode & 0o777), "
        "'compiled': os.path.isdir('/app/autoscale_ci/__pycache__'), "
        "'leftovers': [p for p in ('/root/.cache', '/app/tests', '/app/bench', '/tmp/pip') if os.path.exists(p)]}))"
    )
    done = podman.run(
        "run", "--rm", "--network", "none", *podman.limits, "--entrypoint", "python", IMAGE_TAG, "-c", probe,
        timeout=120, what="image probe",
    )  # fmt: skip
    facts = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"      image: Python {facts['python']}, /app = {facts['app']}, {facts['deps']}")
    report.check(
        facts["app"] == ["autoscale_ci", "entrypoint.py", "post.py", "requirements.lock"] and not facts["emulator"],
        "image holds /app/{entrypoint.py,post.py,autoscale_ci,requirements.lock} and not the emulator",
        json.dumps(facts),
    )
    report.check(facts["post_mode"] == "0o755", "post entrypoint is executable", json.dumps(facts))
    report.check(facts["compiled"], "the action's bytecode is compiled into the image", json.dumps(facts))
    report.check(not facts["leftovers"], "no pip cache, tests or bench in the image", json.dumps(facts))


def scenario_idle(podman: Podman, emu: Emulator, workdir: Path, report: Report, figures: Figures) -> None:
    """An idle job: a plain trigger, waited for, reported; and how long the container took to its first request."""
    step = RunnerStep(podman, workdir / "idle", inputs=inputs_for(emu), event=pr_event(7, SHA_IDLE))
    began = time.time()
    done = step.start().wait()
    first = min((entry["timestamp"] for entry in emu.requests() if entry["timestamp"] >= began), default=None)
    figures.first_request_seconds = first - began if first is not None else None
    print(f"      plain trigger: exit {done.returncode} in {done.seconds:.1f} s (container start and removal included)")
    detail = done.stdout
    report.check(done.returncode == 0, "idle job: step exits 0", detail)
    report.check(done.outputs.get("decision") == "plain-trigger", "idle job: decision output plain-trigger", detail)
    run_id = done.outputs.get("run-id", "")
    report.check(run_id.isdigit(), f"idle job: run-id output ({run_id or 'missing'})", json.dumps(done.outputs))
    if run_id.isdigit():
        run_ = next((r for r in emu.runs() if r["id"] == int(run_id)), None)
        report.check(
            run_ is not None
            and run_["status"] == 10
            and run_["trigger"]["git_sha"] == SHA_IDLE
            and run_["trigger"]["github_pull_request_id"] == 7,
            "idle job: the emulator ran PR #7 at its head commit to success",
            json.dumps(run_),
        )
    report.check(done.outputs.get("run-status") == "success", "idle job: run-status output success", detail)
    report.check("dbt Cloud CI: success" in done.summary, "idle job: job summary written", done.summary or detail)


def start_on_clone_path(podman: Podman, emu: Emulator, workdir: Path, pr: int, sha: str) -> tuple[RunnerStep, int]:
    """Start a step while another PR keeps the job busy, and wait until its clone's run is up and recorded."""
    step = RunnerStep(podman, workdir / f"pr{pr}", inputs=inputs_for(emu), event=pr_event(pr, sha)).start()
    holder: dict[str, Any] = {}

    def ready() -> bool:
        assert step.process is not None
        if step.process.poll() is not None:
            raise StepError(f"step for PR #{pr} exited early ({step.process.returncode})\n{tail(step.wait().stdout)}")
        holder["run"] = holder.get("run") or active_run(emu, pr, sha)
        state = step.saved_state()
        return bool(holder["run"]) and bool(state.get("clone_job_id")) and bool(state.get("run_id"))

    wait_until(ready, 90, f"PR #{pr}'s run on a clone")
    return step, int(holder["run"]["id"])


def scenario_sigint(podman: Podman, emu: Emulator, workdir: Path, report: Report, figures: Figures) -> None:
    """A cancelled workflow: SIGINT to the container cancels the run, deletes the clone and exits 130 fast."""
    step, run_id = start_on_clone_path(podman, emu, workdir, 9, SHA_SIGINT)
    clone_id = int(step.saved_state()["clone_job_id"])
    sent = step.kill(signal.SIGINT)
    try:
        done = step.wait(timeout=15)
    except StepError as exc:
        raise StepError(f"the container ignored SIGINT (is python PID 1, with a handler?): {exc}") from exc
    took = time.monotonic() - sent
    print(f"      SIGINT: exit {done.returncode} {took:.2f} s after the signal")
    report.check(done.returncode == 130, f"SIGINT: step exits 130 (got {done.returncode})", done.stdout)
    # The runner sends SIGTERM 7.5 s after SIGINT: a step must be done by then, however busy the machine.
    report.check(took < 7.5, f"SIGINT: podman run returned within 7.5 s ({took:.2f} s)", done.stdout)
    report.check(run_status(emu, run_id) == 30, f"SIGINT: run {run_id} cancelled", done.stdout)
    report.check(job_state(emu, clone_id) == 2, f"SIGINT: clone job {clone_id} deleted", done.stdout)
    post = step.post(done.state)
    report.check(post.returncode == 0, "SIGINT: post entrypoint exits 0", post.stdout)


def scenario_sigkill(podman: Podman, emu: Emulator, workdir: Path, report: Report, figures: Figures) -> None:
    """A killed step: the post entrypoint, fed the saved state as STATE_ variables, cancels and deletes."""
    step, run_id = start_on_clone_path(podman, emu, workdir, 10, SHA_SIGKILL)
    state = step.saved_state()
    clone_id = int(state["clone_job_id"])
    step.kill(signal.SIGKILL)
    done = step.wait(timeout=30)
    report.check(done.returncode == 137, f"SIGKILL: step exits 137 (got {done.returncode})", done.stdout)
    report.check(run_status(emu, run_id) in (1, 2, 3), f"SIGKILL: run {run_id} left running", done.stdout)
    post = step.post(done.state)
    print(f"      post after SIGKILL: exit {post.returncode} in {post.seconds:.1f} s")
    report.check(post.returncode == 0, "SIGKILL: post entrypoint exits 0", post.stdout)
    report.check(run_status(emu, run_id) == 30, f"SIGKILL: post cancelled run {run_id}", post.stdout)
    report.check(job_state(emu, clone_id) == 2, f"SIGKILL: post deleted clone job {clone_id}", post.stdout)


def inputs_for(emu: Emulator) -> dict[str, str]:
    """The workflow's `with:`, pointed at the emulator."""
    return {
        "dbt-cloud-token": emu.token,
        "account-id": str(emu.account_id),
        "job-id": str(emu.ci_job_id),
        "dbt-cloud-host": emu.url,
        "poll-interval": "0.5",
        "timeout-minutes": "5",
    }


def occupy_job(emu: Emulator) -> None:
    """Another PR's run on the job (held in flight), so the next step takes the clone path."""
    response = httpx.post(
        f"{emu.url}/api/v2/accounts/{emu.account_id}/jobs/{emu.ci_job_id}/run/",
        json={"cause": "PR 8", "git_sha": SHA_BUSY, "github_pull_request_id": 8},
        headers={"Authorization": f"Token {emu.token}"},
        timeout=10,
    )
    response.raise_for_status()


def scenarios(podman: Podman, workdir: Path, report: Report, figures: Figures) -> None:
    """Every container check against one emulator."""
    check_image(podman, report)
    config = EmulatorConfig(host="127.0.0.1", run_slots=3, start_seconds=0.05, run_seconds=0.6)
    with Emulator(config) as emu:
        log(f"emulator at {emu.url}, job {emu.ci_job_id}")
        plan = [("idle job", scenario_idle), ("SIGINT", scenario_sigint), ("SIGKILL", scenario_sigkill)]
        for label, scenario in plan:
            if label == "SIGINT":
                emu.hold()  # from here on every run stays in flight until a step cancels it
                occupy_job(emu)
            # One scenario going wrong (a container that ignores its signal, say) should not hide the others.
            try:
                scenario(podman, emu, workdir, report, figures)
            except StepError as exc:
                report.check(False, f"{label}: aborted", str(exc))


@contextmanager
def private_storage(keep: bool) -> Iterator[Podman]:
    """A podman confined to a temporary directory, emptied and removed on the way out unless `keep`."""
    storage = Path(tempfile.mkdtemp(prefix="autoscale-container-"))
    podman = Podman(storage)
    try:
        yield podman
    finally:
        podman.remove_all()
        if keep:
            log(f"kept podman storage; inspect it with: {' '.join(podman.command('images'))}")
        else:
            shutil.rmtree(storage, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """Build, run every check, print a summary; 0 pass, 1 fail, 77 skipped."""
    parser = argparse.ArgumentParser(prog="scripts/container_test.py", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--install-deps", action="store_true", help="apt-get install podman, runc, mmdebstrap")
    parser.add_argument("--cache-dir", type=Path, default=ROOT / ".cache" / "container", help="base rootfs cache")
    parser.add_argument("--keep", action="store_true", help="keep the podman storage directory for inspection")
    parser.add_argument(
        "--image-archive",
        type=Path,
        help="test this built image (a `docker save` tarball, as a release builds it) instead of building one",
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    report = Report()
    figures = Figures()
    try:
        ensure_tools(args.install_deps)
        with private_storage(args.keep) as podman, tempfile.TemporaryDirectory(prefix="autoscale-runner-") as tmp:
            if args.image_archive is None:
                figures.build_seconds = prepare_images(podman, args.cache_dir)
                report.check(True, "image built from the Dockerfile (FROM replaced with the local stand-in)")
            else:
                load_image(podman, args.image_archive)
                report.check(True, f"image loaded from {args.image_archive}")
            measure_image(podman, figures, Path(tmp), has_base=args.image_archive is None)
            time_empty_container(podman, figures)
            scenarios(podman, Path(tmp), report, figures)
    except HostUnfitError as exc:
        print(f"SKIPPED (exit {SKIPPED}): {exc}")
        return SKIPPED
    except (StepError, httpx.HTTPError, OSError, subprocess.SubprocessError) as exc:
        report.check(False, f"aborted: {type(exc).__name__}", str(exc))
    elapsed = time.monotonic() - started
    passed = len(report.results) - report.failed
    print(f"\nfigures ({time.strftime('%Y-%m-%d')}):")
    for line in figures.lines():
        print(f"  {line}")
    print(f"\ncontainer-test {'FAIL' if report.failed else 'PASS'} in {elapsed:.0f} s")
    print(f"container-test: {passed} passed, {report.failed} failed")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
