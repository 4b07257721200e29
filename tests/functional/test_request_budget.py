"""Requests as a budget (issue 18): what a push or a pull costs an object store, counted
by a proxy in front of moto. Bounds on requests are correctness of request planning."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.countingproxy import CountingProxy
from tests.functional.test_push_pull import assert_same_files, clone, make_files
from tests.helpers import git, gitmv
from tests.servers import Server

SMALL_FILES = 2000


@pytest.fixture
def proxy(moto_server: Server) -> Iterator[CountingProxy]:
    with CountingProxy(int(moto_server.endpoint.rsplit(":", 1)[1])) as counting:
        yield counting


def s3_remote(repo: Path, bucket: str, proxy: CountingProxy) -> None:
    url = f"s3://{bucket}/store"
    gitmv(repo, "remote", "add", "s3", url, "--option", f"endpoint_url={proxy.url}")
    git(repo, "commit", "-qam", "remote")


def small_files(repo: Path) -> dict[str, bytes]:
    files = {f"data/{i % 10}/{i}.bin": os.urandom(1024) for i in range(SMALL_FILES)}
    make_files(repo, files)
    gitmv(repo, "add", "data")
    git(repo, "commit", "-qm", "data")
    return files


def within(proxy: CountingProxy, bound: int) -> None:
    print(f"{proxy.total()} requests (bound {bound}): {dict(proxy.kinds())}")  # for -s
    assert proxy.total() <= bound, f"{proxy.total()} requests > {bound}: {proxy.describe()}"


def test_small_files_push_pull_and_a_one_file_change(
    repo: Path, tmp_path: Path, s3_bucket: str, proxy: CountingProxy
) -> None:
    files = small_files(repo)
    s3_remote(repo, s3_bucket, proxy)
    proxy.reset()
    assert f"pushed {SMALL_FILES + 1} objects" in gitmv(repo, "push").stdout
    within(proxy, 40)

    other = clone(repo, tmp_path / "clone")
    proxy.reset()
    gitmv(other, "pull")
    within(proxy, 40)
    assert_same_files(repo, other, files)

    changed = repo / "data/3/3.bin"
    changed.chmod(0o644)
    changed.write_bytes(b"changed")
    gitmv(repo, "add", "data")
    git(repo, "commit", "-qam", "one file changed")
    proxy.reset()
    assert "pushed 2 objects" in gitmv(repo, "push").stdout  # the file, the new manifest
    within(proxy, 12)

    proxy.reset()
    git(other, "pull", "-q")  # the post-merge hook fetches the new manifest and one file
    gitmv(other, "pull")
    assert (other / "data/3/3.bin").read_bytes() == b"changed"
    within(proxy, 12)


def test_a_48_mib_chunked_file(
    repo: Path, tmp_path: Path, s3_bucket: str, proxy: CountingProxy
) -> None:
    model = os.urandom(48 * 1024 * 1024)
    make_files(repo, {"model.bin": model})
    gitmv(repo, "add", "model.bin")
    git(repo, "commit", "-qm", "model")
    s3_remote(repo, s3_bucket, proxy)
    proxy.reset()
    assert "pushed 1 object" in gitmv(repo, "push").stdout
    within(proxy, 16)

    other = clone(repo, tmp_path / "clone")
    proxy.reset()
    gitmv(other, "pull")
    within(proxy, 16)
    assert (other / "model.bin").read_bytes() == model
