"""Stories of a clone, which git gives no hooks: the first writing gitmv command installs them.

Also the merges two clones make: `.gitignore` lines merge by union, and a pointer both sides
changed is a real conflict that `gitmv status` explains. The session's git template folder is
empty (tests/conftest.py), so `git clone` here installs no hook, as on a user's machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gitmv.ops import hooks
from tests.helpers import git, gitmv

INSTALLED = "gitmv: installed git hooks"


def git_proc(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)


def oid_of(repo: Path, artifact: str) -> str:
    for line in (repo / f"{artifact}.gmv").read_text().splitlines():
        if line.startswith("oid: "):
            return line[len("oid: ") :]
    raise AssertionError(f"no oid in {artifact}.gmv")


def stored(store: Path, oid: str) -> bool:
    algorithm, hexdigest = oid.split(":")
    return (store / algorithm / hexdigest[:2] / hexdigest[2:]).is_file()


def shims(repo: Path) -> list[str]:
    return [n for n in hooks.HOOKS if hooks.is_ours(repo / ".git" / "hooks" / n)]


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    """A bare origin holding one commit with gitmv set up (a folder remote) and a model."""
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    git(tmp_path, "clone", "-q", str(origin), "first")
    first = tmp_path / "first"
    gitmv(first, "init")
    gitmv(first, "remote", "add", "store", "../store", "--default")
    (first / "model.pt").write_bytes(b"weights v1")
    gitmv(first, "add", "model.pt")
    git(first, "add", ".")
    git(first, "commit", "-qm", "gitmv + model")
    proc = git_proc(first, "push", "-q", "origin", "main")
    assert proc.returncode == 0, proc.stderr
    return origin


def clone(origin: Path, name: str) -> Path:
    git(origin.parent, "clone", "-q", str(origin), name)
    path = origin.parent / name
    assert shims(path) == []  # git installs no hook on clone
    return path


def test_a_clone_gets_its_hooks_from_its_first_pull_and_then_push_uploads(origin: Path) -> None:
    b = clone(origin, "b")
    proc = gitmv(b, "pull")
    installed = [line for line in proc.stderr.splitlines() if line.startswith(INSTALLED)]
    assert len(installed) == 1, proc.stderr
    assert shims(b) == list(hooks.HOOKS)
    assert (b / "model.pt").read_bytes() == b"weights v1"

    proc = gitmv(b, "pull")  # finding them installed, it says nothing more
    assert INSTALLED not in proc.stderr
    assert "hooks" not in gitmv(b, "status").stderr

    (b / "data.bin").write_bytes(b"bytes made in the clone")
    gitmv(b, "add", "data.bin")
    git(b, "commit", "-qm", "data from b")
    proc = git_proc(b, "push", "origin", "main")
    assert proc.returncode == 0, proc.stderr
    assert stored(origin.parent / "store", oid_of(b, "data.bin"))  # the bytes left b too


def test_read_only_commands_warn_and_write_nothing_while_hooks_are_missing(origin: Path) -> None:
    c = clone(origin, "c")
    for args in (("status",), ("status", "--json"), ("ls",), ("diff",)):
        proc = gitmv(c, *args)
        warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning:")]
        assert len(warnings) == 1 and "hooks are missing" in warnings[0], (args, proc.stderr)
    assert json.loads(gitmv(c, "status", "--json").stdout)[0]["path"] == "model.pt"
    assert shims(c) == []
    assert not (c / ".git" / "gitmv" / "config.yaml").exists()


def test_uninstall_turns_auto_install_off_and_install_back_on(origin: Path) -> None:
    d = clone(origin, "d")
    gitmv(d, "pull")
    assert shims(d) == list(hooks.HOOKS)
    out = gitmv(d, "uninstall").stdout
    assert "no longer install hooks here" in out
    assert "auto: false" in (d / ".git" / "gitmv" / "config.yaml").read_text()

    (d / "more.bin").write_bytes(b"more")
    for args in (("add", "more.bin"), ("pull",), ("checkout",), ("status",)):
        proc = gitmv(d, *args)
        assert "hooks" not in proc.stderr, (args, proc.stderr)
    assert shims(d) == []

    gitmv(d, "install")
    assert shims(d) == list(hooks.HOOKS)
    gitmv(d, "uninstall")
    (d / ".git" / "hooks" / "pre-push").write_text("#!/bin/sh\n")  # gone: install puts it back
    assert shims(d) == []
    gitmv(d, "install")
    (d / ".git" / "hooks" / "post-merge").unlink()
    proc = gitmv(d, "add", "more.bin")
    assert "post-merge" in proc.stderr and INSTALLED in proc.stderr
    assert shims(d) == list(hooks.HOOKS)


def test_a_hook_that_cannot_be_chained_warns_but_the_command_works(origin: Path) -> None:
    e = clone(origin, "e")
    folder = e / ".git" / "hooks"
    folder.mkdir()
    (folder / "pre-push").write_text("#!/bin/sh\necho mine\n")
    (folder / "pre-push.gitmv-chained").write_text("#!/bin/sh\necho another\n")
    proc = gitmv(e, "pull")
    assert (e / "model.pt").read_bytes() == b"weights v1"
    lines = proc.stderr.splitlines()
    warning = [line for line in lines if line.startswith("warning:")]
    assert len(warning) == 1 and "pre-push.gitmv-chained already exists" in warning[0]
    assert any(line.startswith("hint:") for line in lines)
    assert shims(e) == []  # nothing half done


def test_init_no_hooks_keeps_commands_from_installing_them(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    gitmv(tmp_path, "init", "--no-hooks")
    (tmp_path / "m.bin").write_bytes(b"m")
    proc = gitmv(tmp_path, "add", "m.bin")
    assert "hooks" not in proc.stderr
    assert shims(tmp_path) == []


# -- merges ----------------------------------------------------------------------------------


def test_init_sets_gitignore_merge_union_idempotently_keeping_user_lines(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / ".gitattributes").write_text("*.bin binary")  # no final newline
    gitmv(tmp_path, "init", "--no-hooks")
    gitmv(tmp_path, "init", "--no-hooks")
    text = (tmp_path / ".gitattributes").read_text()
    assert text == "*.bin binary\n.gitignore merge=union\n"
    assert ".gitattributes" in git(tmp_path, "diff", "--cached", "--name-only")
    assert git(tmp_path, "check-attr", "merge", "models/.gitignore").strip().endswith("union")


def test_two_branches_adding_artifacts_in_one_folder_merge_without_conflict(
    tmp_path: Path,
) -> None:
    git(tmp_path, "init", "-q")
    gitmv(tmp_path, "init", "--no-hooks")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "base.pt").write_bytes(b"base")
    gitmv(tmp_path, "add", "models/base.pt")
    git(tmp_path, "commit", "-qm", "base")
    git(tmp_path, "checkout", "-qb", "left")
    (tmp_path / "models" / "left.pt").write_bytes(b"left")
    gitmv(tmp_path, "add", "models/left.pt")
    git(tmp_path, "commit", "-qm", "left")
    git(tmp_path, "checkout", "-q", "main")
    (tmp_path / "models" / "right.pt").write_bytes(b"right")
    gitmv(tmp_path, "add", "models/right.pt")
    git(tmp_path, "commit", "-qm", "right")

    proc = git_proc(tmp_path, "merge", "-q", "--no-edit", "left")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = (tmp_path / "models" / ".gitignore").read_text().splitlines()
    assert sorted(lines) == ["/base.pt", "/left.pt", "/right.pt"]
    assert git(tmp_path, "ls-files", "-u") == ""


def test_a_pointer_both_sides_changed_is_a_conflict_status_explains(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    gitmv(tmp_path, "init", "--no-hooks")
    (tmp_path / "model.pt").write_bytes(b"base")
    (tmp_path / "other.pt").write_bytes(b"other")
    gitmv(tmp_path, "add", "model.pt", "other.pt")
    git(tmp_path, "commit", "-qm", "base")
    git(tmp_path, "checkout", "-qb", "side")
    (tmp_path / "model.pt").write_bytes(b"theirs!")
    gitmv(tmp_path, "add", "model.pt")
    theirs = oid_of(tmp_path, "model.pt")
    git(tmp_path, "commit", "-qm", "theirs")
    git(tmp_path, "checkout", "-q", "main")
    (tmp_path / "model.pt").write_bytes(b"ours")
    gitmv(tmp_path, "add", "model.pt")
    ours = oid_of(tmp_path, "model.pt")
    git(tmp_path, "commit", "-qm", "ours")
    assert git_proc(tmp_path, "merge", "-q", "--no-edit", "side").returncode != 0

    proc = gitmv(tmp_path, "status")  # exits 0: a conflict is a state, not a failure
    out = proc.stdout
    assert "conflict:" in out and "model.pt" in out
    assert f"ours:   {ours[:19]}… (4 B, file)" in out
    assert f"theirs: {theirs[:19]}… (7 B, file)" in out
    keep = "git checkout --{0} model.pt.gmv && git add model.pt.gmv && gitmv checkout model.pt"
    assert keep.format("ours") in out and keep.format("theirs") in out
    assert "other.pt" not in out  # clean, so not listed

    rows = {r["path"]: r for r in json.loads(gitmv(tmp_path, "status", "--json").stdout)}
    assert rows["other.pt"]["state"] == "clean"
    assert rows["model.pt"]["state"] == "conflict"
    assert rows["model.pt"]["ours"] == {"oid": ours, "size": 4, "kind": "file"}
    assert rows["model.pt"]["theirs"] == {"oid": theirs, "size": 7, "kind": "file"}
    rows = json.loads(gitmv(tmp_path, "status", "model.pt", "--json").stdout)
    assert [r["state"] for r in rows] == ["conflict"]

    # the commands it names resolve it
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    subprocess.run(
        keep.format("theirs"),
        shell=True,
        cwd=tmp_path,
        check=True,
        env={**os.environ, "PATH": path},
    )
    assert (tmp_path / "model.pt").read_bytes() == b"theirs!"
    assert "all clean" in gitmv(tmp_path, "status").stdout


def test_a_pointer_one_side_deleted_is_a_conflict_too(tmp_path: Path) -> None:
    """A modify/delete conflict leaves no markers in the pointer: status still names it."""
    git(tmp_path, "init", "-q")
    gitmv(tmp_path, "init", "--no-hooks")
    (tmp_path / "model.pt").write_bytes(b"base")
    gitmv(tmp_path, "add", "model.pt")
    git(tmp_path, "commit", "-qm", "base")
    git(tmp_path, "checkout", "-qb", "side")
    git(tmp_path, "rm", "-q", "model.pt.gmv")
    git(tmp_path, "commit", "-qm", "theirs: gone")
    git(tmp_path, "checkout", "-q", "main")
    (tmp_path / "model.pt").write_bytes(b"ours!")
    gitmv(tmp_path, "add", "model.pt")
    ours = oid_of(tmp_path, "model.pt")
    git(tmp_path, "commit", "-qm", "ours")
    assert git_proc(tmp_path, "merge", "-q", "--no-edit", "side").returncode != 0

    out = gitmv(tmp_path, "status").stdout
    assert "conflict:     model.pt" in out and "theirs: deleted" in out
    rows = json.loads(gitmv(tmp_path, "status", "--json").stdout)
    assert rows == [
        {
            "path": "model.pt",
            "state": "conflict",
            "kind": None,
            "oid": None,
            "size": None,
            "ours": {"oid": ours, "size": 5, "kind": "file"},
            "theirs": None,
        }
    ]


def test_a_hooks_folder_git_tracks_is_not_changed_by_a_command_but_by_install(
    origin: Path,
) -> None:
    """A team's committed hooks (core.hooksPath=.githooks): the work tree stays clean."""
    f = clone(origin, "f")
    (f / ".githooks").mkdir()
    (f / ".githooks" / "pre-push").write_text("#!/bin/sh\necho team hook\n")
    git(f, "add", ".githooks")
    git(f, "commit", "-qm", "team hooks")
    git(f, "config", "core.hooksPath", ".githooks")
    proc = gitmv(f, "pull")
    assert (f / "model.pt").read_bytes() == b"weights v1"
    assert "a folder git tracks" in proc.stderr and INSTALLED not in proc.stderr
    assert git(f, "status", "--porcelain") == ""
    gitmv(f, "install")
    assert hooks.is_ours(f / ".githooks" / "pre-push")
    assert (f / ".githooks" / "pre-push.gitmv-chained").read_text() == "#!/bin/sh\necho team hook\n"


def test_commands_started_together_install_once(origin: Path) -> None:
    g = clone(origin, "g")
    folder = g / ".git" / "hooks"
    folder.mkdir()
    (folder / "pre-push").write_text("#!/bin/sh\necho mine\n")
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "gitmv", "fetch"],
            cwd=g,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [p.communicate() for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    stderr = "".join(err for _, err in outputs)
    assert stderr.count(INSTALLED) == 1, stderr
    assert "warning" not in stderr, stderr
    assert shims(g) == list(hooks.HOOKS)
    assert (folder / "pre-push.gitmv-chained").read_text() == "#!/bin/sh\necho mine\n"
