"""add / status / checkout / ls / diff on real git repositories, as a user runs them."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.helpers import assert_clean_error, git, gitmv, snapshot


def states(repo: Path, *paths: str) -> dict[str, str]:
    out = gitmv(repo, "status", "--json", *paths).stdout
    return {row["path"]: row["state"] for row in json.loads(out)}


def make_folder(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def test_add_file_writes_pointer_gitignore_and_stages_both(repo: Path) -> None:
    (repo / "model.pt").write_bytes(b"hello world")
    gitmv(repo, "add", "model.pt")
    assert (repo / "model.pt.gmv").read_text() == (
        "gitmv: 1\noid: xxh128:df8d09e93f874900a99b8775cc15b6c7\nsize: 11\nkind: file\n"
    )
    assert "/model.pt\n" in (repo / ".gitignore").read_text()
    staged = git(repo, "diff", "--cached", "--name-only").split()
    assert {"model.pt.gmv", ".gitignore", ".gitmv/config.yaml"} <= set(staged)
    assert "model.pt" not in staged
    cache_file = repo / ".git/gitmv/cache/xxh128/df/8d09e93f874900a99b8775cc15b6c7"
    assert cache_file.read_bytes() == b"hello world"
    assert not os.access(cache_file, os.W_OK) or os.geteuid() == 0
    assert cache_file.stat().st_mode & 0o222 == 0


def test_add_folder_writes_manifest_object_with_exec_bits(repo: Path) -> None:
    make_folder(repo / "data", {"a.txt": b"hello world", "b/c.bin": b"c"})
    os.chmod(repo / "data/a.txt", 0o755)
    gitmv(repo, "add", "data")
    text = (repo / "data.gmv").read_text()
    assert "oid: xxh128:8a4bc5896b2c90cc3da745f8b9e78b91\n" in text
    assert "size: 12\nkind: dir\nfiles: 2\n" in text
    assert states(repo) == {"data": "clean"}


def test_adding_unchanged_changes_nothing_and_a_change_makes_a_new_version(repo: Path) -> None:
    (repo / "m.bin").write_bytes(b"v1")
    gitmv(repo, "add", "m.bin")
    git(repo, "commit", "-qm", "v1")
    before = snapshot(repo)
    out = gitmv(repo, "add", "m.bin").stdout
    assert "unchanged" in out
    assert snapshot(repo) == before
    (repo / "m.bin").write_bytes(b"v2")
    assert states(repo) == {"m.bin": "modified"}
    gitmv(repo, "add", "m.bin")
    assert states(repo) == {"m.bin": "clean"}
    assert git(repo, "diff", "--cached", "--name-only").split() == ["m.bin.gmv"]


def test_git_checkout_of_an_old_commit_then_gitmv_checkout_restores_its_bytes(repo: Path) -> None:
    (repo / "model.pt").write_bytes(b"model v1")
    make_folder(repo / "data", {"keep.txt": b"same", "change.txt": b"one", "gone.txt": b"bye"})
    gitmv(repo, "add", "model.pt", "data")
    git(repo, "commit", "-qm", "v1")
    git(repo, "tag", "v1")
    (repo / "model.pt").write_bytes(b"model v2, longer")
    (repo / "data/change.txt").write_bytes(b"two")
    (repo / "data/gone.txt").unlink()
    make_folder(repo / "data", {"new/added.txt": b"hi"})
    gitmv(repo, "add", "model.pt", "data")
    git(repo, "commit", "-qm", "v2")
    v2 = {k: v for k, v in snapshot(repo / "data").items()}

    git(repo, "checkout", "-q", "v1")
    assert states(repo) == {"data": "modified", "model.pt": "modified"}
    gitmv(repo, "checkout")
    assert (repo / "model.pt").read_bytes() == b"model v1"
    assert snapshot(repo / "data") == {
        "keep.txt": b"same",
        "change.txt": b"one",
        "gone.txt": b"bye",
    }
    assert not (repo / "data/new").exists()
    assert states(repo) == {"data": "clean", "model.pt": "clean"}

    git(repo, "checkout", "-q", "main")
    gitmv(repo, "checkout")
    assert snapshot(repo / "data") == v2


def test_checkout_never_overwrites_a_modified_artifact_without_force(repo: Path) -> None:
    (repo / "m.bin").write_bytes(b"v1")
    gitmv(repo, "add", "m.bin")
    (repo / "m.bin").write_bytes(b"precious unsaved work")
    proc = gitmv(repo, "checkout", code=1)
    assert "modified" in proc.stderr and "--force" in proc.stderr
    assert (repo / "m.bin").read_bytes() == b"precious unsaved work"
    gitmv(repo, "checkout", "--force")
    assert (repo / "m.bin").read_bytes() == b"v1"


def test_checkout_keeps_an_untracked_file_inside_a_folder_artifact(repo: Path) -> None:
    make_folder(repo / "data", {"a": b"1"})
    gitmv(repo, "add", "data")
    (repo / "data/mine.txt").write_bytes(b"not backed up anywhere")
    gitmv(repo, "checkout", code=1)
    assert (repo / "data/mine.txt").exists()


def test_status_states_missing_and_not_cached(repo: Path) -> None:
    (repo / "m.bin").write_bytes(b"v1")
    gitmv(repo, "add", "m.bin")
    (repo / "m.bin").unlink()
    assert states(repo) == {"m.bin": "missing"}
    gitmv(repo, "checkout")
    assert (repo / "m.bin").read_bytes() == b"v1"
    cached = repo / ".git/gitmv/cache" / "xxh128"
    for path in cached.rglob("*"):
        if path.is_file():
            path.unlink()
    (repo / "m.bin").unlink()
    assert states(repo) == {"m.bin": "not-cached"}
    assert gitmv(repo, "status").returncode == 0


def test_clean_status_exits_zero_and_says_so(repo: Path) -> None:
    (repo / "m.bin").write_bytes(b"v1")
    gitmv(repo, "add", "m.bin")
    proc = gitmv(repo, "status")
    assert "all clean" in proc.stdout and proc.stderr == ""


def test_works_from_a_subfolder_with_relative_paths(repo: Path) -> None:
    sub = repo / "models" / "churn"
    sub.mkdir(parents=True)
    (sub / "model.pt").write_bytes(b"m")
    gitmv(sub, "add", "model.pt")
    assert (sub / "model.pt.gmv").exists()
    assert "/model.pt" in (sub / ".gitignore").read_text()
    assert states(sub) == {"model.pt": "clean"}
    assert states(repo) == {"models/churn/model.pt": "clean"}
    (sub / "model.pt").unlink()
    gitmv(repo / "models", "checkout", "churn/model.pt")
    assert (sub / "model.pt").read_bytes() == b"m"


def test_a_linked_worktree_shares_the_cache(repo: Path, tmp_path: Path) -> None:
    (repo / "m.bin").write_bytes(b"shared bytes")
    gitmv(repo, "add", "m.bin")
    git(repo, "commit", "-qm", "one")
    wt = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", str(wt), "-b", "other")
    assert states(wt) == {"m.bin": "missing"}
    gitmv(wt, "checkout")
    assert (wt / "m.bin").read_bytes() == b"shared bytes"
    assert not (wt / ".git" / "gitmv").exists()


def test_ls_and_diff_between_commits(repo: Path) -> None:
    (repo / "a.bin").write_bytes(b"a1")
    (repo / "b.bin").write_bytes(b"b1")
    gitmv(repo, "add", "a.bin", "b.bin")
    git(repo, "commit", "-qm", "one")
    (repo / "a.bin").write_bytes(b"a2!")
    (repo / "c.bin").write_bytes(b"c")
    gitmv(repo, "add", "a.bin", "c.bin")
    git(repo, "rm", "-q", "b.bin.gmv")
    git(repo, "commit", "-qm", "two")
    listed = json.loads(gitmv(repo, "ls", "--rev", "HEAD~1", "--json").stdout)
    assert [row["path"] for row in listed] == ["a.bin", "b.bin"]
    changes = json.loads(gitmv(repo, "diff", "HEAD~1", "HEAD", "--json").stdout)
    by_path = {c["path"]: c for c in changes}
    assert by_path["a.bin"]["change"] == "modified"
    assert (by_path["a.bin"]["old_size"], by_path["a.bin"]["new_size"]) == (2, 3)
    assert by_path["b.bin"]["change"] == "removed"
    assert by_path["c.bin"]["change"] == "added" and by_path["c.bin"]["new_oid"].startswith(
        "xxh128:"
    )
    assert json.loads(gitmv(repo, "diff", "--json").stdout) == []


def test_works_in_a_repository_with_no_commits(repo: Path) -> None:
    (repo / "m.bin").write_bytes(b"x")
    gitmv(repo, "add", "m.bin")
    assert states(repo) == {"m.bin": "clean"}
    assert json.loads(gitmv(repo, "diff", "--json").stdout)[0]["change"] == "added"
    assert json.loads(gitmv(repo, "ls", "--json").stdout)[0]["path"] == "m.bin"


def test_meta_block_round_trips_untouched_on_re_add(repo: Path) -> None:
    (repo / "m.bin").write_bytes(b"v1")
    gitmv(repo, "add", "m.bin")
    text = (repo / "m.bin.gmv").read_text()
    text += "meta:\n  name: churn  # the registry name\n  metrics: {acc: 0.9}\n# trailing note\n"
    (repo / "m.bin.gmv").write_text(text)
    (repo / "m.bin").write_bytes(b"v2")
    gitmv(repo, "add", "m.bin")
    out = (repo / "m.bin.gmv").read_text()
    assert "name: churn  # the registry name" in out
    assert "metrics" not in out  # new bytes: v1's metrics do not describe v2 (DESIGN 6)
    assert "# trailing note" in out
    assert "size: 2" in out


def test_the_stat_cache_spares_rehashing_across_runs(repo: Path) -> None:
    make_folder(repo / "data", {f"f{i}": str(i).encode() for i in range(50)})
    gitmv(repo, "add", "data")
    os.utime(repo / "data", None)
    import sqlite3

    db = sqlite3.connect(repo / ".git/gitmv/state.sqlite")
    rows = db.execute("SELECT COUNT(*) FROM stat").fetchone()[0]
    db.close()
    assert rows >= 50  # every file remembered: a later status reads no file


def test_executable_bit_is_recorded_and_restored(repo: Path) -> None:
    (repo / "run.sh").write_bytes(b"#!/bin/sh\n")
    os.chmod(repo / "run.sh", 0o755)
    gitmv(repo, "add", "run.sh")
    assert "exec: true" in (repo / "run.sh.gmv").read_text()
    (repo / "run.sh").unlink()
    gitmv(repo, "checkout")
    assert os.stat(repo / "run.sh").st_mode & 0o111


def test_artifact_already_tracked_by_git_is_moved_out_of_the_index(repo: Path) -> None:
    (repo / "m.bin").write_bytes(b"was in git")
    git(repo, "add", "m.bin")
    gitmv(repo, "add", "m.bin")
    assert git(repo, "ls-files", "m.bin").strip() == ""
    assert git(repo, "ls-files", "m.bin.gmv").strip() == "m.bin.gmv"


# -- bad input: one error line, exit 1, nothing changed ---------------------------------------


def test_not_a_git_repository(tmp_path: Path) -> None:
    assert_clean_error(gitmv(tmp_path, "status", code=None))
    assert_clean_error(gitmv(tmp_path, "add", "x", code=None))


def test_gitmv_not_initialised(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / "m").write_bytes(b"m")
    proc = gitmv(tmp_path, "add", "m", code=None)
    assert_clean_error(proc)
    assert "gitmv init" in proc.stderr
    assert not (tmp_path / "m.gmv").exists()


def test_bad_paths_change_nothing(repo: Path, tmp_path: Path) -> None:
    (repo / "ok.bin").write_bytes(b"ok")
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"secret")
    os.symlink(outside, repo / "link.bin")
    os.symlink(tmp_path, repo / "linkdir")
    before = snapshot(repo)
    for args in (
        ["add", "ok.bin", "../outside.bin"],
        ["add", "ok.bin", "link.bin"],
        ["add", "linkdir/outside.bin"],
        ["add", "ok.bin", "nope.bin"],
        ["add", ".git"],
        ["status", "nope.bin"],
        ["checkout", "--rev", "no-such-rev"],
    ):
        proc = gitmv(repo, *args, code=None)
        assert_clean_error(proc)
        assert snapshot(repo) == before, args


def test_hostile_pointers_are_refused_cleanly(repo: Path) -> None:
    oid = "xxh128:df8d09e93f874900a99b8775cc15b6c7"
    cases = {
        "version.bin.gmv": f"gitmv: 99\noid: {oid}\nsize: 1\nkind: file\n",
        "algo.bin.gmv": f"gitmv: 1\noid: md5:{'0' * 32}\nsize: 1\nkind: file\n",
        "keys.bin.gmv": "gitmv: 1\nkind: file\n",
    }
    for name, text in cases.items():
        (repo / name).write_text(text)
        before = snapshot(repo)
        for command in (["status"], ["checkout"], ["ls"], ["diff"]):
            proc = gitmv(repo, *command, code=None)
            assert_clean_error(proc)
            assert name in proc.stderr
        assert snapshot(repo) == before
        (repo / name).unlink()
    (repo / "huge.bin.gmv").write_bytes(b"#" * (2 * 1024 * 1024))
    proc = gitmv(repo, "status", code=None)
    assert_clean_error(proc)
    assert "1 MiB" in proc.stderr


def test_pointer_behind_a_symlinked_folder_cannot_write_outside(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (repo / "m.bin").write_bytes(b"m")
    gitmv(repo, "add", "m.bin")
    os.symlink(outside, repo / "evil")
    (outside / "x.bin.gmv").write_bytes((repo / "m.bin.gmv").read_bytes())
    git(repo, "add", "-f", "m.bin.gmv")
    # a pointer reached through a link: git sees no file there, gitmv must not follow either
    proc = gitmv(repo, "checkout", "evil/x.bin", code=None)
    assert_clean_error(proc)
    assert not (outside / "x.bin").exists()


# -- regressions found by trying the docs' examples -------------------------------------------


def test_empty_file_and_empty_folder_are_ordinary_artifacts(repo: Path) -> None:
    (repo / "empty.bin").write_bytes(b"")
    (repo / "nothing").mkdir()
    gitmv(repo, "add", "empty.bin", "nothing")
    assert "size: 0\n" in (repo / "empty.bin.gmv").read_text()
    assert states(repo) == {"empty.bin": "clean", "nothing": "clean"}
    (repo / "empty.bin").unlink()
    gitmv(repo, "checkout")
    assert (repo / "empty.bin").read_bytes() == b""


def test_add_of_tracked_and_untracked_paths_together_stages_everything(repo: Path) -> None:
    (repo / "m.json").write_text("{}")
    git(repo, "add", "m.json")
    git(repo, "commit", "-qm", "m")
    (repo / "model.pt").write_bytes(b"w")
    gitmv(repo, "add", "model.pt", "m.json")
    assert not [
        line for line in git(repo, "status", "--porcelain").splitlines() if line.startswith("??")
    ]
    assert git(repo, "ls-files", "m.json").strip() == ""


def test_a_new_meta_value_on_unchanged_bytes_is_a_change(repo: Path) -> None:
    from gitmv.ops.add import add
    from gitmv.repo.context import Repo

    (repo / "m.bin").write_bytes(b"hi")
    handle = Repo.open(repo)
    assert add(handle, ["m.bin"], meta={"metrics": {"acc": 0.9}}).artifacts[0].changed
    assert add(handle, ["m.bin"], meta={"type": "model"}).artifacts[0].changed
    assert not add(handle, ["m.bin"], meta={"type": "model"}).artifacts[0].changed
    text = (repo / "m.bin.gmv").read_text()
    assert "acc: 0.9" in text and "type: model" in text


def test_a_broken_link_inside_a_folder_is_one_clean_error(repo: Path) -> None:
    (repo / "f").write_bytes(b"x")
    (repo / "b").mkdir()
    (repo / "b/y").write_bytes(b"y")
    os.symlink("../f", repo / "b/link")
    gitmv(repo, "add", "b")
    (repo / "f").unlink()
    for command in ("status", "checkout"):
        proc = gitmv(repo, command, code=None)
        assert_clean_error(proc)
        assert "b/link: a broken symbolic link" in proc.stderr


def test_symlink_link_type_checkouts_are_clean(repo: Path) -> None:
    (repo / "a.bin").write_bytes(b"abc")
    gitmv(repo, "add", "a.bin")
    (repo / ".git/gitmv/config.yaml").write_text("cache:\n  link: [symlink]\n")
    (repo / "a.bin").unlink()
    gitmv(repo, "checkout")
    assert (repo / "a.bin").is_symlink() and (repo / "a.bin").read_bytes() == b"abc"
    assert states(repo) == {"a.bin": "clean"}
    assert "unchanged" in gitmv(repo, "add", "a.bin").stdout


def test_bad_config_values_are_clean_errors(repo: Path) -> None:
    (repo / "d").mkdir()
    (repo / "d/x").write_bytes(b"x")
    gitmv(repo, "add", "d")
    local = repo / ".git/gitmv/config.yaml"
    for text, command, words in (
        ("core:\n  jobs: many\n", "add", "core.jobs"),
        ("cache:\n  link: [teleport]\n", "checkout", "cache.link"),
        ("core:\n  hash: md5\n", "add", "core.hash"),
        ("[not, a, mapping]\n", "status", "mapping"),
    ):
        local.write_text(text)
        proc = gitmv(repo, command, "d", code=None)
        assert_clean_error(proc)
        assert words in proc.stderr
    local.write_text("cache:\n  link: copy\n")  # a single link type as a plain string is fine
    gitmv(repo, "add", "d")


def test_dot_selects_every_artifact_below(repo: Path) -> None:
    (repo / "sub").mkdir()
    (repo / "sub/a").write_bytes(b"a")
    (repo / "b").write_bytes(b"b")
    gitmv(repo, "add", "sub/a", "b")
    assert set(states(repo, ".")) == {"sub/a", "b"}
    assert set(states(repo / "sub", ".")) == {"a"}
    (repo / "b").unlink()
    gitmv(repo / "sub", "checkout", "..")
    assert (repo / "b").exists()


def test_checkout_sweeps_what_a_killed_checkout_left_half_written(repo: Path) -> None:
    (repo / "m.bin").write_bytes(b"model")
    (repo / "d").mkdir()
    (repo / "d/x").write_bytes(b"x")
    gitmv(repo, "add", "m.bin", "d")
    dead = 2**22 + 12345  # no such pid on Linux (pid_max is at most 2**22)
    leftovers = [repo / f"m.bin.gmvtmp-{dead}-deadbeef", repo / f"d/x.gmvtmp-{dead}-cafe0000"]
    for path in leftovers:
        path.write_bytes(b"half")
    live = repo / f"m.bin.gmvtmp-{os.getpid()}-0000beef"  # a writer still running: kept
    live.write_bytes(b"busy")
    (repo / "m.bin").unlink()
    gitmv(repo, "checkout")
    assert not any(path.exists() for path in leftovers)
    assert live.exists()
    assert states(repo) == {"d": "clean", "m.bin": "clean"}


def test_add_records_the_folder_fingerprint_for_the_next_status(repo: Path) -> None:
    import sqlite3
    import time

    make_folder(repo / "data", {f"f{i}": str(i).encode() for i in range(20)})
    old = time.time() - 10  # outside the racy window: the stat cache may vouch for them
    for path in (repo / "data").iterdir():
        os.utime(path, (old, old))
    gitmv(repo, "add", "data")
    db = sqlite3.connect(repo / ".git/gitmv/state.sqlite")
    rows = db.execute("SELECT oid FROM folder").fetchall()
    db.close()
    oid = (repo / "data.gmv").read_text().split("oid: ")[1].split("\n")[0]
    assert rows == [(oid,)]


def test_the_find_stamp_sees_every_kind_of_change(repo: Path) -> None:
    from gitmv.workspace import scan

    make_folder(repo / "data", {"a": b"1", "sub/b": b"2"})
    first = scan.quick_stamp(repo / "data")
    assert first is not None and first.startswith("find:")
    assert scan.quick_stamp(repo / "data") == first
    for change in (
        lambda: (repo / "data/a").write_bytes(b"1!"),  # content (size, mtime)
        lambda: os.chmod(repo / "data/sub/b", 0o755),  # exec bit
        lambda: (repo / "data/sub/c").write_bytes(b""),  # a new empty file
        lambda: (repo / "data/a").rename(repo / "data/a2"),  # a rename
    ):
        before = scan.quick_stamp(repo / "data")
        change()
        assert scan.quick_stamp(repo / "data") != before
    os.symlink("a2", repo / "data/link")
    assert scan.quick_stamp(repo / "data") is None  # links: left to the walk, which follows them


def test_status_sees_a_change_made_right_after_add(repo: Path) -> None:
    make_folder(repo / "data", {f"f{i}": b"x" for i in range(30)})
    gitmv(repo, "add", "data")
    assert states(repo) == {"data": "clean"}
    assert states(repo) == {"data": "clean"}
    (repo / "data/f7").write_bytes(b"y")
    assert states(repo) == {"data": "modified"}
    (repo / "data/f7").write_bytes(b"x")  # same bytes again, new mtime: clean, by hashing
    assert states(repo) == {"data": "clean"}
