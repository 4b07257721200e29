"""Property: no sequence of commits, branches, pushes and gcs loses a version git can reach.

Random sequences of: commit a new version, branch, switch, delete a branch (git branch -D),
push (gitmv push + git push), push --all, local gc, remote gc (grace 0 and the default
grace), fresh clone + pull. After every step:

- every version that a commit reachable from a ref or a reflog entry names has its bytes
  in the cache or on the remote (read independently of gitmv: `git log -p` of the pointer);
- every version never pushed is in the cache;
- a fresh clone's pull restores the bytes its branch names;
- every version the cache says it holds is whole: with `cache.chunked` on (the second
  test), where versions share chunks and gc removes the chunks no kept list names, no
  kept version ever loses a chunk it is made of.

Real git in a temporary folder, one bare origin and one folder remote per example; gitmv is
called in-process (its core functions, as the commands call them) so that 200 examples fit
in CI's time. `GITMV_SLOW=1` runs the `slow` variant: 1,000 examples of sequences twice as
long (about 10 minutes on 2 cores). CI runs `slow` tests, so that one is opt-in.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitmv.base import git as gitcmd
from gitmv.ops import gc as retention
from gitmv.ops.add import add
from gitmv.ops.checkout import checkout
from gitmv.ops.remotes import add_remote
from gitmv.ops.session import open_session
from gitmv.repo.context import Repo
from gitmv.repo.context import init as gitmv_init
from gitmv.repo.pointers import collect, in_history
from gitmv.store import chunkstore, layout
from gitmv.store.hashing import Oid, hash_bytes
from gitmv.store.pointer import Pointer
from gitmv.transfer import engine as transfer

BRANCHES = ("main", "b1", "b2")
Step = tuple[str, str]  # (operation, branch name or "")

steps = st.lists(
    st.one_of(
        st.tuples(st.just("commit"), st.just("")),
        st.tuples(st.just("commit"), st.just("")),  # twice: versions are what gc is about
        st.tuples(st.just("branch"), st.sampled_from(BRANCHES[1:])),
        st.tuples(st.just("switch"), st.sampled_from(BRANCHES)),
        st.tuples(st.just("delete"), st.sampled_from(BRANCHES[1:])),
        st.tuples(st.just("push"), st.just("")),
        st.tuples(st.just("push_all"), st.just("")),
        st.tuples(st.just("gc"), st.just("")),
        st.tuples(st.just("remote_gc"), st.sampled_from(("0", "default"))),
        st.tuples(st.just("clone_pull"), st.just("")),
    ),
    min_size=1,
    max_size=12,
)


def run(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"
    return proc.stdout


@dataclass
class World:
    top: Path
    work: Path
    origin: Path
    store: Path
    versions: dict[Oid, bytes] = field(default_factory=dict)
    pushed: set[Oid] = field(default_factory=set)
    branches: set[str] = field(default_factory=lambda: {"main"})
    current: str = "main"
    clones: int = 0
    chunked: bool = False
    _repo: Repo | None = None

    def repo(self) -> Repo:
        if self._repo is None:  # config is set once, at the start; refs are never cached
            self._repo = Repo.open(self.work)
        return self._repo


_TEMPLATE: dict[bool, Path] = {}
# the chunked world: versions share a random base, each rewrites one 64 KiB region of it
CHUNKED_CONFIG = "cache:\n  chunked: true\nchunking:\n  min_size: 1024\n  avg_size: 65536\n"
BASE = random.Random(0).randbytes(512 * 1024)


def make_world(top: Path, chunked: bool = False) -> World:
    """A copy of a template made once: bare origin, work repository with gitmv set up and
    a folder remote (both remotes by relative paths, so that the copy is self-contained)."""
    if chunked not in _TEMPLATE:
        base = Path(tempfile.mkdtemp(prefix="gcprop-template-"))
        origin, work = base / "origin.git", base / "work"
        run(base, "init", "-q", "--bare", str(origin))
        run(base, "init", "-q", "-b", "main", str(work))
        run(work, "remote", "add", "origin", "../origin.git")
        repo, _ = gitmv_init(work)
        add_remote(repo, "origin", "../store", default=True, local=False, options=[])
        if chunked:
            with open(work / ".gitmv/config.yaml", "a") as f:
                f.write(CHUNKED_CONFIG)
        run(work, "add", ".gitmv")
        run(work, "commit", "-qm", "gitmv")
        _TEMPLATE[chunked] = base
    shutil.copytree(_TEMPLATE[chunked], top, dirs_exist_ok=True, symlinks=True)
    return World(top, top / "work", top / "origin.git", top / "store", chunked=chunked)


def version_bytes(world: World) -> bytes:
    n = len(world.versions)
    if not world.chunked:
        return f"version {n} of the model\n".encode() * 4
    out = bytearray(BASE)
    at = (n * 7919 * 1024) % (len(BASE) - 65536)
    out[at : at + 65536] = random.Random(n + 1).randbytes(65536)
    return bytes(out)


def apply(world: World, op: str, arg: str) -> None:
    work = world.work
    if op == "commit":
        data = version_bytes(world)
        (work / "model.pt").write_bytes(data)
        add(world.repo(), ["model.pt"])
        run(work, "commit", "-qm", f"v{len(world.versions)}")
        world.versions[hash_bytes(data)] = data
    elif op == "branch":
        if arg not in world.branches:
            run(work, "branch", arg)
            world.branches.add(arg)
    elif op == "switch":
        if arg in world.branches:
            run(work, "checkout", "-q", arg)
            world.current = arg
    elif op == "delete":
        if arg in world.branches and arg != world.current:
            run(work, "branch", "-q", "-D", arg)
            world.branches.discard(arg)
    elif op == "push":  # gitmv push, then git push, as the pre-push hook orders them
        repo = world.repo()
        pointers = collect(repo)
        push(world, repo, pointers)
        run(work, "push", "-q", "origin", "HEAD")
    elif op == "push_all":
        repo = world.repo()
        push(world, repo, in_history(repo, gitcmd.LOCAL_BRANCHES_AND_TAGS))
    elif op == "gc":
        retention.gc_cache(world.repo())
    elif op == "remote_gc":
        repo = world.repo()
        store = open_session(repo, "origin").remote
        grace = 0.0 if arg == "0" else None
        retention.apply_remote_gc(store, retention.plan_remote_gc(repo, store, grace=grace))
    elif op == "clone_pull":
        clone_and_pull(world)


def push(world: World, repo: Repo, pointers: list[tuple[str, Pointer]]) -> None:
    store = open_session(repo, None).remote
    result = transfer.push(repo.cache, store, pointers, jobs=2)
    assert not result.failed and not result.aborted, result
    world.pushed.update(p.oid for _, p in pointers)


def clone_and_pull(world: World) -> None:
    """A fresh clone of what origin has, and `gitmv pull` there: its bytes arrive."""
    world.clones += 1
    clone = world.top / f"clone{world.clones}"
    run(world.top, "clone", "-q", str(world.origin), str(clone))
    if gitcmd.head_commit(clone) is None:
        return  # nothing pushed yet (or not main)
    repo = Repo.open(clone)
    pointers = collect(repo)
    store = open_session(repo, None).remote
    result = transfer.fetch(repo.cache, store, pointers, jobs=2)
    assert not result.failed and not result.aborted, result
    checkout(repo)
    for artifact, p in pointers:
        assert hash_bytes((clone / artifact).read_bytes()) == p.oid


def named_by_history(work: Path) -> set[Oid]:
    """The versions some commit reachable from a ref or reflog names: read from `git log -p`,
    not from gitmv (every reachable tree's pointer was added by a reachable commit)."""
    text = run(work, "log", "--all", "--reflog", "-p", "--format=", "--", "model.pt.gmv")
    return {
        Oid.parse(line[len("+oid: ") :]) for line in text.splitlines() if line.startswith("+oid: ")
    }


def check(world: World, history_so_far: list[Step]) -> None:
    cache = world.repo().cache
    for oid in named_by_history(world.work):
        on_remote = (world.store / layout.object_key(oid)).exists() or (
            world.store / (layout.object_key(oid) + ".chunks")
        ).exists()
        assert cache.has(oid) or on_remote, f"version {oid} lost after {history_so_far}"
        if cache.has(oid):  # and what the cache holds rebuilds it, every chunk included
            assert cache.verify(oid), f"version {oid} broken after {history_so_far}"
    for oid in world.versions:
        if oid not in world.pushed:
            assert cache.has(oid), f"unpushed version {oid} gone after {history_so_far}"


def play(sequence: list[Step], chunked: bool = False) -> None:
    with tempfile.TemporaryDirectory(prefix="gcprop-") as top:
        world = make_world(Path(top), chunked)
        done: list[Step] = []
        for op, arg in sequence:
            apply(world, op, arg)
            done.append((op, arg))
            check(world, done)


COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow], "database": None}


@settings(max_examples=200, **COMMON)  # type: ignore[arg-type]
@given(steps)
def test_gc_never_loses_a_reachable_version(sequence: list[Step]) -> None:
    play(sequence)


@settings(max_examples=60, **COMMON)  # type: ignore[arg-type]
@given(steps)
def test_gc_never_loses_a_reachable_version_with_a_chunked_cache(sequence: list[Step]) -> None:
    saved = chunkstore.SWEEP_GRACE
    chunkstore.SWEEP_GRACE = 0.0  # gc removes unnamed chunks at once: the case to get right
    try:
        play(sequence, chunked=True)
    finally:
        chunkstore.SWEEP_GRACE = saved


@pytest.mark.slow
@pytest.mark.timeout(3600)  # pyproject's 300 s is for one test, this is a campaign
@pytest.mark.skipif(not os.environ.get("GITMV_SLOW"), reason="set GITMV_SLOW=1 to run")
@settings(max_examples=1000, **COMMON)  # type: ignore[arg-type]
@given(steps.flatmap(lambda first: steps.map(lambda second: first + second)))
def test_gc_never_loses_a_reachable_version_long(sequence: list[Step]) -> None:
    play(sequence)
