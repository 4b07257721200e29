"""kill -9 at seeded moments during add, checkout, gc, push, fetch and pull: nothing lost.

Each campaign measures one uninterrupted run, then kills the command's whole process
group (git children included) at `GITMV_FAULT_TRIALS` (default 30) moments drawn from a
seeded RNG (`GITMV_FAULT_SEED`) within that duration. After every kill:

- every object under its final name, in the cache and on the remote, re-hashes to its name;
- every work-tree artifact is absent or a whole file of a known version (never torn);
- pointer files parse, `.gitignore` has no torn or repeated line, the stat cache passes
  sqlite's integrity check and never vouches for a wrong oid, git can read its index.

Every few kills the command runs again uninterrupted and must complete on whatever the
kills left; `gitmv verify` (and `verify --remote`) then passes. Figures are printed and,
with `GITMV_FAULT_REPORT=path.json`, written for docs/reliability.md.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.faults import (
    Campaign,
    Figures,
    S3Audit,
    StatCacheAudit,
    StoreAudit,
    Version,
    WorkTreeAudit,
    check_gitignore,
    check_pointer,
    clear_git_lock,
    digest,
    file_digest,
    folder_version,
    git_index_ok,
    kill_after,
    make_bucket,
    oid_path,
    run_ok,
)
from tests.helpers import git, gitmv
from tests.servers import Server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

TRIALS = int(os.environ.get("GITMV_FAULT_TRIALS", "30"))
RERUN_EVERY = 6  # kills between two uninterrupted runs (the last one always reruns)
BIG = 64 * 1024 * 1024  # the large file of the add campaign
BIG_TRANSFER = {"folder": 16 * 1024 * 1024, "s3": 4 * 1024 * 1024}
FOLDER_FILES = 5000  # the folder of the add campaign
TRANSFER_FILES = {"folder": 300, "s3": 40}  # moto serves ~200 small requests a second
CHECKOUT_FILES = 3000

Fingerprint = frozenset[tuple[str, int]]


# -- workloads, made once per session ----------------------------------------------------------


@pytest.fixture(scope="session")
def many_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 5,000-file folder (50 subfolders, 64 to 1,500 bytes each), seeded; hard-linked into
    each repository that needs it (gitmv never writes into a work-tree file in place)."""
    rng = random.Random(1)
    top = tmp_path_factory.mktemp("workload") / "many"
    for i in range(FOLDER_FILES):
        path = top / f"d{i % 50:02d}" / f"f{i:05d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.randbytes(rng.randint(64, 1500)))
    return top


def link_tree(src: Path, dst: Path, limit: int | None = None) -> None:
    """Hard-link the first `limit` files of `src` (sorted) into `dst`."""
    files = sorted(p for p in src.rglob("*") if p.is_file())[:limit]
    for path in files:
        target = dst / path.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(path, target)


def seeded_bytes(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


def new_repo(path: Path) -> Path:
    path.mkdir()
    git(path, "init", "-q")
    gitmv(path, "init", "--no-hooks")
    return path


def cache_of(repo: Path) -> Path:
    return repo / ".git" / "gitmv" / "cache"


def state_of(repo: Path) -> Path:
    return repo / ".git" / "gitmv" / "state.sqlite"


def fingerprint(*tops: Path) -> Fingerprint:
    """Names and sizes of every file below `tops`: how far a killed command got."""
    found = set()
    for top in tops:
        for dirpath, _dirs, names in os.walk(top):
            for name in names:
                path = os.path.join(dirpath, name)
                try:
                    found.add((path, os.lstat(path).st_size))
                except FileNotFoundError:
                    continue
    return frozenset(found)


def wipe_objects(store: Path) -> None:
    for algorithm in ("xxh128", "sha256", "chunks", "chunk-lists"):
        if (store / algorithm).exists():
            for dirpath, _dirs, _names in os.walk(store / algorithm):
                os.chmod(dirpath, 0o755)
            shutil.rmtree(store / algorithm)


def remove_artifact(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


# -- the campaign loop ---------------------------------------------------------------------------


@dataclass
class Target:
    """One command under fire: how to run it, reset it, check it, and see its progress."""

    name: str
    repo: Path
    args: list[str]
    check: Callable[[], None]  # the invariants after any kill
    finished: Callable[[], None]  # what must hold after an uninterrupted run
    watch: Callable[[], Fingerprint]
    reset: Callable[[int], None] = lambda trial: None  # before each trial
    fresh: Callable[[], None] = lambda: None  # before each cycle of kills: work to do again
    per_cycle: int = RERUN_EVERY
    env: dict[str, str] | None = None
    verify: tuple[str, ...] = ()  # `gitmv verify` arguments for the end of the campaign
    per_trial_work: bool = False  # reset() gives each trial all of the work again


def run_campaign(target: Target) -> Figures:
    """Kill until TRIALS kills have hit a running command, rerunning it uninterrupted every
    `per_cycle` faults. A run that ends before its kill time is a trial, not a fault: it
    completed, so it is checked as a rerun is, and the next cycle starts."""
    reference = 1e9
    for _ in range(2):  # the faster of two clean runs: the first may pay for a cold disk
        target.fresh()
        target.reset(0)
        reference = min(reference, run_ok(target.args, target.repo, target.env))
        target.finished()
    campaign = Campaign(target.name, reference)
    figures = campaign.figures
    cycle_done = True
    while figures.faults < TRIALS:
        assert figures.trials < TRIALS * 3, f"too few kills landed on a running command: {figures}"
        first = cycle_done  # all of the work still to do
        if cycle_done:
            target.fresh()
            cycle_done = False
        target.reset(figures.trials + 1)
        before = target.watch()
        took = kill_after(target.args, target.repo, campaign.delay(), target.env)
        hit = took is None
        figures.trials += 1
        figures.faults += hit
        figures.git_locks += clear_git_lock(target.repo, target.args, target.env)
        _checked(campaign, target.check)
        figures.midway += hit and target.watch() != before
        if hit and figures.faults % target.per_cycle and figures.faults < TRIALS:
            continue
        if took is not None:
            if first or target.per_trial_work:  # a run with all of the work: a fair length
                campaign.completed(took)
        else:
            run_ok(target.args, target.repo, target.env)
            figures.reruns += 1
            _checked(campaign, target.check)
        _checked(campaign, target.finished)
        cycle_done = True
    _checked(campaign, lambda: verify(target.repo, *target.verify))
    return campaign.finish()


def _checked(campaign: Campaign, check: Callable[[], None]) -> None:
    try:
        check()
    except AssertionError:
        campaign.figures.failures += 1
        campaign.finish()
        raise
    campaign.figures.checks += 1


def no_untracked(repo: Path) -> bool:
    """git sees nothing new: a temp file beside a file artifact would show (and be committed
    by a `git add -A`); inside a folder artifact it is swept by the next checkout."""
    untracked = git(repo, "status", "--porcelain", "--untracked-files=all")
    return not [line for line in untracked.splitlines() if line.startswith("??")]


def verify(repo: Path, *args: str) -> None:
    out = gitmv(repo, "verify", *args).stdout
    assert "all sound" in out, out


def report_fault_injection(figures: Figures) -> None:
    """Every kill was checked, TRIALS of them hit a running command, and it ran again."""
    assert figures.failures == 0
    assert figures.faults >= TRIALS and figures.reruns >= 1, figures


# -- add ---------------------------------------------------------------------------------------


def add_large_file(tmp_path: Path, _many_files: Path) -> list[Figures]:
    repo = new_repo(tmp_path / "repo")
    big = repo / "big.bin"
    big.write_bytes(seeded_bytes(7, BIG))
    cache = StoreAudit(cache_of(repo))
    stat = StatCacheAudit(state_of(repo))
    versions: set[str] = set()
    rng = random.Random(11)

    def reset(trial: int) -> None:  # a new version each time: hashing and storing again
        with open(big, "r+b") as f:
            f.write(rng.randbytes(16))
        versions.add(file_digest(big))

    def check() -> None:
        cache.check()
        oid = check_pointer(repo / "big.bin.gmv", cache)
        assert oid is None or oid in versions
        check_gitignore(repo / ".gitignore")
        stat.check()
        git_index_ok(repo)
        assert file_digest(big) in versions  # add never writes to the artifact

    def finished() -> None:
        assert check_pointer(repo / "big.bin.gmv", cache) == file_digest(big)
        check_gitignore(repo / ".gitignore", ["/big.bin"])
        staged = git(repo, "diff", "--cached", "--name-only")
        assert "big.bin.gmv" in staged and ".gitignore" in staged

    target = Target(
        "add-large-file",
        repo,
        ["add", "big.bin"],
        check,
        finished,
        lambda: fingerprint(cache.root, repo / "big.bin.gmv", repo / ".gitignore"),
        reset,
        fresh=lambda: _ok(gitmv(repo, "gc").returncode),  # drop abandoned versions
        per_trial_work=True,
    )
    return [run_campaign(target)]


def add_folder(tmp_path: Path, many_files: Path) -> list[Figures]:
    repo = new_repo(tmp_path / "repo")
    link_tree(many_files, repo / "many")
    want = folder_version(repo / "many")
    cache = StoreAudit(cache_of(repo))
    stat = StatCacheAudit(state_of(repo))
    manifest: list[str] = []

    def fresh() -> None:  # everything to hash and store again
        wipe_objects(cache.root)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{state_of(repo)}{suffix}").unlink(missing_ok=True)

    def check() -> None:
        cache.check()
        oid = check_pointer(repo / "many.gmv")  # the pointer may outlive a wiped cache
        assert oid is None or oid in manifest
        check_gitignore(repo / ".gitignore")
        stat.check()
        git_index_ok(repo)

    def finished() -> None:
        oid = check_pointer(repo / "many.gmv", cache)
        assert oid is not None
        manifest[:] = manifest or [oid]
        assert oid == manifest[0]
        stored = cache.oids()
        assert set(want.files.values()) <= stored
        check_gitignore(repo / ".gitignore", ["/many"])

    target = Target(
        "add-5000-file-folder",
        repo,
        ["add", "many"],
        check,
        finished,
        lambda: fingerprint(cache.root, repo / "many.gmv"),
        fresh=fresh,
    )
    figures = run_campaign(target)
    assert folder_version(repo / "many") == want  # add never touches the artifact
    return [figures]


# -- checkout and gc (local) ---------------------------------------------------------------


def two_versions(repo: Path, many_files: Path, files: int, big: int) -> tuple[Version, Version]:
    """Commit v1 and v2 of `big.bin` and `data/` (v2: a new big file; data with 40% of
    its files changed, 10% removed, 10% new); tags v1 and v2."""
    rng = random.Random(3)
    link_tree(many_files, repo / "data", files)
    (repo / "big.bin").write_bytes(seeded_bytes(21, big))
    gitmv(repo, "add", "big.bin", "data")
    git(repo, "commit", "-qm", "v1")
    git(repo, "tag", "v1")
    v1 = folder_version(repo / "data")
    v1.oid = file_digest(repo / "big.bin")
    names = sorted(v1.files)
    for name in names[: files * 4 // 10]:
        (repo / "data" / name).unlink()  # a hard link: write a new file, never into it
        (repo / "data" / name).write_bytes(rng.randbytes(rng.randint(10, 900)))
    for name in names[-files // 10 :]:
        (repo / "data" / name).unlink()
    for i in range(files // 10):
        (repo / "data" / "new" / f"{i}.bin").parent.mkdir(exist_ok=True)
        (repo / "data" / "new" / f"{i}.bin").write_bytes(rng.randbytes(300))
    (repo / "big.bin").write_bytes(seeded_bytes(22, big))
    gitmv(repo, "add", "big.bin", "data")
    git(repo, "commit", "-qm", "v2")
    git(repo, "tag", "v2")
    v2 = folder_version(repo / "data")
    v2.oid = file_digest(repo / "big.bin")
    return v1, v2


def checkout(tmp_path: Path, many_files: Path) -> list[Figures]:
    repo = new_repo(tmp_path / "repo")
    v1, v2 = two_versions(repo, many_files, CHECKOUT_FILES, 96 * 1024 * 1024)
    cache = StoreAudit(cache_of(repo))
    work = WorkTreeAudit(repo)
    stat = StatCacheAudit(state_of(repo))
    current: list[Version] = [v2]

    def reset(trial: int) -> None:  # switch the pointers: the artifacts are now stale
        current[0] = v1 if current[0] is v2 else v2
        git(repo, "checkout", "-q", "v1" if current[0] is v1 else "v2")

    def check() -> None:
        cache.check()
        work.check_file("big.bin", [v1, v2])
        work.check_folder("data", [v1, v2])
        stat.check()
        check_gitignore(repo / ".gitignore", ["/big.bin", "/data"])
        git_index_ok(repo)

    def finished() -> None:
        assert work.check_file("big.bin", [current[0]]) == current[0].oid
        assert folder_version(repo / "data").files == current[0].files
        rows = json.loads(gitmv(repo, "status", "--json").stdout)
        assert {row["state"] for row in rows} == {"clean"}, rows
        assert no_untracked(repo)  # no half-written temp left beside an artifact

    target = Target(
        "checkout",
        repo,
        ["checkout"],
        check,
        finished,
        lambda: fingerprint(repo / "big.bin", repo / "data"),
        reset,
        per_trial_work=True,
    )
    return [run_campaign(target)]


def garbage_store(where: Path, count: int) -> set[str]:
    """A store laid out like the cache holding `count` objects nothing will ever need."""
    rng = random.Random(5)
    oids = set()
    for i in range(count):
        data = rng.randbytes(4 * 1024 * 1024 if i < 4 else rng.randint(50, 2000))
        oid = digest(data)
        path = where / oid_path(oid)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.chmod(path, 0o444)
        oids.add(oid)
    return oids


def link_objects(src: Path, dst: Path, oids: set[str]) -> None:
    for oid in oids:
        target = dst / oid_path(oid)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(src / oid_path(oid), target)


def gc(tmp_path: Path, many_files: Path) -> list[Figures]:
    repo = new_repo(tmp_path / "repo")
    link_tree(many_files, repo / "data", 300)
    (repo / "big.bin").write_bytes(seeded_bytes(31, 8 * 1024 * 1024))
    gitmv(repo, "add", "big.bin", "data")
    gitmv(repo, "remote", "add", "origin", "../store")
    with open(repo / ".gitmv/config.yaml", "a") as f:
        f.write("gc:\n  remote_grace: 0\n")  # the garbage is fresh: no grace period here
    git(repo, "commit", "-qm", "v1")
    gitmv(repo, "push")
    cache = StoreAudit(cache_of(repo))
    remote = StoreAudit(tmp_path / "store")
    needed = cache.oids()
    assert remote.oids() == needed
    garbage = garbage_store(tmp_path / "garbage", 2000)

    def reset(trial: int) -> None:  # new garbage each trial, on both sides
        link_objects(tmp_path / "garbage", cache.root, garbage)
        link_objects(tmp_path / "garbage", remote.root, garbage)

    def check() -> None:
        cache.check()
        remote.check()
        assert needed <= cache.oids(), "gc removed a needed object from the cache"
        assert needed <= remote.oids(), "gc removed a needed object from the remote"

    def finished() -> None:
        assert cache.oids() == needed and remote.oids() == needed

    target = Target(
        "gc-cache-and-remote",
        repo,
        ["gc", "--remote", "origin", "--yes"],
        check,
        finished,
        lambda: fingerprint(cache.root / "xxh128", remote.root / "xxh128"),
        reset,
        verify=("--remote", "origin"),
        per_trial_work=True,
    )
    return [run_campaign(target)]


# -- push, fetch, pull on a folder remote and on S3 ----------------------------------------------


@dataclass
class Backend:
    kind: str
    url: str
    options: list[str]
    audit: Callable[[], int]
    oids: Callable[[], set[str]]
    wipe: Callable[[], None]
    watch: Callable[[], Fingerprint]


def folder_backend(tmp_path: Path) -> Backend:
    store = StoreAudit(tmp_path / "store")
    return Backend(
        "folder",
        str(store.root),
        [],
        store.check,
        store.oids,
        lambda: wipe_objects(store.root),
        lambda: fingerprint(store.root),
    )


def s3_backend(server: Server) -> Backend:
    s3 = S3Audit(server.endpoint, make_bucket(server), "models")
    return Backend(
        "s3",
        f"s3://{s3.bucket}/models",
        ["--option", f"endpoint_url={server.endpoint}"],
        s3.check,
        s3.oids,
        s3.wipe,
        lambda: frozenset((k, len(e)) for k, e in s3.listing().items()),
    )


def transfers(tmp_path: Path, many_files: Path, backend: Backend) -> list[Figures]:
    source = new_repo(tmp_path / "source")
    with open(source / ".gitmv" / "config.yaml", "a") as f:  # the big file goes up as chunks
        f.write("chunking:\n  min_size: 2097152\n")
    link_tree(many_files, source / "data", TRANSFER_FILES[backend.kind])
    (source / "big.bin").write_bytes(seeded_bytes(41, BIG_TRANSFER[backend.kind]))
    gitmv(source, "add", "big.bin", "data")
    gitmv(source, "remote", "add", "origin", backend.url, *backend.options)
    git(source, "commit", "-qm", "v1")
    needed = StoreAudit(cache_of(source)).oids()
    v1 = folder_version(source / "data")
    v1.oid = file_digest(source / "big.bin")

    def pushed() -> None:
        assert backend.oids() == needed

    figures = []
    push = Target(
        f"push-{backend.kind}",
        source,
        ["push"],
        lambda: _ok(backend.audit()),
        pushed,
        backend.watch,
        fresh=backend.wipe,
        verify=("--remote", "origin", "--deep"),
    )
    figures.append(run_campaign(push))

    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(source), str(clone))
    cache = StoreAudit(cache_of(clone))
    work = WorkTreeAudit(clone)
    stat = StatCacheAudit(state_of(clone))

    def fetch_check() -> None:
        cache.check()
        stat.check()
        work.check_file("big.bin", [v1])
        work.check_folder("data", [v1])
        git_index_ok(clone)

    def fetched() -> None:
        assert cache.oids() >= needed

    def fresh_clone(pull: bool) -> Callable[[], None]:
        def fresh() -> None:
            wipe_objects(cache.root)
            if pull:
                remove_artifact(clone / "big.bin")
                remove_artifact(clone / "data")

        return fresh

    fetch = Target(
        f"fetch-{backend.kind}",
        clone,
        ["fetch"],
        fetch_check,
        fetched,
        lambda: fingerprint(cache.root),
        fresh=fresh_clone(False),
    )  # verify (the cache) runs at the end of every campaign
    figures.append(run_campaign(fetch))

    def pulled() -> None:
        fetched()
        assert work.check_file("big.bin", [v1]) == v1.oid
        assert folder_version(clone / "data").files == v1.files
        rows = json.loads(gitmv(clone, "status", "--json").stdout)
        assert {row["state"] for row in rows} == {"clean"}, rows
        assert no_untracked(clone)

    pull = Target(
        f"pull-{backend.kind}",
        clone,
        ["pull"],
        fetch_check,
        pulled,
        lambda: fingerprint(cache.root, clone / "big.bin", clone / "data"),
        fresh=fresh_clone(True),
        verify=("--remote", "origin"),
    )
    figures.append(run_campaign(pull))
    return figures


def _ok(count: int) -> None:
    assert count >= 0


# -- the tests: campaigns run two at a time, each test reports its own -----------------------

CAMPAIGNS: dict[str, Callable[..., list[Figures]]] = {
    "add_of_a_5000_file_folder": add_folder,
    "push_fetch_pull_on_s3": transfers,
    "push_fetch_pull_on_a_folder_remote": transfers,
    "gc_of_the_cache_and_a_folder_remote": gc,
    "checkout": checkout,
    "add_of_a_large_file": add_large_file,
}  # longest first, so that two workers finish together


@pytest.fixture(scope="module")
def campaigns(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, many_files: Path
) -> Iterator[dict[str, Future[list[Figures]]]]:
    """Start the campaigns of the selected tests on two threads: each spends most of its
    time waiting for a kill time or a child process, and the suite's budget is minutes."""
    selected = {
        item.name.removeprefix("test_").removesuffix("_killed_at_random")
        for item in request.session.items
        if item.module is request.module
    }
    pool = ThreadPoolExecutor(2, thread_name_prefix="campaign")
    futures: dict[str, Future[list[Figures]]] = {}
    for name, run in CAMPAIGNS.items():
        if name not in selected:
            continue
        tmp = tmp_path_factory.mktemp(name)
        args: tuple[object, ...] = (tmp, many_files)
        if run is transfers:
            server: Server | None = (
                request.getfixturevalue("moto_server") if name.endswith("s3") else None
            )
            args += (s3_backend(server) if server else folder_backend(tmp),)
        futures[name] = pool.submit(run, *args)
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)


def outcome(futures: dict[str, Future[list[Figures]]], name: str) -> None:
    for figures in futures[name].result():
        report_fault_injection(figures)


def test_add_of_a_large_file_killed_at_random(campaigns: dict[str, Future[list[Figures]]]) -> None:
    outcome(campaigns, "add_of_a_large_file")


def test_add_of_a_5000_file_folder_killed_at_random(
    campaigns: dict[str, Future[list[Figures]]],
) -> None:
    outcome(campaigns, "add_of_a_5000_file_folder")


def test_checkout_killed_at_random(campaigns: dict[str, Future[list[Figures]]]) -> None:
    outcome(campaigns, "checkout")


def test_gc_of_the_cache_and_a_folder_remote_killed_at_random(
    campaigns: dict[str, Future[list[Figures]]],
) -> None:
    outcome(campaigns, "gc_of_the_cache_and_a_folder_remote")


def test_push_fetch_pull_on_a_folder_remote_killed_at_random(
    campaigns: dict[str, Future[list[Figures]]],
) -> None:
    outcome(campaigns, "push_fetch_pull_on_a_folder_remote")


def test_push_fetch_pull_on_s3_killed_at_random(
    campaigns: dict[str, Future[list[Figures]]],
) -> None:
    outcome(campaigns, "push_fetch_pull_on_s3")
