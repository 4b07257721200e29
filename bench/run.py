#!/usr/bin/env python3
"""Side-by-side benchmark of gitmv, DVC and Git LFS on the same workloads.

    bash bench/setup.sh && python3 bench/run.py

Standard library only. See bench/README.md for what each step times for each
tool. gitmv is taken from PATH (or `python -m gitmv`), DVC from
bench/.venv/bin/dvc, Git LFS from `git lfs`.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TextIO

BENCH_DIR = Path(__file__).resolve().parent
MIB = 1024 * 1024
BLOCK = 8 * MIB
SEED = 20240611

ALL_TOOLS = ("gitmv", "dvc", "lfs")

# In the order they run inside one repository. Steps marked as prerequisites
# are run (untimed) when a later selected step needs them.
STEPS = (
    "add-model",
    "add-folder",
    "status",
    "dvc-data-status",
    "push",
    "push-noop",
    "clone-pull",
    "new-version-1pct",
)
PREREQUISITES = {"add-model", "add-folder", "push"}
PUSH_STEPS = {"push", "push-noop", "new-version-1pct"}

# step -> list of (other tool, max ratio gitmv/other)
TARGETS = {
    "add-model": [("dvc", 0.25)],
    "add-folder": [("dvc", 0.25)],
    "status": [("dvc", 0.15)],
    "push": [("dvc", 0.5), ("lfs", 1.0)],
    "push-noop": [("dvc", 0.2)],
    "clone-pull": [("dvc", 0.3)],
}

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "gitmv bench",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "gitmv bench",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
}
LFS_FILTER_CONFIG = {
    "filter.lfs.process": "git-lfs filter-process",
    "filter.lfs.smudge": "git-lfs smudge -- %f",
    "filter.lfs.clean": "git-lfs clean -- %f",
    "filter.lfs.required": "true",
}


# --------------------------------------------------------------------------
# Running commands


@dataclass
class Cmd:
    argv: list[str]
    cwd: Path
    env: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return " ".join(self.argv)


class CommandFailed(Exception):
    def __init__(self, cmd: Cmd, returncode: int, stderr: str) -> None:
        super().__init__(f"{cmd} (exit {returncode})")
        self.cmd = cmd
        self.returncode = returncode
        self.stderr = stderr

    def tail(self, lines: int = 12, chars: int = 1500) -> str:
        text = "\n".join(self.stderr.strip().splitlines()[-lines:])[-chars:]
        return f"$ {self.cmd}  (cwd {self.cmd.cwd}, exit {self.returncode})\n{text}"


def base_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(GIT_IDENTITY)
    env.update(
        {
            "DVC_NO_ANALYTICS": "1",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_NOSYSTEM": "1",
            "PYTHONWARNINGS": "ignore",
        }
    )
    return env


ENV = base_env()
TIMEOUT = 3600.0


def run(cmd: Cmd) -> float:
    """Run one command; return its wall-clock seconds; raise CommandFailed."""
    env = {**ENV, **cmd.env}
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd.argv,
            cwd=cmd.cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=TIMEOUT,
        )
    except FileNotFoundError as exc:
        raise CommandFailed(cmd, 127, str(exc)) from None
    except subprocess.TimeoutExpired:
        raise CommandFailed(cmd, -1, f"timed out after {TIMEOUT:.0f} s") from None
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        out = proc.stderr.decode(errors="replace") or proc.stdout.decode(errors="replace")
        raise CommandFailed(cmd, proc.returncode, out)
    return elapsed


def run_all(cmds: list[Cmd]) -> float:
    """Run commands in sequence; return the wall-clock seconds of the whole."""
    start = time.perf_counter()
    for cmd in cmds:
        run(cmd)
    return time.perf_counter() - start


def capture(argv: list[str]) -> str:
    try:
        proc = subprocess.run(argv, env=ENV, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unavailable ({exc})"
    text = (proc.stdout or proc.stderr).strip().splitlines()
    return text[0] if proc.returncode == 0 and text else "unavailable"


def tree_bytes(root: Path) -> int:
    """Total size of the regular files under root (0 if it does not exist)."""
    total = 0
    for folder, _dirs, files in os.walk(root):
        for name in files:
            with contextlib.suppress(FileNotFoundError):
                total += os.lstat(os.path.join(folder, name)).st_size
    return total


def hardlinked_files(root: Path) -> int:
    count = 0
    for folder, _dirs, files in os.walk(root):
        for name in files:
            if os.lstat(os.path.join(folder, name)).st_nlink > 1:
                count += 1
    return count


def rmtree(path: Path) -> None:
    if path.exists():
        # cache files are read-only: fine for root, chmod for everyone else
        def onerror(func, p, _exc):  # type: ignore[no-untyped-def]
            with contextlib.suppress(FileNotFoundError):
                os.chmod(p, 0o700)
                func(p)

        shutil.rmtree(path, onerror=onerror)


def lock_folder(folder: Path, what: str) -> TextIO:
    """Hold an exclusive lock on folder for this process's life; exit if busy.

    Two runs sharing a work folder would delete each other's repositories.
    """
    handle = open(folder / f".lock-{what}", "w")  # noqa: SIM115 (held until exit)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise SystemExit(f"error: another bench/{what}.py is using {folder}; wait for it") from None
    return handle


# --------------------------------------------------------------------------
# Workload


@dataclass
class Workload:
    root: Path
    model_mib: int
    files: int
    file_kib: int
    folders: int = 100

    @property
    def model(self) -> Path:
        return self.root / "model.bin"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def model_bytes(self) -> int:
        return self.model_mib * MIB

    def params(self) -> dict[str, int]:
        return {
            "seed": SEED,
            "model_mib": self.model_mib,
            "files": self.files,
            "file_kib": self.file_kib,
            "folders": self.folders,
        }

    def ensure(self) -> None:
        stamp = self.root / "params.json"
        if stamp.exists() and json.loads(stamp.read_text()) == self.params():
            return
        rmtree(self.root)
        self.root.mkdir(parents=True)
        t0 = time.perf_counter()
        self._write_model()
        self._write_data()
        stamp.write_text(json.dumps(self.params()))
        print(f"workload: generated in {time.perf_counter() - t0:.1f} s at {self.root}")

    def _write_model(self) -> None:
        rng = random.Random(SEED)
        remaining = self.model_bytes
        with open(self.model, "wb") as f:
            while remaining:
                n = min(BLOCK, remaining)
                f.write(rng.randbytes(n))
                remaining -= n

    def _write_data(self) -> None:
        rng = random.Random(SEED + 1)
        size = self.file_kib * 1024
        folders = max(1, min(self.folders, self.files))
        for i in range(self.files):
            folder = self.data / f"d{i % folders:03d}"
            if i < folders:
                folder.mkdir(parents=True)
            (folder / f"f{i:05d}.bin").write_bytes(rng.randbytes(size))

    def data_files(self) -> list[Path]:
        return sorted(p for p in self.data.rglob("*") if p.is_file())

    def warm_up(self) -> float:
        """Read every workload byte once so all tools start from a warm cache."""
        t0 = time.perf_counter()
        for path in [self.model, *self.data_files()]:
            with open(path, "rb") as f:
                while f.read(BLOCK):
                    pass
        return time.perf_counter() - t0

    def install_into(self, repo: Path) -> None:
        shutil.copyfile(self.model, repo / "model.bin")
        shutil.copytree(self.data, repo / "data")

    def modify_model(self, path: Path, fraction: float = 0.01, regions: int = 10) -> int:
        """Overwrite `fraction` of the file in `regions` contiguous regions, in place.

        Deterministic: the same offsets and bytes on every run. Returns the
        number of bytes overwritten.
        """
        size = path.stat().st_size
        region = max(1, int(size * fraction) // regions)
        slot = size // regions
        rng = random.Random(SEED + 2)
        with open(path, "r+b") as f:
            for i in range(regions):
                offset = i * slot + rng.randrange(max(1, slot - region))
                f.seek(offset)
                f.write(rng.randbytes(region))
        return region * regions

    def matches(self, clone: Path) -> str | None:
        """Cheap check that a pulled work tree holds the workload; None if it does."""
        model = clone / "model.bin"
        if not model.is_file() or model.stat().st_size != self.model_bytes:
            return "model.bin missing or of the wrong size after pull"
        step = max(1, self.model_bytes // 16)
        with open(self.model, "rb") as a, open(model, "rb") as b:
            for offset in range(0, self.model_bytes, step):
                a.seek(offset)
                b.seek(offset)
                if a.read(65536) != b.read(65536):
                    return f"model.bin differs from the workload at offset {offset}"
        pulled = sum(len(files) for _, _, files in os.walk(clone / "data"))
        if pulled != self.files:
            return f"data/ has {pulled} files after pull, expected {self.files}"
        return None


# --------------------------------------------------------------------------
# Tool adapters: each returns the commands a user would type for one action.


@dataclass
class Ctx:
    """The folders of one repetition for one tool."""

    repo: Path  # work tree where artifacts are added
    remote: Path  # per-rep folder holding the remote store and the bare origin
    clone: Path  # where clone-pull clones to

    @property
    def origin(self) -> Path:
        return self.remote / "origin.git"

    @property
    def origin_url(self) -> str:
        return self.origin.as_uri()  # file:///... : no local-clone hardlink shortcut

    @property
    def store(self) -> Path:
        return self.remote / "store"


class Tool:
    name = ""
    # files the untimed commit stages (those that exist)
    commit_paths: tuple[str, ...] = ()

    def version(self) -> str:
        raise NotImplementedError

    def git(self, ctx: Ctx, *args: str) -> Cmd:
        return Cmd(["git", *args], ctx.repo)

    def init(self, ctx: Ctx) -> list[Cmd]:
        return [
            self.git(ctx, "init", "-q", "-b", "main"),
            # git's automatic gc (after ~6,700 loose objects, e.g. LFS's 20,000
            # pointer blobs) would otherwise run detached in the background,
            # racing the next timed step ("missing object" in git lfs push) and
            # stealing its CPU. In the foreground it runs inside the untimed commit.
            self.git(ctx, "config", "gc.autoDetach", "false"),
            self.git(ctx, "remote", "add", "origin", ctx.origin_url),
        ]

    def add_remote(self, ctx: Ctx) -> list[Cmd]:
        """Configure the remote store (committed with the init commit)."""
        return []

    def add_model(self, ctx: Ctx) -> list[Cmd]:
        raise NotImplementedError

    def add_folder(self, ctx: Ctx) -> list[Cmd]:
        raise NotImplementedError

    def status(self, ctx: Ctx) -> list[Cmd]:
        raise NotImplementedError

    def data_status(self, ctx: Ctx) -> list[Cmd] | None:
        return None  # not applicable

    def push(self, ctx: Ctx) -> list[Cmd]:
        raise NotImplementedError

    def clone_pull(self, ctx: Ctx) -> list[Cmd]:
        raise NotImplementedError

    def store_root(self, ctx: Ctx) -> Path:
        """The folder whose growth is the bytes uploaded."""
        return ctx.store

    def git_clone(self, ctx: Ctx, *options: str, env: dict[str, str] | None = None) -> Cmd:
        return Cmd(
            ["git", "clone", "-q", *options, ctx.origin_url, str(ctx.clone)],
            ctx.clone.parent,
            env or {},
        )


class Gitmv(Tool):
    name = "gitmv"
    commit_paths = (".gitmv", ".gitignore", "model.bin.gmv", "data.gmv")

    def __init__(self) -> None:
        # Prefer the console script beside this interpreter: a pyenv shim on
        # PATH would add ~100 ms of bash to every timed call.
        own = Path(__file__).resolve().parent / ".venv-gitmv" / "bin" / "gitmv"
        beside = Path(sys.executable).parent / "gitmv"
        found = shutil.which("gitmv")
        if own.is_file():  # bench/setup.sh's regular install of this checkout
            self.exe = [str(own)]
        elif beside.is_file() and os.access(beside, os.X_OK):
            self.exe = [str(beside)]
        elif found:
            self.exe = [found]
        else:
            self.exe = [sys.executable, "-m", "gitmv"]

    def cmd(self, cwd: Path, *args: str) -> Cmd:
        return Cmd([*self.exe, *args], cwd)

    def version(self) -> str:
        return capture([*self.exe, "--version"])

    def init(self, ctx: Ctx) -> list[Cmd]:
        return [
            *super().init(ctx),
            self.cmd(ctx.repo, "init", "--no-hooks"),
        ]

    def add_remote(self, ctx: Ctx) -> list[Cmd]:
        return [self.cmd(ctx.repo, "remote", "add", "store", str(ctx.store), "--default")]

    def add_model(self, ctx: Ctx) -> list[Cmd]:
        return [self.cmd(ctx.repo, "add", "model.bin")]

    def add_folder(self, ctx: Ctx) -> list[Cmd]:
        return [self.cmd(ctx.repo, "add", "data")]

    def status(self, ctx: Ctx) -> list[Cmd]:
        return [self.cmd(ctx.repo, "status")]

    def push(self, ctx: Ctx) -> list[Cmd]:
        return [self.cmd(ctx.repo, "push")]

    def clone_pull(self, ctx: Ctx) -> list[Cmd]:
        return [self.git_clone(ctx), self.cmd(ctx.clone, "pull")]


class Dvc(Tool):
    name = "dvc"
    commit_paths = (".dvc", ".dvcignore", ".gitignore", "model.bin.dvc", "data.dvc")

    def __init__(self) -> None:
        venv_dvc = BENCH_DIR / ".venv" / "bin" / "dvc"
        self.exe = str(venv_dvc) if venv_dvc.exists() else (shutil.which("dvc") or "dvc")

    def cmd(self, cwd: Path, *args: str) -> Cmd:
        return Cmd([self.exe, *args], cwd)

    def version(self) -> str:
        return "dvc " + capture([self.exe, "--version"])

    def init(self, ctx: Ctx) -> list[Cmd]:
        return [
            *super().init(ctx),
            self.cmd(ctx.repo, "init", "-q"),
            self.cmd(ctx.repo, "config", "core.autostage", "false"),
            self.cmd(ctx.repo, "config", "core.analytics", "false"),
        ]

    def add_remote(self, ctx: Ctx) -> list[Cmd]:
        return [self.cmd(ctx.repo, "remote", "add", "-d", "store", str(ctx.store))]

    def add_model(self, ctx: Ctx) -> list[Cmd]:
        return [self.cmd(ctx.repo, "add", "model.bin")]

    def add_folder(self, ctx: Ctx) -> list[Cmd]:
        return [self.cmd(ctx.repo, "add", "data")]

    def status(self, ctx: Ctx) -> list[Cmd]:
        return [self.cmd(ctx.repo, "status")]

    def data_status(self, ctx: Ctx) -> list[Cmd]:
        return [self.cmd(ctx.repo, "data", "status")]

    def push(self, ctx: Ctx) -> list[Cmd]:
        return [self.cmd(ctx.repo, "push")]

    def clone_pull(self, ctx: Ctx) -> list[Cmd]:
        return [self.git_clone(ctx), self.cmd(ctx.clone, "pull")]


class Lfs(Tool):
    """Git LFS with a bare repository on disk as its remote.

    Git LFS 3.x serves file:// remotes with its built-in standalone transfer
    agent: objects go to <origin.git>/lfs/objects. The LFS filters are set per
    repository (git lfs install --local; git clone --config ...) so the
    user's ~/.gitconfig is never touched.
    """

    name = "lfs"
    commit_paths = (".gitattributes",)

    def __init__(self, clone_mode: str) -> None:
        self.clone_mode = clone_mode

    def version(self) -> str:
        return capture(["git", "lfs", "version"])

    def init(self, ctx: Ctx) -> list[Cmd]:
        return [*super().init(ctx), self.git(ctx, "lfs", "install", "--local")]

    def add_model(self, ctx: Ctx) -> list[Cmd]:
        return [
            self.git(ctx, "lfs", "track", "model.bin"),
            self.git(ctx, "add", "model.bin"),
        ]

    def add_folder(self, ctx: Ctx) -> list[Cmd]:
        return [
            self.git(ctx, "lfs", "track", "data/**"),
            self.git(ctx, "add", "data"),
        ]

    def status(self, ctx: Ctx) -> list[Cmd]:
        return [self.git(ctx, "status")]

    def push(self, ctx: Ctx) -> list[Cmd]:
        return [self.git(ctx, "lfs", "push", "--all", "origin")]

    def clone_pull(self, ctx: Ctx) -> list[Cmd]:
        filters = [f"--config={k}={v}" for k, v in LFS_FILTER_CONFIG.items()]
        if self.clone_mode == "smudge":
            # the checkout inside git clone downloads through the smudge filter
            return [self.git_clone(ctx, *filters)]
        return [
            self.git_clone(ctx, *filters, env={"GIT_LFS_SKIP_SMUDGE": "1"}),
            Cmd(["git", "lfs", "pull"], ctx.clone),
        ]

    def store_root(self, ctx: Ctx) -> Path:
        return ctx.origin / "lfs"


# --------------------------------------------------------------------------
# One repetition: the steps in order, in fresh folders


@dataclass
class Sample:
    seconds: float | None = None
    uploaded: int | None = None  # bytes
    error: str | None = None
    note: str | None = None


class Repetition:
    def __init__(self, tool: Tool, workload: Workload, ctx: Ctx, steps: set[str]) -> None:
        self.tool = tool
        self.workload = workload
        self.ctx = ctx
        self.steps = steps
        self.samples: dict[str, Sample] = {}
        self.setup_failed = False
        self.remote_error: CommandFailed | None = None

    def wanted(self, step: str) -> bool:
        last = max(STEPS.index(s) for s in self.steps)
        if step in self.steps:
            return True
        return step in PREREQUISITES and STEPS.index(step) < last

    def run(self) -> dict[str, Sample]:
        try:
            self.prepare()
        except CommandFailed as exc:
            print(f"  {self.tool.name:5} setup FAILED  {exc}", flush=True)
            self.setup_failed = True
            for step in self.steps:
                applies = step != "dvc-data-status" or self.tool.data_status(self.ctx) is not None
                self.samples[step] = (
                    Sample(error="setup failed: " + exc.tail()) if applies else Sample(note="n/a")
                )
            return self.samples
        actions = {
            "add-model": lambda: self.timed(self.tool.add_model(self.ctx)),
            "add-folder": self.add_folder,
            "status": self.status,
            "dvc-data-status": self.data_status,
            "push": self.push,
            "push-noop": self.push,
            "clone-pull": self.clone_pull,
            "new-version-1pct": self.new_version,
        }
        for step in STEPS:
            if not self.wanted(step):
                continue
            try:
                sample = actions[step]()
            except CommandFailed as exc:
                sample = Sample(error=exc.tail())
            recorded = step in self.steps
            if recorded:
                self.samples[step] = sample
            suffix = "" if recorded else "  [prerequisite, not reported]"
            print(f"  {self.tool.name:5} {step:17} {describe(sample)}{suffix}", flush=True)
        return self.samples

    # -- untimed set-up -----------------------------------------------------

    def prepare(self) -> None:
        for path in (self.ctx.repo, self.ctx.remote, self.ctx.clone):
            rmtree(path)
        self.ctx.repo.mkdir(parents=True)
        self.ctx.store.mkdir(parents=True)
        self.ctx.clone.parent.mkdir(parents=True, exist_ok=True)
        run(
            Cmd(
                ["git", "init", "-q", "--bare", "-b", "main", str(self.ctx.origin)], self.ctx.remote
            )
        )
        run_all(self.tool.init(self.ctx))
        try:
            run_all(self.tool.add_remote(self.ctx))
        except CommandFailed as exc:
            # add and status can still be measured; remote steps report this
            self.remote_error = exc
        self.commit("init")
        self.workload.install_into(self.ctx.repo)

    def commit(self, message: str) -> None:
        paths = [p for p in self.tool.commit_paths if (self.ctx.repo / p).exists()]
        if paths:
            run(Cmd(["git", "add", "--", *paths], self.ctx.repo))
        run(
            Cmd(
                ["git", "commit", "-q", "--no-verify", "--allow-empty", "-m", message],
                self.ctx.repo,
            )
        )

    def publish_commits(self) -> None:
        """git push of the commits (untimed, without hooks), for clone-pull."""
        run(Cmd(["git", "push", "-q", "--no-verify", "origin", "main"], self.ctx.repo))

    # -- timed steps ----------------------------------------------------------

    def timed(self, cmds: list[Cmd]) -> Sample:
        os.sync()  # start from a quiet disk: flush what earlier steps wrote
        return Sample(seconds=run_all(cmds))

    def add_folder(self) -> Sample:
        sample = self.timed(self.tool.add_folder(self.ctx))
        self.commit("add model and data")  # untimed; later steps need the commit
        return sample

    def status(self) -> Sample:
        return self.timed(self.tool.status(self.ctx))

    def data_status(self) -> Sample:
        cmds = self.tool.data_status(self.ctx)
        return Sample(note="n/a") if cmds is None else self.timed(cmds)

    def need_remote(self) -> None:
        if self.remote_error:
            raise self.remote_error

    def push(self) -> Sample:
        self.need_remote()
        root = self.tool.store_root(self.ctx)
        before = tree_bytes(root)
        sample = self.timed(self.tool.push(self.ctx))
        sample.uploaded = tree_bytes(root) - before
        linked = hardlinked_files(root)
        if linked:
            sample.note = f"{linked} remote files are hard links (remote on the same filesystem)"
        return sample

    def clone_pull(self) -> Sample:
        self.need_remote()
        self.publish_commits()
        rmtree(self.ctx.clone)
        sample = self.timed(self.tool.clone_pull(self.ctx))
        problem = self.workload.matches(self.ctx.clone)
        if problem:
            return Sample(error=f"pull reported success but {problem}")
        rmtree(self.ctx.clone)  # free the disk before the next step
        return sample

    def new_version(self) -> Sample:
        self.need_remote()
        changed = self.workload.modify_model(self.ctx.repo / "model.bin")
        add = self.timed(self.tool.add_model(self.ctx))
        self.commit("new model version")
        push = self.push()
        assert add.seconds is not None and push.seconds is not None
        return Sample(
            seconds=add.seconds + push.seconds,
            uploaded=push.uploaded,
            note=f"add {add.seconds:.2f} s + push {push.seconds:.2f} s; "
            f"{changed / MIB:.1f} MiB changed",
        )


def describe(sample: Sample) -> str:
    if sample.error:
        first = sample.error.splitlines()[0]
        return f"FAILED  {first[:110]}"
    if sample.seconds is None:
        return sample.note or "-"
    text = f"{sample.seconds:8.3f} s"
    if sample.uploaded is not None:
        text += f"  {sample.uploaded / MIB:9.1f} MiB up"
    if sample.note:
        text += f"  ({sample.note})"
    return text


# --------------------------------------------------------------------------
# Results


@dataclass
class StepResult:
    samples: list[Sample]

    @property
    def ok(self) -> list[Sample]:
        return [s for s in self.samples if s.seconds is not None and not s.error]

    @property
    def seconds(self) -> float | None:
        ok = self.ok
        return statistics.median(s.seconds for s in ok) if ok else None  # type: ignore[misc]

    @property
    def uploaded(self) -> int | None:
        values = [s.uploaded for s in self.ok if s.uploaded is not None]
        return int(statistics.median(values)) if values else None

    @property
    def errors(self) -> list[str]:
        return [s.error for s in self.samples if s.error]

    @property
    def not_applicable(self) -> bool:
        return all(s.note == "n/a" for s in self.samples)


class Report:
    def __init__(self, tools: list[str], steps: list[str]) -> None:
        self.tools = tools
        self.steps = steps
        self.results: dict[str, dict[str, StepResult]] = {t: {} for t in tools}
        self.footnotes: list[str] = []

    def add(self, tool: str, samples: dict[str, Sample]) -> None:
        for step, sample in samples.items():
            self.results[tool].setdefault(step, StepResult([])).samples.append(sample)

    def get(self, tool: str, step: str) -> StepResult | None:
        return self.results.get(tool, {}).get(step)

    def footnote(self, label: str, text: str) -> str:
        """Number a footnote; identical texts share one number."""
        for n, (labels, known) in enumerate(self.footnotes, 1):
            if known == text:
                labels.append(label)
                return f"[{n}]"
        self.footnotes.append(([label], text))
        return f"[{len(self.footnotes)}]"

    def time_cell(self, tool: str, step: str) -> str:
        res = self.get(tool, step)
        if res is None or res.not_applicable:
            return "-"
        value = res.seconds
        if value is None:
            return "FAILED" + self.footnote(f"{tool} {step}", res.errors[-1])
        cell = f"{value:.3f}"
        if res.errors:
            failed = f"{len(res.errors)} of {len(res.samples)} reps failed"
            label = f"{tool} {step} ({failed}; median of the rest)"
            cell += "*" + self.footnote(label, res.errors[-1])
        return cell

    def ratio(self, step: str, other: str) -> float | None:
        mine, theirs = self.get("gitmv", step), self.get(other, step)
        if not mine or not theirs or mine.seconds is None or not theirs.seconds:
            return None
        return mine.seconds / theirs.seconds

    def ratio_cell(self, step: str, other: str) -> str:
        value = self.ratio(step, other)
        return "-" if value is None else f"{value:.2f}x"

    def upload_cell(self, tool: str, step: str) -> str:
        res = self.get(tool, step)
        if step not in PUSH_STEPS or res is None or res.uploaded is None:
            return "-"
        return f"{res.uploaded / MIB:.1f}"

    def target_cell(self, step: str) -> str:
        parts = []
        for other, limit in TARGETS.get(step, []):
            value = self.ratio(step, other)
            verdict = "?" if value is None else ("met" if value <= limit else "MISSED")
            parts.append(f"<={limit:g}x {other} {verdict}")
        return "; ".join(parts) or "-"

    def table(self) -> str:
        header = ["step"] + [f"{t} s" for t in ALL_TOOLS]
        header += ["gitmv/dvc", "gitmv/lfs"] + [f"{t} MiB up" for t in ALL_TOOLS] + ["target"]
        rows = [header]
        for step in self.steps:
            row = [step] + [self.time_cell(t, step) if t in self.tools else "-" for t in ALL_TOOLS]
            row += [self.ratio_cell(step, "dvc"), self.ratio_cell(step, "lfs")]
            row += [self.upload_cell(t, step) if t in self.tools else "-" for t in ALL_TOOLS]
            row.append(self.target_cell(step))
            rows.append(row)
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        lines = []
        for n, row in enumerate(rows):
            cells = [
                c.ljust(w) if i in (0, len(row) - 1) else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            ]
            lines.append(" | ".join(cells).rstrip())
            if n == 0:
                lines.append("-+-".join("-" * w for w in widths))
        return "\n".join(lines)

    def notes(self) -> list[str]:
        seen, out = set(), []
        for tool, steps in self.results.items():
            for step, res in steps.items():
                for s in res.ok:
                    if s.note and s.note != "n/a" and (tool, step) not in seen:
                        seen.add((tool, step))
                        out.append(f"{tool} {step}: {s.note}")
        return out

    def to_json(self, meta: dict) -> dict:
        out: dict = {"meta": meta, "targets": {k: v for k, v in TARGETS.items()}, "results": {}}
        for tool, steps in self.results.items():
            out["results"][tool] = {
                step: {
                    "median_s": res.seconds,
                    "median_uploaded_bytes": res.uploaded,
                    "samples": [asdict(s) for s in res.samples],
                }
                for step, res in steps.items()
            }
        out["ratios"] = {
            step: {other: self.ratio(step, other) for other in ("dvc", "lfs")}
            for step in self.steps
        }
        return out


# --------------------------------------------------------------------------
# Main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--tools", default=",".join(ALL_TOOLS), help="comma list of gitmv,dvc,lfs")
    p.add_argument("--steps", default=",".join(STEPS), help="comma list of: " + ",".join(STEPS))
    p.add_argument("--reps", type=int, default=3, help="repetitions per step (median reported)")
    p.add_argument("--model-mib", type=int, default=1024, help="size of model.bin")
    p.add_argument("--files", type=int, default=20000, help="files in data/")
    p.add_argument("--file-kib", type=int, default=4, help="size of each data/ file")
    p.add_argument(
        "--work", type=Path, default=BENCH_DIR / "work", help="work folder (git-ignored)"
    )
    p.add_argument(
        "--remote-root",
        type=Path,
        default=None,
        help="where remotes and bare origins go (default: /dev/shm/gitmv-bench when /dev/shm is "
        "another filesystem than --work, so no tool can hard-link into its remote)",
    )
    p.add_argument(
        "--lfs-clone",
        choices=("smudge", "pull"),
        default="pull",
        help="LFS clone-pull: 'pull' = GIT_LFS_SKIP_SMUDGE=1 git clone + git lfs pull; "
        "'smudge' = plain git clone, the smudge filter downloads",
    )
    p.add_argument("--timeout", type=float, default=3600.0, help="per-command timeout, seconds")
    p.add_argument("--keep", action="store_true", help="keep the last repositories for inspection")
    p.add_argument("--json", type=Path, default=None, help="also save results as JSON here")
    args = p.parse_args(argv)
    args.tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    args.steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    for t in args.tools:
        if t not in ALL_TOOLS:
            p.error(f"unknown tool {t!r}; choose from {', '.join(ALL_TOOLS)}")
    for s in args.steps:
        if s not in STEPS:
            p.error(f"unknown step {s!r}; choose from {', '.join(STEPS)}")
    if args.reps < 1:
        p.error("--reps must be at least 1")
    return args


def default_remote_root(work: Path) -> Path:
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK) and shm.stat().st_dev != work.stat().st_dev:
        return shm / "gitmv-bench"
    return work / "remotes"


def make_tool(name: str, args: argparse.Namespace) -> Tool:
    if name == "gitmv":
        return Gitmv()
    if name == "dvc":
        return Dvc()
    return Lfs(args.lfs_clone)


def main(argv: list[str] | None = None) -> int:
    global TIMEOUT
    args = parse_args(argv)
    TIMEOUT = args.timeout
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    remote_root = (args.remote_root or default_remote_root(work)).resolve()
    remote_root.mkdir(parents=True, exist_ok=True)
    locks = [lock_folder(work, "run"), lock_folder(remote_root, "run")]  # noqa: F841
    same_fs = remote_root.stat().st_dev == work.stat().st_dev
    steps = [s for s in STEPS if s in args.steps]

    # one folder per size, so a quick small run does not discard the full-size workload
    name = f"workload-{args.model_mib}m-{args.files}x{args.file_kib}k"
    workload = Workload(work / name, args.model_mib, args.files, args.file_kib)
    workload.ensure()
    warm = workload.warm_up()
    tools = [make_tool(t, args) for t in args.tools]
    meta = {
        "argv": sys.argv,
        "workload": workload.params(),
        "reps": args.reps,
        "work": str(work),
        "remote_root": str(remote_root),
        "remote_on_same_filesystem": same_fs,
        "lfs_clone": args.lfs_clone,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "git": capture(["git", "--version"]),
        "versions": {t.name: t.version() for t in tools},
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    print(
        f"workload: model {args.model_mib} MiB, {args.files} files x {args.file_kib} KiB "
        f"(warm-up read {warm:.1f} s); reps {args.reps}"
    )
    print(f"remotes under {remote_root} ({'same' if same_fs else 'other'} filesystem than {work})")
    for name, version in meta["versions"].items():
        print(f"  {name}: {version}")

    report = Report(args.tools, steps)
    for tool in tools:
        for rep in range(args.reps):
            print(f"{tool.name} rep {rep + 1}/{args.reps}", flush=True)
            ctx = Ctx(
                repo=work / "repos" / tool.name / "repo",
                remote=remote_root / tool.name,
                clone=work / "repos" / tool.name / "clone",
            )
            repetition = Repetition(tool, workload, ctx, set(steps))
            report.add(tool.name, repetition.run())
            if not (args.keep and rep == args.reps - 1):
                for path in (ctx.repo, ctx.clone, ctx.remote):
                    rmtree(path)
            if repetition.setup_failed:
                print(f"  {tool.name}: skipping its remaining reps (set-up failed)")
                break

    print()
    print(report.table())
    notes = report.notes()
    if notes:
        print("\nnotes:")
        for note in notes:
            print(f"  {note}")
    if report.footnotes:
        print("\nfailures:")
        for n, (labels, text) in enumerate(report.footnotes, 1):
            print(f"[{n}] {', '.join(labels)}:\n    " + text.replace("\n", "\n    "))
    if args.json:
        meta["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
        args.json.write_text(json.dumps(report.to_json(meta), indent=2) + "\n")
        print(f"\nresults saved to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
