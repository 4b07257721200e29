"""The label verb: put a label on a registered version, or take it off, as a registry event.

A label given at `gitmv add --label` lives in the pointer (`meta.labels`) of the version
being made. A version already registered cannot change its pointer, so its label is an
annotated tag, `NAME@vX.Y.Z@label=L#N` (`...@label=L!#N` to take it off): the history says
who labelled it and when, and GTO, whose tag pattern has no `@label=`, skips it. The
version's labels are those of its pointer, then each label event in order puts one on or
takes one off (so `--remove` takes off a label given at add too).
"""

from __future__ import annotations

from dataclasses import dataclass

from gitmv.base import git
from gitmv.base.errors import GitmvError
from gitmv.registry.artifacts import resolve_version
from gitmv.registry.grammar import SemVer, TagName, check_label
from gitmv.registry.tags import load, split_ref
from gitmv.repo.context import Repo


@dataclass(frozen=True)
class Labelled:
    """What `gitmv registry label` did: the tag it made, or none when nothing changed."""

    name: str
    version: str
    label: str
    removed: bool
    tag: str | None  # None: the version had (or lacked) the label already
    labels: tuple[str, ...]  # the version's labels afterwards (meta.labels and events)


def label(repo: Repo, ref: str, text: str, *, remove: bool = False) -> Labelled:
    """Label `ref` (`NAME@vX.Y.Z`) with `text`, or take the label off (`remove`)."""
    check_label(text)
    name, selector = split_ref(ref)
    if "@" not in ref or not selector.startswith("v"):
        raise GitmvError(
            f"label needs an exact version, not {ref!r}",
            hint="write NAME@vX.Y.Z; `gitmv registry show NAME@STAGE` tells which it is",
        )
    SemVer.parse(selector)
    registry = load(repo)
    artifact = registry.artifact(name)
    state = artifact.version(selector)
    if state is None or not state.registered or not state.active:
        known = ", ".join(v.version for v in artifact.versions if v.registered and v.active)
        raise GitmvError(f"{name} has no registered version {selector}", hint=f"versions: {known}")
    # a label given at add is in the pointer: an unlabel event is how it comes off
    meta = resolve_version(repo, f"{name}@{selector}", registry)[0].meta
    given = meta.get("labels")
    held = artifact.labels(selector, [str(x) for x in given] if isinstance(given, list) else ())
    if (text in held) != remove:
        return Labelled(name, selector, text, remove, None, held)
    counter = max((e.counter or 0 for e in artifact.events), default=0) + 1
    tag = str(TagName(name, "unlabel" if remove else "label", selector, None, counter, text))
    if tag in registry.tags:
        raise GitmvError(
            f"tag {tag} already exists",
            hint="another registry event got there first; run the command again",
        )
    verb = "Removing label" if remove else "Labelling"
    message = f"{verb} {text} {'from' if remove else 'on'} artifact {name} version {selector}"
    git.create_annotated_tag(repo.root, tag, state.commit, message + "\n")
    after = tuple(sorted(set(held) - {text} if remove else {*held, text}))
    return Labelled(name, selector, text, remove, tag, after)
