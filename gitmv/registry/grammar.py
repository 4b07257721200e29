"""GTO's tag grammar, so that every tag one tool writes the other reads: names, stages,
semantic versions, and the tag names of registry events (`NAME@vX.Y.Z`, `NAME#STAGE#N`...).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, Literal

from gitmv.base.errors import GitmvError

Action = Literal[
    "register", "deregister", "assign", "unassign", "deprecate", "create", "label", "unlabel"
]

_NAME = r"[a-zA-Z0-9]([a-zA-Z0-9\-/_]*[a-zA-Z0-9])?"
_DIRNAME = r"[a-zA-Z0-9\-_./]+"
_SEMVER = (
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)
_NAME_RE = re.compile(f"^{_NAME}$")
_FULLNAME_RE = re.compile(f"^({_DIRNAME}:)?{_NAME}$")
_SEMVER_RE = re.compile(f"^v{_SEMVER}$")
_TAG_RE = re.compile(
    rf"^(?P<artifact>({_DIRNAME}=)?{_NAME})"
    rf"(((#(?P<stage>{_NAME})|@(?P<version>v{_SEMVER}))(?P<cancel>!?))"
    r"|@((?P<deprecated>deprecated)|(?P<created>created)))"
    r"(#(?P<counter>[0-9]+))?$"
)
# gitmv's own event: a label put on (or taken off, `!`) a registered version. GTO's tag
# pattern is anchored and has no `@label=`, so GTO lists these tags as foreign and skips them.
_LABEL = r"[a-zA-Z0-9]([a-zA-Z0-9\-_]*[a-zA-Z0-9])?"
_LABEL_RE = re.compile(f"^{_LABEL}$")
_LABEL_TAG_RE = re.compile(
    rf"^(?P<artifact>({_DIRNAME}=)?{_NAME})@(?P<version>v{_SEMVER})"
    rf"@label=(?P<label>{_LABEL})(?P<cancel>!?)(#(?P<counter>[0-9]+))?$"
)
# Words a reference reads specially, so no stage may be called them.
RESERVED_STAGES = frozenset({"latest", "greatest", "deprecated", "created"})


# -- versions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SemVer:
    """`vMAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]`, ordered by semver precedence."""

    major: int
    minor: int
    patch: int
    prerelease: str = ""
    build: str = ""

    @classmethod
    def parse(cls, text: str) -> SemVer:
        match = _SEMVER_RE.match(text)
        if not match:
            raise GitmvError(
                f"malformed version {text!r}",
                hint="a version reads vMAJOR.MINOR.PATCH, e.g. v1.2.0",
            )
        major, minor, patch, pre, build = match.groups()
        return cls(int(major), int(minor), int(patch), pre or "", build or "")

    def __str__(self) -> str:
        text = f"v{self.major}.{self.minor}.{self.patch}"
        text += f"-{self.prerelease}" if self.prerelease else ""
        return text + (f"+{self.build}" if self.build else "")

    def key(self) -> tuple[Any, ...]:
        """Precedence: a release sorts above its prereleases; build metadata is ignored."""
        parts = tuple(
            (0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.prerelease.split(".") if p
        )
        return (self.major, self.minor, self.patch, 0 if self.prerelease else 1, parts)

    def bump(self, part: str) -> SemVer:
        if part == "major":
            return SemVer(self.major + 1, 0, 0)
        if part == "minor":
            return SemVer(self.major, self.minor + 1, 0)
        if part == "patch":
            return SemVer(self.major, self.minor, self.patch + 1)
        raise GitmvError(f"unknown bump {part!r}", hint="use major, minor or patch")


def is_version(text: str) -> bool:
    return bool(_SEMVER_RE.match(text))


@functools.cache
def version_key(text: str) -> tuple[Any, ...]:
    """Sort key for version labels: semver ones by precedence, above bare commit labels."""
    if is_version(text):
        return (1, SemVer.parse(text).key())
    return (0, ())


def check_name(name: str) -> str:
    if not _FULLNAME_RE.match(name):
        raise GitmvError(
            f"{name!r} cannot be a registry name",
            hint="a name uses letters, digits, '-', '_' and '/', and starts and ends with a "
            "letter or digit; set one with `gitmv add PATH --name NAME`",
        )
    return name


def check_stage(stage: str) -> str:
    if not _NAME_RE.match(stage) or stage in RESERVED_STAGES or re.match(r"^v\d", stage):
        raise GitmvError(
            f"{stage!r} cannot be a stage name",
            hint="use letters, digits, '-' and '_', e.g. production or staging "
            "(not latest, and not a version like v1)",
        )
    return stage


def check_label(label: str) -> str:
    if not _LABEL_RE.match(label):
        raise GitmvError(
            f"{label!r} cannot be a label",
            hint="a label uses letters, digits, '-' and '_', and starts and ends with a "
            "letter or digit, e.g. fraud or q1-review",
        )
    return label


# -- tag names -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TagName:
    name: str
    action: Action
    version: str | None = None
    stage: str | None = None
    counter: int | None = None
    label: str | None = None

    def __str__(self) -> str:
        base = self.name.replace(":", "=")
        if self.action in ("label", "unlabel"):
            text = f"{base}@{self.version}@label={self.label}"
            text += "!" if self.action == "unlabel" else ""
        elif self.action in ("register", "deregister"):
            text = f"{base}@{self.version}" + ("!" if self.action == "deregister" else "")
        elif self.action in ("assign", "unassign"):
            text = f"{base}#{self.stage}" + ("!" if self.action == "unassign" else "")
        else:
            text = f"{base}@{self.action}d"
        return text + (f"#{self.counter}" if self.counter is not None else "")


def parse_tag_name(text: str) -> TagName | None:
    """The registry meaning of a tag name, or None for any other tag (`v1.0`, `release`)."""
    labelled = _LABEL_TAG_RE.match(text)
    if labelled:
        action: Action = "unlabel" if labelled["cancel"] == "!" else "label"
        number = int(labelled["counter"]) if labelled["counter"] else None
        name = labelled["artifact"].replace("=", ":")
        return TagName(name, action, labelled["version"], None, number, labelled["label"])
    match = _TAG_RE.match(text)
    if not match:
        return None
    name = match["artifact"].replace("=", ":")
    counter = int(match["counter"]) if match["counter"] else None
    cancel = match["cancel"] == "!"
    if match["version"]:
        action = "deregister" if cancel else "register"
        return TagName(name, action, version=match["version"], counter=counter)
    if match["stage"]:
        action = "unassign" if cancel else "assign"
        return TagName(name, action, stage=match["stage"], counter=counter)
    return TagName(name, "deprecate" if match["deprecated"] else "create", counter=counter)
