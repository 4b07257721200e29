"""Hook install/uninstall, the shims themselves, and the hook entry points on small repositories."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from gitmv.base.errors import GitmvError, PointerError
from gitmv.ops import hooks
from gitmv.repo.context import Repo
from gitmv.repo.pointers import pointers_to_push
from gitmv.store.pointer import parse
from tests.helpers import assert_clean_error, git, gitmv

PROJECT = Path(__file__).resolve().parent.parent
ZERO = "0" * 40
USER_HOOK = '#!/bin/sh\necho "user $0 $*" >> user-hook.log\n'


def files(folder: Path) -> dict[str, tuple[bytes, int, int]]:
    """Each file's bytes, mode and mtime: "changes nothing" means all three."""
    found = {}
    for path in sorted(folder.iterdir()):
        st = path.lstat()
        found[path.name] = (path.read_bytes(), st.st_mode, st.st_mtime_ns)
    return found


def hooks_of(repo: Path) -> Path:
    return repo / ".git" / "hooks"


def run_hook(
    repo: Path, name: str, *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run an installed hook as git does: from the top of the work tree."""
    return subprocess.run(
        [str(hooks_of(repo) / name), *args],
        cwd=repo,
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )


def commit_model(repo: Path, data: bytes, message: str, name: str = "model.pt") -> str:
    (repo / name).write_bytes(data)
    gitmv(repo, "add", name)
    git(repo, "commit", "-qm", message)
    return git(repo, "rev-parse", "HEAD").strip()


def private_global_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the session's global git config, and a user config folder, for this test."""
    config = tmp_path / "gitconfig"
    shutil.copy(os.environ["GIT_CONFIG_GLOBAL"], config)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    return config


# -- install / uninstall ---------------------------------------------------------------------


def test_init_installs_every_shim_executable_and_marked(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    gitmv(tmp_path, "init")
    for name in hooks.HOOKS:
        path = hooks_of(tmp_path) / name
        assert os.access(path, os.X_OK)
        assert hooks.is_ours(path)
        assert f'gitmv hook {name} "$@"' in path.read_text()
        assert sys.executable in path.read_text()  # the fallback when gitmv is not on PATH


def test_init_no_hooks_installs_none(repo: Path) -> None:
    assert not any((hooks_of(repo) / name).exists() for name in hooks.HOOKS)


def test_installing_twice_changes_nothing(repo: Path) -> None:
    gitmv(repo, "install")
    before = files(hooks_of(repo))
    out = gitmv(repo, "install").stdout
    assert out.count("already installed") == len(hooks.HOOKS)
    assert files(hooks_of(repo)) == before


def test_an_existing_hook_is_kept_chained_and_restored_exactly_by_uninstall(repo: Path) -> None:
    folder = hooks_of(repo)
    folder.mkdir(exist_ok=True)
    (folder / "post-merge").write_text(USER_HOOK)
    os.chmod(folder / "post-merge", 0o750)
    (folder / "pre-commit").write_text(USER_HOOK)  # a hook gitmv does not use: untouched
    os.chmod(folder / "pre-commit", 0o755)
    original = files(folder)

    out = gitmv(repo, "install").stdout
    assert "runs first (kept as post-merge.gitmv-chained)" in out
    assert (folder / "post-merge.gitmv-chained").read_text() == USER_HOOK
    assert hooks.is_ours(folder / "post-merge")

    gitmv(repo, "install")  # a second install must not move our shim onto the user's hook
    assert (folder / "post-merge.gitmv-chained").read_text() == USER_HOOK

    out = gitmv(repo, "uninstall").stdout
    assert "the hook that was there before is back" in out
    after = files(folder)
    assert {k: v[:2] for k, v in after.items()} == {k: v[:2] for k, v in original.items()}


def test_chained_hook_runs_first_with_args_and_stdin_and_its_exit_code_counts(
    repo: Path,
) -> None:
    folder = hooks_of(repo)
    folder.mkdir(exist_ok=True)
    (folder / "pre-push").write_text('#!/bin/sh\necho "user $* $(cat)" > user.log\nexit 3\n')
    os.chmod(folder / "pre-push", 0o755)
    gitmv(repo, "install")
    line = f"refs/heads/main {'1' * 40} refs/heads/main {ZERO}"
    proc = run_hook(repo, "pre-push", "origin", "/x", stdin=line + "\n")
    assert proc.returncode == 3  # the user's hook refused: so does the push
    assert (repo / "user.log").read_text() == f"user origin /x {line}\n"

    legacy = folder / "post-checkout.gitmv-chained"
    legacy.write_text("#!/bin/sh\necho post > user.log\nexit 4\n")
    os.chmod(legacy, 0o755)
    proc = run_hook(repo, "post-checkout", ZERO, ZERO, "1")
    assert proc.returncode == 4  # honoured, though gitmv itself never fails a post-* hook
    assert (repo / "user.log").read_text() == "post\n"


def test_uninstall_removes_only_our_shims(repo: Path) -> None:
    gitmv(repo, "install")
    folder = hooks_of(repo)
    (folder / "post-merge").unlink()
    (folder / "post-merge").write_text(USER_HOOK)  # the user replaced ours since
    out = gitmv(repo, "uninstall").stdout
    assert "not gitmv's: left alone" in out
    assert sorted(p.name for p in folder.iterdir()) == ["post-merge"]


def test_a_foreign_hook_beside_another_chain_file_is_refused_before_anything_is_written(
    repo: Path,
) -> None:
    folder = hooks_of(repo)
    folder.mkdir(exist_ok=True)
    (folder / "post-rewrite").write_text(USER_HOOK)
    (folder / "post-rewrite.gitmv-chained").write_text(USER_HOOK + "# another one\n")
    before = files(folder)
    proc = gitmv(repo, "install", code=1)
    assert_clean_error(proc)
    assert "post-rewrite.gitmv-chained already exists" in proc.stderr
    assert files(folder) == before


def test_a_hook_and_its_legacy_are_chained_together_and_never_renamed_to_legacy(
    repo: Path,
) -> None:
    """pre-commit in migration mode: its hook runs `<its folder>/pre-push.legacy` itself
    (by the hook type written into it, as pre-commit's hook_impl does, not by `$0`)."""
    folder = hooks_of(repo)
    folder.mkdir(exist_ok=True)
    manager = '#!/bin/sh\n"${0%/*}/pre-push.legacy" "$@"; echo manager >> log\n'
    (folder / "pre-push").write_text(manager)
    (folder / "pre-push.legacy").write_text("#!/bin/sh\necho old >> log\n")
    os.chmod(folder / "pre-push", 0o755)
    os.chmod(folder / "pre-push.legacy", 0o755)
    legacy = (folder / "pre-push.legacy").read_bytes()
    gitmv(repo, "install")
    assert (folder / "pre-push.legacy").read_bytes() == legacy  # untouched
    assert not hooks.is_ours(folder / "pre-push.gitmv-chained")
    proc = run_hook(repo, "pre-push", "origin", "/x", stdin="")
    assert proc.returncode == 0, proc.stderr
    assert (repo / "log").read_text() == "old\nmanager\n"


def test_our_shim_moved_aside_by_another_manager_counts_as_installed(repo: Path) -> None:
    gitmv(repo, "install")
    folder = hooks_of(repo)
    (folder / "pre-push").rename(folder / "pre-push.legacy")  # what `pre-commit install` does
    (folder / "pre-push").write_text(USER_HOOK)
    before = files(folder)
    gitmv(repo, "install")
    assert files(folder) == before
    gitmv(repo, "uninstall")
    assert not (folder / "pre-push.legacy").exists()
    assert (folder / "pre-push").read_text() == USER_HOOK


@pytest.mark.parametrize("setting", ["shared-hooks", "ABSOLUTE"])
def test_core_hooks_path_is_honoured(repo: Path, tmp_path: Path, setting: str) -> None:
    target = tmp_path / "abs-hooks" if setting == "ABSOLUTE" else repo / setting
    git(repo, "config", "core.hooksPath", str(target) if setting == "ABSOLUTE" else setting)
    (repo / "sub").mkdir()
    gitmv(repo / "sub", "install")  # relative to the top of the work tree, not to cwd
    assert all(hooks.is_ours(target / name) for name in hooks.HOOKS)
    assert not (hooks_of(repo) / "pre-push").exists()
    gitmv(repo, "uninstall")
    assert not any(target.iterdir())


def test_a_worktree_installs_into_the_shared_hooks_folder(repo: Path, tmp_path: Path) -> None:
    commit_model(repo, b"v1", "v1")
    git(repo, "worktree", "add", "-q", str(tmp_path / "wt"))
    gitmv(tmp_path / "wt", "install")
    assert hooks.is_ours(hooks_of(repo) / "post-checkout")


def test_install_outside_a_repository_is_a_clean_error(tmp_path: Path) -> None:
    assert_clean_error(gitmv(tmp_path, "install", code=1))


def test_install_global_uses_its_own_template_and_uninstall_global_undoes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = private_global_config(tmp_path, monkeypatch)
    before = config.read_bytes()
    gitmv(tmp_path, "install", "--global")
    template = Path(os.environ["XDG_CONFIG_HOME"]) / "gitmv" / "git-template"
    assert git(tmp_path, "config", "--global", "init.templateDir").strip() == str(template)
    assert all(hooks.is_ours(template / "hooks" / name) for name in hooks.HOOKS)
    gitmv(tmp_path, "uninstall", "--global")
    assert not template.exists()
    assert config.read_bytes() == before


def test_install_global_honours_a_template_dir_already_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    private_global_config(tmp_path, monkeypatch)
    mine = tmp_path / "my-template"
    (mine / "hooks").mkdir(parents=True)
    (mine / "hooks" / "post-checkout").write_text(USER_HOOK)
    git(tmp_path, "config", "--global", "init.templateDir", str(mine))
    gitmv(tmp_path, "install", "--global")
    assert (mine / "hooks" / "post-checkout.gitmv-chained").read_text() == USER_HOOK
    gitmv(tmp_path, "uninstall", "--global")
    assert sorted(p.name for p in (mine / "hooks").iterdir()) == ["post-checkout"]
    assert git(tmp_path, "config", "--global", "init.templateDir").strip() == str(mine)


# -- the shims -------------------------------------------------------------------------------


def test_shims_are_posix_sh(tmp_path: Path) -> None:
    for name in hooks.HOOKS:
        script = tmp_path / name
        script.write_text(hooks.render_shim(name, "/opt/it's here/python"))
        proc = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert "GITMV_PYTHON='/opt/it'\"'\"'s here/python'" in script.read_text()


def test_project_hooks_folder_matches_the_shims_gitmv_writes() -> None:
    for name in hooks.HOOKS:
        copy = PROJECT / "hooks" / name
        assert copy.read_text() == hooks.render_shim(name, ""), (
            f"hooks/{name} drifted: regenerate it with "
            f'`python -c \'from gitmv.ops.hooks import render_shim; print(render_shim("{name}", ""), end="")\'`'
        )
        assert os.access(copy, os.X_OK)


def test_pre_commit_definitions_cover_every_hook() -> None:
    defs = YAML(typ="safe").load((PROJECT / ".pre-commit-hooks.yaml").read_text())
    by_stage = {d["stages"][0]: d for d in defs}
    assert sorted(by_stage) == sorted(hooks.HOOKS)
    for name, d in by_stage.items():
        assert d["entry"] == f"gitmv hook {name}"
        assert d["language"] == "python"
        assert d["always_run"] is True
        assert d["pass_filenames"] is False


def _bin_without_gitmv(tmp_path: Path) -> str:
    folder = tmp_path / "bin"
    folder.mkdir()
    for tool in ("git", "cat", "sh"):
        found = shutil.which(tool)
        assert found
        os.symlink(found, folder / tool)
    return str(folder)


def test_without_gitmv_pre_push_refuses_and_post_hooks_let_git_go_on(
    repo: Path, tmp_path: Path
) -> None:
    hooks.install(Repo.open(repo), python=str(tmp_path / "gone" / "python"))
    env = {"PATH": _bin_without_gitmv(tmp_path)}
    proc = run_hook(repo, "pre-push", "origin", "/x", stdin=f"a {'1' * 40} b {ZERO}\n", env=env)
    assert proc.returncode == 1
    assert "error: gitmv is not installed" in proc.stderr
    assert "hint: install gitmv" in proc.stderr
    proc = run_hook(repo, "post-checkout", "1" * 40, "2" * 40, "1", env=env)
    assert proc.returncode == 0
    assert "warning: gitmv is not installed" in proc.stderr
    assert "gitmv pull" in proc.stderr  # pull: the bytes may not be cached yet


def test_without_gitmv_on_path_the_installing_interpreter_runs_the_hook(
    repo: Path, tmp_path: Path
) -> None:
    commit_model(repo, b"v1", "v1")
    first = git(repo, "rev-parse", "HEAD").strip()
    commit_model(repo, b"v2", "v2")
    hooks.install(Repo.open(repo), python=sys.executable)
    git(repo, "checkout", "-q", first)  # the hook runs, with PATH intact: restores v1
    assert (repo / "model.pt").read_bytes() == b"v1"
    (repo / "model.pt").unlink()
    env = {"PATH": _bin_without_gitmv(tmp_path)}
    proc = run_hook(repo, "post-checkout", ZERO, first, "1", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "restored model.pt" in proc.stderr
    assert (repo / "model.pt").read_bytes() == b"v1"


def test_a_repository_without_gitmv_makes_every_hook_a_no_op(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    git(plain, "init", "-q")
    git(plain, "commit", "-q", "--allow-empty", "-m", "first")
    gitmv(plain, "install")
    env = {"PATH": _bin_without_gitmv(tmp_path)}  # not even gitmv is needed to do nothing
    proc = run_hook(plain, "pre-push", "origin", "/x", stdin=f"a {'1' * 40} b {ZERO}\n", env=env)
    assert (proc.returncode, proc.stderr) == (0, "")
    head = git(plain, "rev-parse", "HEAD").strip()
    proc = run_hook(plain, "post-checkout", ZERO, head, "1", env=env)
    assert (proc.returncode, proc.stderr) == (0, "")
    proc = gitmv(plain, "hook", "post-merge", "0")  # and gitmv itself does nothing there
    assert proc.stderr == ""


# -- entry points ----------------------------------------------------------------------------


def test_pre_push_reads_only_the_commits_the_remote_lacks(repo: Path, tmp_path: Path) -> None:
    first = commit_model(repo, b"v1", "v1")
    git(repo, "tag", "v1")
    second = commit_model(repo, b"v2", "v2")
    third = commit_model(repo, b"other", "other", name="other.bin")
    r = Repo.open(repo)
    # The remote has `second`: only `third` is new, and it adds other.bin alone.
    found = pointers_to_push(
        r, "origin", [hooks.PushedRef("refs/heads/main", third, "refs/heads/main", second)]
    )
    assert [(a, p.size) for a, p in found] == [("other.bin", 5)]
    # A tag on a commit the remote has, and a branch deletion: nothing to read.
    git(repo, "update-ref", "refs/remotes/origin/main", third)
    tag = git(repo, "rev-parse", "v1").strip()
    refs = [
        hooks.PushedRef("refs/tags/v1", tag, "refs/tags/v1", ZERO),
        hooks.PushedRef("(delete)", ZERO, "refs/heads/old", first),
    ]
    assert pointers_to_push(r, "origin", refs) == []
    # Nothing known about the remote: every version in history, each once.
    found = pointers_to_push(r, "elsewhere", [hooks.PushedRef("HEAD", third, "x", ZERO)])
    assert sorted((a, p.size) for a, p in found) == [
        ("model.pt", 2),
        ("model.pt", 2),
        ("other.bin", 5),
    ]


def test_pre_push_sees_a_pointer_only_a_merge_commit_changes(repo: Path) -> None:
    base = commit_model(repo, b"base", "base")
    git(repo, "checkout", "-q", "-b", "side")
    commit_model(repo, b"side", "side")
    git(repo, "checkout", "-q", "main")
    commit_model(repo, b"main", "main")
    git(repo, "merge", "-q", "side", check=False)  # a conflict in the pointer
    git(repo, "checkout", "--theirs", "model.pt.gmv")
    (repo / "model.pt").write_bytes(b"resolved by hand")
    gitmv(repo, "add", "model.pt")
    git(repo, "commit", "-qm", "merge")
    tip = git(repo, "rev-parse", "HEAD").strip()
    found = pointers_to_push(
        Repo.open(repo), "origin", [hooks.PushedRef("main", tip, "main", base)]
    )
    assert sorted(p.size for _, p in found) == [4, 4, 16]


def test_a_push_that_changes_no_pointer_imports_no_remote_code(repo: Path) -> None:
    commit_model(repo, b"v1", "v1")
    git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")
    git(repo, "commit", "-q", "--allow-empty", "-m", "code only")
    script = (
        "import sys\n"
        "from gitmv.ops import hooks\n"
        "from gitmv.repo.context import Repo\n"
        "tip = sys.argv[1]\n"
        "report = hooks.pre_push(Repo.open(), 'origin', '/x', [f'main {tip} main ' + '0' * 40])\n"
        "assert report.versions == 0 and report.result is None\n"
        "print(sorted(m for m in sys.modules if m.startswith(('gitmv.transfer', 'gitmv.remotes', 'fsspec'))))\n"
    )
    tip = git(repo, "rev-parse", "HEAD").strip()
    proc = subprocess.run(
        [sys.executable, "-c", script, tip], cwd=repo, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_pre_push_without_a_default_remote_refuses(repo: Path) -> None:
    tip = commit_model(repo, b"v1", "v1")
    proc = subprocess.run(
        [sys.executable, "-m", "gitmv", "hook", "pre-push", "origin", "/x"],
        cwd=repo,
        input=f"refs/heads/main {tip} refs/heads/main {ZERO}\n",
        capture_output=True,
        text=True,
    )
    assert_clean_error(proc)
    assert "push refused" in proc.stderr
    assert "no default remote" in proc.stderr
    assert "gitmv remote add NAME URL --default" in proc.stderr


def test_pre_push_refuses_a_commit_carrying_a_broken_pointer(repo: Path) -> None:
    (repo / "model.pt.gmv").write_text("<<<<<<< HEAD\ngitmv: 1\n=======\n>>>>>>> side\n")
    git(repo, "add", "model.pt.gmv")
    git(repo, "commit", "-qm", "oops")
    tip = git(repo, "rev-parse", "HEAD").strip()
    with pytest.raises(PointerError, match="holds a broken pointer: merge conflict"):
        hooks.pre_push(Repo.open(repo), "origin", "/x", [f"main {tip} main {ZERO}"])


def test_post_hooks_ignore_file_checkouts_branch_creation_and_amend(repo: Path) -> None:
    head = commit_model(repo, b"v1", "v1")
    (repo / "model.pt").unlink()
    r = Repo.open(repo)
    assert hooks.post_checkout(r, ZERO, head, "0") == hooks.RestoreReport()
    assert hooks.post_checkout(r, head, head, "1") == hooks.RestoreReport()
    assert hooks.post_rewrite(r, "amend") == hooks.RestoreReport()
    assert not (repo / "model.pt").exists()
    assert hooks.post_checkout(r, ZERO, head, "1").restored == ["model.pt"]


def test_an_artifact_whose_pointer_went_away_is_removed_only_if_the_cache_has_it(
    repo: Path,
) -> None:
    v1 = commit_model(repo, b"v1", "v1")
    commit_model(repo, b"data", "data", name="data.bin")
    r = Repo.open(repo)
    git(repo, "checkout", "-q", v1)  # no hooks installed: call the hook by hand
    report = hooks.post_checkout(r, git(repo, "rev-parse", "main").strip(), v1, "1")
    assert report.removed == ["data.bin"]
    assert not (repo / "data.bin").exists()
    git(repo, "checkout", "-q", "main")
    (repo / "data.bin").write_bytes(b"edited, in no cache")
    git(repo, "checkout", "-q", v1)
    report = hooks.post_checkout(r, git(repo, "rev-parse", "main").strip(), v1, "1")
    assert report.modified == ["data.bin"]
    assert (repo / "data.bin").read_bytes() == b"edited, in no cache"


def test_a_file_git_tracks_where_an_artifact_was_is_never_removed(repo: Path) -> None:
    v1 = commit_model(repo, b"artifact", "v1")
    git(repo, "rm", "-q", "--cached", "model.pt.gmv")
    (repo / "model.pt.gmv").unlink()
    (repo / ".gitignore").write_text("")
    (repo / "model.pt").write_bytes(b"artifact")  # the same bytes, now committed to git
    git(repo, "add", ".gitignore", "model.pt")
    git(repo, "commit", "-qm", "into git")
    v2 = git(repo, "rev-parse", "HEAD").strip()
    report = hooks.post_checkout(Repo.open(repo), v1, v2, "1")
    assert report.removed == []
    assert (repo / "model.pt").read_bytes() == b"artifact"


def test_post_checkout_under_pre_commit_reads_its_environment(repo: Path) -> None:
    head = commit_model(repo, b"v1", "v1")
    (repo / "model.pt").unlink()
    env = {
        "PRE_COMMIT": "1",
        "PRE_COMMIT_FROM_REF": ZERO,
        "PRE_COMMIT_TO_REF": head,
        "PRE_COMMIT_CHECKOUT_TYPE": "1",
    }
    proc = gitmv(repo, "hook", "post-checkout", env=env)
    assert "restored model.pt" in proc.stderr
    assert (repo / "model.pt").read_bytes() == b"v1"


def test_a_post_hook_that_fails_warns_and_exits_zero(repo: Path) -> None:
    proc = gitmv(repo, "hook", "post-checkout", "not-a-commit", "1" * 40, "1")
    assert proc.stderr.startswith("warning: gitmv post-checkout hook:")
    assert "Traceback" not in proc.stderr


def test_an_unknown_hook_name_is_a_clean_error(repo: Path) -> None:
    assert_clean_error(gitmv(repo, "hook", "pre-commit", code=1))


def test_a_conflicted_pointer_says_how_to_resolve_it() -> None:
    text = (
        "gitmv: 1\n<<<<<<< HEAD\noid: xxh128:aa\n=======\noid: xxh128:bb\n>>>>>>> side\n"
        "size: 2\nkind: file\n"
    )
    with pytest.raises(PointerError) as caught:
        parse(text.encode(), "models/m.pt.gmv")
    assert caught.value.message.startswith("merge conflict in models/m.pt.gmv")
    assert caught.value.hint == (
        "`git checkout --ours models/m.pt.gmv` (or `--theirs`), `git add models/m.pt.gmv`, "
        "then `gitmv checkout models/m.pt`"
    )


def test_parse_push_lines_rejects_what_git_never_writes() -> None:
    assert hooks.parse_push_lines(["", f"a {ZERO} b {ZERO}"]) == [
        hooks.PushedRef("a", ZERO, "b", ZERO)
    ]
    with pytest.raises(GitmvError):
        hooks.parse_push_lines(["just two"])


# -- chain names, husky, the auto-install check ----------------------------------------------


@pytest.mark.parametrize(
    "line", ['. "${0%/*}/h"', '. "$(dirname "$0")/h"', '. "$(dirname -- "$0")/h"']
)
def test_husky_hooks_of_each_v9_shape_are_kept_to_be_sourced(repo: Path, line: str) -> None:
    folder = repo / ".husky" / "_"
    folder.mkdir(parents=True)
    git(repo, "config", "core.hooksPath", ".husky/_")
    (folder / "h").write_text('#!/usr/bin/env sh\necho "husky ran $(basename "$0") $*" >> log\n')
    (folder / "post-merge").write_text(f"#!/usr/bin/env sh\n{line}")
    os.chmod(folder / "post-merge", 0o755)
    gitmv(repo, "install")
    assert (folder / "post-merge.gitmv-chained-sh").read_text().endswith(line)
    proc = subprocess.run([str(folder / "post-merge"), "0"], cwd=repo, capture_output=True)
    assert proc.returncode == 0, proc.stderr
    assert (repo / "log").read_text() == "husky ran post-merge 0\n"  # its own name, git's args


def test_a_chain_file_holding_the_same_bytes_is_replaced_not_refused(repo: Path) -> None:
    folder = hooks_of(repo)
    folder.mkdir(exist_ok=True)
    (folder / "post-merge").write_text(USER_HOOK)
    gitmv(repo, "install")
    (folder / "post-merge").write_text(USER_HOOK)  # the tool that wrote it writes it again
    gitmv(repo, "install")
    assert hooks.is_ours(folder / "post-merge")
    assert (folder / "post-merge.gitmv-chained").read_text() == USER_HOOK


def test_missing_counts_absent_foreign_and_old_shims_not_ours_moved_aside(repo: Path) -> None:
    from gitmv.hooks import check as hookcheck

    r = Repo.open(repo)
    assert hookcheck.missing(r) == list(hooks.HOOKS)
    gitmv(repo, "install")
    assert hookcheck.missing(r) == []
    folder = hooks_of(repo)
    (folder / "pre-push").rename(folder / "pre-push.legacy")  # pre-commit's migration
    (folder / "pre-push").write_text(USER_HOOK)
    assert hookcheck.missing(r) == []
    (folder / "post-merge").write_text(hooks.MARKER + ' old: runs "$0.legacy"\n')
    (folder / "post-rewrite").write_text(USER_HOOK)
    assert hookcheck.missing(r) == ["post-merge", "post-rewrite"]


def test_uninstall_outside_a_gitmv_repository_records_nothing(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    gitmv(tmp_path, "install")
    gitmv(tmp_path, "uninstall")
    assert not (tmp_path / ".git" / "gitmv").exists()


def test_uninstall_under_pre_commit_hands_the_hook_gitmv_ran_back_to_pre_commits_chain(
    repo: Path,
) -> None:
    """A user hook, then gitmv (chains it), then pre-commit (moves our shim to .legacy): after
    `gitmv uninstall`, pre-commit's hook must still reach the user's hook through .legacy."""
    folder = hooks_of(repo)
    folder.mkdir(exist_ok=True)
    (folder / "post-merge").write_text(USER_HOOK)
    os.chmod(folder / "post-merge", 0o755)
    gitmv(repo, "install")
    (folder / "post-merge").rename(folder / "post-merge.legacy")  # what pre-commit does
    manager = "#!/bin/sh\n# File generated by pre-commit: https://pre-commit.com\n"
    (folder / "post-merge").write_text(manager + '"${0%/*}/post-merge.legacy" "$@"\n')
    os.chmod(folder / "post-merge", 0o755)
    gitmv(repo, "uninstall")
    assert (folder / "post-merge.legacy").read_text() == USER_HOOK
    assert not (folder / "post-merge.gitmv-chained").exists()
    proc = run_hook(repo, "post-merge", "0")
    assert proc.returncode == 0, proc.stderr
    assert (repo / "user-hook.log").read_text().endswith("post-merge.legacy 0\n")
