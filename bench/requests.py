"""Requests per operation on S3 (moto), counted by a proxy: push, pull into a fresh clone,
push after one file changed, pull of that change. gitmv only (the issue's DVC figures were
measured from moto's log with the same workload).

    .venv/bin/python bench/requests.py --files 20000 [--file-kib 4] [--loose]

Needs the test extras (moto_server) in the venv it runs from; runs from the repository root.
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.countingproxy import CountingProxy
from tests.servers import AWS_ENV, _server

BUCKET = "bench-bucket"


def sh(cwd: Path, *args: str) -> None:
    subprocess.run(args, cwd=cwd, check=True, capture_output=True)


def gitmv(cwd: Path, *args: str) -> None:
    sh(cwd, sys.executable, "-m", "gitmv", *args)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--file-kib", type=int, default=4)
    parser.add_argument("--loose", action="store_true", help="pack.max_object: 0")
    args = parser.parse_args()
    os.environ.update(AWS_ENV)
    os.environ["AWS_CONFIG_FILE"] = os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    top = Path(tempfile.mkdtemp(prefix="gitmv-requests-"))
    rows: list[tuple[str, int, float, str]] = []
    try:
        with _server(["moto_server"], "/", top / "moto.log") as server:
            urllib.request.urlopen(
                urllib.request.Request(f"{server.endpoint}/bench-bucket", method="PUT")
            )
            with CountingProxy(int(server.endpoint.rsplit(":", 1)[1])) as proxy:
                repo = top / "repo"
                sh(top, "git", "init", "-q", "-b", "main", str(repo))
                sh(repo, "git", "config", "user.email", "b@b")
                sh(repo, "git", "config", "user.name", "bench")
                gitmv(repo, "init")
                for i in range(args.files):
                    path = repo / "data" / str(i % 100) / f"{i}.bin"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(os.urandom(args.file_kib * 1024))
                gitmv(repo, "add", "data")
                gitmv(repo, "remote", "add", "s3", f"s3://{BUCKET}/store", "--option",
                      f"endpoint_url={proxy.url}")  # fmt: skip
                if args.loose:
                    with open(repo / ".gitmv/config.yaml", "a") as f:
                        f.write("pack:\n  max_object: 0\n")
                sh(repo, "git", "add", "-A")
                sh(repo, "git", "commit", "-qm", "v1")

                def step(name: str, cwd: Path, *argv: str) -> None:
                    proxy.reset()
                    start = time.monotonic()
                    (sh if argv[0] == "git" else gitmv)(cwd, *argv)
                    kinds = ", ".join(f"{k} {n}" for k, n in sorted(proxy.kinds().items()))
                    rows.append((name, proxy.total(), time.monotonic() - start, kinds))

                step("push", repo, "push")
                clone = top / "clone"
                sh(top, "git", "clone", "-q", str(repo), str(clone))
                step("pull into a fresh clone", clone, "pull")
                changed = repo / "data/3/3.bin"
                changed.chmod(0o644)
                changed.write_bytes(b"changed")
                gitmv(repo, "add", "data")
                sh(repo, "git", "commit", "-qam", "v2")
                step("push after 1 file changed", repo, "push")
                # the post-merge hook fetches the change: counted with the git pull
                step("git pull of that change", clone, "git", "pull", "-q", "--no-rebase")
    finally:
        shutil.rmtree(top, ignore_errors=True)
    mode = "loose" if args.loose else "packs"
    print(f"\n{args.files} x {args.file_kib} KiB on moto S3 ({mode})\n")
    print("| step | requests | seconds | by kind |\n|---|---|---|---|")
    for name, n, seconds, kinds in rows:
        print(f"| {name} | {n:,} | {seconds:.2f} | {kinds} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
