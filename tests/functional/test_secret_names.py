"""A credential is known by its name (any option containing key, secret, token, password,
passwd, auth, credential or session) or by a URL carrying a password: refused in the
committed config, masked in every output, error and debug trace, and written nowhere but
the local config. Names gitmv reads itself are not credentials."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import pytest

from tests.helpers import assert_clean_error, git, gitmv, snapshot
from tests.servers import Server, closed_port

API_KEY = "SECRET123-api-key"
MY_API_KEY = "SECRET123-my-api-key"
AUTH = "SECRET123-auth"
SESSION = "SECRET123-session-token"
URL_PASSWORD = "SECRET123-url-password"
ENDPOINT_PASSWORD = "SECRET123-endpoint-password"
PASSWD = "SECRET123-passwd"
SECRETS = (API_KEY, MY_API_KEY, AUTH, SESSION, URL_PASSWORD, ENDPOINT_PASSWORD, PASSWD)
TRACE = {"GIT_TRACE": "1", "GITMV_DEBUG": "1"}


def leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text] + (["SECRET123"] if "SECRET123" in text else [])


def options(*pairs: str) -> list[str]:
    return [a for pair in pairs for a in ("--option", pair)]


PLANTED = options(
    f"api_key={API_KEY}",
    f"my_api_key={MY_API_KEY}",
    f"auth={AUTH}",
    f"session_token={SESSION}",
    f"Db_Passwd={PASSWD}",
)


@pytest.mark.parametrize(
    "args",
    [
        ["s3://b/p", *options(f"api_key={API_KEY}")],
        ["s3://b/p", *options(f"my_api_key={MY_API_KEY}")],
        ["s3://b/p", *options(f"auth={AUTH}")],
        ["s3://b/p", *options(f"session_token={SESSION}")],
        ["s3://b/p", *options(f"Db_Passwd={PASSWD}")],
        ["s3://b/p", *options(f"credentials_json={API_KEY}")],
        [f"s3://user:{URL_PASSWORD}@b/p"],
        ["s3://b/p", *options(f"endpoint_url=http://me:{ENDPOINT_PASSWORD}@127.0.0.1:9")],
    ],
    ids=["api_key", "my_api_key", "auth", "session_token", "passwd", "credentials", "url", "ep"],
)
def test_a_credential_is_refused_in_the_committed_config_without_echoing_it(
    repo: Path, args: list[str]
) -> None:
    before = snapshot(repo)
    proc = gitmv(repo, "remote", "add", "r", *args, code=None)
    assert_clean_error(proc)
    assert "hint: pass --local" in proc.stderr
    assert not leaks(proc.stdout + proc.stderr), proc.stderr
    assert snapshot(repo) == before
    gitmv(repo, "remote", "add", "r", *args, "--local")
    assert not leaks((repo / ".gitmv" / "config.yaml").read_text())


def test_names_gitmv_reads_are_not_credentials(repo: Path) -> None:
    plain = options(
        "endpoint_url=http://127.0.0.1:9000",
        "region=eu-west-1",
        "profile=dev",
        "jobs=4",
        "read_timeout=30",
        "connect_timeout=2.5",
        "retries=3",
        "retry_timeout=90",
    )
    gitmv(repo, "remote", "add", "s3", "s3://bucket/p", *plain)  # the project config: fine
    row = json.loads(gitmv(repo, "remote", "list", "--json").stdout)[0]
    assert row["options"] == {
        "endpoint_url": "http://127.0.0.1:9000",
        "region": "eu-west-1",
        "profile": "dev",
        "jobs": 4,
        "read_timeout": 30,
        "connect_timeout": 2.5,
        "retries": 3,
        "retry_timeout": 90,
    }


def git_objects_text(repo: Path) -> str:
    """Every loose git object, inflated: a secret once staged would sit there for good."""
    texts = []
    for path in (repo / ".git" / "objects").glob("??/*"):
        texts.append(zlib.decompress(path.read_bytes()).decode("latin-1"))
    return "\n".join(texts)


def test_planted_secrets_appear_in_no_output_trace_or_file(
    repo: Path, moto_server: Server, s3_bucket: str
) -> None:
    (repo / "model.bin").write_bytes(b"weights" * 1000)
    gitmv(repo, "add", "model.bin")
    git(repo, "commit", "-qm", "v1")
    dead = f"http://127.0.0.1:{closed_port()}"
    live = moto_server.endpoint
    remotes = {
        "dead": ["s3://bucket/p", *PLANTED, *options(f"endpoint_url={dead}")],
        "live": [f"s3://{s3_bucket}/p", *PLANTED, *options(f"endpoint_url={live}")],
        "url": [f"s3://user:{URL_PASSWORD}@{s3_bucket}/p", *options(f"endpoint_url={live}")],
        "ep": [
            f"s3://{s3_bucket}/p",
            *options(f"endpoint_url=http://me:{ENDPOINT_PASSWORD}@127.0.0.1:{closed_port()}"),
        ],
    }
    outputs: dict[str, str] = {}
    for name, args in remotes.items():
        proc = gitmv(repo, "remote", "add", name, *args, "--local", env=TRACE)
        outputs[f"remote add {name}"] = proc.stdout + proc.stderr
    commands = [
        ("remote", "list"),
        ("remote", "list", "--json"),
        ("status", "--remote", "dead"),
        ("status", "--remote", "live", "--json"),
        ("status", "--remote", "url"),
        ("verify", "--remote", "dead"),
        ("verify", "--remote", "live", "--json"),
        ("verify", "--remote", "url"),
        ("doctor",),
        *[("push", "--remote", name) for name in remotes],
        *[("fetch", "--remote", name) for name in remotes],
        *[("pull", "--remote", name) for name in remotes],
    ]
    for args in commands:
        if args[0] in ("fetch", "pull"):  # make them really go to the remote
            for path in (repo / ".git" / "gitmv" / "cache").rglob("*"):
                if path.is_file() and "/tmp/" not in path.as_posix():
                    path.chmod(0o644)
                    path.unlink()
            (repo / "model.bin").unlink(missing_ok=True)
        proc = gitmv(repo, *args, code=None, env=TRACE)
        outputs[" ".join(args)] = proc.stdout + proc.stderr
    for command, text in outputs.items():
        assert not leaks(text), f"`gitmv {command}` printed a secret:\n{text}"
    assert "***" in outputs["remote list"] and "***" in outputs["remote list --json"]
    assert "api_key=***" in outputs["remote list"] and "auth=***" in outputs["remote list"]
    assert "error:" in outputs["push --remote dead"]  # the failures really ran
    assert "error:" in outputs["push --remote ep"]

    local = repo / ".git" / "gitmv" / "config.yaml"
    assert set(leaks(local.read_text())) >= set(SECRETS)  # the one place they belong
    for path in repo.rglob("*"):
        if path.is_file() and path != local and "/.git/objects/" not in path.as_posix():
            assert not leaks(path.read_bytes().decode("latin-1")), path
    assert not leaks(git_objects_text(repo))
    assert not leaks(git(repo, "log", "--all", "-p") + git(repo, "diff", "--cached"))
