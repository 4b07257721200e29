"""Credentials given to `remote add --local` never leave the local config: not into the
committed config or its history, not into any output, error, debug traceback or JSON."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

from tests.helpers import git, gitmv
from tests.servers import Server, closed_port

KEY_ID = "AKIAEXAMPLE7KEYID"
SECRET = "SUPERSECRET123-do-not-print"
TOKEN = "SessionTokenValue-42"
PASSWORD = "pw-in-the-url-77"
SECRETS = (KEY_ID, SECRET, TOKEN, PASSWORD)


def leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def run_all(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """stdout and stderr of one command, whatever its exit code."""
    proc = gitmv(repo, *args, code=None, env=env)
    assert "Traceback" not in proc.stderr or env, proc.stderr
    return proc.stdout + proc.stderr


def test_credentials_never_appear_in_config_output_errors_or_json(
    repo: Path, moto_server: Server, s3_bucket: str
) -> None:
    (repo / "model.bin").write_bytes(b"weights" * 1000)
    gitmv(repo, "add", "model.bin")
    git(repo, "commit", "-qm", "v1")
    dead = f"http://user:{PASSWORD}@127.0.0.1:{closed_port()}/"
    live = moto_server.endpoint
    aws = [f"aws_access_key_id={KEY_ID}", f"aws_secret_access_key={SECRET}"]
    s3fs = [f"key={KEY_ID}", f"secret={SECRET}", f"token={TOKEN}"]
    remotes = (
        ("dead", dead, s3_bucket, [*aws, f"aws_session_token={TOKEN}"]),
        ("live", live, "no-such-bucket", s3fs),
        ("moto", live, s3_bucket, aws),  # reachable: the credentials go up with each request
    )
    for name, endpoint, bucket, creds in remotes:
        options = [a for c in [*creds, f"endpoint_url={endpoint}"] for a in ("--option", c)]
        out = run_all(repo, "remote", "add", name, f"s3://{bucket}/p", "--local", *options)
        assert not leaks(out), out
    gitmv(repo, "remote", "add", "url", f"s3://user:{PASSWORD}@{s3_bucket}/p", "--local")

    outputs = {}
    debug = {"GITMV_DEBUG": "1"}
    commands = [
        ("remote", "list"),
        ("remote", "list", "--json"),
        ("status", "--remote", "dead", "--json"),
        ("status", "--remote", "live", "--json"),
        ("push", "--remote", "dead"),
        ("push", "--remote", "live"),
        ("push", "--remote", "url"),
        ("push", "--remote", "moto"),
        ("status", "--remote", "moto", "--json"),
        ("verify", "--remote", "moto", "--deep", "--json"),
        ("verify", "--remote", "live", "--json"),
        ("gc", "--remote", "dead", "--dry-run"),
        ("pull", "--remote", "dead"),  # after the cache is emptied, below
        ("pull", "--remote", "live"),
    ]
    for args in commands:
        if args[0] == "pull":
            shutil.rmtree(repo / ".git" / "gitmv" / "cache", ignore_errors=True)
            (repo / "model.bin").unlink(missing_ok=True)
        outputs[" ".join(args)] = text = run_all(repo, *args)
        if "error:" in text:  # where a traceback could show: GITMV_DEBUG=1 prints it
            outputs["GITMV_DEBUG=1 " + " ".join(args)] = run_all(repo, *args, env=debug)
    for command, text in outputs.items():
        assert not leaks(text), f"`gitmv {command}` printed a secret:\n{text}"
    assert "***" in outputs["remote list"]  # shown as redacted, not dropped silently
    for failing in ("push --remote dead", "push --remote live", "pull --remote dead"):
        assert "error:" in outputs[failing]  # the failures really ran
    assert "does not exist" in outputs["push --remote live"]  # an answer from the server
    assert "pushed 1 object" in outputs["push --remote moto"]  # AWS spellings are understood

    project = repo / ".gitmv" / "config.yaml"
    assert not leaks(project.read_text())
    history = git(repo, "log", "--all", "-p") + git(repo, "diff", "--cached")
    assert not leaks(history)
    local = repo / ".git" / "gitmv" / "config.yaml"
    assert leaks(local.read_text()) == list(SECRETS)  # where they belong...
    assert stat.S_IMODE(os.stat(local).st_mode) == 0o600  # ...readable by their owner only
    for path in (repo / ".git" / "gitmv").rglob("*"):  # no log, cache or state holds them
        if path.is_file() and path != local:
            assert not leaks(path.read_bytes().decode("latin-1")), path
    tracked = subprocess.run(
        ["git", "grep", "-I", "-e", SECRET, "-e", PASSWORD, "-e", KEY_ID],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    assert tracked.stdout == ""
