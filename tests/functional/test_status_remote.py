"""`status --remote [NAME]` and the project config travelling with the repository."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import assert_clean_error, git, gitmv


def states(repo: Path, *args: str) -> dict[str, str]:
    rows = json.loads(gitmv(repo, "status", "--json", *args).stdout)
    return {row["path"]: row["state"] for row in rows}


def test_status_remote_reports_not_pushed_until_push(repo: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    gitmv(repo, "remote", "add", "origin", str(store), "--default")
    (repo / "a.bin").write_bytes(b"a")
    (repo / "d").mkdir()
    (repo / "d/x").write_bytes(b"x")
    gitmv(repo, "add", "a.bin", "d")
    assert states(repo, "--remote") == {"a.bin": "not-pushed", "d": "not-pushed"}
    assert states(repo) == {"a.bin": "clean", "d": "clean"}
    gitmv(repo, "push", "a.bin")
    assert states(repo, "--remote") == {"a.bin": "clean", "d": "not-pushed"}
    assert states(repo, "d", "--remote", "origin") == {"d": "not-pushed"}
    gitmv(repo, "push")
    assert states(repo, "--remote") == {"a.bin": "clean", "d": "clean"}
    assert "not-pushed" not in gitmv(repo, "status", "--remote").stdout


def test_status_remote_names_an_unknown_remote(repo: Path) -> None:
    (repo / "a.bin").write_bytes(b"a")
    gitmv(repo, "add", "a.bin")
    proc = gitmv(repo, "status", "--remote", "nope", code=None)
    assert_clean_error(proc)
    assert "nope" in proc.stderr


def test_remote_add_stages_the_project_config(repo: Path, tmp_path: Path) -> None:
    git(repo, "commit", "-qm", "init")
    gitmv(repo, "remote", "add", "origin", str(tmp_path / "store"))
    assert git(repo, "diff", "--cached", "--name-only").split() == [".gitmv/config.yaml"]
    assert "origin" in (repo / ".gitmv/config.yaml").read_text()


def test_remote_default_and_remove_stage_the_project_config(repo: Path, tmp_path: Path) -> None:
    """The config layer never calls git: the verbs that write the project config stage it."""
    gitmv(repo, "remote", "add", "origin", str(tmp_path / "a"))
    gitmv(repo, "remote", "add", "backup", str(tmp_path / "b"))
    git(repo, "commit", "-qm", "remotes")
    gitmv(repo, "remote", "default", "backup")
    assert git(repo, "diff", "--cached", "--name-only").split() == [".gitmv/config.yaml"]
    git(repo, "commit", "-qm", "default")
    gitmv(repo, "remote", "remove", "origin")
    assert git(repo, "diff", "--cached", "--name-only").split() == [".gitmv/config.yaml"]
    assert git(repo, "diff", "--name-only").split() == []  # nothing left unstaged
    gitmv(repo, "remote", "add", "mine", str(tmp_path / "c"), "--local")
    assert "mine" not in git(repo, "diff", "--cached")  # the local config is outside git


def test_init_with_remote_stages_config_with_the_remote(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q")
    gitmv(repo, "init", "--no-hooks", "--remote", str(tmp_path / "store"))
    assert git(repo, "status", "--porcelain").splitlines() == [
        "A  .gitattributes",
        "A  .gitmv/config.yaml",
    ]


def test_azure_and_other_secrets_never_reach_the_project_config(repo: Path) -> None:
    config = (repo / ".gitmv/config.yaml").read_text()
    for option in (
        "account_key=c2VjcmV0",
        "connection_string=DefaultEndpointsProtocol=https;AccountKey=c2VjcmV0",
        "sas_token=sv=2020&sig=c2VjcmV0",
        "client_key=c2VjcmV0",
    ):
        proc = gitmv(repo, "remote", "add", "az", "memory://models", "--option", option, code=None)
        assert_clean_error(proc)
        assert "c2VjcmV0" not in proc.stderr
        assert (repo / ".gitmv/config.yaml").read_text() == config
    gitmv(
        repo,
        "remote",
        "add",
        "az",
        "memory://models",
        "--local",
        "--option",
        "account_key=c2VjcmV0",
    )
    listing = gitmv(repo, "remote", "list").stdout + gitmv(repo, "remote", "list", "--json").stdout
    assert "c2VjcmV0" not in listing


def test_a_relative_folder_remote_is_relative_to_where_it_was_typed(repo: Path) -> None:
    sub = repo / "models"
    sub.mkdir()
    gitmv(sub, "remote", "add", "store", "../../store")
    assert "url: ../store" in (repo / ".gitmv/config.yaml").read_text()
    (sub / "m.bin").write_bytes(b"m")
    gitmv(sub, "add", "m.bin")
    gitmv(sub, "push")
    assert (repo.parent / "store").is_dir()
