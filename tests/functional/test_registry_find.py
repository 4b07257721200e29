"""`gitmv registry find`, `used-by` and `label` on a real registry history: versions with
metrics, params, labels and inputs, stage changes, made by different people on different days
(GIT_AUTHOR_*/GIT_COMMITTER_* name the tagger and date of each tag)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from gitmv import api
from gitmv.base.errors import GitmvError
from tests.helpers import git, gitmv, tool

GTO = tool("gto")

PEOPLE = {
    "alice": ("Alice Smith", "alice@example.com"),
    "bob": ("Bob Jones", "bob@example.com"),
    "carol": ("Carol White", "carol@example.com"),
}


def as_user(who: str, day: str) -> dict[str, str]:
    name, email = PEOPLE[who]
    when = f"{day}T12:00:00+00:00"
    return {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
        "GIT_AUTHOR_DATE": when,
        "GIT_COMMITTER_DATE": when,
    }


def run(repo: Path, who: str, day: str, *args: str, code: int = 0) -> str:
    return gitmv(repo, *args, env=as_user(who, day), code=code).stdout


def commit(repo: Path, who: str, day: str, message: str) -> None:
    env = as_user(who, day)
    proc = subprocess.run(
        ["git", "commit", "-qam", message], cwd=repo, env={**__import__("os").environ, **env}
    )
    assert proc.returncode == 0


def train(repo: Path, who: str, day: str, weights: str, acc: float, lr: float, *extra: str) -> None:
    (repo / "models").mkdir(exist_ok=True)
    (repo / "models/churn.pkl").write_text(weights)
    args = ["--name", "churn", "--type", "model", "--meta", f"metrics.accuracy={acc}"]
    run(repo, who, day, "add", "models/churn.pkl", *args, "--meta", f"params.lr={lr}", *extra)
    git(repo, "add", "-A")
    commit(repo, who, day, f"train churn {weights}")


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """churn v1.0.0 (march, label fraud at add), v1.1.0 (march; production after v1.0.0),
    v2.0.0 (april; label fraud by tag; staging); ensemble v1.0.0 made from churn v1.1.0's
    bytes; fraud v0.1.0, a model of another type; then an unregistered churn commit."""
    repo = tmp_path_factory.mktemp("find") / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    gitmv(repo, "init", "--no-hooks")
    (repo / "data").mkdir()
    (repo / "data/march.csv").write_text("id,churned\n1,0\n")
    (repo / "data/april.csv").write_text("id,churned\n1,1\n2,0\n")
    run(repo, "carol", "2024-01-02", "add", "data/march.csv", "data/april.csv")
    git(repo, "add", "-A")
    commit(repo, "carol", "2024-01-02", "data")

    train(
        repo,
        "alice",
        "2024-01-10",
        "w1",
        0.85,
        0.1,
        "--input",
        "data/march.csv",
        "--label",
        "fraud",
    )
    run(repo, "alice", "2024-01-10", "registry", "register", "churn", "--version", "v1.0.0")
    run(repo, "carol", "2024-01-11", "registry", "assign", "churn", "--stage", "production")

    train(repo, "bob", "2024-02-10", "w2", 0.92, 0.01, "--input", "data/march.csv")
    run(repo, "bob", "2024-02-10", "registry", "register", "churn", "--version", "v1.1.0")
    run(repo, "carol", "2024-02-12", "registry", "assign", "churn", "--stage", "production")

    (repo / "models/ensemble.pkl").write_text("ens")
    run(
        repo, "bob", "2024-02-20", "add", "models/ensemble.pkl", "--name", "ensemble",
        "--type", "model", "--meta", "metrics.accuracy=0.93", "--input", "models/churn.pkl",
    )  # fmt: skip
    git(repo, "add", "-A")
    commit(repo, "bob", "2024-02-20", "ensemble")
    run(repo, "bob", "2024-02-20", "registry", "register", "ensemble", "--version", "v1.0.0")

    train(repo, "alice", "2024-03-10", "w3", 0.95, 0.001, "--input", "data/april.csv")
    run(repo, "alice", "2024-03-10", "registry", "register", "churn", "--version", "v2.0.0")
    run(repo, "carol", "2024-03-11", "registry", "assign", "churn", "--stage", "staging")
    run(repo, "bob", "2024-03-12", "registry", "label", "churn@v2.0.0", "fraud")

    (repo / "models/fraud.pkl").write_text("fraud")
    run(
        repo, "carol", "2024-03-20", "add", "models/fraud.pkl", "--name", "fraud",
        "--type", "scorer", "--meta", "metrics.accuracy=0.7", "--meta", "params.lr=0.5",
    )  # fmt: skip
    git(repo, "add", "-A")
    commit(repo, "carol", "2024-03-20", "fraud scorer")
    run(repo, "carol", "2024-03-20", "registry", "register", "fraud", "--version", "v0.1.0")

    train(repo, "alice", "2024-04-01", "w4", 0.97, 0.0005, "--input", "data/april.csv")
    return repo


def found(repo: Path, *args: str) -> list[str]:
    data = json.loads(gitmv(repo, "registry", "find", *args, "--json").stdout)
    return [f"{v['name']}@{v['version']}" for v in data["versions"]]


ALL = ["fraud@v0.1.0", "churn@v2.0.0", "ensemble@v1.0.0", "churn@v1.1.0", "churn@v1.0.0"]


def test_find_with_no_filter_lists_every_registered_version_newest_first(history: Path) -> None:
    assert found(history) == ALL
    table = gitmv(history, "registry", "find").stdout.splitlines()
    assert table[0].split() == ["name", "version", "stages", "when", "who"]
    assert table[1].split()[:4] == ["fraud", "v0.1.0", "-", "2024-03-20"]
    assert "Carol White <carol@example.com>" in table[1]
    churn_v2 = next(line for line in table if "v2.0.0" in line)
    assert churn_v2.split()[2] == "staging"


def test_metric_and_param_filters_compare_as_numbers(history: Path) -> None:
    assert found(history, "metrics.accuracy>=0.9", "params.lr<0.01") == ["churn@v2.0.0"]
    assert found(history, "metrics.accuracy>0.92") == ["churn@v2.0.0", "ensemble@v1.0.0"]
    assert found(history, "metrics.accuracy<=0.85") == ["fraud@v0.1.0", "churn@v1.0.0"]
    assert found(history, "params.lr=0.010") == ["churn@v1.1.0"]  # 0.010 == 0.01
    assert found(history, "params.lr!=0.01", "type=model") == [
        "churn@v2.0.0",
        "ensemble@v1.0.0",  # it has no params.lr: not equal
        "churn@v1.0.0",
    ]
    # a version without the key: only != matches it
    assert found(history, "params.lr>0") == [
        "fraud@v0.1.0",
        "churn@v2.0.0",
        "churn@v1.1.0",
        "churn@v1.0.0",
    ]
    # the filtered keys are columns of the table
    out = gitmv(history, "registry", "find", "metrics.accuracy>=0.9", "params.lr<0.01").stdout
    header, row = out.splitlines()
    assert header.split()[-2:] == ["metrics.accuracy", "params.lr"]
    assert row.split()[-2:] == ["0.95", "0.001"]


def test_text_filters_name_type_and_substring(history: Path) -> None:
    assert found(history, "type=scorer") == ["fraud@v0.1.0"]
    assert found(history, "type!=model") == ["fraud@v0.1.0"]
    assert found(history, "name~ENS") == ["ensemble@v1.0.0"]  # ~ ignores case
    assert found(history, "name=churn", "path~churn") == [
        "churn@v2.0.0",
        "churn@v1.1.0",
        "churn@v1.0.0",
    ]
    assert found(history, "input=data/april.csv") == ["churn@v2.0.0"]


def test_labels_from_add_and_from_the_label_tag(history: Path) -> None:
    assert api.resolve("churn@v1.0.0", history).meta["labels"] == ["fraud"]  # add --label
    assert "labels" not in api.resolve("churn@v1.1.0", history).meta  # not inherited
    assert found(history, "label=fraud") == ["churn@v2.0.0", "churn@v1.0.0"]
    assert found(history, "label!=fraud", "name=churn") == ["churn@v1.1.0"]
    events = json.loads(gitmv(history, "registry", "history", "churn", "--json").stdout)
    labelled = [e for e in events if e["event"] == "label"]
    assert [(e["version"], e["label"], e["author"]) for e in labelled] == [
        ("v2.0.0", "fraud", "Bob Jones")
    ]
    assert labelled[0]["tag"].startswith("churn@v2.0.0@label=fraud#")
    table = gitmv(history, "registry", "history", "churn").stdout
    assert "label fraud" in table


def test_label_remove_and_relabel_are_events(tmp_path: Path, history: Path) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(history), str(clone))
    gitmv(clone, "init", "--no-hooks")
    run(clone, "bob", "2024-05-01", "registry", "label", "churn@v1.1.0", "audit")
    assert found(clone, "label=audit") == ["churn@v1.1.0"]
    out = run(clone, "bob", "2024-05-01", "registry", "label", "churn@v1.1.0", "audit")
    assert "already has label audit" in out
    run(clone, "carol", "2024-05-02", "registry", "label", "churn@v1.1.0", "audit", "--remove")
    assert found(clone, "label=audit") == []
    run(clone, "carol", "2024-05-03", "registry", "label", "churn@v1.1.0", "audit")
    assert found(clone, "label=audit") == ["churn@v1.1.0"]
    # a label given at add comes off the same way
    run(clone, "carol", "2024-05-04", "registry", "label", "churn@v1.0.0", "fraud", "--remove")
    assert found(clone, "label=fraud") == ["churn@v2.0.0"]
    assert found(history, "label=fraud") == ["churn@v2.0.0", "churn@v1.0.0"]  # not pushed
    tags = git(clone, "tag", "--list", "churn@v1.1.0@label=*").split()
    assert len(tags) == 3 and sum(t.split("#")[0].endswith("!") for t in tags) == 1
    for bad in (["churn@v9.0.0", "x"], ["churn@production", "x"], ["churn@v1.1.0", "no good"]):
        proc = gitmv(clone, "registry", "label", *bad, code=1)
        assert proc.stderr.startswith("error:") and "Traceback" not in proc.stderr


def test_a_bad_label_at_add_changes_nothing(tmp_path: Path, history: Path) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(history), str(clone))
    gitmv(clone, "init", "--no-hooks")
    (clone / "models/churn.pkl").write_text("w5")
    before = (clone / "models/churn.pkl.gmv").read_bytes()
    proc = gitmv(clone, "add", "models/churn.pkl", "--label", "not ok", code=1)
    assert proc.stderr.startswith("error: 'not ok' cannot be a label")
    assert (clone / "models/churn.pkl.gmv").read_bytes() == before


def test_stage_now_and_ever(history: Path) -> None:
    assert found(history, "--stage", "production") == ["churn@v1.1.0"]
    assert found(history, "stage=staging") == ["churn@v2.0.0"]
    assert found(history, "stage.ever=production") == ["churn@v1.1.0", "churn@v1.0.0"]


def test_semver_range(history: Path) -> None:
    assert found(history, "name=churn", "version>=1.1,<2") == ["churn@v1.1.0"]
    assert found(history, "version<1") == ["fraud@v0.1.0"]
    assert found(history, "version=v2.0.0") == ["churn@v2.0.0"]


def test_author_and_date_range(history: Path) -> None:
    assert found(history, "author=alice@example.com") == ["churn@v2.0.0", "churn@v1.0.0"]
    assert found(history, "author=bob jones") == ["ensemble@v1.0.0", "churn@v1.1.0"]
    assert found(history, "author~carol") == ["fraud@v0.1.0"]
    assert found(history, "author=carol") == ["fraud@v0.1.0"]  # the email's user part
    between = found(history, "--since", "2024-02-01", "--until", "2024-03-01")
    assert between == ["ensemble@v1.0.0", "churn@v1.1.0"]
    assert found(history, "date>=2024-03-15") == ["fraud@v0.1.0"]
    # a day alone is the whole day: --until includes it
    assert found(history, "--since", "2024-02-10", "--until", "2024-02-10") == ["churn@v1.1.0"]
    assert found(history, "date=2024-03-20") == ["fraud@v0.1.0"]


def test_sort_desc_and_limit(history: Path) -> None:
    by_acc = ["--sort", "metrics.accuracy"]
    assert found(history, "type=model", *by_acc, "--desc", "--limit", "2") == [
        "churn@v2.0.0",
        "ensemble@v1.0.0",
    ]
    assert found(history, *by_acc)[:2] == ["fraud@v0.1.0", "churn@v1.0.0"]
    # versions without the key sort last, either way
    assert found(history, "--sort", "params.lr", "--desc")[-1] == "ensemble@v1.0.0"
    assert found(history, "--sort", "params.lr")[-1] == "ensemble@v1.0.0"
    assert found(history, "--sort", "version", "--limit", "1") == ["fraud@v0.1.0"]
    assert found(history, "--limit", "0") == []


def test_json_is_one_document_with_everything_a_script_needs(history: Path) -> None:
    proc = gitmv(history, "registry", "find", "label=fraud", "metrics.accuracy>0.9", "--json")
    data = json.loads(proc.stdout)
    assert set(data) == {"filters", "keys", "searched", "count", "versions"}
    assert data["filters"] == ["label=fraud", "metrics.accuracy>0.9"]
    assert data["keys"] == ["label", "metrics.accuracy"]
    assert data["searched"] == 5 and data["count"] == 1
    (v,) = data["versions"]
    resolved = api.resolve("churn@v2.0.0", history)
    assert v["commit"] == resolved.commit and v["oid"] == resolved.oid
    assert v["path"] == "models/churn.pkl" and v["kind"] == "file"
    assert v["stages"] == ["staging"] and v["labels"] == ["fraud"]
    assert v["author"] == "Alice Smith <alice@example.com>"
    assert v["date"].startswith("2024-03-10T12:00:00")
    assert v["values"] == {"label": ["fraud"], "metrics.accuracy": 0.95}
    assert v["meta"]["params"] == {"lr": 0.001}
    assert v["registered"] is True


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["accuracy"], "'accuracy'"),
        (["metrics.accuracy>="], "'metrics.accuracy>='"),
        (["version>=abc"], "'abc' is not a version"),
        (["version>=1.2,2"], "'2' needs an operator"),
        (["label<x"], "'label<x'"),
        (["date~2024"], "'date~2024'"),
        (["metrics.accuracy=>0.9"], "'metrics.accuracy=>0.9'"),
        (["date>=yesterday"], "bad date 'yesterday'"),
        (["--since", "last week"], "bad date 'last week'"),
        (["--sort", "a b"], "--sort key 'a b'"),
        (["--all-commits"], "--all-commits"),
    ],
)
def test_a_bad_filter_is_a_usage_error_naming_it(
    history: Path, args: list[str], named: str
) -> None:
    proc = gitmv(history, "registry", "find", *args, code=2)
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and named in errors[0], proc.stderr
    assert proc.stdout == ""


def test_all_commits_adds_the_unregistered_commits_of_a_named_artifact(history: Path) -> None:
    assert found(history, "metrics.accuracy>0.96") == []
    data = json.loads(
        gitmv(
            history,
            "registry",
            "find",
            "name=churn",
            "metrics.accuracy>0.96",
            "--all-commits",
            "--json",
        ).stdout
    )
    (v,) = data["versions"]
    head = git(history, "rev-parse", "HEAD").strip()
    assert v["registered"] is False and v["commit"] == head and v["version"] == head[:12]
    assert v["author"] == "Alice Smith <alice@example.com>" and v["date"].startswith("2024-04-01")
    # four commits changed churn's pointer: the three registered ones, and HEAD
    everything = found(history, "name=churn", "--all-commits")
    assert everything == [f"churn@{head[:12]}", "churn@v2.0.0", "churn@v1.1.0", "churn@v1.0.0"]


def used(repo: Path, target: str) -> list[tuple[str, int, str, list[str]]]:
    data = json.loads(gitmv(repo, "registry", "used-by", target, "--json").stdout)
    return [
        (f"{v['name']}@{v['version']}", v["depth"], v["via"], v["stages"]) for v in data["versions"]
    ]


def test_used_by_goes_through_two_levels_with_current_stages(history: Path) -> None:
    assert used(history, "data/march.csv") == [
        ("churn@v1.0.0", 1, "data/march.csv", []),
        ("churn@v1.1.0", 1, "data/march.csv", ["production"]),
        ("ensemble@v1.0.0", 2, "churn@v1.1.0", []),
    ]
    assert used(history, "data/april.csv") == [("churn@v2.0.0", 1, "data/april.csv", ["staging"])]
    v11 = api.resolve("churn@v1.1.0", history)
    assert used(history, v11.oid) == [("ensemble@v1.0.0", 1, v11.oid, [])]
    assert used(history, "churn@v1.1.0") == [("ensemble@v1.0.0", 1, "churn@v1.1.0", [])]
    table = gitmv(history, "registry", "used-by", "data/march.csv").stdout.splitlines()
    assert table[0].split() == ["name", "version", "stages", "depth", "made", "from"]
    assert table[3].split() == ["ensemble", "v1.0.0", "-", "2", "churn@v1.1.0"]
    out = gitmv(history, "registry", "used-by", "data/nothing.csv").stdout
    assert "No registered version was made from data/nothing.csv" in out
    proc = gitmv(history, "registry", "used-by", "churn@v9.9.9", code=1)
    assert proc.stderr.startswith("error: no registered version churn@v9.9.9")


def test_the_api_returns_the_versions_resolve_returns(history: Path) -> None:
    hits = api.find(
        "metrics.accuracy>=0.9", "type=model", repo=history, sort="metrics.accuracy", desc=True
    )
    assert hits == [
        api.resolve("churn@v2.0.0", history),
        api.resolve("ensemble@v1.0.0", history),
        api.resolve("churn@v1.1.0", history),
    ]
    assert [v.stage for v in api.find(repo=history, stage="production")] == ["production"]
    assert api.find(repo=history, stage="production")[0] == api.resolve("churn@production", history)
    users = api.used_by("data/march.csv", history)
    assert [v.ref for v in users] == ["churn@v1.0.0", "churn@v1.1.0", "ensemble@v1.0.0"]
    assert users[2] == api.resolve("ensemble@v1.0.0", history)
    with pytest.raises(GitmvError, match="bad filter 'x'"):
        api.find("x", repo=history)


@pytest.mark.skipif(GTO is None, reason="needs gto (pip install gto)")
def test_gto_reads_a_registry_with_label_tags(history: Path) -> None:
    assert GTO is not None

    def gto(*args: str) -> Any:
        proc = subprocess.run([GTO, *args], cwd=history, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    assert "@label=" in git(history, "tag", "--list")
    shown = json.loads(gto("show", "--json"))
    assert shown["churn"]["version"] == "v2.0.0"
    assert shown["churn"]["stage"] == {"production": "v1.1.0", "staging": "v2.0.0"}
    events = gto("history", "churn")
    assert "label" not in events and "churn#staging" in events


def test_the_version_cache_is_only_a_copy(history: Path) -> None:
    """find keeps what it read of each version in .git/gitmv; a damaged copy changes nothing."""
    before = gitmv(history, "registry", "find", "--json").stdout
    cache = history / ".git/gitmv/registry-versions.json"
    assert cache.is_file()
    entries = json.loads(cache.read_text())["versions"]
    for n, key in enumerate(sorted(entries)):  # damaged entries of real versions
        entries[key] = [[1], ["a", "b", "c", 1, "meta"], None, ["a", "b", "c", True, {}]][n % 4]
    cache.write_text(json.dumps({"format": 1, "versions": entries}))
    assert gitmv(history, "registry", "find", "--json").stdout == before
    cache.unlink()
    assert gitmv(history, "registry", "find", "--json").stdout == before
