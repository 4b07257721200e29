"""The status verb: each artifact's state, the conflicted pointers mid-merge, and (asked for)
the artifacts a remote lacks."""

from __future__ import annotations

from gitmv.base.errors import PointerError
from gitmv.base.record import Record
from gitmv.repo.pointers import collect, read_pointer, select, tracked
from gitmv.workspace.status import ArtifactStatus, states

# Neither typing nor dataclasses at run time: this is the command run most (mypy reads this
# constant as typing's).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from gitmv.repo.context import Repo
    from gitmv.workspace.conflicts import PointerConflict
    from gitmv.workspace.folderdiff import FolderChanges

__all__ = ["ArtifactStatus", "StatusReport", "status"]


class StatusReport(Record):
    """`artifacts`: one `ArtifactStatus` per artifact (path, state, kind, oid, size), in the
    work tree's order; `conflicts`: the pointers a merge left in conflict, with what each
    side holds (their artifacts are not in `artifacts`); `files`: for each modified folder
    artifact, the files inside it added, modified or deleted (absent where the pointer's
    manifest is not cached)."""

    _fields = ("artifacts", "conflicts", "files")

    __slots__ = _fields
    artifacts: tuple[ArtifactStatus, ...]
    conflicts: tuple[PointerConflict, ...]
    files: Mapping[str, FolderChanges]

    def __init__(
        self,
        artifacts: tuple[ArtifactStatus, ...],
        conflicts: tuple[PointerConflict, ...] = (),
        files: Mapping[str, FolderChanges] | None = None,
    ) -> None:
        super().__init__(artifacts, conflicts, {} if files is None else files)


def status(repo: Repo, paths: Sequence[str] = (), remote: bool | str = False) -> StatusReport:
    """The state of each artifact the user named (all by default): clean, modified, missing
    or not-cached; with `remote` (True: the default remote, or a remote's name), a clean
    artifact whose bytes that remote lacks is not-pushed."""
    conflicts: list[PointerConflict] = []
    try:
        if _mid_merge(repo):  # a modify/delete conflict leaves no markers to fail on
            raise PointerError("a merge is in progress")
        results = states(repo, collect(repo, paths))
    except PointerError as exc:  # a merge left markers in a pointer: say what each side holds
        results, conflicts = _around_conflicts(repo, paths, exc)
    if remote is not False:
        results = _with_not_pushed(repo, results, None if remote is True else remote)
    return StatusReport(tuple(results), tuple(conflicts), _folder_files(repo, results))


def _folder_files(repo: Repo, results: Sequence[ArtifactStatus]) -> dict[str, FolderChanges]:
    found = {}
    for r in results:
        if r.kind == "dir" and r.state == "modified":
            # here: a clean status reads no manifest (start-up time)
            from gitmv.workspace.folderdiff import against_work_tree

            changes = against_work_tree(repo, r.path, read_pointer(repo, r.path))
            if changes is not None:
                found[r.path] = changes
    return found


def _with_not_pushed(
    repo: Repo, results: list[ArtifactStatus], remote: str | None
) -> list[ArtifactStatus]:
    """Mark clean artifacts whose bytes the remote lacks as `not-pushed`."""
    from gitmv.ops.session import open_session  # the remote stack: only with --remote
    from gitmv.transfer.engine import not_pushed

    pointers = {r.path: read_pointer(repo, r.path) for r in results}
    missing = not_pushed(open_session(repo, remote).remote, pointers)
    return [
        r.replace(state="not-pushed") if r.path in missing and r.state == "clean" else r
        for r in results
    ]


def _around_conflicts(
    repo: Repo, paths: Sequence[str], exc: PointerError
) -> tuple[list[ArtifactStatus], list[PointerConflict]]:
    """The other artifacts' states, and the conflicted pointers with both sides' versions.

    Only reached mid-merge or when a pointer fails to parse, so a clean status asks git
    nothing more.
    """
    from gitmv.workspace.conflicts import pointer_conflicts  # start-up: only mid-merge

    conflicts = pointer_conflicts(repo)
    chosen = select(repo, tracked(repo), paths)
    conflicts = [c for c in conflicts if c.path in chosen]
    if not conflicts and not _mid_merge(repo):  # the pointer that failed is broken otherwise
        raise exc
    skip = {c.path for c in conflicts}
    # the chosen artifacts themselves, not paths: `select` on each would be O(artifacts²)
    wanted = [(a, read_pointer(repo, a)) for a in chosen if a not in skip]
    return states(repo, wanted), conflicts


def _mid_merge(repo: Repo) -> bool:
    """Whether git stopped a merge, cherry-pick, revert or rebase here: a few stat calls."""
    git_dir = repo.paths.git_dir
    heads = ("MERGE_HEAD", "CHERRY_PICK_HEAD", "REVERT_HEAD", "rebase-merge", "rebase-apply")
    return any((git_dir / name).exists() for name in heads)
