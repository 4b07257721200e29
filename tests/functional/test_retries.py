"""One retry layer: gitmv's own, bounded by `retries` and `retry_timeout` per object, with
the storage libraries' retries off. Requests are counted by an HTTP proxy (tests/faultproxy.py)
in front of moto (S3) and the GCS emulator, which answers chosen requests with an error."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faultproxy import HttpFaultProxy, HttpRule, gcs_error_body, s3_error_body
from tests.helpers import assert_clean_error, git, gitmv
from tests.servers import Server

FAST = ["--option", "retry_delay=0.01"]  # tests wait hundredths, not seconds, between tries


def port_of(server: Server) -> int:
    return int(server.endpoint.rsplit(":", 1)[1])


@pytest.fixture
def s3_proxy(moto_server: Server) -> Iterator[HttpFaultProxy]:
    with HttpFaultProxy(port_of(moto_server)) as proxy:
        yield proxy


@pytest.fixture
def gcs_proxy(gcs_server: Server) -> Iterator[HttpFaultProxy]:
    with HttpFaultProxy(port_of(gcs_server)) as proxy:
        yield proxy


def tracked_model(repo: Path) -> str:
    """One small committed artifact; returns the tail of its object key (`<hex[2:]>`), which
    names it in every request path, URL-encoded or not."""
    (repo / "model.bin").write_bytes(b"weights " * 512)
    with open(repo / ".gitmv/config.yaml", "a") as f:  # loose: each request names its object
        f.write("pack:\n  max_object: 0\n")  # (a pack goes through the same retry layer)
    gitmv(repo, "add", "model.bin")
    git(repo, "commit", "-qm", "model")
    text = (repo / "model.bin.gmv").read_text()
    oid = next(line.split()[-1] for line in text.splitlines() if line.startswith("oid:"))
    return oid.split(":", 1)[1][2:]


def s3_remote(repo: Path, bucket: str, proxy: HttpFaultProxy, *options: str) -> None:
    args = ["--option", f"endpoint_url={proxy.url}", *FAST, *options]
    gitmv(repo, "remote", "add", "s3", f"s3://{bucket}/p", *args)


def s3_has(server: Server, bucket: str, tail: str) -> bool:
    """Whether moto holds the object, asked around the proxy."""
    with urllib.request.urlopen(f"{server.endpoint}/{bucket}?list-type=2&prefix=p/") as r:
        return tail in r.read().decode()


def push(repo: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    start = time.monotonic()
    proc = gitmv(repo, "push", code=None)
    return proc, time.monotonic() - start


@pytest.mark.parametrize(
    ("status", "with_body"),
    [(503, True), (503, False), (500, False), (429, False), (408, False)],
    ids=["503-xml", "503-empty", "500-empty", "429", "408"],
)
def test_an_s3_error_then_success_costs_exactly_two_requests(
    repo: Path,
    moto_server: Server,
    s3_bucket: str,
    s3_proxy: HttpFaultProxy,
    status: int,
    with_body: bool,
) -> None:
    tail = tracked_model(repo)
    s3_remote(repo, s3_bucket, s3_proxy)
    body = s3_error_body(status) if with_body else b""
    s3_proxy.rules.append(HttpRule(tail, status, body, times=1, method="PUT"))
    proc, _ = push(repo)
    assert proc.returncode == 0, proc.stderr
    assert s3_proxy.count(tail, "PUT") == 2, s3_proxy.requests
    assert s3_has(moto_server, s3_bucket, tail)


def test_a_permanent_s3_503_costs_retries_plus_one_and_names_the_remote(
    repo: Path, s3_bucket: str, s3_proxy: HttpFaultProxy
) -> None:
    tail = tracked_model(repo)
    s3_remote(repo, s3_bucket, s3_proxy, "--option", "retries=3")
    s3_proxy.rules.append(HttpRule(tail, 503, b"", method="PUT"))
    proc, elapsed = push(repo)
    assert_clean_error(proc)
    assert "remote 's3'" in proc.stderr and "hint:" in proc.stderr
    assert "(gave up after 4 tries)" in proc.stderr
    assert s3_proxy.count(tail, "PUT") == 4, "\n".join(map(str, s3_proxy.requests))
    assert elapsed < 20


def test_retry_timeout_bounds_the_time_one_object_may_take(
    repo: Path, s3_bucket: str, s3_proxy: HttpFaultProxy
) -> None:
    tail = tracked_model(repo)
    options = ["--option", "retries=100", "--option", "retry_timeout=1.5"]
    s3_remote(repo, s3_bucket, s3_proxy, *options, "--option", "retry_delay=0.3")
    s3_proxy.rules.append(HttpRule(tail, 503, s3_error_body(503), method="PUT"))
    proc, elapsed = push(repo)
    assert_clean_error(proc)
    assert 2 <= s3_proxy.count(tail, "PUT") <= 8, s3_proxy.requests
    assert elapsed < 12


@pytest.mark.parametrize("status", [400, 403, 404, 409])
def test_other_4xx_are_never_retried(
    repo: Path, s3_bucket: str, s3_proxy: HttpFaultProxy, status: int
) -> None:
    tail = tracked_model(repo)
    s3_remote(repo, s3_bucket, s3_proxy)
    s3_proxy.rules.append(HttpRule(tail, status, b"", method="PUT"))
    proc, _ = push(repo)
    assert_clean_error(proc)
    assert s3_proxy.count(tail, "PUT") == 1, s3_proxy.requests


def test_a_download_503_without_a_body_is_retried(
    repo: Path, tmp_path: Path, s3_bucket: str, s3_proxy: HttpFaultProxy
) -> None:
    tail = tracked_model(repo)
    s3_remote(repo, s3_bucket, s3_proxy)
    git(repo, "commit", "-qam", "remote")
    gitmv(repo, "push")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    s3_proxy.rules.append(HttpRule(tail, 503, b"", times=1, method="GET"))
    gitmv(clone, "pull")
    assert (clone / "model.bin").read_bytes() == (repo / "model.bin").read_bytes()
    assert s3_proxy.count(tail, "GET") == 2, s3_proxy.requests


def gcs_remote(repo: Path, bucket: str, proxy: HttpFaultProxy, *options: str) -> None:
    args = ["--option", f"endpoint_url={proxy.url}", "--option", "token=anon"]
    args += ["--option", "project=test", *FAST, *options]
    gitmv(repo, "remote", "add", "gcs", f"gs://{bucket}/p", "--local", *args)


def test_a_gcs_503_then_success_costs_exactly_two_requests(
    repo: Path, gcs_bucket: str, gcs_proxy: HttpFaultProxy
) -> None:
    tail = tracked_model(repo)
    gcs_remote(repo, gcs_bucket, gcs_proxy)
    gcs_proxy.rules.append(HttpRule(tail, 503, gcs_error_body(503), times=1, method="POST"))
    proc, _ = push(repo)
    assert proc.returncode == 0, proc.stderr
    assert gcs_proxy.count(tail, "POST") == 2, "\n".join(map(str, gcs_proxy.requests))


def test_a_permanent_gcs_503_is_not_retried_by_gcsfs_under_our_retries(
    repo: Path, gcs_bucket: str, gcs_proxy: HttpFaultProxy
) -> None:
    tail = tracked_model(repo)
    gcs_remote(repo, gcs_bucket, gcs_proxy, "--option", "retries=2")
    gcs_proxy.rules.append(HttpRule(tail, 503, gcs_error_body(503), method="POST"))
    proc, elapsed = push(repo)
    assert_clean_error(proc)
    assert "remote 'gcs'" in proc.stderr
    assert gcs_proxy.count(tail, "POST") == 3, gcs_proxy.requests  # not 3 x gcsfs's 6
    assert elapsed < 15


def test_a_gcs_download_503_is_retried_once_by_us_not_by_gcsfs(
    repo: Path, tmp_path: Path, gcs_bucket: str, gcs_proxy: HttpFaultProxy
) -> None:
    tail = tracked_model(repo)
    gcs_remote(repo, gcs_bucket, gcs_proxy)
    gitmv(repo, "push")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    gcs_remote(clone, gcs_bucket, gcs_proxy)  # the remote is in the local config
    media = "alt=media"  # the download itself, not the metadata lookups
    gcs_proxy.rules.append(
        HttpRule(tail, 503, gcs_error_body(503), times=1, method="GET", query=media)
    )
    gitmv(clone, "pull")
    assert (clone / "model.bin").read_bytes() == (repo / "model.bin").read_bytes()
    assert gcs_proxy.count(tail, "GET", media) == 2, gcs_proxy.requests
