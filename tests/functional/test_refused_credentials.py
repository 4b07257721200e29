"""A remote that refuses our credentials, on a moto server that checks them (403
InvalidAccessKeyId for a key it never issued): `gitmv rm` keeps the bytes it can no longer
prove are stored elsewhere, and `gitmv doctor` names the problem with a fix that works."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import assert_clean_error, git, gitmv, snapshot
from tests.servers import CheckingS3, Server


def _add_s3_remote(repo: Path, server: CheckingS3) -> None:
    url = f"s3://{server.bucket}/{repo.parent.name}"
    gitmv(repo, "remote", "add", "s3", url, "--option", f"endpoint_url={server.endpoint}")


def _use_issued_keys(repo: Path, server: CheckingS3) -> None:
    gitmv(repo, "config", "--local", "remote.s3.key", server.key)
    gitmv(repo, "config", "--local", "remote.s3.secret", server.secret)


def _empty_cache(repo: Path) -> None:
    for path in (repo / ".git/gitmv/cache").rglob("*"):
        if path.is_file():
            path.chmod(0o644)
            path.unlink()


def test_rm_keeps_the_bytes_when_the_remote_refuses_the_credentials(
    repo: Path, moto_auth_server: CheckingS3
) -> None:
    (repo / "model.pt").write_bytes(b"weights v1")
    gitmv(repo, "add", "model.pt")
    _add_s3_remote(repo, moto_auth_server)
    _use_issued_keys(repo, moto_auth_server)
    gitmv(repo, "push")
    git(repo, "commit", "-qm", "model")
    _empty_cache(repo)  # only the remote vouches for the bytes now
    gitmv(repo, "config", "--local", "--unset", "remote.s3.key")
    gitmv(repo, "config", "--local", "--unset", "remote.s3.secret")  # `testing` is refused
    before = snapshot(repo)
    staged = git(repo, "status", "--porcelain")

    proc = gitmv(repo, "rm", "model.pt", code=1)
    assert_clean_error(proc)
    error, hint = proc.stderr.splitlines()
    assert error.startswith("error: model.pt: not deleted: its bytes are not in the cache")
    assert "the bucket refused access: PermissionError: Forbidden" in error
    assert hint == (
        "hint: check the credentials: environment, profile, or "
        "`gitmv config --local remote.s3.key ...` (and .secret); or keep the file with --keep"
    )
    assert snapshot(repo) == before and git(repo, "status", "--porcelain") == staged
    assert (repo / "model.pt").read_bytes() == b"weights v1"

    # the way out the hint names: the issued keys, and the remote vouches for the bytes
    _use_issued_keys(repo, moto_auth_server)
    assert "untracked: model.pt (deleted)" in gitmv(repo, "rm", "model.pt").stdout
    assert not (repo / "model.pt").exists()


def test_rm_keep_needs_no_remote_even_when_it_refuses(
    repo: Path, moto_auth_server: CheckingS3
) -> None:
    (repo / "model.pt").write_bytes(b"weights")
    gitmv(repo, "add", "model.pt")
    _add_s3_remote(repo, moto_auth_server)
    _empty_cache(repo)
    assert "untracked: model.pt" in gitmv(repo, "rm", "--keep", "model.pt").stdout
    assert (repo / "model.pt").read_bytes() == b"weights"


def test_doctor_reports_refused_credentials_with_a_fix_that_works(
    repo: Path, moto_auth_server: CheckingS3
) -> None:
    gitmv(repo, "install")
    _add_s3_remote(repo, moto_auth_server)

    report = json.loads(gitmv(repo, "doctor", "--json", code=1).stdout)
    problems = [f for f in report["findings"] if not f["ok"]]
    assert [f["check"] for f in problems] == ["remote:s3"]
    (finding,) = problems
    assert "the bucket refused access: PermissionError: Forbidden" in finding["detail"]
    assert finding["data"] == {"reachable": True, "auth": "refused"}
    fix = "`gitmv config --local remote.s3.key ...` (and .secret)"
    assert finding["fix"] == f"check the credentials: environment, profile, or {fix}"
    proc = gitmv(repo, "doctor", code=1)
    assert "problem  remote:s3: remote 's3' (s3://" in proc.stdout
    assert f"fix: check the credentials: environment, profile, or {fix}" in proc.stdout
    assert proc.stderr == "error: doctor found 1 problem\n"

    _use_issued_keys(repo, moto_auth_server)  # the fix, as doctor spelled it
    report = json.loads(gitmv(repo, "doctor", "--json").stdout)
    (s3,) = [f for f in report["findings"] if f["check"] == "remote:s3"]
    assert s3["ok"] is True and "credentials accepted" in s3["detail"]


def test_a_profile_no_file_defines_is_a_clean_error_not_an_internal_one(
    repo: Path, moto_server: Server
) -> None:
    # botocore raises ProfileNotFound while the file system is built, before any request
    url = f"s3://{moto_server.new_bucket_name()}/x"
    options = ["--option", f"endpoint_url={moto_server.endpoint}", "--option", "profile=nope"]
    gitmv(repo, "remote", "add", "s3x", url, "--local", *options)
    proc = gitmv(repo, "verify", "--remote", "s3x", code=1)
    assert_clean_error(proc)
    assert (
        f"error: remote 's3x' ({url}): cannot open the remote: ProfileNotFound: "
        "The config profile (nope) could not be found"
    ) in proc.stderr
    assert "hint: check the remote's URL and options with `gitmv remote list`" in proc.stderr
    report = json.loads(gitmv(repo, "doctor", "--json", code=1).stdout)
    (s3x,) = [f for f in report["findings"] if f["check"] == "remote:s3x"]
    assert s3x["ok"] is False and "ProfileNotFound" in s3x["detail"]
