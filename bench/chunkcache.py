"""The chunked local cache (`cache.chunked`), measured: four 1%-apart versions of a model,
with the key off and on. For each: the cache's disk use (`du`), the time of each `add`,
materializing each version (`gitmv checkout --rev`) against `cp` of the same file, and the
new-version path (add + commit + push of a 1%-changed version; pulling it into a clone
that has the previous one).

    python3 bench/chunkcache.py --work /work/bench-x --remote-root /dev/shm/x [--model-mib 1024]

Standard library only; gitmv is run as `python -m gitmv` with this interpreter.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

MIB = 1024 * 1024


def sh(cwd: Path, *argv: str) -> float:
    os.sync()  # write-back of earlier steps stays out of the timing
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed in {cwd}:\n{proc.stdout}\n{proc.stderr}")
    return took


def gitmv(cwd: Path, *args: str) -> float:
    return sh(cwd, sys.executable, "-m", "gitmv", *args)


def git(cwd: Path, *args: str) -> float:
    return sh(cwd, "git", *args)


def du(folder: Path) -> int:
    out = subprocess.run(["du", "-sk", str(folder)], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[0]) * 1024


def make_model(path: Path, size: int) -> None:
    rng = random.Random(7)
    with open(path, "wb") as f:
        for _ in range(size // (8 * MIB)):
            f.write(rng.randbytes(8 * MIB))


def modify(path: Path, seed: int, fraction: float = 0.01, regions: int = 10) -> None:
    """As bench/run.py's new version: 1% of the file rewritten in 10 regions, in place."""
    size = path.stat().st_size
    region = max(1, int(size * fraction) // regions)
    slot = size // regions
    rng = random.Random(seed)
    with open(path, "r+b") as f:
        for i in range(regions):
            f.seek(i * slot + rng.randrange(max(1, slot - region)))
            f.write(rng.randbytes(region))


def run_mode(work: Path, remote_root: Path, model: Path, chunked: bool) -> dict[str, object]:
    name = "chunked" if chunked else "whole"
    repo, store, origin = work / name, remote_root / f"{name}-store", remote_root / f"{name}.git"
    for p in (repo, store, origin):
        shutil.rmtree(p, ignore_errors=True)
    repo.mkdir(parents=True)
    git(remote_root, "init", "-q", "--bare", "-b", "main", str(origin))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "remote", "add", "origin", str(origin))
    gitmv(repo, "init", "--no-hooks")
    gitmv(repo, "config", "cache.chunked", "true" if chunked else "false")
    gitmv(repo, "remote", "add", "store", str(store), "--default")
    git(repo, "add", ".gitmv")
    git(repo, "commit", "-qm", "gitmv")
    shutil.copyfile(model, repo / "model.bin")
    adds = [gitmv(repo, "add", "model.bin")]
    git(repo, "add", "model.bin.gmv", ".gitignore")
    git(repo, "commit", "-qm", "v1")
    for n in (2, 3):
        modify(repo / "model.bin", n)
        adds.append(gitmv(repo, "add", "model.bin"))
        git(repo, "commit", "-qam", f"v{n}")
    cache = repo / ".git/gitmv/cache"
    three = du(cache)
    gitmv(repo, "push", "--all")
    git(repo, "push", "-q", "origin", "main")
    clone = work / f"{name}-clone"
    shutil.rmtree(clone, ignore_errors=True)
    git(work, "clone", "-q", str(origin), str(clone))
    gitmv(clone, "pull")
    # the new-version path: add + commit + push of v4, then the clone pulls it
    modify(repo / "model.bin", 4)
    add4 = gitmv(repo, "add", "model.bin")
    commit4 = git(repo, "commit", "-qam", "v4")
    push4 = gitmv(repo, "push")
    git(repo, "push", "-q", "origin", "main")
    adds.append(add4)
    four = du(cache)
    gitpull = git(clone, "pull", "-q", "origin", "main")
    pull4 = gitmv(clone, "pull")
    # materializing each version, against cp of the same file
    mats, cps = [], []
    for rev in ("HEAD~3", "HEAD~2", "HEAD~1", "HEAD"):
        mats.append(gitmv(repo, "checkout", "--rev", rev, "model.bin", "--force"))
        cps.append(sh(repo, "cp", "model.bin", str(work / "cp-target")))
        os.unlink(work / "cp-target")
    result = {
        "mode": name,
        "cache_3_versions_gib": three / 1024**3,
        "cache_4_versions_gib": four / 1024**3,
        "adds_s": [round(a, 3) for a in adds],
        "new_version_add_commit_push_s": round(add4 + commit4 + push4, 3),
        "new_version_parts": f"add {add4:.2f} + commit {commit4:.2f} + push {push4:.2f}",
        "pull_new_version_s": round(pull4, 3),
        "git_pull_s": round(gitpull, 3),
        "materialize_s": [round(m, 3) for m in mats],
        "cp_s": [round(c, 3) for c in cps],
        "materialize_over_cp": round(statistics.median(mats) / statistics.median(cps), 2),
    }
    shutil.rmtree(clone, ignore_errors=True)
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--work", type=Path, required=True)
    p.add_argument("--remote-root", type=Path, required=True)
    p.add_argument("--model-mib", type=int, default=1024)
    p.add_argument("--modes", default="whole,chunked")
    args = p.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    args.remote_root.mkdir(parents=True, exist_ok=True)
    model = args.work / f"model-{args.model_mib}m.bin"
    if not model.exists():
        make_model(model, args.model_mib * MIB)
    print(f"load average: {os.getloadavg()}", flush=True)
    for mode in args.modes.split(","):
        result = run_mode(args.work, args.remote_root, model, mode == "chunked")
        for key, value in result.items():
            print(f"{key:32} {value}", flush=True)
        print(flush=True)
        shutil.rmtree(args.work / str(result["mode"]), ignore_errors=True)
    print(f"load average: {os.getloadavg()}", flush=True)


if __name__ == "__main__":
    main()
