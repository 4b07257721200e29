"""The one error type the core raises, and its few subclasses."""

from __future__ import annotations


class GitmvError(Exception):
    """A user-facing failure: `message` says what went wrong, `hint` what to do next."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class NotARepository(GitmvError):
    """The folder is not inside a git work tree."""


class NotInitialised(GitmvError):
    """The repository has no `.gitmv/config.yaml`."""


class PointerError(GitmvError):
    """A pointer file or manifest is malformed or hostile."""


class IntegrityError(GitmvError):
    """Bytes do not hash to the oid that names them."""


class RemoteError(GitmvError):
    """A remote is unreachable, misconfigured, or lacks an object."""
