"""Immutable records without `dataclasses`, for the modules a clean `status` and the hooks load.

`import dataclasses` imports inspect, and with it ast, dis and tokenize: with the ten records
a clean status defined (a dataclass compiles its methods from source), a third of that
command's start-up (docs/startup.md). A `Record` gives those records what
`@dataclass(frozen=True)` gave them, at the cost of a plain class: equality and hash over
the fields, a dataclass-style repr, `replace`, and no assignment after `__init__`.
"""

from __future__ import annotations

# Not `from typing import TYPE_CHECKING`: typing costs every start a few ms (mypy reads this
# constant as typing's).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeVar

    R = TypeVar("R", bound="Record")


class Record:
    """A subclass names its fields in `_fields`, in its `__init__`'s order, stores them in
    slots (`__slots__ = _fields`), and its `__init__` passes them on: `super().__init__(a, b)`.
    `_compare` names the fields that equality, hash and repr consider when that is not all
    of them (dataclasses' `field(compare=False, repr=False)`)."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()
    _compare: tuple[str, ...] | None = None  # None: every field

    def __init__(self, *values: object) -> None:
        for name, value in zip(self._fields, values, strict=True):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        # what a frozen dataclass raises (its FrozenInstanceError is an AttributeError)
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")

    def _key(self) -> tuple[Any, ...]:
        names = self._fields if self._compare is None else self._compare
        return tuple([getattr(self, name) for name in names])

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Record)
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        names = self._fields if self._compare is None else self._compare
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{type(self).__qualname__}({fields})"

    def __reduce__(self) -> tuple[Any, ...]:
        # pickle and copy would set the slots one by one, which `__setattr__` refuses
        return (type(self), tuple([getattr(self, name) for name in self._fields]))

    def replace(self: R, **changes: Any) -> R:
        """A copy with some fields changed, as `dataclasses.replace` makes one."""
        unknown = changes.keys() - set(self._fields)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field {sorted(unknown)[0]!r}")
        return type(self)(**{name: changes.get(name, getattr(self, name)) for name in self._fields})
