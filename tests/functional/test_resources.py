"""A full disk, a held lock, and what killed commands leave behind.

The full-disk tests run on a real small file system (a tmpfs mounted for the test; they
are skipped where mounting is not allowed): ENOSPC is one `error:` naming the folder, and
`status` answers even with no byte free. Kills are real SIGKILLs of the process group,
sent the moment the command's temp file appears.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers import assert_clean_error, git, gitmv

CACHE = Path(".git/gitmv/cache")


# -- a small real file system -------------------------------------------------------------------


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """An 8 MiB tmpfs, mounted for the test."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mnt)], capture_output=True
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _repo_in(folder: Path) -> Path:
    repo = folder / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    gitmv(repo, "init", "--no-hooks")
    return repo


def _fill(folder: Path, leave: int = 0) -> None:
    """Fill the file system of `folder` until about `leave` bytes are free (0: none)."""
    st = os.statvfs(folder)
    with open(folder / "filler", "ab", buffering=0) as f:
        f.write(b"\0" * max(0, st.f_bavail * st.f_frsize - leave))
        if leave == 0:
            try:
                while True:
                    f.write(b"\0" * 4096)
            except OSError:
                pass
            assert os.statvfs(folder).f_bavail == 0


def _temps(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if ".gmvtmp-" in p.name]


def test_add_on_a_full_disk_names_the_folder(small_fs: Path) -> None:
    repo = _repo_in(small_fs)
    (repo / "model.bin").write_bytes(os.urandom(3 << 20))
    _fill(small_fs, leave=1 << 20)

    proc = gitmv(repo, "add", "model.bin", code=None)

    assert_clean_error(proc)
    assert "no space left in" in proc.stderr and str(repo / CACHE) in proc.stderr
    assert "3.0 MiB needed" in proc.stderr
    assert not (repo / "model.bin.gmv").exists()
    assert _temps(repo) == []


def test_checkout_on_a_full_disk_names_the_folder(small_fs: Path) -> None:
    repo = _repo_in(small_fs)
    data = os.urandom(2 << 20)
    (repo / "model.bin").write_bytes(data)
    gitmv(repo, "add", "model.bin")
    os.unlink(repo / "model.bin")
    _fill(small_fs, leave=1 << 20)

    proc = gitmv(repo, "checkout", code=None)

    assert_clean_error(proc)
    assert f"no space left in {repo}" in proc.stderr and "2.0 MiB needed" in proc.stderr
    assert not (repo / "model.bin").exists()
    assert _temps(repo) == []
    os.unlink(small_fs / "filler")
    gitmv(repo, "checkout")
    assert (repo / "model.bin").read_bytes() == data


def test_status_answers_on_a_completely_full_disk(small_fs: Path) -> None:
    repo = _repo_in(small_fs)
    (repo / "data").mkdir()
    for i in range(30):
        (repo / "data" / f"f{i}.txt").write_text(f"file {i}\n" * 50)
    (repo / "model.bin").write_bytes(os.urandom(100_000))
    gitmv(repo, "add", "data", "model.bin")
    for name in os.listdir(repo / ".git/gitmv"):  # the stat cache must be written anew
        if name.startswith("state.sqlite"):
            os.unlink(repo / ".git/gitmv" / name)
    _fill(small_fs)

    proc = gitmv(repo, "status", code=None)

    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    assert "all clean" in proc.stdout, proc.stdout


# -- the repository lock ------------------------------------------------------------------------

_HOLD = """
import sys, time
from pathlib import Path
from gitmv.repo.context import Repo
with Repo.open(Path(sys.argv[1])).lock():
    print("held", flush=True)
    time.sleep(600)
"""


def test_a_held_lock_is_named_and_a_dead_holders_is_taken(repo: Path) -> None:
    (repo / ".git/gitmv/config.yaml").write_text("core:\n  lock_timeout: 1\n")
    (repo / "a.txt").write_text("a\n")
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(repo)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        start = time.monotonic()
        proc = subprocess.run(  # a timeout: the old lock waited for ever
            [sys.executable, "-m", "gitmv", "add", "a.txt"],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=60,
        )
        took = time.monotonic() - start
        assert_clean_error(proc)
        assert f"pid {holder.pid}" in proc.stderr and "lock" in proc.stderr
        assert 1.0 <= took < 10, took
        assert not (repo / "a.txt.gmv").exists()
    finally:
        holder.kill()  # SIGKILL: it never releases the lock itself
        holder.wait()
    gitmv(repo, "add", "a.txt")
    assert (repo / "a.txt.gmv").exists()


# -- temp files of killed commands --------------------------------------------------------------


def _kill_when(
    args: list[str],
    cwd: Path,
    seen: Callable[[], object],
    reset: Callable[[], None] | None = None,
    tries: int = 8,
) -> bool:
    """Start `gitmv ARGS`, SIGKILL its process group the moment `seen()` holds; True if the
    kill landed while `seen()` still held. A run that reached its end first (or between the
    look and the kill) is tried again, after `reset()` puts the repository back."""
    for _ in range(tries):
        proc = subprocess.Popen(
            [sys.executable, "-m", "gitmv", *args],
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        while proc.poll() is None:
            if seen():
                os.killpg(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.0005)
        proc.wait()
        if seen():
            return True
        if reset is not None:
            reset()
    return False


def test_partial_objects_of_a_killed_add_are_swept_by_the_next_add(repo: Path) -> None:
    tmp = repo / CACHE / "tmp"
    left: list[Path] = []
    for _ in range(3):
        (repo / "model.bin").write_bytes(os.urandom(1 << 20) * 96)  # 96 MiB
        before = set(left)

        def new_bytes() -> None:  # the add ran to its end: give the next one work to do
            (repo / "model.bin").write_bytes(os.urandom(1 << 20) * 96)

        assert _kill_when(
            ["add", "model.bin"], repo, lambda b=before: set(_temps(tmp)) - b, reset=new_bytes
        )
        # each killed add swept the one before it, and left its own
        assert _temps(tmp) and set(_temps(tmp)).isdisjoint(left), (_temps(tmp), left)
        left = _temps(tmp)
    (repo / "small.txt").write_text("x\n")

    gitmv(repo, "add", "small.txt")

    assert _temps(tmp) == []


def test_a_killed_checkout_leaves_old_or_new_and_no_committable_temp(repo: Path) -> None:
    old = os.urandom(1 << 20) * 128  # 128 MiB
    new = os.urandom(1 << 20) * 128
    (repo / "model.bin").write_bytes(old)
    gitmv(repo, "add", "model.bin")
    git(repo, "commit", "-qm", "old")
    (repo / "model.bin").write_bytes(new)
    gitmv(repo, "add", "model.bin")
    git(repo, "commit", "-qm", "new")
    git(repo, "checkout", "-q", "HEAD~1", "--", "model.bin.gmv")

    def temp_beside() -> bool:
        return any(n.startswith("model.bin.gmvtmp-") for n in os.listdir(repo))

    def back_to_new() -> None:
        git(repo, "checkout", "-q", "HEAD", "--", "model.bin.gmv")
        gitmv(repo, "checkout")
        git(repo, "checkout", "-q", "HEAD~1", "--", "model.bin.gmv")

    assert _kill_when(["checkout"], repo, temp_beside, reset=back_to_new)

    assert _temps(repo), "the kill left no temp file: nothing to check"
    assert (repo / "model.bin").read_bytes() in (old, new)  # never neither
    git(repo, "add", "-A")
    staged = git(repo, "diff", "--cached", "--name-only")
    assert "gmvtmp" not in staged and "gmvtmp" not in git(repo, "status", "--porcelain")

    gitmv(repo, "checkout")

    assert _temps(repo) == []
    assert (repo / "model.bin").read_bytes() == old


@pytest.mark.parametrize("then", ["fetch", "checkout", "pull"])
def test_a_killed_fetchs_partial_object_is_swept_by_the_next_command(
    repo: Path, tmp_path: Path, then: str
) -> None:
    (repo / "model.bin").write_bytes(os.urandom(1 << 20) * 128)  # 128 MiB
    gitmv(repo, "add", "model.bin")
    git(repo, "commit", "-qm", "model")
    gitmv(repo, "remote", "add", "origin", str(tmp_path / "store"), "--default")
    gitmv(repo, "push")
    other = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(other))
    gitmv(other, "remote", "add", "origin", str(tmp_path / "store"), "--default")
    tmp = other / CACHE / "tmp"

    def empty_cache() -> None:  # the fetch ran to its end: fetch it all again
        shutil.rmtree(other / CACHE)

    assert _kill_when(
        ["fetch"], other, lambda: bool(tmp.is_dir() and _temps(tmp)), reset=empty_cache
    )
    assert _temps(tmp)

    gitmv(other, then, code=None)

    assert _temps(tmp) == []


def test_pull_on_a_full_disk_names_the_cache_not_the_remote(small_fs: Path, tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    git(source, "init", "-q")
    gitmv(source, "init", "--no-hooks")
    (source / "model.bin").write_bytes(os.urandom(3 << 20))
    gitmv(source, "add", "model.bin")
    gitmv(source, "remote", "add", "origin", str(tmp_path / "store"), "--default")
    git(source, "add", "-A")
    git(source, "commit", "-qm", "model")
    gitmv(source, "push")
    clone = small_fs / "clone"
    git(small_fs, "clone", "-q", str(source), str(clone))
    _fill(small_fs, leave=1 << 20)

    proc = gitmv(clone, "pull", code=None)

    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"no space left in {clone / CACHE}" in proc.stderr, proc.stderr
    assert "internal error" not in proc.stderr and "cannot read object" not in proc.stderr
    assert not (clone / "model.bin").exists()
    assert _temps(clone) == []
