"""Start-up guards: `--version`, a clean `status` and the hooks git runs with nothing to do
load none of the heavy stacks (issue 17: each under 60 ms; bench/startup.py times them).

Each command runs as its own process in a real repository; a probe records `sys.modules`
when it exits, so what a command imports is asserted, not guessed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import gitmv
from tests.helpers import git
from tests.helpers import gitmv as run_gitmv

# The command line and its Typer, the progress bars, the remote and transfer stacks, the
# round-trip YAML reader: none of them is needed to say "clean" or to do nothing in a hook.
HEAVY = ("typer", "click", "rich", "fsspec", "s3fs", "gcsfs", "ruamel", "gitmv.transfer")
HEAVY += ("gitmv.remotes",)
# and what a hook with nothing to do must not load either: the checkout verbs, the hook
# installer, the stat cache's sqlite3
HOOK_HEAVY = (*HEAVY, "gitmv.ops.checkout", "gitmv.workspace.checkout", "gitmv.hooks.install")
HOOK_HEAVY += ("sqlite3", "_sqlite3", "gitmv.ops.push", "gitmv.ops.pull")

# The standard library's costliest imports for what they gave these paths: dataclasses (it
# imports inspect, and with it ast, dis, tokenize: a third of a clean status before session 8),
# typing (a few ms; annotations need it only under TYPE_CHECKING), copy (the config's deep
# copies of plain data are a comprehension). gitmv.base.record replaced the dataclasses.
STDLIB_HEAVY = ("dataclasses", "inspect", "ast", "dis", "tokenize", "typing", "copy")

STATUS_UNUSED = ("gitmv.store.cache", "gitmv.store.manifest", "gitmv.base.githistory", "shutil")
STATUS_UNUSED += ("datetime",)  # loaded by `import sqlite3`; the stat cache uses its C core

PROBE = """
import atexit, os, sys

def report():
    with open(os.environ["GITMV_TEST_MODULES"], "w") as f:
        f.write("\\n".join(sorted(sys.modules)))

atexit.register(report)
sys.argv = ["gitmv", *sys.argv[1:]]
from gitmv.cli import main
main()
"""


def probe(
    cwd: Path, tmp_path: Path, *args: str, stdin: str = ""
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run `gitmv ARGS` as `python -m gitmv` would; its result and the modules it loaded."""
    out = tmp_path / "modules.txt"
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, "GITMV_TEST_MODULES": str(out)},
    )
    return proc, set(out.read_text().splitlines())


def loaded(modules: set[str], banned: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in banned or m.startswith(banned))


@pytest.fixture
def project(repo: Path) -> tuple[Path, str, str]:
    """A repository as a project has it: a pointer with a meta block (params, metrics, the
    code and environment `add` derives), a default remote with a relative URL, pushed to
    an origin; then a commit that changes no pointer. Returns it and its two commits."""
    (repo / "model.bin").write_bytes(b"weights" * 1000)
    run_gitmv(repo, "add", "model.bin", "--type", "model", "--meta", "params.lr=0.001")
    run_gitmv(repo, "add", "model.bin", "--meta", "metrics.accuracy=0.91")
    run_gitmv(repo, "remote", "add", "shared", "../gitmv-store", "--default")
    pointer = (repo / "model.bin.gmv").read_text()
    assert "meta:\n" in pointer and "lr: 0.001" in pointer, pointer
    assert "url: ../gitmv-store" in (repo / ".gitmv" / "config.yaml").read_text()
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-qm", "model")
    base = git(repo, "rev-parse", "HEAD").strip()
    origin = repo.parent / "origin.git"
    git(repo, "init", "-q", "--bare", str(origin))
    git(repo, "remote", "add", "origin", str(origin))
    git(repo, "push", "-q", "--no-verify", "origin", "HEAD:refs/heads/main")
    (repo / "README").write_text("notes\n")
    git(repo, "add", "README")
    git(repo, "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-qm", "notes")
    return repo, base, git(repo, "rev-parse", "HEAD").strip()


def test_version_loads_no_command_line_library(repo: Path, tmp_path: Path) -> None:
    proc, modules = probe(repo, tmp_path, "--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"gitmv {gitmv.__version__}\n"
    assert loaded(modules, HEAVY) == []
    assert "typing" not in modules and "traceback" not in modules  # a few ms each
    assert sorted(modules & set(STDLIB_HEAVY)) == []
    # the same line Typer's eager option prints, for `gitmv --version` among other options
    typer_says = subprocess.run(
        [sys.executable, "-c", "from gitmv.cli import load_app; load_app()(args=['--version'])"],
        capture_output=True,
        text=True,
    )
    assert typer_says.stdout == proc.stdout


def test_clean_status_with_meta_and_a_relative_remote_url_loads_nothing_heavy(
    project: tuple[Path, str, str], tmp_path: Path
) -> None:
    repo, _, _ = project
    for args in (["status"], ["status", "--json"]):
        proc, modules = probe(repo, tmp_path, *args)
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr == ""
        if args == ["status"]:
            assert proc.stdout == "1 artifact, all clean.\n"
        else:
            assert '"state": "clean"' in proc.stdout
        # ruamel here would mean the meta block or the config fell off the quick reader
        assert loaded(modules, HEAVY) == [], args
        # nor what a status of files never asks: the object cache, folder manifests, history
        assert loaded(modules, STATUS_UNUSED) == [], args
        assert sorted(modules & {*STDLIB_HEAVY, "typing_extensions"}) == [], args
        if args == ["status"]:
            assert "json" not in modules  # only --json writes it


def test_clean_status_of_a_folder_loads_no_costly_standard_module(
    repo: Path, tmp_path: Path
) -> None:
    """A folder artifact beside a file one: the folder's check (find, the stat cache's folder
    entry) loads neither dataclasses nor typing either."""
    (repo / "model.bin").write_bytes(b"weights" * 1000)
    (repo / "data" / "part").mkdir(parents=True)
    for i in range(3):
        (repo / "data" / "part" / f"{i}.csv").write_text(f"{i}\n")
    run_gitmv(repo, "add", "model.bin", "data")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-qm", "data")
    time.sleep(0.1)  # past the racy window: the next status may vouch for the folder
    run_gitmv(repo, "status")
    proc, modules = probe(repo, tmp_path, "status")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "2 artifacts, all clean.\n", "")
    assert loaded(modules, HEAVY) == []
    assert sorted(modules & {*STDLIB_HEAVY, "json"}) == []


def test_hooks_with_nothing_to_do_load_nothing_heavy(
    project: tuple[Path, str, str], tmp_path: Path
) -> None:
    repo, base, head = project
    origin = str(repo.parent / "origin.git")
    cases = {
        "switch -c (same commit)": (["post-checkout", head, head, "1"], ""),
        "file checkout": (["post-checkout", base, head, "0"], ""),
        "checkout changing no pointer": (["post-checkout", base, head, "1"], ""),
        "amend": (["post-rewrite", "amend"], f"{base} {head}\n"),
        "push the remote has": (["pre-push", "origin", origin], f"main {base} main {base}\n"),
        "push of a deletion": (["pre-push", "origin", origin], f"(delete) {'0' * 40} x {base}\n"),
        "push changing no pointer": (["pre-push", "origin", origin], f"main {head} main {base}\n"),
    }
    for case, (args, stdin) in cases.items():
        proc, modules = probe(repo, tmp_path, "hook", *args, stdin=stdin)
        assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", ""), case
        assert loaded(modules, HOOK_HEAVY) == [], case
        assert sorted(modules & {*STDLIB_HEAVY, "json"}) == [], case
        # decided by git alone: the repository (config, cache, stat cache) is not opened
        assert "gitmv.repo.context" not in modules, case
        if case in ("switch -c (same commit)", "file checkout", "amend", "push the remote has"):
            # decided from git's arguments alone: no git process either
            assert "subprocess" not in modules, case


def test_the_hook_runner_knows_where_the_project_config_is() -> None:
    from gitmv.base.config import PROJECT_FILE
    from gitmv.cli import hookrun

    assert str(PROJECT_FILE) == hookrun._PROJECT_FILE


def test_a_hook_with_work_still_does_it(project: tuple[Path, str, str], tmp_path: Path) -> None:
    """The no-op shortcuts must not swallow real work: a clone's first checkout restores the
    model, a checkout to a commit with another version of it restores that one, and a
    malformed pre-push line is still refused."""
    repo, _, head = project
    (repo / "model.bin").unlink()
    proc, _ = probe(repo, tmp_path, "hook", "post-checkout", "0" * 40, head, "1")
    assert proc.returncode == 0, proc.stderr
    assert "gitmv: restored model.bin" in proc.stderr
    assert (repo / "model.bin").read_bytes() == b"weights" * 1000
    # a new version on a branch: switching back and forth restores each version
    git(repo, "switch", "-q", "-c", "v2")
    (repo / "model.bin").write_bytes(b"v2")
    run_gitmv(repo, "add", "model.bin")
    git(repo, "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-qam", "v2")
    v2 = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "switch", "-q", "-")
    proc, _ = probe(repo, tmp_path, "hook", "post-checkout", v2, head, "1")
    assert "gitmv: restored model.bin" in proc.stderr, proc.stderr
    assert (repo / "model.bin").read_bytes() == b"weights" * 1000
    bad = run_gitmv(repo, "hook", "pre-push", code=None)  # not as git runs it
    assert bad.returncode == 1 and "expects git's two arguments" in bad.stderr
    proc, _ = probe(repo, tmp_path, "hook", "pre-push", "origin", "x", stdin="one two\n")
    assert proc.returncode == 1 and "error: pre-push: cannot read git's line" in proc.stderr
