"""What a push or a fetch did: the report the CLI, the hooks and `gitmv.api` read.

The transfer engine is not imported here at run time: a report type is named by the hook
runner on every checkout, and a no-op hook must not load the remote stack.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from gitmv.transfer.workers import Failure, Sent, TransferResult

R = TypeVar("R", bound="TransferReport")


@dataclass(frozen=True)
class TransferReport:
    """Objects moved between the cache and one remote.

    `failed` lists the objects that did not move (each with the artifact that names it and
    why); `aborted` says why the whole transfer stopped early (the remote went away), with
    `abort_hint` on what to do.
    """

    remote: str  # the remote's label, as the CLI shows it: 'origin' (its URL, no secrets)
    artifacts: int  # the artifact versions whose objects were asked for
    transferred: int = 0  # objects moved
    nbytes: int = 0  # bytes moved
    skipped: int = 0  # objects already on the other side
    failed: tuple[Failure, ...] = ()
    aborted: str | None = None
    abort_hint: str | None = None
    sent: tuple[Sent, ...] = ()  # a push's objects: each one's oid, size and where it went

    @property
    def ok(self) -> bool:
        return not self.failed and self.aborted is None

    @classmethod
    def of(cls: type[R], result: TransferResult, artifacts: int) -> R:
        """The engine's result, as this report."""
        return cls(
            result.remote,
            artifacts,
            result.transferred,
            result.nbytes,
            result.skipped,
            result.failed,
            result.aborted,
            result.abort_hint,
            result.sent,
        )
