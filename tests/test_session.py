"""ops.session: the one place a remote is opened (its name or the default, its jobs, its
chunking settings), and the one error every command gives when there is no default remote."""

from __future__ import annotations

from pathlib import Path

from gitmv.ops.session import open_session
from gitmv.repo.context import Repo
from tests.helpers import assert_clean_error, git, gitmv

NO_DEFAULT = "error: no default remote is configured"


def local_config(repo: Path, text: str) -> None:
    (repo / ".git/gitmv/config.yaml").write_text(text)


def test_jobs_come_from_the_flag_then_the_remote_then_core_jobs_then_the_default(
    repo: Path, tmp_path: Path
) -> None:
    gitmv(repo, "remote", "add", "origin", str(tmp_path / "store"), "--default")
    gitmv(repo, "remote", "add", "quick", str(tmp_path / "quick"), "--option", "jobs=3")
    opened = Repo.open(repo)
    default = open_session(opened, None)
    assert default.remote.spec.name == "origin"
    assert default.jobs == default.remote.default_jobs  # a folder: its own default
    assert open_session(opened, "quick").jobs == 3  # the remote's option
    assert open_session(opened, "quick", 5).jobs == 5  # --jobs wins over the option

    local_config(repo, "core:\n  jobs: 7\n")
    opened = Repo.open(repo)
    assert open_session(opened, None).jobs == 7  # core.jobs over the backend default
    assert open_session(opened, "quick").jobs == 3  # the remote's option over core.jobs
    assert open_session(opened, None, 2).jobs == 2  # --jobs over everything
    assert open_session(opened, None).settings == open_session(opened, "quick").settings


def test_every_command_gives_the_same_error_without_a_default_remote(repo: Path) -> None:
    (repo / "model.pkl").write_bytes(b"weights v1")
    gitmv(repo, "add", "model.pkl", "--name", "churn", "--type", "model")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "model")
    gitmv(repo, "registry", "register", "churn", "--version", "v1.0.0")  # warns: not backed up
    # Serving from a clone whose cache is empty: the bytes must come from a remote.
    clone = repo.parent / "clone"
    git(repo.parent, "clone", "-q", str(repo), str(clone))
    gitmv(clone, "init", "--no-hooks")
    runs = {
        "push": gitmv(repo, "push", code=None),
        "fetch": gitmv(repo, "fetch", code=None),
        "pull": gitmv(repo, "pull", code=None),
        "status --remote": gitmv(repo, "status", "--remote", code=None),
        "registry get": gitmv(clone, "registry", "get", "churn@v1.0.0", "-o", "x", code=None),
    }
    for command, proc in runs.items():
        assert_clean_error(proc)
        lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
        assert lines == [NO_DEFAULT], (command, proc.stderr)
        assert "gitmv remote add NAME URL --default" in proc.stderr, command
    assert not (clone / "x").exists()


def test_gc_and_verify_name_an_unknown_remote_the_same_way(repo: Path) -> None:
    wanted = "error: no remote named 'origin' (configured: none)"
    for args in (("gc", "--remote", "origin", "--yes"), ("verify", "--remote", "origin")):
        proc = gitmv(repo, *args, code=None)
        assert_clean_error(proc)
        assert [x for x in proc.stderr.splitlines() if x.startswith("error:")] == [wanted], args


def test_registry_get_honours_core_jobs(repo: Path, tmp_path: Path) -> None:
    gitmv(repo, "remote", "add", "origin", str(tmp_path / "store"), "--default")
    (repo / "model.pkl").write_bytes(b"weights v1")
    gitmv(repo, "add", "model.pkl", "--name", "churn", "--type", "model")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "model")
    gitmv(repo, "push")
    gitmv(repo, "registry", "register", "churn", "--version", "v1.0.0")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    gitmv(clone, "init", "--no-hooks")
    local_config(clone, "core:\n  jobs: 3\n")
    assert open_session(Repo.open(clone), None).jobs == 3  # the value registry get now uses
    # A core.jobs registry get ignored before is now read: a bad one is a clean error ...
    local_config(clone, "core:\n  jobs: many\n")
    proc = gitmv(clone, "registry", "get", "churn@v1.0.0", "-o", "served.pkl", code=None)
    assert_clean_error(proc)
    assert "core.jobs" in proc.stderr
    assert not (clone / "served.pkl").exists()
    # ... and a good one serves the bytes.
    local_config(clone, "core:\n  jobs: 3\n")
    gitmv(clone, "registry", "get", "churn@v1.0.0", "-o", "served.pkl")
    assert (clone / "served.pkl").read_bytes() == b"weights v1"
