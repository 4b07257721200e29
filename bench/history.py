#!/usr/bin/env python3
"""Benchmark of the history reader behind `gitmv push --all` and `gitmv gc` (DESIGN 3.2).

    .venv/bin/python bench/history.py [--commits 5000] [--every 10] [--reps 3] [--json FILE]

Builds (once per run, with one `git fast-import`) a repository of COMMITS commits, each
changing one small file, every EVERY-th one also a new version of `model.pt.gmv` (so
COMMITS / EVERY model versions, each 4 KiB, already in the local cache), then times:

  push --all      `gitmv push --all` to a fresh, empty folder remote (uploads every version)
  push --all (2)  the same again: nothing to send, only the history read and one check
  gc --dry-run    `gitmv gc --dry-run` (every version is older history, found on the remote)

Each is the median of --reps runs (wall time of the whole process), with the first run.
Runs with the interpreter of the venv gitmv is installed in (it writes the cache objects
through gitmv's own Cache, and runs `python -m gitmv`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BASE_TIME = 1_700_000_000
WHO = "History Bench <bench@example.invalid>"


def sh(cwd: Path, *args: str, stdin: bytes | None = None) -> str:
    proc = subprocess.run(args, cwd=cwd, input=stdin, capture_output=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{proc.stderr.decode(errors='replace')}")
    return proc.stdout.decode()


def gitmv(cwd: Path, *args: str) -> float:
    start = time.perf_counter()
    sh(cwd, sys.executable, "-m", "gitmv", *args)
    return time.perf_counter() - start


def build(work: Path, commits: int, every: int) -> Path:
    from gitmv.repo.context import Repo
    from gitmv.store.hashing import Oid
    from gitmv.store.pointer import Pointer, render

    repo_dir = work / "repo"
    shutil.rmtree(work, ignore_errors=True)
    repo_dir.mkdir(parents=True)
    sh(repo_dir, "git", "init", "-q", "-b", "main")
    sh(repo_dir, sys.executable, "-m", "gitmv", "init", "--no-hooks")
    sh(repo_dir, "git", "-c", f"user.name={WHO}", "-c", "user.email=b@x", "commit", "-qm", "init")
    cache = Repo.open(repo_dir).cache
    stream: list[bytes] = []
    for i in range(1, commits + 1):
        files = [("notes.txt", f"note {i}\n".encode())]
        if i % every == 0:
            data = (f"model version {i}\n".encode() * 256)[:4096]
            oid: Oid = cache.add_small(data, "xxh128")
            files.append(("model.pt.gmv", render(Pointer(oid, len(data), "file")).encode()))
        message = f"commit {i}\n".encode()
        head = (
            f"commit refs/heads/main\nmark :{i}\n"
            f"committer {WHO} {BASE_TIME + i} +0000\ndata {len(message)}\n"
        ).encode()
        stream.append(head + message)
        if i == 1:
            stream.append(b"from refs/heads/main^0\n")
        for path, body in files:
            stream.append(f"M 100644 inline {path}\ndata {len(body)}\n".encode() + body + b"\n")
        stream.append(b"\n")
    sh(repo_dir, "git", "fast-import", "--quiet", "--force", stdin=b"".join(stream))
    sh(repo_dir, "git", "reset", "-q", "--hard", "main")
    return repo_dir


def median_and_first(times: list[float]) -> dict[str, float]:
    return {"median_s": round(statistics.median(times), 3), "first_s": round(times[0], 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=5000)
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--work", type=Path, default=HERE / "work" / "history")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    start = time.perf_counter()
    repo = build(args.work, args.commits, args.every)
    setup = time.perf_counter() - start
    versions = args.commits // args.every
    push_cold, push_warm, gc_dry = [], [], []
    for rep in range(args.reps):
        store = args.work / f"store{rep}"
        sh(repo, sys.executable, "-m", "gitmv", "remote", "add", f"s{rep}", str(store), "--local")
        sh(repo, sys.executable, "-m", "gitmv", "remote", "default", f"s{rep}", "--local")
        push_cold.append(gitmv(repo, "push", "--all"))
        on_store = sum(len(names) for _, _, names in os.walk(store / "xxh128"))
        assert on_store == versions, f"pushed {on_store} objects, expected {versions}"
        push_warm.append(gitmv(repo, "push", "--all"))
        gc_dry.append(gitmv(repo, "gc", "--dry-run"))
    result = {
        "commits": args.commits,
        "versions": versions,
        "setup_s": round(setup, 2),
        "push --all": median_and_first(push_cold),
        "push --all (nothing to send)": median_and_first(push_warm),
        "gc --dry-run": median_and_first(gc_dry),
    }
    print(f"{args.commits} commits, {versions} versions of model.pt (setup {setup:.1f} s)")
    for name in ("push --all", "push --all (nothing to send)", "gc --dry-run"):
        figures = result[name]
        assert isinstance(figures, dict)
        print(f"  {name:<30} median {figures['median_s']:.3f} s  first {figures['first_s']:.3f} s")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
