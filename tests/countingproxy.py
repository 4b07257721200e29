"""A request-counting HTTP proxy in front of moto, for the request-budget tests.

Counted at the proxy, not from moto's own log: the proxy sees exactly what the client
sent (moto answers some HEADs and listings through shared code paths, and its log is
per-server, shared by every test of the session). It is `HttpFaultProxy` with no rules:
every request is forwarded, and `requests` lists `(method, path)` in arrival order.
"""

from __future__ import annotations

from collections import Counter
from urllib.parse import parse_qs, urlsplit

from tests.faultproxy import HttpFaultProxy


def kind_of(method: str, path: str) -> str:
    """What one request is, in budget terms: `list`, `head`, `get` (ranged or not), `put`,
    `delete`, `multipart` (a step of a multipart upload) or `bucket` (about the bucket)."""
    parts = urlsplit(path)
    query = parse_qs(parts.query, keep_blank_values=True)
    segments = [s for s in parts.path.split("/") if s]
    if "uploads" in query or "uploadId" in query:
        return "multipart"
    if "list-type" in query or "prefix" in query or "delimiter" in query:
        return "list"
    if len(segments) <= 1:
        return "bucket"
    return {"HEAD": "head", "GET": "get", "PUT": "put", "DELETE": "delete"}.get(
        method, method.lower()
    )


class CountingProxy(HttpFaultProxy):
    """`with CountingProxy(moto_port) as proxy:` point `endpoint_url` at `proxy.url`, then
    `proxy.reset()` before the step to measure and `proxy.total()` / `proxy.kinds()` after."""

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._named.clear()

    def total(self) -> int:
        with self._lock:
            return len(self.requests)

    def kinds(self) -> Counter[str]:
        with self._lock:
            return Counter(kind_of(m, p) for m, p in self.requests)

    def describe(self) -> str:
        """For a failed bound: the counts by kind, then the first requests."""
        with self._lock:
            shown = "\n".join(f"  {m} {p}" for m, p in self.requests[:60])
        return f"{dict(self.kinds())}\n{shown}"
