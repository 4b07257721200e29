"""Plain coercion of command-line values, in place of Typer 0.29's pydantic one.

Typer 0.29 converts every parameter's value through a pydantic `TypeAdapter`, which
imports pydantic (0.13 to 0.18 s of CPU here) on every command that goes through Typer.
gitmv's parameters are all `str`, `int`, `bool` or `list[str]` (optional or not), which
need no schema: this gives those parameters a converter of a few lines and leaves any
other annotation to Typer. On Typer before 0.29 (Click's own types convert) it does
nothing. It reaches into Typer's `_coercion` module, which is not public: when that
module changes shape the import or attribute check fails and Typer's own path runs.
"""

from __future__ import annotations

import types
import typing
from typing import Any

_SIMPLE = (str, int, bool)


def install(command: Any) -> None:
    """Give each simple parameter of `command` (not its sub-commands) the plain converter."""
    plain = _plain_class()
    if plain is None:
        return
    for param in command.params:
        _give(plain, param)
    made = command.get_help_option  # Click makes `--help` when it is first asked for

    def get_help_option(ctx: Any) -> Any:
        option = made(ctx)
        if option is not None:
            _give(plain, option)
        return option

    command.get_help_option = get_help_option


def _give(plain: Any, param: Any) -> None:
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is None or getattr(param, "_runtime_param", False) is not None:
        return
    if _simple(descriptor.annotation) is not None:
        param._runtime_param = plain(
            annotation=descriptor.annotation, parameter_info=descriptor.parameter_info
        )


def _simple(annotation: Any) -> type | None:
    """`str`, `int` or `bool` for those, their optionals and lists of them; else None."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType) and len(args) == 1:
        return _simple(args[0])
    if origin is list and len(args) == 1 and args[0] in _SIMPLE:
        return args[0]  # type: ignore[no-any-return]
    return annotation if annotation in _SIMPLE else None


_PLAIN: Any = None


def flag(**kwargs: Any) -> Any:
    """A boolean flag option for any supported Typer (0.29 wants its type descriptor)."""
    from typer.core import TyperOption

    try:
        from typer._coercion import bool_flag_type_descriptor
    except ImportError:  # Typer < 0.29
        return TyperOption(is_flag=True, **kwargs)
    return TyperOption(is_flag=True, type_descriptor=bool_flag_type_descriptor(), **kwargs)


def _plain_class() -> Any:
    global _PLAIN
    if _PLAIN is None:
        try:
            from typer._click.exceptions import BadParameter
            from typer._coercion import RuntimeParam
        except ImportError:  # Typer < 0.29: no pydantic to keep away
            _PLAIN = False
            return None

        class Plain(RuntimeParam):
            def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
                kind = _simple(self.annotation)
                if isinstance(value, list | tuple):
                    return [self._one(kind, v, param, ctx) for v in value]
                return self._one(kind, value, param, ctx)

            def _one(self, kind: Any, value: Any, param: Any, ctx: Any) -> Any:
                value = _convert(kind, value, param, ctx, BadParameter)
                low, high = self.parameter_info.min, self.parameter_info.max
                if (low is not None and value < low) or (high is not None and value > high):
                    bounds = " and ".join(
                        f"x{op}{bound}"
                        for op, bound in ((">=", low), ("<=", high))
                        if bound is not None
                    )
                    raise BadParameter(
                        f"{value} is not in the range {bounds}", ctx=ctx, param=param
                    )
                return value

        _PLAIN = Plain
    return _PLAIN or None


def _convert(kind: Any, value: Any, param: Any, ctx: Any, bad: Any) -> Any:
    if kind is int and not isinstance(value, int):
        try:
            return int(str(value).strip())
        except ValueError:
            raise bad(f"{value!r} is not a whole number", ctx=ctx, param=param) from None
    if kind is bool and isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("1", "true", "yes", "y", "on"):
            return True
        if lowered in ("0", "false", "no", "n", "off"):
            return False
        raise bad(f"{value!r} is not true or false", ctx=ctx, param=param)
    return value
