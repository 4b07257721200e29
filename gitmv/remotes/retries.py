"""Which failures are worth another try, and the one retry loop (`with_retries`).

gitmv's one retry layer: botocore, s3fs and gcsfs make one attempt each (see
`filesystems.py`); the transfer workers run each object's transfer through `with_retries`.
Library exception types are matched by name, so that judging a folder remote's error
never imports botocore or aiohttp.
"""

from __future__ import annotations

import errno
import socket
import time
from collections.abc import Callable
from typing import Any, TypeVar

from gitmv.base.errors import GitmvError, IntegrityError, RemoteError
from gitmv.remotes.options import RetryPolicy

R = TypeVar("R")

_TRANSIENT_NAMES = frozenset(
    {
        "EndpointConnectionError",
        "ConnectionClosedError",
        "ReadTimeoutError",
        "ConnectTimeoutError",
        "ClientConnectionError",
        "ClientConnectorError",
        "ServerDisconnectedError",
        "ClientPayloadError",
        "FSTimeoutError",
        "IncompleteRead",
        "ResponseStreamingError",
        "ProxyError",
    }
)
_TRANSIENT_CODES = frozenset(
    {"SlowDown", "Throttling", "RequestTimeout", "InternalError", "ServiceUnavailable"}
)
_TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})
_TRANSIENT_ERRNOS = frozenset(
    {errno.ECONNRESET, errno.ECONNABORTED, errno.ETIMEDOUT, errno.EPIPE, errno.EAGAIN}
)


def with_retries(
    action: Callable[[], R],
    policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> R:
    """Run `action`, retrying transient failures (`is_transient`): at most `policy.retries`
    times, and never past `policy.timeout` seconds from the start, tries and waits
    together; the waits grow exponentially, with jitter (`RetryPolicy.backoff`)."""
    deadline = clock() + policy.timeout
    for attempt in range(policy.retries + 1):
        try:
            return action()
        except Exception as exc:
            if not is_transient(exc):
                raise
            delay = policy.backoff(attempt)
            if attempt == policy.retries or clock() + delay >= deadline:
                raise _gave_up(exc, attempt + 1) from exc.__cause__
            sleep(delay)
    raise AssertionError("unreachable")


def _gave_up(exc: Exception, tries: int) -> Exception:
    """The last failure, saying how many tries it took (a user tuning `retries` or
    `retry_timeout` wants to know); other exceptions go up unchanged.

    Rebuilt only when it is a `RemoteError` built the plain way, `(message, hint)`, as
    `RemoteError` itself and `MissingObject` are (a subclass with a constructor of its
    own could not be rebuilt from those two)."""
    if tries < 2 or not isinstance(exc, RemoteError):
        return exc
    if type(exc).__init__ is not GitmvError.__init__:
        return exc
    return type(exc)(f"{exc.message} (gave up after {tries} tries)", exc.hint)


def is_transient(exc: BaseException) -> bool:
    """A failure worth retrying: the network or a busy server, not a wrong name or a denial."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (FileNotFoundError, PermissionError, IntegrityError)):
            return False
        if isinstance(current, (ConnectionError, TimeoutError, socket.timeout)):
            return True
        if isinstance(current, OSError) and current.errno in _TRANSIENT_ERRNOS:
            return True
        if looks_like(current, *_TRANSIENT_NAMES) or status_of(current) in _TRANSIENT_STATUS:
            return True
        response = getattr(current, "response", None)
        if isinstance(response, dict) and _transient_response(response):
            return True
        current = current.__cause__ or current.__context__
    return False


def _transient_response(response: dict[str, Any]) -> bool:
    """A botocore error response: by its code (`SlowDown`, ...) or, for a reply without a
    body (a 503 from a proxy or a load balancer has none, so no code), by its status."""
    error = response.get("Error")
    if isinstance(error, dict):
        code = error.get("Code")
        if code in _TRANSIENT_CODES or (
            isinstance(code, str) and code.isdigit() and int(code) in _TRANSIENT_STATUS
        ):
            return True
    meta = response.get("ResponseMetadata")
    return isinstance(meta, dict) and meta.get("HTTPStatusCode") in _TRANSIENT_STATUS


def looks_like(exc: BaseException, *names: str) -> bool:
    """Whether `exc` is (a subclass of) a library exception type called one of `names`."""
    return any(cls.__name__ in names for cls in type(exc).__mro__)


def status_of(exc: BaseException) -> int | None:
    """The HTTP status a library exception carries, if any."""
    for attr in ("code", "status"):
        value = getattr(exc, attr, None)
        if isinstance(value, int):
            return value
    return None
