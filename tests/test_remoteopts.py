"""Remote option checks, the retry policy, and the one retry loop (remote.with_retries)."""

from __future__ import annotations

import math

import pytest

from gitmv.base.config import is_secret, is_secret_key, redact_option, scrub
from gitmv.base.errors import GitmvError, RemoteError
from gitmv.remotes.options import RetryPolicy, check_options
from gitmv.remotes.retries import with_retries


def test_credential_names_and_the_names_gitmv_reads() -> None:
    for name in ("api_key", "MY_API_KEY", "auth", "Authorization", "session_token", "passwd"):
        assert is_secret_key(name), name
    for name in ("endpoint_url", "region", "profile", "jobs", "read_timeout", "retries"):
        assert not is_secret_key(name), name
    assert is_secret("endpoint_url", "http://u:pw@host") and not is_secret("region", "eu")
    assert redact_option("api_key", "x") == "***"
    assert redact_option("endpoint_url", "http://u:pw@h/") == "http://***@h/"
    assert scrub("bucket u:pw@b at http://u:pw@h", ["u:pw"]) == "bucket ***@b at http://***@h"


def test_options_are_typed_or_refused_by_name() -> None:
    typed = check_options({"jobs": "3", "retries": 0, "read_timeout": "2.5", "anon": "true"})
    assert typed == {"jobs": 3, "retries": 0, "read_timeout": 2.5, "anon": True}
    for key, value in [
        ("read_timeout", "nan"),
        ("read_timeout", math.inf),
        ("connect_timeout", -1),
        ("jobs", True),
        ("retries", "-1"),
        ("anon", "yes"),
    ]:
        with pytest.raises(GitmvError, match=f"remote option {key}"):
            check_options({key: value})


def test_policy_from_options_and_backoff_bounds() -> None:
    policy = RetryPolicy.from_options({"retries": 2, "retry_timeout": 9, "retry_delay": 0.5})
    assert policy == RetryPolicy(2, 9.0, 0.5)
    assert RetryPolicy.from_options({}) == RetryPolicy(5, 60.0, 0.25)
    for attempt in range(10):
        assert 0 <= policy.backoff(attempt) <= 8.0 * 1.5


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def test_with_retries_stops_at_the_count_or_the_deadline_and_says_so() -> None:
    clock = FakeClock()
    calls: list[int] = []

    def busy() -> None:
        calls.append(1)
        raise RemoteError("remote 'r': cannot upload object x") from ConnectionResetError()

    with pytest.raises(RemoteError, match=r"\(gave up after 4 tries\)"):
        with_retries(busy, RetryPolicy(3, 1000.0, 0.1), clock.sleep, lambda: clock.now)
    assert len(calls) == 4 and len(clock.waits) == 3

    calls.clear()
    clock = FakeClock()
    with pytest.raises(RemoteError):
        with_retries(busy, RetryPolicy(100, 2.0, 0.5), clock.sleep, lambda: clock.now)
    assert clock.now < 2.0 and 2 <= len(calls) < 10

    calls.clear()

    def denied() -> None:
        calls.append(1)
        raise RemoteError("remote 'r': denied") from PermissionError()

    with pytest.raises(RemoteError, match=r"denied$"):
        with_retries(denied, RetryPolicy(3, 1000.0, 0.1), clock.sleep, lambda: clock.now)
    assert len(calls) == 1
