"""Work that grows with the change (issue 18): after edits to a folder artifact, the folder
index's answers (status, add, checkout) are those of a full rescan, and an index that is
stale, garbled or missing is never trusted."""

from __future__ import annotations

import itertools
import os
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitmv import api
from gitmv.repo.context import Repo
from gitmv.repo.pointers import read_pointer
from gitmv.store.hashing import hash_bytes
from gitmv.store.state import StatCache
from gitmv.workspace import incremental, scan
from gitmv.workspace.checkout import checkout
from tests.helpers import git, gitmv, snapshot

NAMES = ["a.bin", "b.bin", "sub/c.bin", "sub/d e.bin", "sub/deep/f.bin", "g.bin"]
# every write gets its own mtime well in the past: out of the racy window, and never the
# same (inode, size, mtime) for other bytes, which no stat-based tool could tell apart
_clock = itertools.count()


def _past() -> int:
    return time.time_ns() - 3_600_000_000_000 + next(_clock) * 1_000_000_000


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    stamp = _past()
    os.utime(path, ns=(stamp, stamp))


def _rescan(repo: Path, folder: Path) -> bytes:
    """The folder's manifest from scratch: an empty stat cache, every file hashed."""
    with tempfile.TemporaryDirectory() as fresh:
        state = StatCache(Path(fresh) / "state.sqlite")
        try:
            return scan.scan_folder(folder, repo, state, "xxh128", 1).manifest()
        finally:
            state.close()


def _modes(folder: Path) -> dict[str, bool]:
    return {
        str(p.relative_to(folder)): bool(p.stat().st_mode & 0o100)
        for p in folder.rglob("*")
        if p.is_file()
    }


edits = st.lists(
    st.tuples(
        st.sampled_from(["add", "modify", "delete", "rename", "touch", "chmod"]),
        st.sampled_from(NAMES),
        st.sampled_from(NAMES),
        st.binary(max_size=8),
    ),
    min_size=1,
    max_size=6,
)


def _apply(folder: Path, steps: list[tuple[str, str, str, bytes]]) -> None:
    for op, name, other, data in steps:
        path, target = folder / name, folder / other
        if op == "add" and not path.exists():
            _write(path, b"new " + data)
        elif op == "modify" and path.exists():
            _write(path, path.read_bytes() + b"+" + data)
        elif op == "delete" and path.exists():
            path.unlink()
        elif op == "rename" and path.exists() and not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            path.rename(target)  # same inode, same mtime, another name
        elif op == "touch" and path.exists():
            stamp = _past()
            os.utime(path, ns=(stamp, stamp))  # new mtime, same bytes
        elif op == "chmod" and path.exists():
            path.chmod(path.stat().st_mode ^ 0o100)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=edits)
def test_index_answers_as_a_full_rescan_after_random_edits(
    repo: Path, steps: list[tuple[str, str, str, bytes]]
) -> None:
    folder = repo / f"data{next(_clock)}"
    rel = folder.name
    for i, name in enumerate(NAMES[:4]):
        _write(folder / name, b"v1 %d" % i)
    first = api.add([rel], repo=repo).artifacts[0].pointer
    before, before_modes = snapshot(folder), _modes(folder)

    _apply(folder, steps)
    after, after_modes = snapshot(folder), _modes(folder)
    expected = _rescan(repo, folder)
    handle = Repo.open(repo)
    listing = scan.quick_listing(folder)
    assert listing is not None
    now = incremental.current(
        folder,
        handle.state,
        handle.cache,
        "xxh128",
        listing,
        lambda p, s: scan.hash_one(p, s, "xxh128"),
    )
    assert now is not None  # the index was used, not a rescan
    assert now.manifest() == expected
    state = api.status([rel], repo=repo).artifacts[0].state
    assert state == ("clean" if hash_bytes(expected) == first.oid else "modified")

    second = api.add([rel], repo=repo).artifacts[0].pointer
    assert second.oid == hash_bytes(expected)
    assert (second.files, second.size) == (
        expected.count(b"\n"),
        sum(len(v) for v in after.values()),
    )
    assert api.status([rel], repo=repo).artifacts[0].state == "clean"

    # the other version and back: only the differing files are written, the result whole
    assert checkout(handle, [(rel, first)]).restored in ((rel,), ())
    assert snapshot(folder) == before and _modes(folder) == before_modes
    assert checkout(handle, [(rel, read_pointer(handle, rel))]).restored in ((rel,), ())
    assert snapshot(folder) == after and _modes(folder) == after_modes
    handle.state.close()


def _index(repo: Path, rel: str) -> Path:
    handle = Repo.open(repo)
    try:
        return incremental.index_path(handle.state, repo / rel)
    finally:
        handle.state.close()


def test_a_garbled_stale_or_missing_index_is_never_trusted(repo: Path) -> None:
    folder = repo / "data"
    for i, name in enumerate(NAMES):
        _write(folder / name, b"v1 %d" % i)
    gitmv(repo, "add", "data")
    index = _index(repo, "data")
    stale = index.read_bytes()
    _write(folder / "a.bin", b"v2")
    gitmv(repo, "add", "data")
    fresh = index.read_bytes()
    assert fresh != stale
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "v2")
    _write(folder / "sub/c.bin", b"v3 changed")
    wanted = hash_bytes(_rescan(repo, folder))

    head, _, body = fresh.partition(b"\n")
    other = hash_bytes(b"").hex.encode()  # another manifest oid, checksum left as it was
    damaged = {
        "garbled body": head + b"\n" + body.replace(b"a.bin", b"a.bim"),
        "another manifest": head.replace(head.split(b" ")[2][7:], other) + b"\n" + body,
        "truncated": fresh[: len(fresh) // 2],
        "stale (an older, whole index)": stale,
        "empty": b"",
    }
    for what, data in damaged.items():
        index.write_bytes(data)
        # the stat cache's folder stamps would answer before the index: start without them
        (repo / ".git/gitmv/state.sqlite").unlink()
        for extra in ("-wal", "-shm"):
            (repo / f".git/gitmv/state.sqlite{extra}").unlink(missing_ok=True)
        out = gitmv(repo, "status", "--json").stdout
        assert '"modified"' in out, what
        gitmv(repo, "add", "data")
        assert read_pointer(Repo.open(repo), "data").oid == wanted, what
        git(repo, "checkout", "-q", "HEAD", "--", "data.gmv")  # v2 pointer, staged too
    index.unlink()
    gitmv(repo, "add", "data")
    assert read_pointer(Repo.open(repo), "data").oid == wanted
    assert index.is_file()  # add wrote a new one


def test_files_written_within_the_racy_window_are_looked_at_again(repo: Path) -> None:
    """Written just before `add`, then removed or rewritten at once (same second, same
    size): the index never vouches for them, and a removal is still seen."""
    folder = repo / "data"
    folder.mkdir()
    for name in ("a.bin", "b.bin", "c.bin"):
        (folder / name).write_bytes(b"v1 " + name.encode())
    api.add(["data"], repo=repo)
    index = _index(repo, "data")
    assert b"\0~f " in b"\0" + index.read_bytes().partition(b"\n")[2]  # smudged records
    (folder / "b.bin").unlink()
    (folder / "c.bin").write_bytes(b"v2 c.bin")  # same size, likely the same mtime tick
    expected = _rescan(repo, folder)
    assert api.status(["data"], repo=repo).artifacts[0].state == "modified"
    assert api.add(["data"], repo=repo).artifacts[0].pointer.oid == hash_bytes(expected)
    assert api.status(["data"], repo=repo).artifacts[0].state == "clean"
