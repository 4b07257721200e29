"""Property: with packs on the remote, no sequence of commits, branches, pushes (packed or
loose), repacks and gcs leaves a version git can reach unfindable (DESIGN 3.1.1, 3.2).

The world and its steps are test_gc_property.py's; pushes here go in tiny packs (a few
versions each, so that remote gc both drops and rewrites packs), some pushes go loose, and
`repack` moves loose objects into packs. After every step, every version a reachable commit
names is in the cache, loose on the remote, or in an indexed pack whose bytes are sound.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from gitmv.base import git as gitcmd
from gitmv.ops.session import open_session
from gitmv.repo.pointers import collect, in_history
from gitmv.store import layout
from gitmv.store.packs import PackSettings
from gitmv.transfer import engine as transfer
from gitmv.transfer import packgc
from tests.functional import test_gc_property as base
from tests.functional.test_packs import pack_members

TINY = PackSettings(max_object=4 * 1024 * 1024, size=300)  # a version is 128 bytes
LOOSE = PackSettings(max_object=0)

_BASE_STEPS = [
    ("commit", ""),
    ("branch", "b1"),
    ("switch", "b1"),
    ("switch", "main"),
    ("delete", "b1"),
    ("gc", ""),
    ("remote_gc", "default"),
    ("clone_pull", ""),
]
steps = st.lists(
    st.one_of(
        # a new version pushed at once, most often: the versions gc and repack work on
        st.tuples(st.just("commit_push"), st.sampled_from(("packed", "packed", "loose"))),
        st.sampled_from(_BASE_STEPS),
        st.tuples(st.just("push_all"), st.sampled_from(("packed", "loose"))),
        st.tuples(st.just("repack"), st.just("")),
        st.tuples(st.just("gc"), st.just("")),
        st.tuples(st.just("remote_gc"), st.just("0")),
    ),
    min_size=1,
    max_size=14,
)


def apply(world: base.World, op: str, arg: str) -> None:
    if op == "commit_push":
        base.apply(world, "commit", "")
        op = "push"
    if op not in ("push", "push_all", "repack"):
        base.apply(world, op, arg)
        return
    repo = world.repo()
    store = open_session(repo, None).remote
    if op == "repack":
        if store.root.exists():  # type: ignore[attr-defined]
            assert packgc.repack(store, TINY, 2).aborted is None
        return
    every = op == "push_all"
    pointers = in_history(repo, gitcmd.LOCAL_BRANCHES_AND_TAGS) if every else collect(repo)
    pack = LOOSE if arg == "loose" else TINY
    result = transfer.push(repo.cache, store, pointers, jobs=2, pack=pack)
    assert not result.failed and not result.aborted, result
    world.pushed.update(p.oid for _, p in pointers)
    if op == "push":
        base.run(world.work, "push", "-q", "origin", "HEAD")


def check(world: base.World, done: list[base.Step]) -> None:
    cache = world.repo().cache
    packed = pack_members(world.store) if world.store.exists() else {}
    for oid in base.named_by_history(world.work):
        key = layout.object_key(oid)
        findable = (world.store / key).exists() or key in packed
        assert cache.has(oid) or findable, f"version {oid} unfindable after {done}"
    for oid in world.versions:
        if oid not in world.pushed:
            assert cache.has(oid), f"unpushed version {oid} gone after {done}"


@settings(max_examples=60, **base.COMMON)  # type: ignore[arg-type]
@given(steps)
def test_packs_gc_and_repack_never_leave_a_kept_version_unfindable(
    sequence: list[base.Step],
) -> None:
    with tempfile.TemporaryDirectory(prefix="packprop-") as top:
        world = base.make_world(Path(top))
        done: list[base.Step] = []
        for op, arg in sequence:
            apply(world, op, arg)
            done.append((op, arg))
            check(world, done)
