"""config / rm / mv / doctor on real git repositories, real folder remotes and moto S3."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.functional.test_hook_managers import LEFTHOOK_PRE_PUSH
from tests.helpers import assert_clean_error, git, gitmv, snapshot
from tests.servers import Server, closed_port

# -- config ------------------------------------------------------------------------------------


def test_config_writes_project_by_default_keeps_comments_and_stages(repo: Path) -> None:
    config = repo / ".gitmv/config.yaml"
    config.write_text("# our team's settings\ncore:\n  hash: xxh128  # fast\n")
    gitmv(repo, "config", "chunking.min_size", "16MiB")
    text = config.read_text()
    assert "# our team's settings" in text and "# fast" in text
    assert "min_size: 16777216" in text
    assert ".gitmv/config.yaml" in git(repo, "diff", "--cached", "--name-only")
    assert gitmv(repo, "config", "chunking.min_size").stdout == "16777216\n"
    assert gitmv(repo, "config", "checkout.autopull").stdout == "true\n"  # the default


def test_config_scopes_and_list_show_where_each_value_comes_from(repo: Path) -> None:
    gitmv(repo, "config", "--global", "core.jobs", "3")
    gitmv(repo, "config", "--local", "core.fsync", "off")
    user = Path(os.environ["XDG_CONFIG_HOME"]) / "gitmv/config.yaml"
    try:
        assert "jobs: 3" in user.read_text()
        assert "fsync: false" in (repo / ".git/gitmv/config.yaml").read_text()
        assert "fsync" not in (repo / ".gitmv/config.yaml").read_text()
        listing = json.loads(gitmv(repo, "config", "--list", "--json").stdout)
        rows = {row["key"]: row for row in listing["settings"]}
        assert rows["core.jobs"]["value"] == 3 and rows["core.jobs"]["source"] == "user"
        assert rows["core.fsync"]["value"] is False and rows["core.fsync"]["source"] == "local"
        assert rows["core.hash"]["source"] == "project"
        assert rows["cache.link"] == {
            "key": "cache.link",
            "value": ["reflink", "copy"],
            "source": "default",
            "known": True,
        }
        text = gitmv(repo, "config", "--list").stdout
        assert "core.fsync=false  [local]" in text
        gitmv(repo, "config", "--local", "--unset", "core.fsync")
        assert "core" not in (repo / ".git/gitmv/config.yaml").read_text()
    finally:
        user.unlink()


def test_config_refuses_unknown_keys_bad_values_and_changes_nothing(repo: Path) -> None:
    before = snapshot(repo)
    cases = [
        (("core.hsah", "sha256"), "unknown config key 'core.hsah'", "did you mean 'core.hash'"),
        (("core.hash", "md5"), "core.hash must be xxh128 or sha256", "gitmv config --list"),
        (("core.fsync", "maybe"), "core.fsync must be true or false", None),
        (("chunking.avg_size", "16MiB"), "chunking.avg_size 16777216 is out of range", "4 MiB"),
        (("gc.remote_grace", "soon"), "gc.remote_grace is 'soon'", "14.days"),
        (("cache.link", "reflink,teleport"), "cache.link must be a comma-separated", None),
        (("core.remote", "nowhere"), "no remote named 'nowhere'", "gitmv remote add"),
    ]
    for args, message, hint in cases:
        proc = gitmv(repo, "config", *args, code=1)
        assert_clean_error(proc)
        assert message in proc.stderr, proc.stderr
        if hint:
            assert hint in proc.stderr, proc.stderr
    usage = gitmv(repo, "config", "--local", "--global", "core.hash", "sha256", code=2)
    assert "error:" in usage.stderr
    assert snapshot(repo) == before


def test_config_never_writes_a_credential_to_the_project_config(repo: Path, tmp_path: Path) -> None:
    gitmv(repo, "remote", "add", "origin", str(tmp_path / "store"))
    before = (repo / ".gitmv/config.yaml").read_bytes()
    for key, value in [
        ("remote.origin.secret_access_key", "AKIASECRET"),
        ("remote.origin.url", "s3://alice:hunter22@bucket/x"),
    ]:
        proc = gitmv(repo, "config", key, value, code=1)
        assert_clean_error(proc)
        assert "committed project config" in proc.stderr and "--local" in proc.stderr
    assert (repo / ".gitmv/config.yaml").read_bytes() == before
    gitmv(repo, "config", "--local", "remote.origin.secret_access_key", "AKIASECRET")
    assert "AKIASECRET" in (repo / ".git/gitmv/config.yaml").read_text()
    shown = gitmv(repo, "config", "remote.origin.secret_access_key").stdout
    assert shown == "***\n"
    assert "AKIASECRET" not in gitmv(repo, "config", "--list").stdout


def test_config_takes_a_remote_url_as_remote_add_does(repo: Path, tmp_path: Path) -> None:
    gitmv(repo, "remote", "add", "origin", str(tmp_path / "store"))
    (repo / "sub").mkdir()
    gitmv(repo / "sub", "config", "remote.origin.url", "../../store2")
    assert "url: ../store2" in (repo / ".gitmv/config.yaml").read_text()  # from the root
    proc = gitmv(repo, "config", "remote.origin.url", "sub/inside", code=1)
    assert_clean_error(proc)
    assert "lies inside the work tree" in proc.stderr
    proc = gitmv(repo, "config", "remote.nobody.jobs", "4", code=1)
    assert "no remote named 'nobody'" in proc.stderr
    # a remote known only to this clone never becomes everyone's default
    gitmv(repo, "remote", "add", "mine", str(tmp_path / "mine"), "--local")
    proc = gitmv(repo, "config", "core.remote", "mine", code=1)
    assert_clean_error(proc)
    assert "cannot be everyone's default" in proc.stderr and "--local" in proc.stderr
    gitmv(repo, "config", "--local", "core.remote", "mine")
    shown = json.loads(gitmv(repo, "config", "core.remote", "--json").stdout)
    assert shown == {"key": "core.remote", "value": "mine", "source": "local"}


def test_config_can_fix_a_bad_value_that_stops_other_commands(repo: Path) -> None:
    (repo / ".gitmv/config.yaml").write_text("core:\n  fsync: sometimes\n")
    assert "core.fsync must be true or false" in gitmv(repo, "status", code=1).stderr
    gitmv(repo, "config", "core.fsync", "true")
    gitmv(repo, "status")


# -- rm ----------------------------------------------------------------------------------------


def test_rm_untracks_deletes_the_file_and_keeps_the_cached_object(repo: Path) -> None:
    (repo / ".gitignore").write_text("*.log\n")
    (repo / "model.pt").write_bytes(b"weights")
    (repo / "other.pt").write_bytes(b"other")
    gitmv(repo, "add", "model.pt", "other.pt")
    git(repo, "commit", "-qm", "models")
    out = gitmv(repo, "rm", "model.pt").stdout
    assert "untracked: model.pt (deleted)" in out
    assert not (repo / "model.pt").exists() and not (repo / "model.pt.gmv").exists()
    assert (repo / ".gitignore").read_text() == "*.log\n/other.pt\n"
    staged = git(repo, "status", "--porcelain").splitlines()
    assert "D  model.pt.gmv" in staged and "M  .gitignore" in staged
    cached = repo / ".git/gitmv/cache/xxh128"
    assert any(p.read_bytes() == b"weights" for p in cached.rglob("*") if p.is_file())


def test_rm_keep_leaves_the_bytes_and_a_folder_artifact_works(repo: Path) -> None:
    (repo / "data/sub").mkdir(parents=True)
    (repo / "data/sub/a.bin").write_bytes(b"a")
    gitmv(repo, "add", "data")
    gitmv(repo, "rm", "--keep", "data.gmv")
    assert (repo / "data/sub/a.bin").read_bytes() == b"a"
    assert not (repo / "data.gmv").exists() and not (repo / ".gitignore").exists()
    staged = git(repo, "status", "--porcelain", "--untracked-files=no")
    assert "data.gmv" not in staged and ".gitignore" not in staged and ".gitmv/config" in staged
    (repo / "more").mkdir()
    (repo / "more/b.bin").write_bytes(b"b")
    gitmv(repo, "add", "more")
    out = gitmv(repo, "rm", "more", "--json").stdout
    assert json.loads(out) == {"untracked": ["more"], "deleted": ["more"]}
    assert not (repo / "more").exists()


def test_rm_refuses_to_delete_bytes_that_exist_nowhere_else(repo: Path, tmp_path: Path) -> None:
    (repo / "m.bin").write_bytes(b"v1")
    gitmv(repo, "add", "m.bin")
    (repo / "m.bin").write_bytes(b"v2, not added")
    before = snapshot(repo)
    proc = gitmv(repo, "rm", "m.bin", code=1)
    assert_clean_error(proc)
    assert "m.bin is modified" in proc.stderr and "--keep" in proc.stderr
    assert snapshot(repo) == before
    # clean, but its object gone from the cache and no remote holds it
    (repo / "m.bin").write_bytes(b"v1")
    for path in (repo / ".git/gitmv/cache").rglob("*"):
        if path.is_file():
            path.chmod(0o644)
            path.unlink()
    proc = gitmv(repo, "rm", "m.bin", code=1)
    assert_clean_error(proc)
    assert "neither in the cache nor on the default remote" in proc.stderr
    assert (repo / "m.bin").read_bytes() == b"v1" and (repo / "m.bin.gmv").exists()
    # once a remote holds it, the work-tree copy may go
    gitmv(repo, "add", "m.bin")
    gitmv(repo, "remote", "add", "origin", str(tmp_path / "store"))
    gitmv(repo, "push", "m.bin")
    for path in (repo / ".git/gitmv/cache").rglob("*"):
        if path.is_file():
            path.chmod(0o644)
            path.unlink()
    gitmv(repo, "rm", "m.bin")
    assert not (repo / "m.bin").exists()
    proc = gitmv(repo, "rm", "nothing.bin", code=1)
    assert_clean_error(proc)
    assert "not a tracked artifact" in proc.stderr


# -- mv ----------------------------------------------------------------------------------------


def test_mv_moves_bytes_pointer_and_gitignore_line_as_a_staged_rename(repo: Path) -> None:
    (repo / "model.pt").write_bytes(b"weights")
    gitmv(repo, "add", "model.pt")
    git(repo, "commit", "-qm", "model")
    (repo / "models").mkdir()
    gitmv(repo, "mv", "model.pt", "models")
    assert (repo / "models/model.pt").read_bytes() == b"weights"
    assert (repo / "models/model.pt.gmv").is_file() and not (repo / "model.pt.gmv").exists()
    assert (repo / "models/.gitignore").read_text() == "/model.pt\n"
    assert not (repo / ".gitignore").exists()
    staged = git(repo, "status", "--porcelain").splitlines()
    assert "R  model.pt.gmv -> models/model.pt.gmv" in staged
    states = json.loads(gitmv(repo, "status", "--json").stdout)
    assert [(s["path"], s["state"]) for s in states] == [("models/model.pt", "clean")]
    out = gitmv(repo / "models", "mv", "model.pt", "final.pt", "--json").stdout  # in place
    assert json.loads(out) == {"src": "model.pt", "dst": "final.pt", "pinned_name": None}
    assert (repo / "models/.gitignore").read_text() == "/final.pt\n"


def test_mv_carries_the_stat_cache_so_status_need_not_hash_again(repo: Path) -> None:
    (repo / "big.bin").write_bytes(b"x" * 100_000)
    (repo / "data").mkdir()
    (repo / "data/a").write_bytes(b"a")
    for path in (repo / "big.bin", repo / "data/a"):
        os.utime(path, (1_600_000_000, 1_600_000_000))  # older than the racy window
    gitmv(repo, "add", "big.bin", "data")
    gitmv(repo, "mv", "big.bin", "moved/big.bin")
    gitmv(repo, "mv", "data", "moved/")
    db = sqlite3.connect(repo / ".git/gitmv/state.sqlite")
    rows = dict(db.execute("SELECT path, oid FROM stat").fetchall())
    db.close()
    assert rows[str(repo / "moved/big.bin")] == rows[str(repo / "big.bin")]
    assert rows[str(repo / "moved/data/a")] == rows[str(repo / "data/a")]


def test_mv_refuses_to_overwrite_and_changes_nothing(repo: Path) -> None:
    (repo / "a.bin").write_bytes(b"a")
    (repo / "b.bin").write_bytes(b"b")
    (repo / "data").mkdir()
    (repo / "data/x").write_bytes(b"x")
    gitmv(repo, "add", "a.bin", "b.bin", "data")
    (repo / "plain.txt").write_text("mine")
    before = snapshot(repo)
    for dst, message in [
        ("b.bin", "b.bin already exists"),
        ("plain.txt", "plain.txt already exists"),
        ("data/a.bin", "inside the artifact data"),
        ("../outside.bin", "outside the repository"),
    ]:
        proc = gitmv(repo, "mv", "a.bin", dst, code=1)
        assert_clean_error(proc)
        assert message in proc.stderr, proc.stderr
    assert snapshot(repo) == before


def test_mv_keeps_the_registry_name_of_a_registered_artifact(repo: Path) -> None:
    (repo / "churn").write_bytes(b"model")
    gitmv(repo, "add", "churn")
    git(repo, "commit", "-qm", "churn")
    git(repo, "tag", "-a", "churn@v1.0.0", "-m", "Registration")
    (repo / "models").mkdir()
    out = gitmv(repo, "mv", "churn", "models/churn.pkl").stdout
    assert "meta.name: churn" in out
    assert "meta:\n  name: churn\n" in (repo / "models/churn.pkl.gmv").read_text()
    (repo / "free").write_bytes(b"unregistered")
    gitmv(repo, "add", "free")
    gitmv(repo, "mv", "free", "models/free")
    assert "meta" not in (repo / "models/free.gmv").read_text()


# -- doctor ------------------------------------------------------------------------------------


def doctor(repo: Path, code: int) -> dict[str, list[dict[str, object]]]:
    report = json.loads(gitmv(repo, "doctor", "--json", code=code).stdout)
    by_check: dict[str, list[dict[str, object]]] = {}
    for finding in report["findings"]:
        by_check.setdefault(str(finding["check"]), []).append(finding)
    assert report["ok"] is (code == 0)
    return by_check


def test_doctor_all_well_with_hooks_and_a_healthy_s3_remote(
    repo: Path, tmp_path: Path, moto_server: Server, s3_bucket: str
) -> None:
    gitmv(repo, "install")
    url = f"s3://{s3_bucket}/store"
    gitmv(repo, "remote", "add", "s3", url, "--option", f"endpoint_url={moto_server.endpoint}")
    gitmv(repo, "remote", "add", "later", str(tmp_path / "not-pushed-yet"))
    found = doctor(repo, 0)
    assert all(f["ok"] for group in found.values() for f in group)
    assert "not created yet" in str(found["remote:later"][0]["detail"])
    (s3,) = found["remote:s3"]
    assert "reachable in" in str(s3["detail"]) and "credentials accepted" in str(s3["detail"])
    assert isinstance(s3["data"], dict) and s3["data"]["latency_ms"] >= 0
    assert found["git"][0]["data"]["version"]  # type: ignore[index]
    text = gitmv(repo, "doctor").stdout
    assert "ok       hooks:" in text and "ok       cache:" in text


def test_doctor_names_each_problem_with_its_fix(repo: Path) -> None:
    gitmv(repo, "install")
    pre_push = repo / ".git/hooks/pre-push"
    pre_push.chmod(0o644)  # git skips a hook that is not executable
    (repo / ".gitmv/config.yaml").write_text(
        "core:\n  hash: md5\n  colour: blue\n"
        f"remote:\n  gone:\n    url: s3://bucket/x\n    endpoint_url: http://127.0.0.1:{closed_port()}\n"
    )
    found = doctor(repo, 1)
    (hook,) = found["hooks"]
    assert "pre-push" in str(hook["detail"]) and "not executable" in str(hook["detail"])
    assert hook["fix"] == f"chmod +x {pre_push}"
    details = {str(f["detail"]).split(": ", 1)[1]: f["fix"] for f in found["config"]}
    assert details["core.hash must be xxh128 or sha256, not 'md5'"] == (
        "gitmv config core.hash VALUE (or --unset core.hash)"
    )
    assert details["unknown key 'core.colour'"] == "gitmv config --unset core.colour"
    (gone,) = found["remote:gone"]
    assert gone["ok"] is False and "gone" in str(gone["detail"])
    proc = gitmv(repo, "doctor", code=1)
    assert "problem  hooks: pre-push" in proc.stdout and "fix: chmod +x" in proc.stdout
    assert proc.stderr.startswith("error: doctor found 4 problems")


def test_doctor_finds_pre_commit_beside_gitmvs_hooks(repo: Path, tmp_path: Path) -> None:
    assert doctor(repo, 1)["hooks"][0]["fix"] == "gitmv install"  # init --no-hooks
    gitmv(repo, "install")
    assert doctor(repo, 0)["hook-managers"][0]["detail"].startswith("none found")  # type: ignore[union-attr]
    (repo / ".pre-commit-config.yaml").write_text('{"repos": []}\n')
    proc = subprocess.run(
        [sys.executable, "-m", "pre_commit", "install", "-t", "pre-push"],
        cwd=repo,
        capture_output=True,
        text=True,
        env={**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")},
    )
    assert proc.returncode == 0, proc.stderr
    assert (repo / ".git/hooks/pre-push.legacy").is_file()  # pre-commit moved ours aside
    found = doctor(repo, 0)  # and runs it: still installed
    assert "found pre-commit" in str(found["hook-managers"][0]["detail"])


def test_doctor_sees_a_hook_lefthook_moved_aside_and_install_repairs_it(repo: Path) -> None:
    gitmv(repo, "install")
    folder = repo / ".git/hooks"
    os.replace(folder / "pre-push", folder / "pre-push.old")  # what `lefthook install` does
    (folder / "pre-push").write_text(LEFTHOOK_PRE_PUSH)
    (folder / "pre-push").chmod(0o755)
    (hook,) = doctor(repo, 1)["hooks"]
    assert "lefthook moved it to pre-push.old, where it does not run" in str(hook["detail"])
    assert hook["fix"] == "gitmv install"
    gitmv(repo, "install")
    found = doctor(repo, 0)
    assert "found lefthook" in str(found["hook-managers"][0]["detail"])


def test_api_rm_and_mv_run_the_same_verbs(repo: Path) -> None:
    from gitmv import api
    from gitmv.errors import GitmvError

    (repo / "a.bin").write_bytes(b"a")
    (repo / "b.bin").write_bytes(b"b")
    gitmv(repo, "add", "a.bin", "b.bin")
    moved = api.mv("a.bin", "models/a.bin", repo=repo)
    assert (moved.src, moved.dst, moved.pinned_name) == ("a.bin", "models/a.bin", None)
    assert (repo / "models/a.bin.gmv").is_file()
    removed = api.rm(["b.bin"], repo=repo, keep=True)
    assert (removed.untracked, removed.deleted) == (("b.bin",), ())
    assert (repo / "b.bin").read_bytes() == b"b" and not (repo / "b.bin.gmv").exists()
    with pytest.raises(GitmvError, match="not a tracked artifact"):
        api.rm(["b.bin"], repo=repo)
