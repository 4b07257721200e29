"""The error for one object a remote lacks: its own module so that both `remote.py` and
`packed.py` (which `remote.py` builds on) can raise and catch it."""

from __future__ import annotations

from gitmv.base.errors import RemoteError


class MissingObject(RemoteError):
    """The remote lacks one object: a problem with that object, not with the remote."""
