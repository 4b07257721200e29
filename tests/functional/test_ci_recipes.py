"""The CI/CD recipes of examples/ci/ run, so that they cannot rot.

Each recipe is parsed (ruamel) and the job a trigger starts is run step by step with bash,
as the runner would, in a clone of a real bare origin made after the triggering push, with
the runner's variables set (GITHUB_EVENT_NAME, GITHUB_REF, GITHUB_ENV, ...; CI_PIPELINE_SOURCE,
CI_COMMIT_TAG, ...). The remote is a real folder remote. What a runner does that is not a
step is played here: `actions/checkout` is the clone, `actions/setup-python` is this
interpreter, and `pip install 'gitmv[...]'` runs a `pip` found first on PATH that checks it
is asked for gitmv and does nothing, since gitmv from this checkout is already on PATH.
Secrets (`${{ secrets.X }}`) are unset. Anything else the test does not know (another
action, a `${{ }}` in a script, a condition it cannot read) fails the test rather than being
skipped, so a recipe cannot drift out of what is tested.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.helpers import git, gitmv

RECIPES = Path(__file__).resolve().parents[2] / "examples" / "ci"
PIP_SHIM = """#!/bin/sh
# test stand-in: a recipe's `pip install 'gitmv[...]'` means gitmv from this checkout
case "$1 $2" in
  "install gitmv"|"install gitmv["*) echo "$*" >>"$PIP_LOG"; exit 0 ;;
esac
echo "unexpected in a recipe: pip $*" >&2
exit 1
"""


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load((RECIPES / name).read_text())
    return data


@dataclass
class Run:
    """One job's run: its steps' exit codes and output."""

    codes: list[int] = field(default_factory=list)
    output: str = ""

    @property
    def passed(self) -> bool:
        return bool(self.codes) and all(c == 0 for c in self.codes)


@dataclass
class World:
    root: Path
    origin: Path
    store: Path
    dev: Path

    def ci_clone(self, ref: str) -> Path:
        """What the runner's checkout leaves: a fresh clone at `ref`, every tag fetched."""
        work = self.root / f"ci-{len(list(self.root.glob('ci-*')))}"
        git(self.root, "clone", "-q", str(self.origin), work.name)
        git(work, "checkout", "-q", ref)
        return work

    def runner_env(self, tmp: Path, extra: dict[str, str]) -> dict[str, str]:
        shims = tmp / "shims"
        shims.mkdir(parents=True, exist_ok=True)
        (shims / "pip").write_text(PIP_SHIM)
        (shims / "pip").chmod(0o755)
        path = os.pathsep.join([str(shims), str(Path(sys.executable).parent), os.environ["PATH"]])
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "CI_"))}
        return {**env, "PATH": path, "CI": "true", "PIP_LOG": str(tmp / "pip.log"), **extra}


@pytest.fixture
def world(tmp_path: Path) -> World:
    """A team's repository on a bare origin, its bytes on a folder remote named `storage`
    (absolute, so that the CI's clone, elsewhere, finds it); the hooks are installed, and
    main holds a model the hook uploaded."""
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    git(tmp_path, "clone", "-q", str(origin), "dev")
    dev = tmp_path / "dev"
    gitmv(dev, "init")
    gitmv(dev, "remote", "add", "storage", str(tmp_path / "store"))
    (dev / "model.pt").write_bytes(b"weights v1" * 1000)
    gitmv(dev, "add", "model.pt", "--name", "churn", "--type", "model")
    git(dev, "add", "-A")
    git(dev, "commit", "-qm", "churn v1")
    git(dev, "push", "-q", "origin", "HEAD:main")  # the pre-push hook uploads
    return World(tmp_path, origin, tmp_path / "store", dev)


# ---------------------------------------------------------------- GitHub Actions


def _github_if(condition: str, env: dict[str, str]) -> bool:
    """The two kinds of condition the recipe uses, joined by &&; anything else fails."""
    values = {"github.event_name": env["GITHUB_EVENT_NAME"], "github.ref": env["GITHUB_REF"]}
    result = True
    for part in condition.split("&&"):
        part = part.strip()
        if m := re.fullmatch(r"(github\.\w+) == '([^']*)'", part):
            result &= values[m[1]] == m[2]
        elif m := re.fullmatch(r"startsWith\((github\.\w+), '([^']*)'\)", part):
            result &= values[m[1]].startswith(m[2])
        else:
            raise AssertionError(f"the test cannot read the condition {part!r}")
    return result


def _github_env(values: dict[str, Any]) -> dict[str, str]:
    out = {}
    for key, value in (values or {}).items():
        text = str(value)
        if re.fullmatch(r"\$\{\{ *secrets\.\w+ *\}\}", text):
            continue  # a secret: unset here (a folder remote needs none)
        assert "${{" not in text, f"{key}: the test cannot evaluate {text!r}"
        out[key] = text
    return out


def run_github(world: World, event: str, ref: str, checkout: str, tmp: Path) -> dict[str, Run]:
    """Run every job of the workflow that `event` on `ref` starts; {job: its run}."""
    workflow = load("github-actions.yml")
    triggers = workflow["on"]
    assert event in triggers, f"the workflow does not run on {event}"
    if event == "push" and ref.startswith("refs/tags/"):
        patterns = triggers["push"]["tags"]
        name = ref.removeprefix("refs/tags/")
        # GitHub's filter: ** matches any characters, * any but '/'
        regexes = [re.escape(p).replace(r"\*\*", ".*").replace(r"\*", "[^/]*") for p in patterns]
        assert any(re.fullmatch(r, name) for r in regexes), f"no tag filter matches {name}"
    runner = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": event,
        "GITHUB_REF": ref,
        "GITHUB_REF_NAME": ref.split("/", 2)[-1],
        "GITHUB_REF_TYPE": "tag" if ref.startswith("refs/tags/") else "branch",
        "RUNNER_TEMP": str(tmp),
    }
    runs: dict[str, Run] = {}
    for job_name, job in workflow["jobs"].items():
        base = world.runner_env(tmp, runner)
        condition = job.get("if")
        if condition is not None and not _github_if(condition, base):
            continue
        work = world.ci_clone(checkout)
        env_file = tmp / f"{job_name}.env"
        env_file.write_text("")
        env = {
            **base,
            **_github_env(workflow.get("env")),
            **_github_env(job.get("env")),
            "GITHUB_WORKSPACE": str(work),
            "GITHUB_ENV": str(env_file),
            "GITHUB_OUTPUT": str(tmp / f"{job_name}.out"),
        }
        run = Run()
        for step in job["steps"]:
            if "uses" in step:
                action = step["uses"].split("@")[0]
                assert action in ("actions/checkout", "actions/setup-python"), step["uses"]
                if action == "actions/checkout" and job_name == "deploy":
                    assert step.get("with", {}).get("fetch-depth") == 0  # tags and history
                continue
            assert set(step) <= {"name", "run", "env"}, f"the test cannot run {step}"
            script = step["run"]
            assert "${{" not in script, "a script must read the environment, not ${{ }}"
            step_env = {**env, **_github_env(step.get("env"))}
            for line in env_file.read_text().splitlines():
                key, _, value = line.partition("=")
                step_env[key] = value
            # GitHub's default shell on Linux: bash --noprofile --norc -eo pipefail {0}
            proc = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
                cwd=work,
                env=step_env,
                capture_output=True,
                text=True,
            )
            run.codes.append(proc.returncode)
            run.output += proc.stdout + proc.stderr
            if proc.returncode != 0:
                break  # the job fails at its first failing step
        run.output += f"\n[workspace {work}]"
        runs[job_name] = run
    return runs


# ---------------------------------------------------------------- GitLab CI/CD


def _gitlab_rule(condition: str, env: dict[str, str]) -> bool:
    if m := re.fullmatch(r'\$(\w+) == "([^"]*)"', condition):
        return env.get(m[1], "") == m[2]
    if m := re.fullmatch(r"\$(\w+) =~ /(.*)/", condition):
        return m[1] in env and re.search(m[2], env[m[1]]) is not None
    raise AssertionError(f"the test cannot read the rule {condition!r}")


def run_gitlab(world: World, variables: dict[str, str], checkout: str, tmp: Path) -> dict[str, Run]:
    """Run every job of the pipeline these predefined variables start; {job: its run}."""
    pipeline = load("gitlab-ci.yml")
    reserved = {"stages", "variables", "default", "include", "workflow"}
    runs: dict[str, Run] = {}
    for job_name, job in pipeline.items():
        if job_name in reserved or job_name.startswith("."):
            continue
        template = pipeline[job["extends"]] if "extends" in job else {}
        merged = {**template, **job}
        env = {
            **world.runner_env(tmp, {"GITLAB_CI": "true", **variables}),
            **{k: str(v) for k, v in (pipeline.get("variables") or {}).items()},
            **{k: str(v) for k, v in (merged.get("variables") or {}).items()},
        }
        rules = merged.get("rules", [])
        assert all(set(r) == {"if"} for r in rules), rules
        if not any(_gitlab_rule(r["if"], env) for r in rules):
            continue
        work = world.ci_clone(checkout)
        # The runner runs before_script and script in one shell, stopping at the first
        # failing line (GitLab's bash: set -eo pipefail).
        lines = [*merged.get("before_script", []), *merged["script"]]
        assert not any("${{" in line for line in lines)
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", "\n".join(lines)],
            cwd=work,
            env={**env, "CI_PROJECT_DIR": str(work)},
            capture_output=True,
            text=True,
        )
        runs[job_name] = Run([proc.returncode], proc.stdout + proc.stderr + f"\n[{work}]")
    return runs


# ---------------------------------------------------------------- the stories


def _push_without_hooks(world: World) -> str:
    """A teammate changes the model on a branch and pushes with --no-verify: the pointer
    reaches the origin, its bytes never reach the remote."""
    dev = world.dev
    git(dev, "checkout", "-q", "-b", "retrain")
    (dev / "model.pt").write_bytes(b"weights v2" * 1000)
    gitmv(dev, "add", "model.pt")
    git(dev, "commit", "-qam", "churn v2")
    git(dev, "push", "-q", "--no-verify", "origin", "retrain")
    return (dev / "model.pt.gmv").read_text().split("oid: ", 1)[1].split()[0]


def _release(world: World) -> str:
    """Register churn, promote it to prod, push the tags: returns the stage tag."""
    gitmv(world.dev, "registry", "register", "churn")
    gitmv(world.dev, "registry", "assign", "churn", "--stage", "prod")
    tag = "churn#prod#1"
    assert tag in git(world.dev, "tag").split()
    git(world.dev, "push", "-q", "origin", "churn@v0.0.1", tag)
    return tag


def _corrupt_remote(world: World) -> None:
    for path in world.store.rglob("*"):
        if path.is_file() and path.stat().st_size == len(b"weights v1" * 1000):
            path.chmod(0o644)
            path.write_bytes(b"tampered!!" * 1000)
            return
    raise AssertionError("the model's object is not on the remote")


def test_github_pull_request_check_fails_until_the_bytes_are_pushed(
    world: World, tmp_path: Path
) -> None:
    oid = _push_without_hooks(world)
    pr = ("pull_request", "refs/pull/7/merge", "origin/retrain")
    runs = run_github(world, *pr, tmp_path / "run1")
    assert set(runs) == {"verify"}  # a pull request does not deploy
    assert not runs["verify"].passed, runs["verify"].output
    assert f"missing: {oid}  model.pt" in runs["verify"].output
    assert "install gitmv[s3]" in (tmp_path / "run1" / "pip.log").read_text()

    gitmv(world.dev, "push")  # the teammate uploads the bytes; the check goes green
    runs = run_github(world, *pr, tmp_path / "run2")
    assert runs["verify"].passed, runs["verify"].output
    assert runs["verify"].codes == [0, 0]  # both `run:` steps ran


def test_github_stage_tag_deploys_the_checked_bytes(world: World, tmp_path: Path) -> None:
    tag = _release(world)
    runs = run_github(world, "push", f"refs/tags/{tag}", tag, tmp_path / "run1")
    assert set(runs) == {"deploy"}
    deploy = runs["deploy"]
    assert deploy.passed, deploy.output
    assert "ok: churn@v0.0.1 (prod) xxh128:" in deploy.output
    assert "deploying churn (prod) from deploy/artifact" in deploy.output
    workspace = Path(deploy.output.rsplit("[workspace ", 1)[1].rstrip("]"))
    assert (workspace / "deploy" / "artifact").read_bytes() == b"weights v1" * 1000

    # a push to a branch deploys nothing
    assert run_github(world, "push", "refs/heads/main", "origin/main", tmp_path / "run2") == {}


def test_github_deploy_fails_when_the_remotes_bytes_are_corrupt(
    world: World, tmp_path: Path
) -> None:
    tag = _release(world)
    _corrupt_remote(world)
    deploy = run_github(world, "push", f"refs/tags/{tag}", tag, tmp_path / "run")["deploy"]
    assert not deploy.passed, deploy.output
    assert "deploying" not in deploy.output
    assert "error:" in deploy.output


def test_gitlab_merge_request_pipeline_fails_until_the_bytes_are_pushed(
    world: World, tmp_path: Path
) -> None:
    oid = _push_without_hooks(world)
    mr = {
        "CI_PIPELINE_SOURCE": "merge_request_event",
        "CI_COMMIT_REF_NAME": "retrain",
        "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "retrain",
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
    }
    runs = run_gitlab(world, mr, "origin/retrain", tmp_path / "run1")
    assert set(runs) == {"verify-artifacts"}
    assert not runs["verify-artifacts"].passed
    assert f"missing: {oid}  model.pt" in runs["verify-artifacts"].output

    gitmv(world.dev, "push")
    runs = run_gitlab(world, mr, "origin/retrain", tmp_path / "run2")
    assert runs["verify-artifacts"].passed, runs["verify-artifacts"].output


def test_gitlab_stage_tag_deploys_the_checked_bytes(world: World, tmp_path: Path) -> None:
    tag = _release(world)
    variables = {"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_TAG": tag, "CI_COMMIT_REF_NAME": tag}
    runs = run_gitlab(world, variables, tag, tmp_path / "run1")
    assert set(runs) == {"deploy-model"}
    deploy = runs["deploy-model"]
    assert deploy.passed, deploy.output
    assert "ok: churn@v0.0.1 (prod) xxh128:" in deploy.output
    assert "deploying churn (prod) from deploy/artifact" in deploy.output

    # the version tag churn@v0.0.1 is no stage tag: no deploy
    variables = {**variables, "CI_COMMIT_TAG": "churn@v0.0.1"}
    assert run_gitlab(world, variables, "churn@v0.0.1", tmp_path / "run2") == {}
    _corrupt_remote(world)
    deploy = run_gitlab(world, {**variables, "CI_COMMIT_TAG": tag}, tag, tmp_path / "run3")[
        "deploy-model"
    ]
    assert not deploy.passed and "deploying" not in deploy.output
