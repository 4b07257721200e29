"""The errors gitmv raises, at the path its documentation names (`gitmv.errors`).

They live in `gitmv.base.errors`; this module keeps the public import path stable.
"""

from gitmv.base.errors import (
    GitmvError,
    IntegrityError,
    NotARepository,
    NotInitialised,
    PointerError,
    RemoteError,
)

__all__ = [
    "GitmvError",
    "IntegrityError",
    "NotARepository",
    "NotInitialised",
    "PointerError",
    "RemoteError",
]
