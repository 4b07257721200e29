"""Several files read one after the other as one stream.

A chunked object is its chunks back to back, whether they sit in the local cache
(`store/chunkstore.py`) or on a remote (`transfer/reader.py`): both read them through
this one reader.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import BinaryIO


class ConcatenatedReader(io.RawIOBase):
    """The files `files` yields, read front to back. Give it a generator: each file is then
    opened only when the one before it is read out, and closed as soon as it is."""

    def __init__(self, files: Iterator[BinaryIO]) -> None:
        super().__init__()
        self._files = files
        self._current: BinaryIO | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while True:
            if self._current is None:
                self._current = next(self._files, None)
                if self._current is None:
                    return 0
            n = self._current.readinto(view)  # type: ignore[attr-defined]
            if n:
                return int(n)
            self._current.close()
            self._current = None

    def close(self) -> None:
        if self._current is not None:
            self._current.close()
            self._current = None
        super().close()
