"""The command surface (DESIGN 5): -h, -q/-v, --json, exit codes, spelling, completion.

Every test runs the real `gitmv` as a process on a real repository.
"""

from __future__ import annotations

import json
import os
import pty
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from gitmv.cli import load_app, surface
from tests.helpers import git, gitmv, snapshot


def _command_paths() -> list[tuple[str, ...]]:
    """Every visible command of the real Click tree, as the words that name it."""
    found: list[tuple[str, ...]] = []

    def walk(command: Any, path: tuple[str, ...]) -> None:
        found.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            if not sub.hidden:
                walk(sub, (*path, name))

    walk(surface.build(load_app()), ())
    return found


def test_h_is_help_on_every_command_and_lists_quiet_and_verbose(tmp_path: Path) -> None:
    paths = _command_paths()
    assert ("registry", "get") in paths and ("push",) in paths
    for path in paths:
        proc = gitmv(tmp_path, *path, "-h")
        assert proc.stdout.startswith("Usage: gitmv"), (path, proc.stdout)
        assert "-q, --quiet" in proc.stdout and "-v, --verbose" in proc.stdout, path
        assert "-h, --help" in proc.stdout, path


def test_usage_errors_exit_2_spelt_error_and_hint(repo: Path) -> None:
    cases = [
        ("push", "--all", "model.bin"),  # conflicting sources: was exit 1
        ("add",),  # a missing argument
        ("status", "--bogus"),
        ("push", "--jobs", "0"),
        ("registry", "nonsense"),
        ("registry", "get", "m", "-o", "-", "--json"),  # both want stdout
        ("verify", "--deep"),  # --deep needs --remote
    ]
    for args in cases:
        proc = gitmv(repo, *args, code=2)
        lines = proc.stderr.splitlines()
        assert lines[0].startswith("error: "), (args, proc.stderr)
        assert lines[1].startswith("hint: "), (args, proc.stderr)
        assert "Error" not in proc.stderr and "Usage:" not in proc.stderr, proc.stderr
        assert proc.stdout == ""


def test_no_args_prints_the_help_and_exits_0(tmp_path: Path) -> None:
    assert "Commands:" in gitmv(tmp_path).stdout
    assert "add" in gitmv(tmp_path, "remote").stdout


def _with_model(repo: Path, size: int = 3000) -> Path:
    (repo / "model.bin").write_bytes(os.urandom(size))
    return repo / "model.bin"


def test_quiet_silences_info_keeps_errors_and_answers(repo: Path, tmp_path: Path) -> None:
    _with_model(repo)
    assert gitmv(repo, "add", "-q", "model.bin").stdout == ""
    git(repo, "commit", "-qm", "v1")
    remote = tmp_path / "store"
    assert gitmv(repo, "remote", "add", "origin", str(remote), "--default", "-q").stdout == ""
    assert gitmv(repo, "push", "-q").stdout == ""
    assert gitmv(repo, "-q", "push").stdout == ""  # on the root too
    # a query's answer is what was asked for: -q keeps it
    assert "model.bin" in gitmv(repo, "ls", "-q").stdout
    assert "model.bin" in gitmv(repo, "-q", "ls").stdout  # -q given before the command
    (repo / "model.bin").write_bytes(b"changed")
    assert "modified:" in gitmv(repo, "status", "-q").stdout
    assert "modified:" in gitmv(repo, "-q", "status", "--remote").stdout
    # errors and their hints stay
    proc = gitmv(repo, "checkout", "-q", "nothing-here", code=1)
    assert proc.stdout == "" and proc.stderr.startswith("error: ")


def test_verbose_adds_timings_on_stderr(repo: Path) -> None:
    _with_model(repo)
    plain = gitmv(repo, "add", "model.bin")
    assert "gitmv: " not in plain.stderr
    proc = gitmv(repo, "ls", "-v")
    assert re.search(r"^gitmv: \d+\.\d\d s$", proc.stderr, re.M), proc.stderr
    assert "model.bin" in proc.stdout
    assert "unchanged: model.bin" not in gitmv(repo, "checkout").stderr
    assert "unchanged: model.bin" in gitmv(repo, "checkout", "-v").stderr


def test_show_completion_prints_a_bash_script(tmp_path: Path) -> None:
    proc = gitmv(tmp_path, "--show-completion", "bash", env={"SHELL": "/bin/bash"})
    assert "complete -o default -F _gitmv_completion gitmv" in proc.stdout
    assert "_GITMV_COMPLETE" in proc.stdout
    assert "--install-completion" in gitmv(tmp_path, "-h").stdout


def test_completion_answers_with_the_commands(tmp_path: Path) -> None:
    env = {"_GITMV_COMPLETE": "complete_bash", "COMP_WORDS": "gitmv pu", "COMP_CWORD": "1"}
    words = gitmv(tmp_path, env=env).stdout.split()
    assert "push" in words and "pull" in words and "add" not in words


def test_completion_support_stays_off_the_status_fast_path(repo: Path) -> None:
    """Completion lives in Typer: a plain `status` (no Typer) never loads it, nor the shell
    detector. (`--version` still builds Typer today; its fast path is start-up's work.)"""
    proc = gitmv(repo, "status", env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert "shellingham" not in proc.stderr and "typer" not in proc.stderr


def _json(repo: Path, *args: str, code: int = 0) -> Any:
    proc = gitmv(repo, *args, "--json", code=code)
    return json.loads(proc.stdout)


def test_json_on_every_reporting_command(repo: Path, tmp_path: Path) -> None:
    """One JSON document on stdout, nothing else there, with the fields a script needs."""
    assert _json(repo, "init")["created"] is False
    _with_model(repo, 5000)
    (repo / "data").mkdir()
    (repo / "data" / "a.csv").write_text("a\n")
    assert _json(repo, "add", "model.bin", "--name", "m")[0]["name"] == "m"
    added = {row["path"]: row for row in _json(repo, "add", "model.bin", "data")}
    assert added["model.bin"]["size"] == 5000 and added["model.bin"]["changed"] is False
    assert added["data"]["kind"] == "dir" and added["data"]["files"] == 1
    git(repo, "commit", "-qm", "v1")
    store = tmp_path / "store"
    gitmv(repo, "remote", "add", "origin", str(store), "--default")
    assert _json(repo, "remote", "list")[0]["name"] == "origin"
    pushed = _json(repo, "push")
    assert pushed["transferred"] >= 2 and pushed["ok"] is True and "origin" in pushed["remote"]
    assert {r["state"] for r in _json(repo, "status")} == {"clean"}
    assert {r["path"] for r in _json(repo, "ls")} == {"model.bin", "data"}
    (repo / "model.bin").unlink()
    assert _json(repo, "checkout")["restored"] == ["model.bin"]
    fetched = _json(repo, "fetch")
    assert fetched["transferred"] == 0 and fetched["failed"] == []
    pulled = _json(repo, "pull")
    assert pulled["fetched"]["ok"] is True
    assert sorted(pulled["checkout"]["unchanged"]) == ["data", "model.bin"]
    assert _json(repo, "verify")["problems"] == []
    assert _json(repo, "gc", "--dry-run")["dry_run"] is True
    assert _json(repo, "diff", "HEAD", "HEAD") == []
    hooks = _json(repo, "install")
    assert {h["hook"] for h in hooks["hooks"]} >= {"pre-push", "post-checkout"}
    assert _json(repo, "uninstall")["auto_install"] is False
    assert _json(repo, "import", "lfs", "--dry-run")["converted"] == []
    assert _json(repo, "registry", "register", "m")["version"] == "v0.0.1"
    assert _json(repo, "registry", "assign", "m", "--stage", "prod")["stage"] == "prod"
    assert [row["name"] for row in _json(repo, "registry", "list")] == ["m"]
    assert _json(repo, "registry", "show", "m@prod")["version"] == "v0.0.1"
    assert len(_json(repo, "registry", "history", "m")) == 2
    got = _json(repo, "registry", "get", "m", "-o", str(tmp_path / "out.bin"))
    assert got["version"] == "v0.0.1" and got["size"] == 5000
    assert (tmp_path / "out.bin").stat().st_size == 5000


def test_json_error_leaves_stdout_empty(repo: Path, tmp_path: Path) -> None:
    """An error before any report (an unknown remote): nothing on stdout for a script to
    mistake for a document; the error on stderr, exit 1."""
    _with_model(repo)
    gitmv(repo, "add", "model.bin")
    git(repo, "commit", "-qm", "v1")
    proc = gitmv(repo, "push", "--remote", "nowhere", "--json", code=1)
    assert proc.stdout == "" and proc.stderr.startswith("error: ")


def test_readme_checkout_line_works_in_a_clone_without_hooks(repo: Path, tmp_path: Path) -> None:
    """README: `git checkout v1 && gitmv …` brings v1's bytes back even where no hook ran
    (a clone's cache holds only what its first pull fetched)."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    line = next(
        x for x in readme.splitlines() if x.startswith("$ git checkout") and " v1 && gitmv " in x
    )
    command = line.split("&&", 1)[1].split("#", 1)[0].split()
    assert command[0] == "gitmv"
    store = tmp_path / "store"
    gitmv(repo, "remote", "add", "origin", str(store), "--default")
    (repo / "model.bin").write_bytes(b"v1" * 1000)
    gitmv(repo, "add", "model.bin")
    git(repo, "commit", "-qm", "v1")
    git(repo, "tag", "v1")
    (repo / "model.bin").write_bytes(b"v2" * 1000)
    gitmv(repo, "add", "model.bin")
    git(repo, "commit", "-qm", "v2")
    gitmv(repo, "push", "--all")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    gitmv(clone, "pull")
    assert (clone / "model.bin").read_bytes() == b"v2" * 1000
    git(clone, "-c", f"core.hooksPath={tmp_path / 'no-hooks'}", "checkout", "-q", "v1")
    gitmv(clone, *command[1:])
    assert (clone / "model.bin").read_bytes() == b"v1" * 1000


def _folder(repo: Path) -> None:
    (repo / "d").mkdir()
    for i in range(8):
        (repo / "d" / f"f{i}").write_text(f"{i}\n")
    gitmv(repo, "add", "d")
    git(repo, "commit", "-qm", "d")
    (repo / "d" / "f1").write_text("changed\n")
    (repo / "d" / "f2").unlink()
    for i in range(6):
        (repo / "d" / f"new{i}").write_text("n\n")


def test_status_names_the_files_changed_inside_a_folder(repo: Path) -> None:
    _folder(repo)
    out = gitmv(repo, "status").stdout
    assert "modified:     d\n" in out
    named = re.findall(r"^ +(added|modified|deleted): +(d/\S+)$", out, re.M)
    assert len(named) == 5 and ("added", "d/new0") in named
    assert "... and 3 more files" in out
    everything = re.findall(
        r"^ +(added|modified|deleted): +(d/\S+)$", gitmv(repo, "status", "-v").stdout, re.M
    )
    assert ("modified", "d/f1") in everything and ("deleted", "d/f2") in everything
    assert len(everything) == 8
    row = _json(repo, "status")[0]
    assert row["files"] == {
        "added": [f"new{i}" for i in range(6)],
        "modified": ["f1"],
        "deleted": ["f2"],
    }
    # from a subfolder, paths are relative to where it runs
    sub = gitmv(repo / "d", "status", "-v").stdout
    assert re.search(r"^ +deleted: +f2$", sub, re.M), sub


def test_diff_names_the_files_changed_inside_a_folder(repo: Path) -> None:
    _folder(repo)
    gitmv(repo, "add", "d")
    out = gitmv(repo, "diff").stdout
    assert out.startswith("modified  d  ")
    assert "... and 3 more files" in out
    files = _json(repo, "diff")[0]["files"]
    assert files["modified"] == ["f1"] and files["deleted"] == ["f2"] and len(files["added"]) == 6
    git(repo, "commit", "-qm", "d2")
    assert _json(repo, "diff", "HEAD~1", "HEAD")[0]["files"] == files


def _on_a_terminal(cwd: Path, *args: str) -> tuple[int, str, str]:
    """Run gitmv with stderr on a pseudo-terminal (as a user at a shell): exit code, stdout,
    and what the terminal showed."""
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(TERM="xterm", COLUMNS="120")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gitmv", *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave,
        env=env,
    )
    os.close(slave)
    shown = bytearray()
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        shown += data
    os.close(master)
    assert proc.stdout is not None
    out = proc.stdout.read().decode()
    return proc.wait(), out, shown.decode(errors="replace")


def test_add_shows_a_hashing_bar_on_a_terminal_only(repo: Path) -> None:
    with open(repo / "big.bin", "wb") as f:
        f.truncate(80 * 1024 * 1024)  # over the bar's threshold; sparse: quick to make
    code, out, shown = _on_a_terminal(repo, "add", "big.bin")
    assert code == 0 and out.startswith("added: big.bin")
    assert "add" in shown and "/1 files" in shown, shown
    assert "80.0 MiB" in shown and " MB" not in shown, shown  # binary units, as everywhere
    # piped: no bar, nothing but the summary
    (repo / "big.bin").write_bytes(b"x" * (80 * 1024 * 1024))
    proc = gitmv(repo, "add", "big.bin")
    assert proc.stderr == "" and proc.stdout.startswith("added: big.bin")
    # and -q silences the bar on a terminal too
    (repo / "big.bin").write_bytes(b"y" * (80 * 1024 * 1024))
    code, out, shown = _on_a_terminal(repo, "add", "-q", "big.bin")
    assert code == 0 and out == "" and "files" not in shown


def test_pull_bar_counts_the_files_it_writes(repo: Path, tmp_path: Path) -> None:
    """The bar grows by the bytes left to write once the fetch is done, instead of sitting
    full while a folder is written out."""
    (repo / "d").mkdir()
    for i in range(16):
        (repo / "d" / f"f{i}").write_bytes(bytes([i]) * (1024 * 1024))
    gitmv(repo, "remote", "add", "origin", str(tmp_path / "store"), "--default")
    gitmv(repo, "add", "d")
    git(repo, "add", ".gitmv")
    git(repo, "commit", "-qm", "d")
    gitmv(repo, "push")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    code, out, shown = _on_a_terminal(clone, "pull")
    assert code == 0 and "restored: d" in out, (out, shown)
    assert "pull" in shown and "32.0/32.0 MiB" in shown, shown  # 16 MiB fetched + 16 written
    assert (clone / "d" / "f3").read_bytes() == bytes([3]) * (1024 * 1024)


def _temps(root: Path) -> list[str]:
    return [os.path.join(d, n) for d, _, names in os.walk(root) for n in names if ".gmvtmp-" in n]


def test_ctrl_c_during_add_exits_130_with_nothing_half_written(repo: Path) -> None:
    block = b"\x01" * (4 * 1024 * 1024)
    with open(repo / "big.bin", "wb") as f:
        for _ in range(192):  # 768 MiB: the copy into the cache takes a good fraction of a second
            f.write(block)
    before = snapshot(repo)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gitmv", "add", "big.bin"],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not _temps(repo / ".git" / "gitmv") and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.002)
    proc.send_signal(signal.SIGINT)  # mid-copy: the object's temp file exists
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (proc.returncode, out, err)
    assert "Traceback" not in err and err.strip().endswith("error: interrupted"), err
    assert _temps(repo) == []
    assert not (repo / "big.bin.gmv").exists()
    after = snapshot(repo)
    assert {k for k in after if k.startswith(".git/gitmv/cache/")} == set()
    assert {k: v for k, v in after.items() if not k.startswith(".git/gitmv/")} == {
        k: v for k, v in before.items() if not k.startswith(".git/gitmv/")
    }


def test_one_spelling_and_binary_units_in_the_source() -> None:
    """No `Error:`/`Warning:`/`Hint:` and no decimal size units in anything gitmv prints
    (its source, the hook shims included)."""
    root = Path(__file__).parents[2] / "gitmv"
    capital = re.compile(r"""["'`](Error|Warning|Hint): """)
    decimal = re.compile(r"\d ?(kB|KB|MB|GB|TB)\b|\{[^}]*\} ?(kB|KB|MB|GB)\b")
    found = []
    for path in root.rglob("*.py"):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if capital.search(line) or decimal.search(line):
                found.append(f"{path.relative_to(root)}:{n}: {line.strip()}")
    assert found == []
