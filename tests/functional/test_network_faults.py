"""Network faults between gitmv and S3 (moto), injected by a loopback TCP proxy
(tests/faultproxy.py): connections dropped, reset and stalled at seeded points.

A transfer through the faults either completes, or fails with one `error:` line and
nothing half-written; an endpoint that never answers fails within the check timeout.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitmv.remotes.fsspec_remote import CHECK_TIMEOUT
from tests.faultproxy import Fault, FaultProxy, black_hole, seeded_plan, silent_uploads
from tests.faults import (
    Figures,
    S3Audit,
    StoreAudit,
    WorkTreeAudit,
    fault_seed,
    file_digest,
    folder_version,
    gitmv_argv,
    record,
)
from tests.helpers import assert_clean_error, git, gitmv
from tests.servers import Server

pytestmark = pytest.mark.slow

ROUNDS = 3  # pushes, then pulls, each through a fresh seeded fault plan
FAULT_RATE = 0.35  # share of connections that fail


def passing() -> Iterator[Fault]:
    while True:
        yield Fault("pass")


@pytest.fixture
def proxy(moto_server: Server) -> Iterator[FaultProxy]:
    port = int(moto_server.endpoint.rsplit(":", 1)[1])
    with FaultProxy(port, passing()) as running:
        yield running


def project(root: Path, url: str, endpoint: str) -> Path:
    """A repository with a chunked 3 MiB model and a 25-file folder, its remote committed."""
    repo = root / "source"
    repo.mkdir()
    git(repo, "init", "-q")
    gitmv(repo, "init", "--no-hooks")
    with open(repo / ".gitmv" / "config.yaml", "a") as f:
        f.write("chunking:\n  min_size: 1048576\n")
    rng = random.Random(8)
    (repo / "model.bin").write_bytes(rng.randbytes(3 * 1024 * 1024))
    (repo / "data").mkdir()
    for i in range(25):
        (repo / "data" / f"{i}.bin").write_bytes(rng.randbytes(rng.randint(100, 20_000)))
    gitmv(repo, "add", "model.bin", "data")
    gitmv(repo, "remote", "add", "s3", url, "--option", f"endpoint_url={endpoint}")
    git(repo, "commit", "-qm", "v1")
    return repo


def run(repo: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        gitmv_argv(*args), cwd=repo, capture_output=True, text=True, timeout=timeout
    )


def settled(proc: subprocess.CompletedProcess[str]) -> bool:
    """Completed (True), or failed cleanly: one `error:` line, no traceback (False)."""
    if proc.returncode == 0:
        return True
    assert_clean_error(proc)
    return False


def test_transfers_through_drops_resets_and_stalls_complete_or_fail_cleanly(
    tmp_path: Path, proxy: FaultProxy, moto_server: Server, s3_bucket: str
) -> None:
    source = project(tmp_path, f"s3://{s3_bucket}/p", proxy.url)
    needed = StoreAudit(source / ".git" / "gitmv" / "cache").oids()
    s3 = S3Audit(moto_server.endpoint, s3_bucket, "p")  # the audit goes around the proxy
    figures = Figures("network-faults-s3", fault_seed())
    start = time.monotonic()
    outcomes = []
    for i in range(ROUNDS):
        s3.wipe()
        proxy.plan = seeded_plan(fault_seed() * 100 + i, FAULT_RATE)
        done = settled(run(source, "push"))
        s3.check()  # sound, whatever happened
        assert not done or s3.oids() == needed
        outcomes.append(done)

    proxy.plan = passing()
    gitmv(source, "push")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(source), str(clone))
    cache = StoreAudit(clone / ".git" / "gitmv" / "cache")
    work = WorkTreeAudit(clone)
    want = folder_version(source / "data")
    want.oid = file_digest(source / "model.bin")
    for i in range(ROUNDS):
        for path in cache.objects().values():
            path.unlink()
        proxy.plan = seeded_plan(fault_seed() * 100 + ROUNDS + i, FAULT_RATE)
        done = settled(run(clone, "pull"))
        cache.check()
        work.check_file("model.bin", [want])
        work.check_folder("data", [want])
        assert not done or cache.oids() >= needed
        outcomes.append(done)

    proxy.plan = passing()
    gitmv(clone, "pull")
    assert "all sound" in gitmv(clone, "verify", "--remote", "s3", "--deep").stdout
    rows = json.loads(gitmv(clone, "status", "--json").stdout)
    assert {row["state"] for row in rows} == {"clean"}

    figures.trials = len(outcomes)
    figures.faults = sum(proxy.injected.values())
    figures.reruns = sum(outcomes)  # transfers that completed despite their faults
    figures.checks = len(outcomes) + 1
    figures.seconds = round(time.monotonic() - start, 2)
    record(figures)
    print(f"faults by kind: {dict(proxy.injected)}; connections: {proxy.connections}")
    assert figures.faults >= ROUNDS, proxy.injected  # the plan really struck
    assert sum(outcomes) >= ROUNDS, outcomes  # retries carry most transfers through


def test_an_endpoint_that_never_answers_fails_within_the_check_timeout(
    tmp_path: Path, proxy: FaultProxy, s3_bucket: str
) -> None:
    source = project(tmp_path, f"s3://{s3_bucket}/p", proxy.url)
    proxy.plan = black_hole()
    start = time.monotonic()
    proc = run(source, "push", timeout=60)
    elapsed = time.monotonic() - start
    assert_clean_error(proc)
    assert "'s3'" in proc.stderr and "hint:" in proc.stderr
    assert elapsed < CHECK_TIMEOUT + 5, f"took {elapsed:.1f} s, timeout is {CHECK_TIMEOUT} s"
    assert proxy.injected["blackhole"] >= 1


def test_a_server_that_stops_answering_mid_upload_fails_within_its_read_timeout(
    tmp_path: Path, proxy: FaultProxy, s3_bucket: str
) -> None:
    source = project(tmp_path, f"s3://{s3_bucket}/p", proxy.url)
    local = source / ".git" / "gitmv" / "config.yaml"
    local.write_text("remote:\n  s3:\n    config_kwargs:\n      read_timeout: 1\n")
    proxy.plan = silent_uploads()  # the bucket check is answered; no upload ever is
    start = time.monotonic()
    proc = subprocess.Popen(
        gitmv_argv("push"),
        cwd=source,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            silent = time.monotonic() - proxy.last_activity
            # with a 1 s read timeout, 8 s without a byte or a new connection is a hang
            assert not (proxy.injected["hang-put"] and silent > 8), "push hangs on a silent server"
            time.sleep(0.2)
        out, err = proc.communicate(timeout=5)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.wait()
    elapsed = time.monotonic() - start
    # 6 tries (gitmv's one retry layer, retries=5) of 1 s each, and the backoff between them
    assert elapsed < 30, f"a silent server took {elapsed:.1f} s to give up on"
    # one retry layer: the first upload's 6 tries, not 6 more for each pack waiting on it
    assert proxy.injected["hang-put"] <= 6, proxy.injected
    assert_clean_error(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
