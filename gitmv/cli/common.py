"""What several command modules share: opening the repository, rendering a checkout.

Command modules import this, never each other (a cycle between them once hid here).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Literal

from gitmv.cli.render import detail, echo, warn

if TYPE_CHECKING:
    from gitmv.repo.context import Repo
    from gitmv.workspace.checkout import CheckoutReport


def open_repo(
    require_init: bool = True, *, hooks: Literal["install", "warn"] | None = None
) -> Repo:
    """The repository; `hooks`: a writing command installs missing git hooks ("install"),
    a read-only one warns while they are missing ("warn"); see gitmv.cli.autohooks."""
    from gitmv.repo.context import Repo

    repo = Repo.open(require_init=require_init)
    if hooks is not None:
        from gitmv.cli import autohooks

        (autohooks.ensure if hooks == "install" else autohooks.check)(repo)
    return repo


def render_checkout(repo: Repo, report: CheckoutReport, json_out: bool = False) -> None:
    """The checkout's lines; under --json (the document is printed already) the warnings
    alone, on stderr."""
    for rel in report.restored if not json_out else ():
        echo(f"restored: {repo.display(rel)}")
    for rel in report.unchanged if not json_out else ():
        detail(f"unchanged: {repo.display(rel)}")  # -v: every artifact, not only the changes
    for rel in report.modified:
        warn(f"{repo.display(rel)} is modified; not overwritten (--force discards the change)")
    for rel in report.not_cached:
        warn(f"{repo.display(rel)}: its bytes are not in the cache (gitmv pull fetches them)")


def checkout_json(repo: Repo, report: CheckoutReport) -> dict[str, list[str]]:
    return {
        outcome: [repo.display(rel) for rel in getattr(report, outcome)]
        for outcome in ("restored", "unchanged", "modified", "not_cached")
    }


def checkout_exit_code(repo: Repo, report: CheckoutReport) -> int:
    problems = len(report.modified) + len(report.not_cached)
    if not problems:
        return 0
    sys.stderr.write(f"error: {problems} artifact{'s' if problems != 1 else ''} not restored\n")
    return 1
