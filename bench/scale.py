#!/usr/bin/env python3
"""Scale benchmark: one folder of N small files (4 KiB in 100 folders), the local steps
whose cost should grow with the change, not with N. gitmv beside DVC and Git LFS.

    nice -n 10 python3 bench/scale.py --files 20000 200000 [--tools gitmv dvc lfs]
        [--gitmv before=/path/to/old/gitmv after=gitmv]

Steps, each in a fresh repository per tool and size:
  add             first add of the folder (+ an untimed commit)
  status-clean    status right after
  status-one      status after one file was rewritten
  add-one         add again after that change (+ an untimed commit)
  checkout-prev   the folder as the previous commit had it
  push            push of both versions to a folder remote (+ an untimed git push)
  pull            git clone + pull of the last one into a fresh folder (then deleted)

Standard library only; reuses bench/run.py's command runner and tool adapters
(DVC from bench/.venv, see bench/setup.sh; a tool that is not installed is skipped).
Prints a table of seconds and peak RSS per step, and the growth exponent of each step
between consecutive sizes: log(t2/t1) / log(n2/n1).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import random
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as bench

SEED = 20240611
FILE_BYTES = 4096
FOLDERS = 100
STEPS = ("add", "status-clean", "status-one", "add-one", "checkout-prev", "push", "pull")
# full-tree steps: their growth exponent from the smallest to the largest size is the target
FULL_TREE = ("add", "push", "pull", "status-clean")


@dataclass
class Result:
    seconds: dict[str, float] = field(default_factory=dict)
    rss_mb: dict[str, float] = field(default_factory=dict)
    error: str = ""


def step(result: Result, name: str, label: str, cmds: list[bench.Cmd]) -> None:
    """Time one step into `result`, and print it at once (a 1M-file run takes an hour)."""
    result.seconds[name], result.rss_mb[name] = timed_rss(cmds)
    seconds, rss = result.seconds[name], result.rss_mb[name]
    print(f"  {label} {name}: {seconds:.2f} s, peak RSS {rss:.0f} MB", flush=True)


def timed_rss(cmds: list[bench.Cmd]) -> tuple[float, float]:
    """Wall seconds of `cmds` in sequence and the largest peak RSS (MB) among them, measured
    per process with wait4 (rusage of that child alone)."""
    total = 0.0
    peak = 0.0
    for cmd in cmds:
        env = {**bench.ENV, **cmd.env}
        start = time.perf_counter()
        proc = subprocess.Popen(
            cmd.argv,
            cwd=cmd.cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        assert proc.stderr is not None
        stderr = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
        total += time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise bench.CommandFailed(cmd, proc.returncode, stderr.decode(errors="replace"))
        peak = max(peak, usage.ru_maxrss / 1024)  # KiB on Linux
    return total, peak


def make_source(root: Path, files: int) -> Path:
    """The workload, generated once per size and copied into each repository."""
    src = root / f"source-{files}"
    stamp = src / ".params"
    params = json.dumps({"seed": SEED, "files": files, "bytes": FILE_BYTES, "folders": FOLDERS})
    if stamp.exists() and stamp.read_text() == params:
        return src
    bench.rmtree(src)
    rng = random.Random(SEED)
    t0 = time.perf_counter()
    for i in range(files):
        folder = src / "data" / f"d{i % FOLDERS:03d}"
        if i < FOLDERS:
            folder.mkdir(parents=True)
        with open(folder / f"f{i:07d}.bin", "wb") as f:
            f.write(rng.randbytes(FILE_BYTES))
    stamp.write_text(params)
    print(f"workload: {files} files generated in {time.perf_counter() - t0:.1f} s", flush=True)
    return src


def git(repo: Path, *args: str) -> bench.Cmd:
    return bench.Cmd(["git", *args], repo)


def one_tool(
    tool: bench.Tool, src: Path, work: Path, files: int, remote_steps: bool = True
) -> Result:
    label = f"{tool.name} {files}"
    repo = work / f"{tool.name}-{files}"
    bench.rmtree(repo)
    repo.mkdir(parents=True)
    remote = work / f"{tool.name}-{files}-remote"
    bench.rmtree(remote)
    remote.mkdir()
    ctx = bench.Ctx(repo, remote, work / f"{tool.name}-{files}-clone")
    ctx.store.mkdir(parents=True)
    result = Result()
    try:
        bench.run(bench.Cmd(["git", "init", "-q", "--bare", "-b", "main", str(ctx.origin)], remote))
        bench.run_all(tool.init(ctx))
        bench.run_all(tool.add_remote(ctx))
        commit(tool, repo, "init")
        subprocess.run(["cp", "-r", str(src / "data"), str(repo / "data")], check=True)
        step(result, "add", label, tool.add_folder(ctx))
        commit(tool, repo, "add")
        step(result, "status-clean", label, tool.status(ctx))
        changed = repo / "data" / "d007" / f"f{7:07d}.bin"
        with open(changed, "r+b") as f:
            f.write(b"one file changed")
        time.sleep(0.1)  # out of the racy window of a stat cache
        step(result, "status-one", label, tool.status(ctx))
        step(result, "add-one", label, tool.add_folder(ctx))
        commit(tool, repo, "one file changed")
        step(result, "checkout-prev", label, checkout_prev(tool, ctx))
        with open(changed, "rb") as f:
            if f.read(16) == b"one file changed":
                raise RuntimeError(f"{tool.name}: checkout of HEAD~1 left the changed file")
        if remote_steps:  # last: the slowest at 10^6 files, and the local steps come first
            step(result, "push", label, tool.push(ctx))
            bench.run(git(repo, "push", "-q", "--no-verify", "origin", "main"))
            step(result, "pull", label, tool.clone_pull(ctx))
            bench.rmtree(ctx.clone)
    except bench.CommandFailed as exc:
        result.error = exc.tail(4, 400)
    finally:
        bench.rmtree(repo)
        bench.rmtree(remote)
        bench.rmtree(ctx.clone)
    return result


def commit(tool: bench.Tool, repo: Path, message: str) -> None:
    paths = [p for p in tool.commit_paths if (repo / p).exists()]
    if tool.name == "lfs":
        paths = ["."]
    adds = [git(repo, "add", "-A", *paths)] if paths else []
    bench.run_all([*adds, git(repo, "commit", "-q", "--no-verify", "--allow-empty", "-m", message)])


def checkout_prev(tool: bench.Tool, ctx: bench.Ctx) -> list[bench.Cmd]:
    if tool.name == "gitmv":
        return [tool.cmd(ctx.repo, "checkout", "--rev", "HEAD~1")]  # type: ignore[attr-defined]
    if tool.name == "dvc":
        return [
            git(ctx.repo, "checkout", "-q", "HEAD~1", "--", "data.dvc"),
            tool.cmd(ctx.repo, "checkout", "data.dvc"),  # type: ignore[attr-defined]
        ]
    return [git(ctx.repo, "checkout", "-q", "HEAD~1", "--", "data")]


def available(name: str, exe: str | None = None) -> bench.Tool | None:
    if name == "gitmv":
        tool = bench.Gitmv()
        if exe:
            tool.exe = [exe]
        return tool
    if name == "dvc":
        tool = bench.Dvc()
        ok = shutil.which(tool.exe) or os.access(tool.exe, os.X_OK)
        return tool if ok else None
    if name == "lfs":
        probe = subprocess.run(["git", "lfs", "version"], capture_output=True)
        return bench.Lfs("plain") if probe.returncode == 0 else None
    raise SystemExit(f"unknown tool {name}")


def exponent(n1: int, t1: float, n2: int, t2: float) -> float:
    return math.log(t2 / t1) / math.log(n2 / n1) if t1 > 0 and t2 > 0 else float("nan")


def report(results: dict[str, dict[int, Result]], sizes: list[int]) -> str:
    lines = []
    for name, by_size in results.items():
        lines.append(f"\n## {name}\n")
        head = "| step | " + " | ".join(f"{n:,} files" for n in sizes)
        pairs = list(itertools.pairwise(sizes))
        head += "".join(f" | exp {a // 1000}k→{b // 1000}k" for a, b in pairs) + " |"
        lines += [head, "|" + "---|" * (1 + len(sizes) + len(pairs))]
        for step in STEPS:
            cells = []
            for n in sizes:
                r = by_size.get(n)
                if r is None or step not in r.seconds:
                    cells.append("—")
                else:
                    cells.append(f"{r.seconds[step]:.2f} s ({r.rss_mb[step]:.0f} MB)")
            for a, b in pairs:
                ra, rb = by_size.get(a), by_size.get(b)
                if ra and rb and step in ra.seconds and step in rb.seconds:
                    cells.append(f"{exponent(a, ra.seconds[step], b, rb.seconds[step]):.2f}")
                else:
                    cells.append("—")
            lines.append(f"| {step} | " + " | ".join(cells) + " |")
        for n in sizes:
            r = by_size.get(n)
            if r and r.error:
                lines.append(f"\n{name} at {n:,} files failed:\n```\n{r.error}\n```")
            if r and r.rss_mb:
                per = [
                    f"{s} {r.rss_mb[s] * 1024 * 1024 / n:.0f}" for s in FULL_TREE if s in r.rss_mb
                ]
                lines.append(
                    f"\n{name} at {n:,} files, peak RSS in bytes a file: " + ", ".join(per)
                )
        first, last = sizes[0], sizes[-1]
        if len(sizes) > 1:
            exps = []
            for step in FULL_TREE:
                ra, rb = by_size.get(first), by_size.get(last)
                if ra and rb and step in ra.seconds and step in rb.seconds:
                    e = exponent(first, ra.seconds[step], last, rb.seconds[step])
                    exps.append(f"{step} {e:.2f}")
            lines.append(f"\n{name}, growth exponent {first:,} -> {last:,}: " + ", ".join(exps))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, nargs="+", default=[20000, 200000])
    parser.add_argument("--tools", nargs="+", default=["gitmv", "dvc", "lfs"])
    parser.add_argument("--work", type=Path, default=Path("/tmp/gitmv-scale"))
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--no-remote", action="store_true", help="leave out push and pull (faster)")
    parser.add_argument(
        "--gitmv",
        nargs="+",
        default=[],
        metavar="[LABEL=]CMD",
        help="the gitmv command(s) to time, side by side (default: as bench/run.py)",
    )
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    _lock = bench.lock_folder(args.work, "scale")
    tools: dict[str, bench.Tool] = {}
    for name in args.tools:
        if name == "gitmv" and args.gitmv:
            for given in args.gitmv:
                label, _, exe = given.rpartition("=")
                tools[f"gitmv {label}".strip()] = available("gitmv", exe)  # type: ignore[assignment]
            continue
        tool = available(name)
        if tool is None:
            print(f"skip {name}: not installed", flush=True)
            continue
        tools[name] = tool
    for label, tool in tools.items():
        print(f"{label}: {tool.version()}", flush=True)
    results: dict[str, dict[int, Result]] = {label: {} for label in tools}
    sizes = sorted(args.files)
    for n in sizes:
        src = make_source(args.work, n)
        for label, tool in tools.items():
            r = one_tool(tool, src, args.work, n, not args.no_remote)
            results[label][n] = r
            shown = ", ".join(f"{s} {t:.2f}s" for s, t in r.seconds.items())
            print(f"{label} {n}: {shown} {r.error}", flush=True)
    print(report(results, sizes))
    if args.json:
        data = {
            name: {
                n: {"seconds": r.seconds, "rss_mb": r.rss_mb, "error": r.error}
                for n, r in by.items()
            }
            for name, by in results.items()
        }
        args.json.write_text(json.dumps(data, indent=2))


if __name__ == "__main__":
    main()
