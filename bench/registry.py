#!/usr/bin/env python3
"""Benchmark of the gitmv model registry on a repository with many tags.

    python3 bench/registry.py [--names 50] [--tags 2000] [--reps 5] [--json FILE]

Builds (once, with one `git fast-import`) a repository holding NAMES pointer
files and TAGS annotated registry tags in GTO format:

  NAME@vX.Y.Z            registers a version; it points at the commit that
                         changed the pointer whose meta.name is NAME
  NAME#production#N      assigns a stage (alternating production / staging)
  NAME#staging#N         to one of the later versions

then times `gitmv registry list` and `gitmv registry show NAME@latest` (and
NAME@production): the median of --reps runs each, plus the first (coldest)
run. Target: each under 1 s. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from run import BENCH_DIR, ENV, Cmd, CommandFailed, Gitmv, lock_folder, rmtree
from run import run as run_cmd

SEED = 20240611
TARGET_S = 1.0
BASE_TIME = 1_700_000_000
WHO = "Registry Bench <bench@example.invalid>"


# --------------------------------------------------------------------------
# Repository generation


@dataclass
class Plan:
    names: int
    tags: int

    @property
    def per_name(self) -> int:
        return max(2, self.tags // self.names)

    @property
    def versions(self) -> int:
        """Version tags per name (the rest of per_name are stage tags)."""
        return max(1, self.per_name * 3 // 4)

    @property
    def stages(self) -> int:
        return self.per_name - self.versions

    def name(self, i: int) -> str:
        return f"model-{i:02d}"

    @staticmethod
    def version(k: int) -> str:
        # v1.9.0 < v1.10.0: a lexical sort gets "latest" wrong
        return f"v1.{k}.0"

    def stage_events(self) -> list[tuple[str, int, int]]:
        """(stage, N, version index) per name, in order: alternate stages, later versions."""
        counters = {"production": 0, "staging": 0}
        events = []
        first = self.versions - self.stages
        for j in range(self.stages):
            stage = "production" if j % 2 == 0 else "staging"
            counters[stage] += 1
            events.append((stage, counters[stage], max(0, first + j)))
        return events

    def expected_latest(self) -> str:
        return self.version(self.versions - 1)

    def expected_production(self) -> str | None:
        prod = [v for stage, _, v in self.stage_events() if stage == "production"]
        return self.version(prod[-1]) if prod else None


def data_block(text: str) -> str:
    """fast-import `data` with exact bytes; text ends with a newline like a real file."""
    if not text.endswith("\n"):
        text += "\n"
    return f"data {len(text.encode())}\n{text}"


def pointer_text(name: str, k: int, rng: random.Random) -> str:
    return (
        "gitmv: 1\n"
        f"oid: xxh128:{rng.getrandbits(128):032x}\n"
        f"size: {rng.randrange(1 << 20, 1 << 30)}\n"
        "kind: file\n"
        "meta:\n"
        f"  name: {name}\n"
        "  type: model\n"
        f"  metrics: {{accuracy: {0.8 + k / 1000:.3f}}}\n"
    )


def fast_import_stream(plan: Plan) -> str:
    """Commits that each change one name's pointer, then every registry tag."""
    rng = random.Random(SEED)
    out: list[str] = []
    mark = 0
    clock = BASE_TIME
    version_commit: dict[tuple[int, int], int] = {}

    out.append(f"commit refs/heads/main\nmark :{(mark := mark + 1)}\n")
    out.append(f"committer {WHO} {clock} +0000\n" + data_block("gitmv project"))
    out.append("M 100644 inline .gitmv/config.yaml\n" + data_block("core:\n  hash: xxh128"))
    for k in range(plan.versions):
        for i in range(plan.names):
            name = plan.name(i)
            clock += 60
            mark += 1
            version_commit[(i, k)] = mark
            out.append(f"commit refs/heads/main\nmark :{mark}\n")
            out.append(
                f"committer {WHO} {clock} +0000\n" + data_block(f"train {name} {plan.version(k)}")
            )
            path = f"models/{name}.bin.gmv"
            out.append(f"M 100644 inline {path}\n" + data_block(pointer_text(name, k, rng)))

    def tag(ref: str, commit: int, message: str) -> None:
        nonlocal clock
        clock += 1
        out.append(f"tag {ref}\nfrom :{commit}\ntagger {WHO} {clock} +0000\n" + data_block(message))

    for i in range(plan.names):
        name = plan.name(i)
        for k in range(plan.versions):
            tag(
                f"{name}@{plan.version(k)}",
                version_commit[(i, k)],
                f"Registering artifact {name} version {plan.version(k)}",
            )
        for stage, n, k in plan.stage_events():
            tag(
                f"{name}#{stage}#{n}",
                version_commit[(i, k)],
                f"Assigning stage {stage} to artifact {name} version {plan.version(k)}",
            )
    return "".join(out)


def git(repo: Path, *args: str, stdin: str | None = None) -> str:
    proc = subprocess.run(
        ["git", *args], cwd=repo, env=ENV, input=stdin, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed:\n{proc.stderr}")
    return proc.stdout


def build_repo(repo: Path, plan: Plan) -> None:
    stamp = repo / ".git" / "bench-registry.json"
    params = {"names": plan.names, "tags": plan.tags, "seed": SEED, "format": 2}
    if stamp.exists() and json.loads(stamp.read_text()) == params:
        return
    rmtree(repo)
    repo.mkdir(parents=True)
    t0 = time.perf_counter()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "fast-import", "--quiet", stdin=fast_import_stream(plan))
    git(repo, "reset", "-q", "--hard", "main")
    stamp.write_text(json.dumps(params))
    tags = len(git(repo, "tag", "--list").splitlines())
    elapsed = time.perf_counter() - t0
    print(f"repository: {tags} tags, {plan.names} names, built in {elapsed:.1f} s at {repo}")


# --------------------------------------------------------------------------
# Timing


@dataclass
class Result:
    label: str
    runs: list[float]
    error: str | None = None
    warning: str | None = None

    @property
    def median(self) -> float | None:
        return statistics.median(self.runs) if self.runs else None


def time_command(
    gitmv: Gitmv, repo: Path, args: list[str], reps: int, expect: str | None
) -> Result:
    label = "gitmv " + " ".join(args)
    result = Result(label, [])
    cmd = Cmd([*gitmv.exe, *args], repo)
    for _ in range(reps):
        try:
            result.runs.append(run_cmd(cmd))
        except CommandFailed as exc:
            result.error = exc.tail()
            return result
    if expect:
        out = subprocess.run(cmd.argv, cwd=repo, env=ENV, capture_output=True, text=True).stdout
        if expect not in out:
            result.warning = f"output does not mention {expect!r}"
    return result


def print_table(results: list[Result]) -> None:
    rows = [["command", "first s", "median s", "max s", f"target <{TARGET_S:g} s"]]
    notes = []
    for r in results:
        if r.error:
            notes.append(f"[{len(notes) + 1}] {r.label}:\n    " + r.error.replace("\n", "\n    "))
            rows.append([r.label, f"FAILED[{len(notes)}]", "-", "-", "?"])
            continue
        verdict = "met" if r.median is not None and r.median < TARGET_S else "MISSED"
        if r.warning:
            notes.append(f"[{len(notes) + 1}] {r.label}: warning: {r.warning}")
            verdict += f" [{len(notes)}]"
        rows.append([r.label, f"{r.runs[0]:.3f}", f"{r.median:.3f}", f"{max(r.runs):.3f}", verdict])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        cells = [
            c.ljust(w) if i in (0, 4) else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        print(" | ".join(cells).rstrip())
        if n == 0:
            print("-+-".join("-" * w for w in widths))
    if notes:
        print("\nfailures and warnings:")
        print("\n".join(notes))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--names", type=int, default=50)
    p.add_argument("--tags", type=int, default=2000, help="total registry tags (versions + stages)")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--work", type=Path, default=BENCH_DIR / "work")
    p.add_argument("--json", type=Path, default=None, help="also save results as JSON here")
    args = p.parse_args(argv)

    plan = Plan(args.names, args.tags)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    lock = lock_folder(work, "registry")  # noqa: F841
    repo = work / "registry-repo"
    build_repo(repo, plan)
    gitmv = Gitmv()
    per_name = f"{plan.versions} versions + {plan.stages} stage tags per name"
    print(f"gitmv: {gitmv.version()}; {per_name}; reps {args.reps}")

    name = plan.name(plan.names // 2)
    commands = [
        (["registry", "list"], plan.expected_latest()),
        (["registry", "show", f"{name}@latest"], plan.expected_latest()),
    ]
    if plan.expected_production():
        commands.append((["registry", "show", f"{name}@production"], plan.expected_production()))
    results = [time_command(gitmv, repo, a, args.reps, expect) for a, expect in commands]
    print()
    print_table(results)
    if args.json:
        payload = {
            "names": plan.names,
            "tags": plan.names * plan.per_name,
            "reps": args.reps,
            "target_s": TARGET_S,
            "results": [
                {
                    "command": r.label,
                    "runs_s": r.runs,
                    "median_s": r.median,
                    "error": r.error,
                    "warning": r.warning,
                }
                for r in results
            ],
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"\nresults saved to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
