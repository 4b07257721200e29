"""store.manifest.differing_lines: two manifests compared by bisection over their bytes
(issue 18) must answer exactly as a set difference of their lines, sorted or not."""

from __future__ import annotations

import bisect
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from gitmv.store.hashing import Oid
from gitmv.store.manifest import ManifestEntry, differing_lines, encode, find_line


def _entries(count: int, seed: int) -> list[ManifestEntry]:
    rng = random.Random(seed)
    return [
        ManifestEntry(f"d{i % 7}/f{i:05d}.bin", Oid("xxh128", f"{rng.getrandbits(128):032x}"), i)
        for i in range(count)
    ]


def _set_difference(old: bytes, new: bytes) -> tuple[set[bytes], set[bytes]]:
    a, b = set(old.split(b"\n")) - {b""}, set(new.split(b"\n")) - {b""}
    return a - b, b - a


@settings(max_examples=60, deadline=None)
@given(
    count=st.sampled_from([0, 1, 3, 200, 1500]),
    seed=st.integers(0, 2**16),
    edits=st.lists(st.tuples(st.sampled_from("dma"), st.integers(0, 10**6)), max_size=25),
    shuffle=st.booleans(),
)
def test_differing_lines_is_the_set_difference(
    count: int, seed: int, edits: list[tuple[str, int]], shuffle: bool
) -> None:
    old = _entries(count, seed)
    new = list(old)
    for kind, at in edits:
        if kind == "d" and new:
            new.pop(at % len(new))
        elif kind == "m" and new:
            e = new[at % len(new)]
            new[at % len(new)] = ManifestEntry(e.path, Oid("xxh128", f"{at:032x}"), e.size, True)
        else:
            new.append(ManifestEntry(f"d{at % 9}/new{at}", Oid("xxh128", "0" * 32), at))
    a, b = encode(old), encode(new)
    if shuffle:  # not gitmv's order: slower, but the same answer
        lines = a.split(b"\n")[:-1]
        random.Random(seed).shuffle(lines)
        a = b"".join(line + b"\n" for line in lines)
    assert differing_lines(a, b) == _set_difference(a, b)


def test_lines_that_are_not_json_are_compared_as_lines() -> None:
    good = encode(_entries(2000, 1))
    garbled = good.replace(b'"d5/f00033.bin"', b"not json at all", 1)
    assert differing_lines(good, garbled) == _set_difference(good, garbled)
    assert len(differing_lines(good, garbled)[0]) == 1


def test_find_line_is_a_bisection_by_path() -> None:
    entries = sorted(_entries(3000, 2), key=lambda e: e.path)
    data = encode(entries)
    starts = [0, *[i + 1 for i, byte in enumerate(data) if byte == 10][:-1]]
    paths = [e.path for e in entries]
    for probe in ["", "d0/f00000.bin", "d3/f01000.bin", "d3/f01000.bim", "d6/zzz", "e"]:
        at = bisect.bisect_left(paths, probe)
        assert find_line(data, probe) == (starts[at] if at < len(starts) else len(data))
