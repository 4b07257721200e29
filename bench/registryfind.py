#!/usr/bin/env python3
"""Benchmark of `gitmv registry find` and `used-by` over many registered versions.

    python3 bench/registryfind.py [--names 50] [--versions 2000] [--reps 5] [--json FILE]

Builds (once, with one `git fast-import`) a repository of VERSIONS registered versions
spread over NAMES models, each pointer written as gitmv writes it, with a meta block of
params, metrics, labels (every fifth version: fraud) and inputs: model-I is made from the
dataset data/ds-(I mod 20).csv, and the last ten models also from model-(I-40)'s version of
the same round, so that used-by goes two levels deep. Then times, as whole processes:

  find with three filters   metrics.accuracy>=0.95 params.lr<0.005 label=fraud
  find, sorted and limited  type=model --sort metrics.accuracy --desc --limit 5
  used-by                   data/ds-03.csv (two levels)

Each command's first run is cold (no `.git/gitmv/registry-versions.json`: every pointer
read from git); the others read that cache. Target: each median under 0.5 s. Standard
library only.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import registry as registry_bench
from registry import Result, data_block, git, print_table, time_command
from run import BENCH_DIR, Gitmv, lock_folder, rmtree

SEED = 20261203
TARGET_S = 0.5
BASE_TIME = 1_700_000_000
WHO = "Find Bench <bench@example.invalid>"
DATASETS = 20


def oid(rng: random.Random) -> str:
    return f"xxh128:{rng.getrandbits(128):032x}"


def model_pointer(i: int, k: int, own: str, sha: str, inputs: list[tuple[str, str]]) -> str:
    """As gitmv writes one (ruamel, block style), so find reads it the way it reads yours."""
    lines = [
        "gitmv: 1",
        f"oid: {own}",
        f"size: {1000 + i * 100 + k}",
        "kind: file",
        "meta:",
        f"  name: model-{i:02d}",
        "  type: model",
        "  params:",
        f"    lr: {0.1 / (k + 1):.6f}",
        f"    depth: {3 + i % 5}",
        "  metrics:",
        f"    accuracy: {0.8 + (k % 40) * 0.005:.4f}",
        f"    loss: {0.5 - (k % 40) * 0.01:.4f}",
    ]
    if k % 5 == 0:
        lines += ["  labels:", "    - fraud"]
    lines.append("  inputs:")
    for path, data_oid in inputs:
        lines += [f"    - path: {path}", f"      oid: {data_oid}"]
    lines += [
        "  code:",
        f"    commit: {sha}",
        "    dirty: false",
        "  env:",
        "    python: 3.11.7",
        f"    packages: xxh128:{sha[:32]}",
    ]
    return "\n".join(lines) + "\n"


def fast_import_stream(names: int, rounds: int) -> str:
    rng = random.Random(SEED)
    out: list[str] = []
    clock = BASE_TIME
    mark = 1
    out.append(f"commit refs/heads/main\nmark :{mark}\ncommitter {WHO} {clock} +0000\n")
    out.append(data_block("data"))
    out.append("M 100644 inline .gitmv/config.yaml\n" + data_block("core:\n  hash: xxh128"))
    datasets = [(f"data/ds-{d:02d}.csv", oid(rng)) for d in range(DATASETS)]
    for path, data_oid in datasets:
        text = f"gitmv: 1\noid: {data_oid}\nsize: 100\nkind: file\n"
        out.append(f"M 100644 inline {path}.gmv\n" + data_block(text))
    commits: dict[tuple[int, int], int] = {}
    oids: dict[tuple[int, int], str] = {}
    for k in range(rounds):
        for i in range(names):
            clock += 60
            mark += 1
            commits[(i, k)], oids[(i, k)] = mark, oid(rng)
            inputs = [datasets[i % DATASETS]]
            if i >= 40 and (i - 40, k) in oids:
                inputs.append((f"models/model-{i - 40:02d}.bin", oids[(i - 40, k)]))
            out.append(f"commit refs/heads/main\nmark :{mark}\ncommitter {WHO} {clock} +0000\n")
            out.append(data_block(f"train model-{i:02d} round {k}"))
            sha = f"{rng.getrandbits(160):040x}"
            text = model_pointer(i, k, oids[(i, k)], sha, inputs)
            out.append(f"M 100644 inline models/model-{i:02d}.bin.gmv\n" + data_block(text))
    for i in range(names):
        for k in range(rounds):
            clock += 1
            name, version = f"model-{i:02d}", f"v1.{k}.0"
            out.append(f"tag {name}@{version}\nfrom :{commits[(i, k)]}\n")
            out.append(f"tagger {WHO} {clock} +0000\n")
            out.append(data_block(f"Registering artifact {name} version {version}"))
        clock += 1
        out.append(f"tag model-{i:02d}#production#1\nfrom :{commits[(i, rounds - 2)]}\n")
        out.append(f"tagger {WHO} {clock} +0000\n" + data_block("Assigning stage production"))
    return "".join(out)


def build_repo(repo: Path, names: int, versions: int) -> None:
    stamp = repo / ".git" / "bench-registryfind.json"
    params = {"names": names, "versions": versions, "seed": SEED, "format": 2}
    if stamp.exists() and json.loads(stamp.read_text()) == params:
        return
    rmtree(repo)
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "fast-import", "--quiet", stdin=fast_import_stream(names, versions // names))
    git(repo, "reset", "-q", "--hard", "main")
    stamp.write_text(json.dumps(params))
    tags = len(git(repo, "tag", "--list").splitlines())
    print(f"repository: {tags} tags ({versions} versions of {names} names) at {repo}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--names", type=int, default=50)
    p.add_argument("--versions", type=int, default=2000, help="registered versions in all")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--work", type=Path, default=BENCH_DIR / "work")
    p.add_argument("--json", type=Path, default=None, help="also save results as JSON here")
    args = p.parse_args(argv)
    if args.versions < args.names * 2:
        p.error("--versions must be at least twice --names")

    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    lock = lock_folder(work, "registryfind")  # noqa: F841
    repo = work / "registryfind-repo"
    build_repo(repo, args.names, args.versions)
    gitmv = Gitmv()
    print(f"gitmv: {gitmv.version()}; reps {args.reps}")
    commands = [
        (["registry", "find", "metrics.accuracy>=0.95", "params.lr<0.005", "label=fraud"], "fraud"),
        (
            ["registry", "find", "type=model", "--sort", "metrics.accuracy", "--desc", "-n", "5"],
            None,
        ),
        (["registry", "used-by", "data/ds-03.csv"], "model-43"),
    ]
    results: list[Result] = []
    for command, expect in commands:
        # the first run reads every pointer from git (cold); the rest read the version cache
        (repo / ".git" / "gitmv" / "registry-versions.json").unlink(missing_ok=True)
        results.append(time_command(gitmv, repo, command, args.reps, expect))
    print()
    registry_bench.TARGET_S = TARGET_S  # print_table's verdict reads it
    print_table(results)
    if args.json:
        payload = {
            "names": args.names,
            "versions": args.versions,
            "reps": args.reps,
            "target_s": TARGET_S,
            "results": [
                {"command": r.label, "runs_s": r.runs, "median_s": r.median, "error": r.error}
                for r in results
            ],
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
