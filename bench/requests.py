"""Requests per operation on S3 (moto), counted by a proxy in front of it, side by side:
gitmv (packs, the default on S3), gitmv on a remote without packs (`pack.max_object: 0`,
an older remote) and DVC. Steps: push, pull into a fresh clone, push after one file
changed, and (gitmv) the `git pull` of that change, whose hook fetches it.

    .venv/bin/python bench/requests.py --files 20000 [--file-kib 4] [--model-mib 1024]
        [--tools gitmv,gitmv-loose,dvc]

Needs the test extras (moto_server, dvc) and, for the DVC column, `dvc-s3` in the venv it
runs from; runs from the repository root. Each tool gets its own repository and its own
prefix in one bucket.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.countingproxy import CountingProxy
from tests.servers import AWS_ENV, _server

BUCKET = "bench-bucket"
TOOLS = ("gitmv", "gitmv-loose", "dvc")
STEPS = (
    "push",
    "pull into a fresh clone",
    "push after 1 file changed",
    "git pull of that change (hook)",
)


def sh(cwd: Path, *args: str) -> None:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed in {cwd}:\n{done.stderr[-2000:]}")


def tool(name: str) -> Callable[[Path, str], None]:
    """Run `python -m gitmv ...` or `python -m dvc ...` from this venv."""
    module = "dvc" if name == "dvc" else "gitmv"
    return lambda cwd, *args: sh(cwd, sys.executable, "-m", module, *args)


def make_source(top: Path, files: int, file_kib: int, model_mib: int) -> Path:
    """The workload, written once and copied into each tool's repository."""
    source = top / "source"
    for i in range(files):
        path = source / "data" / str(i % 100) / f"{i}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(file_kib * 1024))
    if model_mib:
        with open(source / "model.bin", "wb") as f:
            for _ in range(model_mib):
                f.write(os.urandom(1024 * 1024))
    return source


def run_tool(
    name: str, top: Path, source: Path, proxy: CountingProxy
) -> dict[str, tuple[int, float, str]]:
    """Each step's requests, seconds and requests by kind, for one tool."""
    run = tool(name)
    repo = top / name / "repo"
    repo.parent.mkdir(parents=True)
    shutil.copytree(source, repo)
    sh(top, "git", "init", "-q", "-b", "main", str(repo))
    sh(repo, "git", "config", "user.email", "b@b")
    sh(repo, "git", "config", "user.name", "bench")
    artifacts = ["data", *(["model.bin"] if (repo / "model.bin").exists() else [])]
    url = f"s3://{BUCKET}/{name}"
    if name == "dvc":
        run(repo, "init", "-q")
        run(repo, "remote", "add", "-d", "s3", url)
        run(repo, "remote", "modify", "s3", "endpointurl", proxy.url)
        run(repo, "add", "-q", *artifacts)
    else:
        run(repo, "init")
        run(repo, "add", *artifacts)
        run(repo, "remote", "add", "s3", url, "--option", f"endpoint_url={proxy.url}")
        if name == "gitmv-loose":
            with open(repo / ".gitmv/config.yaml", "a") as f:
                f.write("pack:\n  max_object: 0\n")
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", "v1")
    rows: dict[str, tuple[int, float, str]] = {}

    def step(label: str, cwd: Path, action: Callable[[], None]) -> None:
        proxy.reset()
        start = time.monotonic()
        action()
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(proxy.kinds().items()))
        rows[label] = (proxy.total(), time.monotonic() - start, kinds)

    step(STEPS[0], repo, lambda: run(repo, "push"))
    clone = top / name / "clone"
    sh(top, "git", "clone", "-q", str(repo), str(clone))
    step(STEPS[1], clone, lambda: run(clone, "pull"))
    changed = repo / "data/3/3.bin"
    changed.chmod(0o644)
    changed.write_bytes(b"changed")
    run(repo, "add", *(["-q", "data"] if name == "dvc" else ["data"]))
    sh(repo, "git", "commit", "-qam", "v2")
    step(STEPS[2], repo, lambda: run(repo, "push"))
    if name != "dvc":  # the post-merge hook fetches the change: counted with the git pull
        step(STEPS[3], clone, lambda: sh(clone, "git", "pull", "-q", "--no-rebase"))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--file-kib", type=int, default=4)
    parser.add_argument("--model-mib", type=int, default=0, help="also a model of this size")
    parser.add_argument("--tools", default=",".join(TOOLS), help="comma list of " + ",".join(TOOLS))
    parser.add_argument("--work", type=Path, default=None, help="where to build (default: a temp)")
    args = parser.parse_args()
    tools = [t for t in args.tools.split(",") if t]
    if unknown := set(tools) - set(TOOLS):
        parser.error(f"unknown tools: {', '.join(sorted(unknown))}")
    os.environ.update(AWS_ENV)
    os.environ["DVC_NO_ANALYTICS"] = "1"
    if args.work:
        args.work.mkdir(parents=True, exist_ok=True)
    top = Path(tempfile.mkdtemp(prefix="gitmv-requests-", dir=args.work))
    empty = top / "aws-config"  # no profile of the user's: botocore refuses /dev/null
    empty.write_text("")
    os.environ["AWS_CONFIG_FILE"] = os.environ["AWS_SHARED_CREDENTIALS_FILE"] = str(empty)
    results: dict[str, dict[str, tuple[int, float, str]]] = {}
    try:
        source = make_source(top, args.files, args.file_kib, args.model_mib)
        with _server(["moto_server"], "/", top / "moto.log") as server:
            urllib.request.urlopen(
                urllib.request.Request(f"{server.endpoint}/{BUCKET}", method="PUT")
            )
            with CountingProxy(int(server.endpoint.rsplit(":", 1)[1])) as proxy:
                for name in tools:
                    results[name] = run_tool(name, top, source, proxy)
                    # as each finishes: a run stopped later still leaves these
                    for label, (n, seconds, kinds) in results[name].items():
                        print(f"{name}, {label}: {n} ({seconds:.1f} s): {kinds}", file=sys.stderr)
    finally:
        shutil.rmtree(top, ignore_errors=True)
    model = f" and a {args.model_mib} MiB model" if args.model_mib else ""
    print(f"\n{args.files:,} x {args.file_kib} KiB files{model} on moto S3: requests (seconds)\n")
    print("| step | " + " | ".join(tools) + " |\n|---|" + "---|" * len(tools))
    for label in STEPS:
        cells = []
        for name in tools:
            got = results[name].get(label)
            cells.append(f"{got[0]:,} ({got[1]:.1f} s)" if got else "-")
        print(f"| {label} | " + " | ".join(cells) + " |")
    print("\nby kind:")
    for name in tools:
        for label, (_, _, kinds) in results[name].items():
            print(f"  {name}, {label}: {kinds}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
