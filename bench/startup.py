#!/usr/bin/env python3
"""Start-up of the three commands run most, side by side with Git LFS's same steps.

    python3 bench/startup.py --python .venv/bin/python --script /path/to/venv/bin/gitmv

Times `gitmv --version`, a clean `gitmv status` and four hooks with nothing to do: a
post-checkout that stays on its commit (`git switch -c`), one to a commit that changes no
pointer, a pre-push of a commit the remote has, and one of a new commit that changes no
pointer. Each runs N times, interleaving every target so that load on the machine hits
them alike; prints min and median wall time per command and target, and the median CPU
time (user + system, the command's git children included), which a busy machine disturbs
less than the wall clock. Git LFS runs its same steps the same way (`git lfs version`,
`git lfs post-checkout`, `git lfs pre-push`); it has no read-only status as quick as ours
(`git lfs status` is shown for reference). `--git-calls` lists the git processes each
gitmv command spawns (from GIT_TRACE): each costs a few milliseconds.

A target is a Python interpreter (`--python`, run as `python -m gitmv`) or a console script
(`--script`, what users run). Standard library only.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

Cmd = list[str]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", action="append", default=[], help="run `PYTHON -m gitmv`")
    parser.add_argument("--script", action="append", default=[], help="run a `gitmv` script")
    parser.add_argument("-n", type=int, default=25, help="runs of each command (default 25)")
    parser.add_argument("--no-lfs", action="store_true", help="skip Git LFS")
    parser.add_argument("--git-calls", action="store_true", help="list each command's git calls")
    opts = parser.parse_args()
    targets: dict[str, Cmd] = {}
    for py in opts.python:  # absolute, not resolved: a venv's python is a link
        targets[f"{py} -m gitmv"] = [os.path.abspath(py), "-m", "gitmv"]
    for script in opts.script:
        targets[script] = [os.path.abspath(script)]
    if not targets:
        targets[f"{sys.executable} -m gitmv"] = [sys.executable, "-m", "gitmv"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    first = next(iter(targets.values()))
    repo, base, head = _make_repo(first, env)
    origin = str(repo) + "-origin"
    pushed = f"refs/heads/main {base} refs/heads/main {base}\n"  # the remote has it
    new = f"refs/heads/main {head} refs/heads/main {base}\n"  # one commit, no pointer
    steps: dict[str, list[str]] = {
        "--version": ["--version"],
        "status (clean)": ["status"],
        "post-checkout, same commit": ["post-checkout", head, head, "1"],
        "post-checkout, no pointer changed": ["post-checkout", base, head, "1"],
        "pre-push, remote has it": ["pre-push", "origin", origin],
        "pre-push, no pointer changed": ["pre-push", "origin", origin],
    }
    feeds = {"pre-push, remote has it": pushed, "pre-push, no pointer changed": new}
    runs: dict[tuple[str, str], tuple[Cmd, str]] = {}
    for step, args in steps.items():
        hook = ["hook"] if step.startswith(("post-", "pre-")) else []
        for label, prefix in targets.items():
            runs[(label, step)] = ([*prefix, *hook, *args], feeds.get(step, ""))
        if not opts.no_lfs:
            lfs = {"--version": ["version"], "status (clean)": ["status"]}.get(step, args)
            runs[("git lfs", step)] = (["git", "lfs", *lfs], feeds.get(step, ""))
    if opts.git_calls:
        for (label, step), (cmd, stdin) in runs.items():
            if label != "git lfs":
                print(f"{step} ({label}): {_git_calls(cmd, stdin, repo, env)}")
        return
    times: dict[tuple[str, str], list[float]] = {key: [] for key in runs}
    cpu: dict[tuple[str, str], list[float]] = {key: [] for key in runs}
    for cmd, stdin in runs.values():  # warm the bytecode and page caches
        _run(cmd, stdin, repo, env)
    for _ in range(opts.n):
        for key, (cmd, stdin) in runs.items():
            before = _children_cpu()
            times[key].append(_run(cmd, stdin, repo, env))
            cpu[key].append(_children_cpu() - before)
    width = max(len(label) for label, _ in runs)
    for step in steps:
        print(step)
        for (label, s), samples in times.items():
            if s == step:
                low, mid = min(samples) * 1000, statistics.median(samples) * 1000
                busy = statistics.median(cpu[(label, s)]) * 1000
                print(
                    f"  {label:<{width}}  min {low:5.1f} ms  median {mid:5.1f} ms"
                    f"  (CPU median {busy:5.1f} ms)"
                )


def _make_repo(gitmv: Cmd, env: dict[str, str]) -> tuple[Path, str, str]:
    """A repository with one committed artifact, its bytes in the cache, `git lfs` set up
    locally (filters and hooks in .git only: ~/.gitconfig is left alone), pushed to an
    origin; then a second commit that changes no pointer, not pushed. Returns the
    repository and the two commits."""
    repo = Path(tempfile.mkdtemp(prefix="gitmv-startup-"))

    def run(*cmd: str) -> str:
        proc = subprocess.run(cmd, cwd=repo, env=env, check=True, capture_output=True, text=True)
        return proc.stdout

    run("git", "init", "-q", "-b", "main")
    run(*gitmv, "init", "--no-hooks")
    (repo / "m.bin").write_bytes(os.urandom(1 << 16))
    run(*gitmv, "add", "m.bin")
    run("git", "lfs", "install", "--local", "--skip-repo")
    run("git", "add", "-A")
    run("git", "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-qm", "x")
    # an origin that already has the commit: the pre-push hooks then have nothing to do
    origin = Path(str(repo) + "-origin")
    run("git", "init", "-q", "--bare", str(origin))
    run("git", "remote", "add", "origin", str(origin))
    run("git", "push", "-q", "--no-verify", "origin", "main")
    base = run("git", "rev-parse", "HEAD").strip()
    (repo / "README").write_text("notes\n")
    run("git", "add", "README")
    run("git", "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-qm", "notes")
    return repo, base, run("git", "rev-parse", "HEAD").strip()


def _run(cmd: Cmd, stdin: str, repo: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=repo, env=env, input=stdin.encode(), capture_output=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stderr.decode()}")
    return elapsed


def _children_cpu() -> float:
    """User + system CPU of every finished child, git's included: on a loaded machine this
    moves less than the wall clock."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _git_calls(cmd: Cmd, stdin: str, repo: Path, env: dict[str, str]) -> str:
    with tempfile.NamedTemporaryFile("r", suffix=".trace") as trace:
        _run(cmd, stdin, repo, {**env, "GIT_TRACE": trace.name})
        calls = [
            line.split("built-in: ", 1)[1].strip()
            for line in trace.read().splitlines()
            if "built-in: " in line
        ]
    return f"{len(calls)}" + "".join(f"\n    {call}" for call in calls)


if __name__ == "__main__":
    main()
