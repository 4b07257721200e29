"""Reading DVC's own files: `.dvc` files, `dvc.yaml` with its `dvc.lock`, `.dvc/config`.

Everything is read and checked before the importer writes a byte: a malformed file raises
GitmvError naming it. Paths come back root-relative and `/`-separated; one that would leave
the repository is refused like a malformed file.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitmv.base import yamlio
from gitmv.base.errors import GitmvError

_MD5 = re.compile(r"[0-9a-f]{32}")
_HINT = "fix the file (or restore it with `git checkout -- FILE`), then run the import again"


@dataclass(frozen=True)
class Out:
    """One DVC output: a file, or a folder whose listing is the `.dir` object `md5`."""

    path: str  # root-relative
    md5: str  # 32 hex digits (a folder: its listing's md5, without `.dir`)
    is_dir: bool
    size: int | None
    legacy: bool  # DVC 2's md5 (no `hash: md5` field): text files hashed with CRLF as LF
    source: str  # the `.dvc` or `dvc.lock` file it was read from (root-relative)
    stage: str | None = None  # the dvc.lock stage that makes it


@dataclass(frozen=True)
class Dep:
    path: str  # root-relative
    md5: str | None  # as DVC recorded it (`.dir` stripped); None when it recorded none


@dataclass(frozen=True)
class Stage:
    name: str
    source: str  # its dvc.lock
    deps: tuple[Dep, ...]
    params: dict[str, Any]  # nested: `train.lr: 0.1` -> {train: {lr: 0.1}}
    outs: tuple[Out, ...]
    metrics: tuple[str, ...]  # root-relative metrics files (dvc.yaml `metrics`)


@dataclass(frozen=True)
class DvcRemoteConfig:
    name: str
    url: str  # as written (a relative folder is relative to `.dvc/`)
    options: dict[str, str]  # from .dvc/config
    secrets: dict[str, str]  # from .dvc/config.local


def _bad(name: str, problem: str) -> GitmvError:
    return GitmvError(f"{name}: {problem}", hint=_HINT)


def _load(root: Path, rel: str) -> Any:
    try:
        text = (root / rel).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _bad(rel, f"cannot read it ({exc})") from None
    return yamlio.loads(text, rel)


def _join(root: Path, folder: str, path: Any, name: str) -> str:
    """`path` (relative to `folder`) as a root-relative path, refusing one that leaves."""
    if not isinstance(path, str) or not path or path.startswith("/") or "\\" in path:
        raise _bad(name, f"bad path {path!r}")
    joined = (
        posixpath.normpath(posixpath.join(folder, path)) if folder else posixpath.normpath(path)
    )
    if joined == "." or joined == ".." or joined.startswith("../") or joined.startswith(".git/"):
        raise _bad(name, f"the path {path!r} leads out of the repository")
    return joined


def _md5_text(raw: Any) -> Any:
    """An md5 of digits only, which YAML reads as a number (DVC writes it unquoted), as text."""
    if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw < 10**32:
        return str(raw).zfill(32)
    return raw


def _out(root: Path, folder: str, entry: Any, name: str, stage: str | None) -> Out:
    if not isinstance(entry, dict):
        raise _bad(name, "each out must be a mapping with `path` and `md5`")
    path = _join(root, folder, entry.get("path"), name)
    raw = _md5_text(entry.get("md5"))
    if raw is None and entry.get("hash") not in (None, "md5"):
        raise _bad(name, f"{path}: hash {entry.get('hash')!r} is not md5")
    if not isinstance(raw, str):
        raise _bad(name, f"{path}: no md5 (was it added with `dvc add`?)")
    is_dir = raw.endswith(".dir")
    md5 = raw.removesuffix(".dir")
    if not _MD5.fullmatch(md5):
        raise _bad(name, f"{path}: malformed md5 {raw!r}")
    size = entry.get("size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        raise _bad(name, f"{path}: malformed size {size!r}")
    legacy = entry.get("hash") != "md5"
    return Out(path, md5, is_dir, size, legacy, name, stage)


def read_dvc_file(root: Path, rel: str) -> list[Out]:
    """The outs of one `.dvc` file (`dvc add`); an import-only `.dvc` (`deps` with a
    `repo` or `url`) is refused by the caller through `imported_from`."""
    doc = _load(root, rel)
    if not isinstance(doc, dict) or not isinstance(doc.get("outs"), list) or not doc["outs"]:
        raise _bad(rel, "expected a mapping with a non-empty `outs` list")
    folder = posixpath.dirname(rel)
    return [_out(root, folder, entry, rel, None) for entry in doc["outs"]]


def imported_from(root: Path, rel: str) -> str | None:
    """For a `dvc import`/`import-url` file, where it comes from (it has `deps`)."""
    doc = _load(root, rel)
    deps = doc.get("deps") if isinstance(doc, dict) else None
    if isinstance(deps, list) and deps:
        first = deps[0] if isinstance(deps[0], dict) else {}
        repo = first.get("repo")
        return str(repo.get("url") if isinstance(repo, dict) else first.get("path"))
    return None


def _uncached(root: Path, rel: str) -> tuple[set[str], dict[str, list[str]], dict[str, str]]:
    """From dvc.yaml: the outs it keeps in git (`cache: false`), each stage's metrics, and
    each stage's folder (`wdir`, which its paths in dvc.lock are relative to)."""
    doc = _load(root, rel)
    if not isinstance(doc, dict):
        raise _bad(rel, "expected a mapping with `stages`")
    folder = posixpath.dirname(rel)
    uncached: set[str] = set()
    metrics: dict[str, list[str]] = {}
    wdirs: dict[str, str] = {}
    stages = doc.get("stages") or {}
    if not isinstance(stages, dict):
        raise _bad(rel, "`stages` must be a mapping")
    for stage_name, stage in stages.items():
        if not isinstance(stage, dict):
            continue
        wdir = folder
        if stage.get("wdir") not in (None, "."):
            wdir = _join(root, folder, stage.get("wdir"), rel)
        wdirs[str(stage_name)] = wdir
        for kind in ("outs", "metrics", "plots"):
            items = stage.get(kind) or []
            if not isinstance(items, list):
                raise _bad(rel, f"stage {stage_name}: `{kind}` must be a list")
            for item in items:
                path, flags = (item, {}) if isinstance(item, str) else _single(item, rel)
                joined = _join(root, wdir, path, rel)
                if isinstance(flags, dict) and flags.get("cache") is False:
                    uncached.add(joined)
                if kind == "metrics":
                    metrics.setdefault(str(stage_name), []).append(joined)
    return uncached, metrics, wdirs


def _single(item: Any, name: str) -> tuple[Any, Any]:
    if isinstance(item, dict) and len(item) == 1:
        return next(iter(item.items()))
    raise _bad(name, f"an out must be a path or `{{path: {{options}}}}`, not {item!r}")


def read_pipeline(root: Path, dvc_yaml: str) -> tuple[list[Stage], set[str]]:
    """The stages of `dvc.lock` beside `dvc_yaml` (what `dvc repro` last ran), and the outs
    dvc.yaml keeps in git (`cache: false`), which are not artifacts."""
    folder = posixpath.dirname(dvc_yaml)
    lock = posixpath.join(folder, "dvc.lock") if folder else "dvc.lock"
    uncached, metrics, wdirs = _uncached(root, dvc_yaml)
    if not (root / lock).is_file():
        return [], uncached
    doc = _load(root, lock)
    stages_doc = doc.get("stages") if isinstance(doc, dict) else None
    if not isinstance(stages_doc, dict):
        raise _bad(lock, "expected `schema: '2.0'` and a `stages` mapping (DVC 2 or later)")
    stages = []
    for name, body in stages_doc.items():
        if not isinstance(body, dict):
            raise _bad(lock, f"stage {name}: expected a mapping")
        wdir = wdirs.get(str(name).split("@")[0], folder)
        outs = []
        for entry in body.get("outs") or []:
            out = _out(root, wdir, entry, lock, str(name))
            if out.path not in uncached:
                outs.append(out)
        deps = []
        for entry in body.get("deps") or []:
            if not isinstance(entry, dict):
                raise _bad(lock, f"stage {name}: each dep must be a mapping")
            raw = _md5_text(entry.get("md5"))
            md5 = raw.removesuffix(".dir") if isinstance(raw, str) else None
            deps.append(Dep(_join(root, wdir, entry.get("path"), lock), md5))
        params = _params(body.get("params"), lock, str(name))
        stage_metrics = tuple(metrics.get(str(name).split("@")[0], ()))
        stages.append(Stage(str(name), lock, tuple(deps), params, tuple(outs), stage_metrics))
    return stages, uncached


def _params(raw: Any, name: str, stage: str) -> dict[str, Any]:
    """dvc.lock's `{params.yaml: {train.lr: 0.1}}` as the nested mapping `--params` writes."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _bad(name, f"stage {stage}: `params` must be a mapping of files")
    nested: dict[str, Any] = {}
    for values in raw.values():
        if not isinstance(values, dict):
            raise _bad(name, f"stage {stage}: `params` must map each file to its values")
        for key, value in values.items():
            node = nested
            parts = str(key).split(".")
            for part in parts[:-1]:
                child = node.get(part)
                node = node.setdefault(part, {}) if not isinstance(child, dict) else child
                if not isinstance(node, dict):
                    break
            else:
                node[parts[-1]] = value
    return nested


# -- .dvc/config -----------------------------------------------------------------------------

_SECTION = re.compile(r"""\[\s*'?\s*(\w+)(?:\s+"([^"]+)")?\s*'?\s*\]""")


def read_config(root: Path, name: str) -> dict[str, dict[str, str]]:
    """An INI file as DVC (configobj) writes it: `[core]`, `['remote "name"']`, `k = v`.
    Sections come back as `core`, `remote "name"`. A missing file is empty."""
    path = root / name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise _bad(name, f"cannot read it ({exc})") from None
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if stripped.startswith("["):
            found = _SECTION.fullmatch(stripped)
            if not found:
                raise _bad(name, f"line {number}: malformed section {stripped!r}")
            title = found[1] if not found[2] else f'{found[1]} "{found[2]}"'
            current = sections.setdefault(title, {})
            continue
        key, sep, value = stripped.partition("=")
        if not sep or current is None:
            raise _bad(name, f"line {number}: expected `key = value` inside a section")
        current[key.strip()] = value.strip().strip("'\"")
    return sections


def remotes(root: Path) -> tuple[list[DvcRemoteConfig], str | None]:
    """DVC's remotes (options from `.dvc/config`, secrets from `config.local`), default."""
    shared = read_config(root, ".dvc/config")
    local = read_config(root, ".dvc/config.local")
    found: dict[str, DvcRemoteConfig] = {}
    for layer in (shared, local):
        for title, values in layer.items():
            if not title.startswith('remote "'):
                continue
            name = title[len('remote "') : -1]
            old = found.get(name)
            url = values.get("url") or (old.url if old else "")
            options = {k: v for k, v in values.items() if k != "url"}
            if old is None:
                found[name] = DvcRemoteConfig(
                    name, url, options if layer is shared else {}, options if layer is local else {}
                )
            else:
                found[name] = DvcRemoteConfig(name, url, old.options, {**old.secrets, **options})
    default = local.get("core", {}).get("remote") or shared.get("core", {}).get("remote")
    for remote in found.values():
        if not remote.url:
            raise _bad(".dvc/config", f"remote {remote.name!r} has no url")
    return list(found.values()), default


def cache_dir(root: Path) -> Path:
    """DVC's cache folder: `cache.dir` (relative to `.dvc/`), else `.dvc/cache`."""
    for name in (".dvc/config.local", ".dvc/config"):
        configured = read_config(root, name).get("cache", {}).get("dir")
        if configured:
            return (root / ".dvc" / configured).resolve()
    return root / ".dvc" / "cache"
