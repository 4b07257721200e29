"""The one progress renderer: a rich bar on stderr for push and fetch, nothing off a terminal.

Commands open it around a transfer (`progress`); the hook runner opens it only once a
transfer has work to show (`LazyProgress`).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from gitmv.base.progress import Progress
from gitmv.cli.render import human_size, is_tty, verbosity


class RichProgress:
    """Bytes and objects on one bar; rich refreshes from its own thread."""

    def __init__(self, title: str, unit: str = "objects") -> None:
        # rich is imported here, not at the top: most commands never draw a bar
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            TextColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as Bar

        self._bar = Bar(
            TextColumn(f"{title:<6}"),
            BarColumn(),
            DownloadColumn(binary_units=True),  # KiB, MiB, GiB, as every size gitmv prints
            _speed_column(),
            TextColumn("{task.fields[done]}/{task.fields[todo]} " + unit),
            TimeRemainingColumn(),
            transient=True,
            console=_stderr_console(),
        )
        self._task = self._bar.add_task(title, total=0, done=0, todo=0)
        self._lock = threading.Lock()
        self._total = self._done = self._todo = 0

    def __enter__(self) -> RichProgress:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def start(self, objects: int, nbytes: int) -> None:
        with self._lock:
            self._total += nbytes
            self._todo += objects
            self._bar.update(self._task, total=self._total, todo=self._todo)

    def advance(self, nbytes: int) -> None:
        self._bar.advance(self._task, nbytes)

    def object_done(self) -> None:
        with self._lock:
            self._done += 1
            self._bar.update(self._task, done=self._done)


def _speed_column() -> Any:
    """Bytes a second in binary units (rich's own speed column counts in kB and MB)."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class Speed(ProgressColumn):
        def render(self, task: Any) -> Text:
            speed = task.finished_speed or task.speed
            return Text("?" if speed is None else f"{human_size(int(speed))}/s", style="red")

    return Speed()


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(file=sys.stderr)


@contextmanager
def progress(title: str, unit: str = "objects") -> Iterator[Progress | None]:
    """A progress bar on a terminal; nothing at all when stderr is not one, or under -q."""
    if not is_tty() or verbosity() < 0:
        yield None
        return
    with RichProgress(title, unit) as bar:
        yield bar


class LazyProgress:
    """The progress bar, opened only once a transfer has work to show.

    Most hook runs move nothing: they must not pay for importing rich, nor flash a bar.
    """

    def __init__(self, title: str, unit: str = "objects", min_bytes: int = 0) -> None:
        """`min_bytes`: open only once that much work is known (less is done in a blink)."""
        self._title = title
        self._unit = unit
        self._min_bytes = min_bytes
        self._known = 0
        self._stack = ExitStack()
        self._bar: Progress | None = None  # stays None off a terminal
        self._opened = False

    def __enter__(self) -> LazyProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def start(self, objects: int, nbytes: int) -> None:  # called before the workers start
        self._known += nbytes
        if not self._opened and objects and self._known >= self._min_bytes:
            self._opened = True
            self._bar = self._stack.enter_context(progress(self._title, self._unit))
        if self._bar is not None:
            self._bar.start(objects, nbytes)

    def advance(self, nbytes: int) -> None:
        if self._bar is not None:
            self._bar.advance(nbytes)

    def object_done(self) -> None:
        if self._bar is not None:
            self._bar.object_done()
