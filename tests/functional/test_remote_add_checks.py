"""`gitmv remote add` checks the URL and every option before it writes a byte: a URL gitmv
could not use, or whose folder lies inside the repository, and an option of the wrong type
are each one `error:` naming what is wrong, with nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import assert_clean_error, git, gitmv, snapshot


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("bad remote", "inside the work tree"),
        ("store", "inside the work tree"),
        (".", "inside the work tree"),
        (".git/store", "inside the .git folder"),
        ("file://{repo}/sub/store", "inside the work tree"),
        ("/tmp/x\nstore", "control character"),
        ("/tmp/x\x1b[2Jstore", "control character"),
        (" /tmp/store", "spaces at the start or end"),
        ("s3://my bucket/p", "a space in its protocol, host or bucket"),
        ("s4://bucket/p", "unknown storage protocol 's4'"),
        ("sftp://host/p", "not installed"),
        ("", "empty"),
    ],
)
def test_a_bad_url_is_refused_and_nothing_is_written(repo: Path, url: str, said: str) -> None:
    (repo / "sub").mkdir()
    url = url.replace("{repo}", str(repo))
    before = snapshot(repo)
    proc = gitmv(repo, "remote", "add", "r", url, code=None)
    assert_clean_error(proc)
    assert said in proc.stderr, proc.stderr
    assert snapshot(repo) == before
    assert "r" not in gitmv(repo, "remote", "list").stdout.split()


def test_the_folder_check_resolves_from_where_the_user_stands(repo: Path) -> None:
    (repo / "sub").mkdir()
    proc = gitmv(repo / "sub", "remote", "add", "r", "../store", code=None)
    assert_clean_error(proc)
    assert f"{repo / 'store'} lies inside the work tree" in proc.stderr
    gitmv(repo / "sub", "remote", "add", "r", "../../store")  # beside the repository: fine
    assert "r  ../store" in gitmv(repo, "remote", "list").stdout


def test_a_bad_url_never_becomes_a_folder_in_the_work_tree(repo: Path) -> None:
    (repo / "model.bin").write_bytes(b"w" * 100)
    gitmv(repo, "add", "model.bin")
    git(repo, "commit", "-qm", "v1")
    gitmv(repo, "remote", "add", "r", "bad remote", code=1)
    proc = gitmv(repo, "push", code=1)  # no remote was written: nothing to push to
    assert "no default remote" in proc.stderr
    assert not (repo / "bad remote").exists()


@pytest.mark.parametrize(
    ("option", "said"),
    [
        ("read_timeout=nan", "remote option read_timeout: expected a finite number"),
        ("read_timeout=inf", "got 'inf'"),
        ("connect_timeout=-1", "remote option connect_timeout: expected a finite number"),
        ("retry_timeout=0", "above 0, got 0"),
        ("jobs=0", "remote option jobs: expected a positive integer, got 0"),
        ("jobs=two", "got 'two'"),
        ("retries=-1", "remote option retries: expected an integer, 0 or more, got '-1'"),
        ("retry_delay=nan", "remote option retry_delay"),
        ("anon=maybe", "remote option anon: expected true or false, got 'maybe'"),
        ("use_ssl=1", "remote option use_ssl: expected true or false"),
        ("region=eu\nwest", "control character"),
        ("=x", "malformed option"),
        ("url=s3://other", "not an option"),
    ],
)
def test_an_option_of_the_wrong_type_is_refused_by_name(repo: Path, option: str, said: str) -> None:
    before = snapshot(repo)
    proc = gitmv(repo, "remote", "add", "r", "s3://bucket/p", "--option", option, code=None)
    assert_clean_error(proc)
    assert said in proc.stderr, proc.stderr
    assert snapshot(repo) == before


def test_a_hand_edited_bad_option_fails_at_use_naming_the_option(repo: Path) -> None:
    (repo / "model.bin").write_bytes(b"w" * 100)
    gitmv(repo, "add", "model.bin")
    gitmv(repo, "remote", "add", "r", "s3://bucket/p")
    config = repo / ".gitmv" / "config.yaml"
    config.write_text(config.read_text() + "    read_timeout: .nan\n")
    proc = gitmv(repo, "push", code=None)
    assert_clean_error(proc)
    assert "remote option read_timeout: expected a finite number" in proc.stderr


def test_good_values_are_stored_typed(repo: Path) -> None:
    args = ["--option", "read_timeout=2.5", "--option", "anon=true", "--option", "jobs=3"]
    gitmv(repo, "remote", "add", "r", "s3://bucket/p", *args)
    text = (repo / ".gitmv" / "config.yaml").read_text()
    assert "read_timeout: 2.5" in text and "anon: true" in text and "jobs: 3" in text
