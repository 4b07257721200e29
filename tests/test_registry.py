"""Registry units: GTO tag names, versions and their order, bump rules, stage state, events
read from a real repository, the meta block's typed values, and version comparison."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from gitmv.base import git as gitcmd
from gitmv.base.errors import GitmvError
from gitmv.base.git import TagRecord
from gitmv.ops import promote
from gitmv.ops.inputs import frozen_packages
from gitmv.registry import grammar, meta
from gitmv.registry import tags as registry
from gitmv.registry.artifacts import artifact_at
from gitmv.registry.compare import diff_values
from gitmv.registry.grammar import SemVer, TagName, parse_tag_name
from gitmv.repo.context import Repo
from tests.helpers import git

# -- tag names -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("churn@v1.2.3", TagName("churn", "register", version="v1.2.3")),
        ("churn@v1.2.3!", TagName("churn", "deregister", version="v1.2.3")),
        ("churn@v1.0.0-rc.1+b7", TagName("churn", "register", version="v1.0.0-rc.1+b7")),
        ("churn#production#4", TagName("churn", "assign", stage="production", counter=4)),
        ("churn#production!#5", TagName("churn", "unassign", stage="production", counter=5)),
        ("churn#prod", TagName("churn", "assign", stage="prod")),
        ("churn@deprecated", TagName("churn", "deprecate")),
        ("models/churn@v2.0.0", TagName("models/churn", "register", version="v2.0.0")),
        ("path/to=churn#dev#1", TagName("path/to:churn", "assign", stage="dev", counter=1)),
    ],
)
def test_gto_tag_names_parse_and_format_back(text: str, expected: TagName) -> None:
    assert parse_tag_name(text) == expected
    assert str(expected) == text


@pytest.mark.parametrize(
    "text",
    [
        "v1.0.0",
        "release",
        "churn@1.0.0",
        "churn@v1.0",
        "churn@v01.0.0",
        "-x@v1.0.0",
        "churn#",
        "a b@v1.0.0",
    ],
)
def test_other_tags_are_not_registry_tags(text: str) -> None:
    assert parse_tag_name(text) is None


# -- versions --------------------------------------------------------------------------------


def test_semver_orders_numerically_with_prereleases_below_releases() -> None:
    texts = ["v1.10.0", "v1.9.0", "v1.0.0", "v1.0.0-rc.2", "v1.0.0-rc.10", "v1.0.0-alpha", "v0.9.9"]
    ordered = sorted(texts, key=lambda t: SemVer.parse(t).key())
    assert ordered == [
        "v0.9.9",
        "v1.0.0-alpha",
        "v1.0.0-rc.2",
        "v1.0.0-rc.10",
        "v1.0.0",
        "v1.9.0",
        "v1.10.0",
    ]
    assert SemVer.parse("v1.0.0+build.5").key() == SemVer.parse("v1.0.0").key()


@pytest.mark.parametrize("text", ["1.0.0", "v1.0", "v1.0.0.0", "v01.2.3", "vx.y.z", "v1.2.3-"])
def test_malformed_versions_are_refused(text: str) -> None:
    with pytest.raises(GitmvError, match="malformed version"):
        SemVer.parse(text)


def _artifact(*versions: str) -> registry.ArtifactState:
    records = [_record(f"m@{v}", f"{i:040x}", 1000 + i) for i, v in enumerate(versions, 1)]
    return registry.build(records).artifact("m")


def test_bump_rules_follow_gto() -> None:
    assert promote._next_version("m", None, None, None) == "v0.0.1"
    assert promote._next_version("m", None, None, "major") == "v1.0.0"
    art = _artifact("v1.2.3", "v1.10.0")
    assert promote._next_version("m", art, None, None) == "v1.10.1"
    assert promote._next_version("m", art, None, "minor") == "v1.11.0"
    assert promote._next_version("m", art, None, "major") == "v2.0.0"
    assert promote._next_version("m", art, "v2.0.0", None) == "v2.0.0"


def test_a_version_that_exists_or_goes_backwards_is_refused() -> None:
    art = _artifact("v1.0.0", "v2.0.0")
    with pytest.raises(GitmvError, match="already registered"):
        promote._next_version("m", art, "v2.0.0", None)
    with pytest.raises(GitmvError, match="backwards"):
        promote._next_version("m", art, "v1.5.0", None)
    with pytest.raises(GitmvError, match="unknown --bump"):
        promote._next_version("m", art, None, "huge")


def test_names_and_stages_are_checked() -> None:
    assert grammar.check_name("models/churn-2") == "models/churn-2"
    for bad in ("model.pt", "-x", "a b", "x/", "churn@v1"):
        with pytest.raises(GitmvError, match="cannot be a registry name"):
            grammar.check_name(bad)
    for bad in ("latest", "v2", "prod!", ""):
        with pytest.raises(GitmvError, match="cannot be a stage name"):
            grammar.check_stage(bad)


# -- stage state from tags -------------------------------------------------------------------


def _record(name: str, commit: str, when: int, annotated: bool = True) -> TagRecord:
    return TagRecord(name, annotated, commit, "Ann", "ann@example.com", when, "+0200", "msg")


C1, C2, C3 = "1" * 40, "2" * 40, "3" * 40


def test_the_latest_assignment_holds_the_stage_and_withdrawing_it_falls_back() -> None:
    records = [
        _record("m@v1.0.0", C1, 100),
        _record("m@v2.0.0", C2, 101),
        _record("m#prod#1", C1, 102),
        _record("m#prod#2", C2, 103),
    ]
    art = registry.build(records).artifact("m")
    assert art.stages == {"prod": "v2.0.0"} and art.latest == "v2.0.0"
    art = registry.build([*records, _record("m#prod!#3", C2, 104)]).artifact("m")
    assert art.stages == {"prod": "v1.0.0"}  # as `gto show` reads it
    art = registry.build([*records, _record("m#prod!#3", C2, 104), _record("m#prod!#4", C1, 104)])
    assert art.artifact("m").stages == {}


def test_same_second_events_are_ordered_by_counter() -> None:
    records = [
        _record("m@v1.0.0", C1, 100),
        _record("m@v2.0.0", C2, 100),
        _record("m#prod#2", C1, 100),  # re-assigned v1 after v2, in the same second
        _record("m#prod#1", C2, 100),
    ]
    art = registry.build(records).artifact("m")
    assert art.stages == {"prod": "v1.0.0"}
    assert [e.tag for e in art.events] == ["m@v1.0.0", "m@v2.0.0", "m#prod#1", "m#prod#2"]


def test_deregistered_versions_hold_nothing_and_lightweight_tags_are_ignored() -> None:
    records = [
        _record("m@v1.0.0", C1, 100),
        _record("m@v2.0.0", C2, 101),
        _record("m#prod#1", C2, 102),
        _record("m@v2.0.0!", C2, 103),
        _record("m@v3.0.0", C3, 104, annotated=False),
        _record("release-1", C3, 105),
    ]
    reg = registry.build(records)
    art = reg.artifact("m")
    assert art.latest == "v1.0.0" and art.stages == {}
    assert not art.version("v2.0.0").active  # type: ignore[union-attr]
    assert "release-1" in reg.tags and reg.names() == ["m"]


def test_a_stage_on_an_unregistered_commit_is_named_by_the_commit() -> None:
    art = registry.build([_record("m#dev#1", C3, 100)]).artifact("m")
    assert art.stages == {"dev": C3} and art.latest is None


def test_references_resolve_and_bad_ones_say_what_is_wrong() -> None:
    reg = registry.build([_record("m@v1.0.0", C1, 100), _record("m#prod#1", C1, 101)])
    assert registry.resolve(reg, "m@prod") == registry.Resolved("m", "v1.0.0", "prod", C1)
    assert registry.resolve(reg, "m#prod").version == "v1.0.0"
    assert registry.resolve(reg, "m").version == registry.resolve(reg, "m@latest").version
    assert registry.resolve(reg, "m@v1.0.0").commit == C1
    assert registry.resolve(reg, "m#prod#1") == registry.Resolved("m", "v1.0.0", None, C1)
    for ref, problem in [
        ("nope@v1.0.0", "no registered model named 'nope'"),
        ("m@v9.0.0", "m has no version v9.0.0"),
        ("m@v1.0", "malformed version"),
        ("m@staging", "no version of m is in stage 'staging'"),
        ("@v1.0.0", "malformed reference"),
        ("m#prod#7", "no registry tag 'm#prod#7'"),
    ]:
        with pytest.raises(GitmvError, match=problem):
            registry.resolve(reg, ref)


def test_a_stage_event_waits_out_the_second_of_the_last_one() -> None:
    art = registry.build([_record("m@v1.0.0", C1, 100), _record("m#prod#1", C1, 200)]).artifact("m")
    slept: list[float] = []
    promote._wait_for_next_second(art, clock=lambda: 200.25, sleep=slept.append)
    assert slept and 0.75 <= slept[0] <= 0.8
    slept.clear()
    promote._wait_for_next_second(art, clock=lambda: 201.5, sleep=slept.append)
    promote._wait_for_next_second(art, clock=lambda: 150.0, sleep=slept.append)  # clock skew
    assert slept == []


# -- events from a real repository -----------------------------------------------------------


def test_one_for_each_ref_reads_tagger_date_message_and_commit(repo: Path) -> None:
    git(repo, "commit", "-q", "--allow-empty", "-m", "one")
    head = git(repo, "rev-parse", "HEAD").strip()
    env_date = "2024-06-11T10:00:00+0200"
    subprocess.run(
        ["git", "tag", "-a", "-m", "Registering churn\n\nbody line", "churn@v1.0.0"],
        cwd=repo,
        check=True,
        env={**_env(), "GIT_COMMITTER_DATE": env_date, "GIT_COMMITTER_NAME": "Bo"},
    )
    git(repo, "tag", "plain")  # lightweight
    git(repo, "tag", "-a", "-m", "on a tag", "nested", "churn@v1.0.0")
    records = {r.name: r for r in gitcmd.tag_records(repo)}
    assert set(records) == {"churn@v1.0.0", "plain", "nested"}
    tag = records["churn@v1.0.0"]
    assert (tag.annotated, tag.commit, tag.tagger_name) == (True, head, "Bo")
    assert (tag.subject, tag.body, tag.signed) == ("Registering churn", "body line", False)
    assert (tag.timestamp, tag.utc_offset) == (1718092800, "+0200")
    assert records["plain"] == TagRecord("plain", False, head)
    assert records["nested"].commit is None  # a tag of a tag is not a registry event
    event = registry.load(Repo.open(repo)).artifact("churn").events[0]
    assert event.date.isoformat() == "2024-06-11T10:00:00+02:00"
    assert event.who == "Bo <test@example.com>"


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen to sign")
def test_tags_are_signed_when_git_is_set_to_sign_them(repo: Path, tmp_path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "k")], check=True
    )
    git(repo, "config", "gpg.format", "ssh")
    git(repo, "config", "user.signingkey", str(tmp_path / "k.pub"))
    git(repo, "commit", "-q", "--allow-empty", "-m", "one")
    head = git(repo, "rev-parse", "HEAD").strip()
    gitcmd.create_annotated_tag(repo, "m@v1.0.0", head, "unsigned\n")
    git(repo, "config", "tag.gpgSign", "true")
    gitcmd.create_annotated_tag(repo, "m@v2.0.0", head, "signed\n")
    signed = {r.name: r.signed for r in gitcmd.tag_records(repo)}
    assert signed == {"m@v1.0.0": False, "m@v2.0.0": True}
    assert "SSH SIGNATURE" in git(repo, "cat-file", "-p", "m@v2.0.0")


# -- the meta block --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("1", 1),
        ("0.5", 0.5),
        ("1e-3", 0.001),
        ("true", True),
        ("false", False),
        ("null", None),
        ("adam", "adam"),
        ("", ""),
        ("yes", "yes"),
        ("[1, 2]", "[1, 2]"),
        ("a: b", "a: b"),
        ("007", 7),
    ],
)
def test_meta_values_are_typed_as_yaml_scalars(raw: str, value: object) -> None:
    parsed = meta.parse_value(raw)
    assert parsed == value and type(parsed) is type(value)


def test_meta_pairs_nest_dotted_keys_and_refuse_computed_ones() -> None:
    block: dict[str, object] = {"params": {"lr": 0.1}}
    for key, value in meta.parse_pairs(["params.seed=7", "owner=ann"]):
        meta.set_dotted(block, key, value)
    assert block == {"params": {"lr": 0.1, "seed": 7}, "owner": "ann"}
    for bad in ("novalue", "=1", "a..b=1", "code.commit=x", "inputs=x", "name=x"):
        with pytest.raises(GitmvError):
            meta.parse_pairs([bad])


def test_flatten_and_metric_deltas() -> None:
    assert meta.flatten({"opt": {"lr": 0.1, "betas": {"b1": 0.9}}, "n": 1}) == {
        "opt.lr": 0.1,
        "opt.betas.b1": 0.9,
        "n": 1,
    }
    rows = diff_values(
        {"acc": 0.912, "n": 3, "f": True, "gone": 1}, {"acc": 0.93, "n": 5, "f": False, "new": "x"}
    )
    by_key = {r["key"]: r for r in rows}
    assert by_key["acc"]["delta"] == 0.018 and by_key["n"]["delta"] == 2
    assert by_key["f"]["delta"] is None and by_key["gone"]["change"] == "removed"
    assert by_key["new"]["change"] == "added"


def test_the_frozen_package_list_is_sorted_and_names_this_environment() -> None:
    lines = frozen_packages().decode().splitlines()
    assert lines == sorted(lines, key=str.lower)
    assert any(line.lower().startswith("xxhash==") for line in lines)


# -- a large registry ------------------------------------------------------------------------


def test_fifty_names_and_two_thousand_tags_load_in_one_pass(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Built with one `git fast-import`: 50 pointers, 30 versions and 10 stage tags each.
    "One pass" is counted in git processes (GIT_TRACE), not timed: a timing fails on a
    loaded machine, a loop that asks git once per tag fails here anywhere."""
    lines = []
    clock = 1_700_000_000
    for k in range(30):
        clock += 60
        lines.append(f"commit refs/heads/main\nmark :{k + 1}\ncommitter A <a@x> {clock} +0000\n")
        lines.append(f"data {len(f'v{k}')}\nv{k}\n")
        for i in range(50):
            text = f"gitmv: 1\noid: xxh128:{k:016x}{i:016x}\nsize: {k}\nkind: file\nmeta:\n  name: m{i:02d}\n"
            lines.append(f"M 100644 inline models/m{i:02d}.gmv\ndata {len(text)}\n{text}")
    for i in range(50):
        for k in range(30):
            clock += 1
            body = f"Registering artifact m{i:02d} version v1.{k}.0\n"
            lines.append(f"tag m{i:02d}@v1.{k}.0\nfrom :{k + 1}\ntagger A <a@x> {clock} +0000\n")
            lines.append(f"data {len(body)}\n{body}")
        for n in range(10):
            clock += 1
            stage = "production" if n % 2 == 0 else "staging"
            lines.append(f"tag m{i:02d}#{stage}#{n + 1}\nfrom :{20 + n + 1}\n")
            lines.append(f"tagger A <a@x> {clock} +0000\ndata 7\nassign\n")
    subprocess.run(
        ["git", "fast-import", "--quiet"], cwd=repo, input="".join(lines).encode(), check=True
    )
    opened = Repo.open(repo)
    trace = tmp_path / "git-trace"
    monkeypatch.setenv("GIT_TRACE", str(trace))
    reg = registry.load(opened)
    monkeypatch.delenv("GIT_TRACE")
    calls = [line for line in trace.read_text().splitlines() if "built-in: git" in line]
    assert 1 <= len(calls) <= 2, calls
    assert len(reg.tags) == 2000 and len(reg.names()) == 50
    art = reg.artifact("m25")
    assert art.latest == "v1.29.0"  # not v1.9.0: versions compare as numbers
    assert art.stages == {"production": "v1.28.0", "staging": "v1.29.0"}
    found = registry.resolve(reg, "m25@production")
    path, p = artifact_at(opened, "m25", found.commit)
    assert path == "models/m25" and p.meta["name"] == "m25"
