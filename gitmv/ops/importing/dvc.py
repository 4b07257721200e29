"""`gitmv import dvc`: `.dvc` files and `dvc.lock` stage outs become `.gmv` pointers.

Plan first, write last: every DVC file is parsed, every output's bytes are found (work tree,
DVC cache, DVC remote) and checked against DVC's md5, and every stage's lineage is resolved
before the first byte is written. A malformed input or damaged bytes raise GitmvError and
leave the repository as it was. DVC's cache and remotes are only ever read.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitmv.base import git, gitforeign
from gitmv.base.errors import GitmvError, IntegrityError
from gitmv.ops.importing import (
    Converted,
    ImportReport,
    Skipped,
    dvcfiles,
    dvcremotes,
    dvcremove,
)
from gitmv.ops.importing.dvcfiles import Out, Stage
from gitmv.ops.importing.dvcsource import WORK_TREE, Found, Sources, worst
from gitmv.ops.init import ensure_initialised
from gitmv.remotes.dvc import DvcRemote
from gitmv.repo.context import Repo
from gitmv.store import manifest, pointer
from gitmv.store.cache import Cache
from gitmv.store.hashing import Oid, hash_bytes
from gitmv.store.pointer import Kind, Pointer
from gitmv.store.state import stat_key
from gitmv.workspace import scan


@dataclass(frozen=True)
class Planned:
    """One output, its bytes found and checked; `entries` for a folder."""

    out: Out
    oid: Oid  # a file's oid; a folder's manifest oid
    size: int
    files: tuple[tuple[str, Found], ...] = ()  # folder: (relpath, bytes)
    found: Found | None = None  # file
    manifest: bytes = b""

    @property
    def origin(self) -> str:
        if self.found is not None:
            return self.found.origin
        return worst([f.origin for _, f in self.files])


def run(repo: Repo, paths: Sequence[str], *, remove_old: bool, dry_run: bool) -> ImportReport:
    notes: list[str] = []
    skipped: list[Skipped] = []
    outs, stages, dvc_files = _read_all(repo, skipped)
    found_remotes, dvc_default = dvcfiles.remotes(repo.root)
    chosen = _select(repo, outs, paths)
    todo = []
    for out in chosen:
        if (repo.root / (out.path + pointer.SUFFIX)).exists():
            skipped.append(Skipped(out.path, "already a gitmv artifact"))
        else:
            todo.append(out)
    remote_plans, remote_names = dvcremotes.plan(repo, found_remotes, notes)
    reader = _default_reader(repo, found_remotes, dvc_default)
    with tempfile.TemporaryDirectory(prefix="gitmv-import-", dir=repo.paths.common_dir) as tmp:
        sources = Sources(
            repo.root, dvcfiles.cache_dir(repo.root), reader, Path(tmp), repo.algorithm
        )
        planned: list[Planned] = []
        where = "work tree, DVC cache" + (f", DVC remote {reader.label}" if reader else "")
        for out in todo:
            done = _plan_out(repo, sources, out)
            if isinstance(done, str):
                skipped.append(Skipped(out.path, f"{done} nowhere ({where})"))
            else:
                planned.append(done)
        metas = _metas(repo, stages, outs, planned, notes)
        converted = {p.out.path for p in planned}
        removal = dvcremove.plan(repo.root, dvc_files, outs, converted) if remove_old else None
        removals = removal.shown() if removal else []
        report = ImportReport(
            "dvc",
            tuple(Converted(p.out.path, p.origin, p.size, len(p.files) or 1) for p in planned),
            tuple(skipped),
            tuple(remote_names),
            tuple(removals),
            tuple(dict.fromkeys(notes)),
            dry_run,
        )
        if dry_run or not (planned or remote_plans or removals):
            return report
        repo = ensure_initialised(repo)
        _write(repo, planned, metas)
        _replace_links(repo, planned)
        with repo.lock():
            dvcremotes.write(repo, remote_plans, dvc_default)
            if removal is not None:
                dvcremove.apply(repo.root, removal)
    return report


# -- reading -------------------------------------------------------------------------------


def _read_all(repo: Repo, skipped: list[Skipped]) -> tuple[list[Out], list[Stage], list[str]]:
    outs: list[Out] = []
    stages: list[Stage] = []
    files = gitforeign.dvc_files(repo.root)
    for rel in files:
        if rel.endswith(".dvc"):
            origin = dvcfiles.imported_from(repo.root, rel)
            if origin is not None:  # `dvc import`: its bytes belong to another repository
                skipped.append(Skipped(rel, f"made by `dvc import` from {origin}"))
                continue
            outs.extend(dvcfiles.read_dvc_file(repo.root, rel))
        else:
            found, _ = dvcfiles.read_pipeline(repo.root, rel)
            lock = rel.removesuffix("dvc.yaml") + "dvc.lock"
            if not (repo.root / lock).is_file():
                skipped.append(Skipped(rel, "no dvc.lock beside it: `dvc repro` has not run it"))
            stages.extend(found)
            outs.extend(o for s in found for o in s.outs)
    seen: dict[str, Out] = {}
    for out in outs:
        if out.path in seen:
            raise GitmvError(
                f"{out.path}: an output of both {seen[out.path].source} and {out.source}",
                hint="DVC refuses this too: remove one of them",
            )
        seen[out.path] = out
    for a in seen:
        for b in seen:
            if b.startswith(a + "/"):
                raise GitmvError(f"{b} ({seen[b].source}) lies inside the output {a}")
    return sorted(outs, key=lambda o: o.path), stages, files


def _select(repo: Repo, outs: list[Out], paths: Sequence[str]) -> list[Out]:
    if not paths:
        return outs
    chosen: dict[str, Out] = {}
    for user_path in paths:
        rel = repo.relpath(user_path, allow_root=True)
        hits = [
            o
            for o in outs
            if not rel or o.path == rel or o.path.startswith(rel + "/") or o.source == rel
        ]
        if not hits:
            raise GitmvError(f"{user_path}: no DVC output there", hint="`dvc list . -R` names them")
        chosen.update((o.path, o) for o in hits)
    return list(chosen.values())


def _default_reader(
    repo: Repo, found: list[dvcfiles.DvcRemoteConfig], default: str | None
) -> DvcRemote | None:
    """DVC's default remote, to read from (dvcsource.Sources); None when it has none."""
    for remote in found:
        if remote.name == default:
            options = {
                dvcremotes.OPTION_NAMES[k.lower()]: v
                for k, v in {**remote.options, **remote.secrets}.items()
                if k.lower() in dvcremotes.OPTION_NAMES and k.lower() != "jobs"
            }
            return DvcRemote(remote.name, dvcremotes.dvc_url(repo, remote.url), options)
    return None


def _plan_out(repo: Repo, sources: Sources, out: Out) -> Planned | str:
    """The output with its bytes found and checked, or what of it is missing."""
    if not out.is_dir:
        found = sources.file(out.path, out.md5, out.legacy)
        return (
            "its bytes are" if found is None else Planned(out, found.oid, found.size, found=found)
        )
    listing = sources.listing(out.md5, out.path)
    if listing is None:
        return f"its DVC listing ({out.md5}.dir) is"

    def find(item: tuple[str, str]) -> tuple[str, Found | None]:
        rel, md5 = item
        return rel, sources.file(f"{out.path}/{rel}", md5, out.legacy)

    results = scan.parallel(find, listing, repo.jobs)
    files = [(rel, found) for rel, found in results if found is not None]
    if len(files) != len(results):
        lost = [rel for rel, found in results if found is None]
        return f"{len(lost)} of its {len(results)} files (first: {lost[0]}) are"
    entries = [manifest.ManifestEntry(rel, f.oid, f.size, f.exec) for rel, f in files]
    data = manifest.encode(entries)
    size = sum(f.size for _, f in files)
    return Planned(out, hash_bytes(data, repo.algorithm), size, tuple(files), manifest=data)


# -- lineage ---------------------------------------------------------------------------------


def _metas(
    repo: Repo, stages: list[Stage], outs: list[Out], planned: list[Planned], notes: list[str]
) -> dict[str, dict[str, Any]]:
    """The meta block of each planned stage out: inputs, params, metrics, code."""
    from gitmv.ops import inputs as lineage_inputs
    from gitmv.registry.meta import plain

    by_path = {p.out.path: p for p in planned}
    all_outs = {o.path: o for o in outs}
    metas: dict[str, dict[str, Any]] = {}
    code: dict[str, Any] | None = None
    for stage in stages:
        mine = [o.path for o in stage.outs if o.path in by_path]
        if not mine:
            continue
        meta: dict[str, Any] = {}
        if stage.params:
            meta["params"] = plain(stage.params)
        metrics: dict[str, Any] = {}
        for rel in stage.metrics:
            if (repo.root / rel).is_file():
                metrics.update(lineage_inputs.load_values(repo, str(repo.root / rel), "metrics"))
            else:
                notes.append(f"stage {stage.name}: metrics file {rel} is missing")
        if metrics:
            meta["metrics"] = metrics
        inputs = []
        for dep in stage.deps:
            oid = _dep_oid(repo, dep, by_path, all_outs)
            if oid is not None:
                inputs.append({"path": dep.path, "oid": str(oid)})
            elif dep.path in all_outs and dep.md5 != all_outs[dep.path].md5:
                notes.append(
                    f"stage {stage.name}: input {dep.path} has changed since `dvc repro` "
                    "ran it, so it is not recorded as an input"
                )
            elif dep.path in all_outs:
                notes.append(
                    f"stage {stage.name}: input {dep.path} is not imported, so it is not "
                    "recorded as an input"
                )
        if inputs:
            meta["inputs"] = inputs
        if code is None:
            code = lineage_inputs.code_info(repo)
        meta["code"] = code
        for rel in mine:
            metas[rel] = meta
    return metas


def _dep_oid(
    repo: Repo, dep: dvcfiles.Dep, planned: dict[str, Planned], outs: dict[str, Out]
) -> Oid | None:
    """The gitmv oid of the version of `dep` the stage ran on, where that is an artifact."""
    out = outs.get(dep.path)
    if out is None or dep.md5 != out.md5:
        return None
    if dep.path in planned:
        return planned[dep.path].oid
    with contextlib.suppress(GitmvError):  # imported before: its pointer names the same md5
        return pointer.read(repo.root / (dep.path + pointer.SUFFIX)).oid
    return None


# -- writing ---------------------------------------------------------------------------------


def _store(cache: Cache, found: Found, algorithm: str) -> None:
    if found.size <= scan._SMALL:
        oid = cache.add_small(scan.read_small(found.path, found.size), algorithm)
    else:
        oid, _ = cache.add_file(Path(found.path), algorithm)
    if oid != found.oid:
        raise IntegrityError(
            f"{found.path} changed while it was being imported",
            hint="run the import again once nothing writes to it",
        )


def _write(repo: Repo, planned: list[Planned], metas: dict[str, dict[str, Any]]) -> None:
    from gitmv.workspace import gitignore
    from gitmv.workspace.files import prepare_writes

    algorithm = repo.algorithm
    cache = repo.cache
    artifacts = [p.out.path for p in planned]
    with repo.lock():
        prepare_writes(repo)
        cache.defer_sync = True
        known: list[tuple[str, tuple[int, int, int], str]] = []
        for p in planned:
            founds = [p.found] if p.found is not None else [f for _, f in p.files]
            scan.parallel(lambda f: _store(cache, f, algorithm), founds, repo.jobs)
            if p.manifest:
                cache.add_small(p.manifest, algorithm)
            for f in founds:
                if f.origin == WORK_TREE:
                    with contextlib.suppress(OSError):
                        known.append((f.path, stat_key(os.stat(f.path)), str(f.oid)))
        cache.sync_all()  # every object is durable before a pointer names it
        for p in planned:
            kind: Kind = "file" if p.found is not None else "dir"
            made = Pointer(
                p.oid,
                p.size,
                kind,
                files=len(p.files) if kind == "dir" else None,
                exec=bool(p.found and p.found.exec),
                meta=metas.get(p.out.path),
            )
            pointer.write(repo.root / (p.out.path + pointer.SUFFIX), made)
        gitignore.ensure_ignored(repo.root, artifacts)
        git.untrack(repo.root, artifacts)
        ignores = gitignore.files_for(repo.root, artifacts)
        git.stage(repo.root, [a + pointer.SUFFIX for a in artifacts] + ignores)
        repo.state.put_many(known)


def _replace_links(repo: Repo, planned: list[Planned]) -> None:
    """DVC's `symlink` cache type leaves links into its cache in the work tree; gitmv never
    counts a link as its artifact (status would say `modified`). Once gitmv's cache holds
    the bytes, each such link is replaced by gitmv's own copy, so nothing is lost."""
    from gitmv.ops.checkout import checkout

    again = []
    for p in planned:
        founds = [p.found] if p.found is not None else [f for _, f in p.files]
        links = [f.path for f in founds if f.origin == WORK_TREE and os.path.islink(f.path)]
        for link in links:
            os.unlink(link)
        if links:
            again.append(p.out.path)
    if again:
        checkout(repo, again)
