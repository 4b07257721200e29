"""Pointers a merge left in conflict: what each side names, read from git's index stages."""

from __future__ import annotations

from dataclasses import dataclass

from gitmv.base.errors import PointerError
from gitmv.repo.context import Repo
from gitmv.repo.pointers import PointerFile, unmerged_files
from gitmv.store import pointer

_SIDES = {2: "ours", 3: "theirs"}


@dataclass(frozen=True)
class Side:
    side: str  # ours | theirs
    oid: str | None  # None: that side's pointer does not parse
    size: int | None
    kind: str | None


@dataclass(frozen=True)
class PointerConflict:
    path: str  # the artifact, root-relative
    ours: Side | None  # None: that side deleted the pointer
    theirs: Side | None

    @property
    def pointer_file(self) -> str:
        return self.path + pointer.SUFFIX


def pointer_conflicts(repo: Repo) -> list[PointerConflict]:
    """Each unmerged pointer file with the version each side names, in path order."""
    sides: dict[str, dict[str, Side]] = {}
    for stage, f in unmerged_files(repo):
        sides.setdefault(f.path, {})
        if stage in _SIDES:
            sides[f.path][_SIDES[stage]] = _side(_SIDES[stage], f)
    return [
        PointerConflict(pointer.artifact_path(path), found.get("ours"), found.get("theirs"))
        for path, found in sorted(sides.items())
    ]


def _side(side: str, f: PointerFile) -> Side:
    try:
        p = f.parse()
    except PointerError:
        return Side(side, None, None, None)
    return Side(side, str(p.oid), p.size, p.kind)
