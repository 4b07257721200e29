"""What a transfer reports as it goes: the protocol a progress bar implements.

Light on purpose: the CLI's renderer and the hook runner name this type without loading
the transfer stack (and with it fsspec).
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """What a transfer reports as it goes; called from worker threads."""

    def start(self, objects: int, nbytes: int) -> None:
        """More work is known: add it to the totals (called once per phase)."""

    def advance(self, nbytes: int) -> None: ...
    def object_done(self) -> None: ...


class NullProgress:
    def start(self, objects: int, nbytes: int) -> None:
        pass

    def advance(self, nbytes: int) -> None:
        pass

    def object_done(self) -> None:
        pass
