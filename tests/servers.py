"""Loopback storage servers for the remote tests: moto (S3) and gcp-storage-emulator (GCS).

Each server is started once per session on a free port and killed at the end; each test
gets its own bucket. Buckets are made with plain HTTP so that the setup does not depend on
the code under test.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import tool

STARTUP_TIMEOUT = 30.0
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@dataclass(frozen=True)
class Server:
    endpoint: str  # http://127.0.0.1:PORT

    def new_bucket_name(self) -> str:
        return f"gitmv-{uuid.uuid4().hex[:12]}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def closed_port() -> int:
    """A port nothing listens on: connecting to it is refused at once."""
    return free_port()


def _wait_until_up(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited early:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{proc.args} did not answer {url} within {STARTUP_TIMEOUT} s")


@contextlib.contextmanager
def _server(args: list[str], probe_path: str, log: Path) -> Iterator[Server]:
    port = free_port()
    executable = tool(args[0])
    if executable is None:
        pytest.fail(f"{args[0]} is not installed: pip install -e '.[test]'")
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [executable, *args[1:], *_port_args(args[0], port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(proc, endpoint + probe_path, log)
        yield Server(endpoint)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def _port_args(program: str, port: int) -> list[str]:
    if program == "moto_server":
        return ["-H", "127.0.0.1", "-p", str(port)]
    return ["--host", "127.0.0.1", "--port", str(port)]


@pytest.fixture(scope="session")
def aws_env() -> Iterator[None]:
    """Fake credentials, and no reading of ~/.aws: botocore must find nothing real."""
    saved = {
        k: os.environ.get(k) for k in [*AWS_ENV, "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"]
    }
    os.environ.update(AWS_ENV)
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    os.environ.pop("AWS_PROFILE", None)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory, aws_env: None) -> Iterator[Server]:
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with _server(["moto_server"], "/", log) as server:
        yield server


@pytest.fixture(scope="session")
def gcs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    log = tmp_path_factory.mktemp("gcs") / "gcs.log"
    args = ["gcp-storage-emulator", "start", "--in-memory", "--quiet"]
    with _server(args, "/storage/v1/b?project=test", log) as server:
        yield server


def _request(method: str, url: str, body: bytes | None = None) -> None:
    headers = {"Content-Type": "application/json"} if body else {}
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    with urllib.request.urlopen(req, timeout=10):
        pass


@pytest.fixture
def s3_bucket(moto_server: Server) -> str:
    """A fresh, empty bucket on the moto server; returns its name."""
    name = moto_server.new_bucket_name()
    _request("PUT", f"{moto_server.endpoint}/{name}")
    return name


def s3_put(server: Server, bucket: str, key: str, data: bytes) -> None:
    """Write an object behind gitmv's back (to plant corrupt bytes)."""
    import boto3

    client = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1")
    client.put_object(Bucket=bucket, Key=key, Body=data)


@pytest.fixture
def gcs_bucket(gcs_server: Server) -> str:
    name = gcs_server.new_bucket_name()
    body = json.dumps({"name": name}).encode()
    _request("POST", f"{gcs_server.endpoint}/storage/v1/b?project=test", body)
    return name


@dataclass(frozen=True)
class RemoteTarget:
    """A remote URL and its options, as a user would configure it."""

    kind: str
    url: str
    options: dict[str, str]


@pytest.fixture(params=["folder", "file-url", "memory", "s3", "gcs"])
def remote_target(request: pytest.FixtureRequest, tmp_path: Path) -> RemoteTarget:
    """Every backend in turn, each on a fresh store. `memory://` stands for the fsspec file
    systems that are not object stores (sftp, ...): they publish by a temp name and a move."""
    kind = request.param
    if kind == "folder":
        return RemoteTarget(kind, str(tmp_path / "store"), {})
    if kind == "file-url":
        return RemoteTarget(kind, (tmp_path / "store").as_uri(), {})
    if kind == "memory":
        return RemoteTarget(kind, f"memory://store-{uuid.uuid4().hex[:12]}", {})
    if kind == "s3":
        server: Server = request.getfixturevalue("moto_server")
        bucket = request.getfixturevalue("s3_bucket")
        return RemoteTarget(kind, f"s3://{bucket}/store", {"endpoint_url": server.endpoint})
    server = request.getfixturevalue("gcs_server")
    bucket = request.getfixturevalue("gcs_bucket")
    options = {"endpoint_url": server.endpoint, "token": "anon", "project": "test"}
    return RemoteTarget(kind, f"gs://{bucket}/store", options)


@dataclass(frozen=True)
class CheckingS3:
    """A moto server that checks credentials, with the one IAM user it knows: `key` and
    `secret` are accepted (for every S3 action), any other key gets 403."""

    endpoint: str
    bucket: str
    key: str
    secret: str


# The actions made before moto starts checking (INITIAL_NO_AUTH_ACTION_COUNT): exactly the
# setup below, so that every request after it is checked.
_CHECKING_SETUP_ACTIONS = 4


@contextlib.contextmanager
def _checking_moto(log: Path) -> Iterator[CheckingS3]:
    """moto_server with authentication on (moto's docs, "IAM-like Access Control"): after
    its first INITIAL_NO_AUTH_ACTION_COUNT actions it checks every request's signature
    against its IAM users and their policies, so a key it never issued gets 403
    InvalidAccessKeyId, as AWS answers it."""
    import boto3

    executable = tool("moto_server")
    if executable is None:
        pytest.fail("moto_server is not installed: pip install -e '.[test]'")
    port = free_port()
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": str(_CHECKING_SETUP_ACTIONS)}
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [executable, *_port_args("moto_server", port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        # moto's own API answers without a signature (an unsigned S3 request gets a 500)
        _wait_until_up(proc, endpoint + "/moto-api/data.json", log)
        unchecked = {"endpoint_url": endpoint, "region_name": "us-east-1"}
        iam = boto3.client("iam", **unchecked)  # type: ignore[call-overload]
        iam.create_user(UserName="ml")
        issued = iam.create_access_key(UserName="ml")["AccessKey"]
        allow = {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}
        policy = json.dumps({"Version": "2012-10-17", "Statement": [allow]})
        iam.put_user_policy(UserName="ml", PolicyName="s3", PolicyDocument=policy)
        bucket = f"gitmv-{uuid.uuid4().hex[:12]}"
        boto3.client("s3", **unchecked).create_bucket(Bucket=bucket)  # type: ignore[call-overload]
        yield CheckingS3(endpoint, bucket, issued["AccessKeyId"], issued["SecretAccessKey"])
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(5)


@pytest.fixture(scope="session")
def moto_auth_server(
    tmp_path_factory: pytest.TempPathFactory, aws_env: None
) -> Iterator[CheckingS3]:
    """A second moto server, one that refuses the keys it did not issue (`aws_env`'s
    `testing` among them) and accepts the one user's keys it did."""
    log = tmp_path_factory.mktemp("moto-auth") / "moto.log"
    with _checking_moto(log) as server:
        yield server
