"""A fault-injecting TCP proxy on loopback, for the network-fault tests.

It listens on 127.0.0.1 (a free port) and forwards each connection to one upstream on
127.0.0.1 (the moto server). A seeded plan decides, per connection, whether and where it
fails: drop (close both ways) or reset (RST, via SO_LINGER 0) after N bytes, or stall for
T seconds after N bytes and then go on. A black hole accepts and never answers; a hang
goes silent after N bytes (or at the first PUT) with the socket left open. Every socket
and thread is closed by `stop()`; the upstream is always 127.0.0.1.

`HttpFaultProxy` works a level up: an HTTP/1.1 proxy that counts every request and answers
chosen ones (by method and object key, for the first N or all of them) with a status of its
own, with or without a body, instead of the server: for the retry tests.
"""

from __future__ import annotations

import contextlib
import random
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

KINDS = ("pass", "drop", "reset", "stall")


@dataclass(frozen=True)
class Fault:
    kind: str  # pass | drop | reset | stall | hang | hang-put | blackhole
    after: int = 0  # bytes (both directions together) before the fault strikes
    stall: float = 0.0  # seconds, for a stall


def seeded_plan(seed: int, rate: float, max_after: int = 8 * 1024 * 1024) -> Iterator[Fault]:
    """Endless faults: a `rate` share of connections fail (evenly: drop, reset, stall) after
    a log-uniform number of bytes, so that headers, small bodies and large ones all get hit."""
    rng = random.Random(seed)
    while True:
        if rng.random() >= rate:
            yield Fault("pass")
            continue
        kind = rng.choice(KINDS[1:])
        after = int(2 ** rng.uniform(6, max_after.bit_length() - 1))
        yield Fault(kind, after, rng.uniform(0.2, 1.5))


def black_hole() -> Iterator[Fault]:
    """Every connection is accepted, and nothing is ever answered."""
    while True:
        yield Fault("blackhole")


def hang_after(nbytes: int) -> Iterator[Fault]:
    """Every connection goes silent after `nbytes`: a server that stops mid-transfer."""
    while True:
        yield Fault("hang", nbytes)


def silent_uploads() -> Iterator[Fault]:
    """Reads are answered; an upload (a PUT) gets no answer, its socket left open."""
    while True:
        yield Fault("hang-put")


class FaultProxy:
    """`with FaultProxy(port, plan) as proxy:` then point `endpoint_url` at `proxy.url`."""

    def __init__(self, upstream_port: int, plan: Iterator[Fault]) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.plan = plan
        self.injected: Counter[str] = Counter()  # faults that struck, by kind
        self.connections = 0
        self.last_activity = time.monotonic()  # a connection accepted or bytes moved
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)  # the accept loop looks at the stop flag this often
        self.port = self._listener.getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> FaultProxy:
        self._spawn(self._accept_loop)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            _close(sock, reset=False)
        for thread in self._threads:
            thread.join(5)

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        self._threads.append(thread)
        thread.start()

    def _track(self, sock: socket.socket) -> socket.socket:
        with self._lock:
            self._sockets.append(sock)
        return sock

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            self._track(client)
            with self._lock:
                self.connections += 1
                self.last_activity = time.monotonic()
                fault = next(self.plan)
            if fault.kind == "blackhole":
                self._note("blackhole")
                continue  # held open, never read, never answered, closed by stop()
            try:
                upstream = self._track(socket.create_connection(self.upstream, timeout=5))
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            link = _Link(self, client, upstream, fault)
            self._spawn(link.pump, client, upstream)
            self._spawn(link.pump, upstream, client)

    def _note(self, kind: str) -> None:
        with self._lock:
            self.injected[kind] += 1


class _Link:
    """One proxied connection: two pumps sharing a byte count and a single fault."""

    def __init__(
        self, proxy: FaultProxy, client: socket.socket, upstream: socket.socket, fault: Fault
    ) -> None:
        self.proxy = proxy
        self.client = client
        self.upstream = upstream
        self.fault = fault
        self.moved = 0
        self.struck = fault.kind in ("pass", "hang-put")  # nothing to strike by byte count
        self.ended = 0  # directions that reached EOF
        self.lock = threading.Lock()

    def pump(self, src: socket.socket, dst: socket.socket) -> None:
        """Copy one direction until EOF (then half-close the other side), or a fault."""
        try:
            while not self.proxy._stop.is_set():
                data = src.recv(65536)
                if not data:
                    break
                if not self._forward(data, dst):
                    return
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)
        except OSError:
            self._close()
            return
        with self.lock:
            self.ended += 1
            both = self.ended == 2
        if both:
            self._close()

    def _forward(self, data: bytes, dst: socket.socket) -> bool:
        self.proxy.last_activity = time.monotonic()
        if self.fault.kind == "hang-put" and dst is self.upstream and data.startswith(b"PUT "):
            self.proxy._note("hang-put")
            self.proxy._stop.wait()  # the request never reaches the server
            return False
        with self.lock:
            before = self.moved
            self.moved += len(data)
            strike = not self.struck and self.moved >= self.fault.after
            if strike:
                self.struck = True
        if not strike:
            dst.sendall(data)
            return True
        head = data[: max(0, self.fault.after - before)]
        if head:
            dst.sendall(head)
        self.proxy._note(self.fault.kind)
        if self.fault.kind == "stall":
            time.sleep(self.fault.stall)
            dst.sendall(data[len(head) :])
            return True
        if self.fault.kind == "hang":  # the server stops answering, the socket stays open
            self.proxy._stop.wait()
            return False
        self._close(reset=self.fault.kind == "reset")
        return False

    def _close(self, reset: bool = False) -> None:
        for sock in (self.client, self.upstream):
            _close(sock, reset)


def _close(sock: socket.socket, reset: bool) -> None:
    """Close `sock` with a FIN, or with a RST (SO_LINGER 0); either way a thread blocked
    reading it wakes up (a plain close() from another thread would leave it blocked)."""
    with contextlib.suppress(OSError):
        if reset:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.shutdown(socket.SHUT_RD)
        else:
            sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


# -- HTTP-level faults --------------------------------------------------------------------


@dataclass
class HttpRule:
    """Answer `status` (with `body`, possibly empty) instead of the server, to the first
    `times` requests whose method is `method` (any when None) and that name `needle`: in
    the path without its query (an object's key, not a listing's prefix), or in the body
    (a GCS multipart upload names its object there)."""

    needle: str
    status: int = 503
    body: bytes = b""
    times: int = 1_000_000
    method: str | None = None
    query: str = ""  # and, when set, whose full path (query included) contains this
    struck: int = 0


_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "proxy-connection",
    }
)
_S3_503 = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>ServiceUnavailable</Code>'
    b"<Message>Please reduce your request rate.</Message></Error>"
)
_GCS_503 = b'{"error": {"code": 503, "message": "Service Unavailable"}}'


def s3_error_body(status: int) -> bytes:
    """What S3 answers with a 503 (a load balancer in front of it answers nothing)."""
    return _S3_503 if status == 503 else b""


def gcs_error_body(status: int) -> bytes:
    return _GCS_503.replace(b"503", str(status).encode())


class HttpFaultProxy:
    """An HTTP/1.1 proxy on loopback in front of one upstream (moto, the GCS emulator) that
    counts every request and answers some with an error instead of the server:
    `with HttpFaultProxy(port) as proxy: proxy.rules.append(HttpRule("xxh128/4f", 503))`.
    `proxy.requests` lists `(method, path)` in arrival order; `count` counts those naming
    an object, as the rules match them."""

    def __init__(self, upstream_port: int) -> None:
        import http.server

        self.upstream = ("127.0.0.1", upstream_port)
        self.rules: list[HttpRule] = []
        self.requests: list[tuple[str, str]] = []
        self._named: list[tuple[str, str]] = []  # (method, path without query + body head)
        self._lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _any(self) -> None:
                proxy._handle(self)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = _any

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> HttpFaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def count(self, needle: str, method: str | None = None, query: str = "") -> int:
        """Requests so far that name `needle` (as a rule matches), of `method` if given."""
        with self._lock:
            return sum(
                1
                for (m, text), (_, path) in zip(self._named, self.requests, strict=True)
                if needle in text and method in (None, m) and query in path
            )

    def _rule_for(self, method: str, path: str, body: bytes) -> HttpRule | None:
        text = path.split("?", 1)[0] + "\n" + body[:65536].decode("latin-1")
        with self._lock:
            self.requests.append((method, path))
            self._named.append((method, text))
            for rule in self.rules:
                if rule.needle not in text or rule.method not in (None, method):
                    continue
                if rule.query not in path:
                    continue
                if rule.struck < rule.times:
                    rule.struck += 1
                    return rule
            return None

    def _handle(self, handler: Any) -> None:
        import http.client

        body = _read_body(handler)
        rule = self._rule_for(handler.command, handler.path, body)
        if rule is not None:
            handler.send_response(rule.status)
            handler.send_header("Content-Length", str(len(rule.body)))
            if rule.body:
                kind = "application/xml" if rule.body.startswith(b"<") else "application/json"
                handler.send_header("Content-Type", kind)
            handler.end_headers()
            if handler.command != "HEAD":
                handler.wfile.write(rule.body)
            return
        conn = getattr(handler, "_upstream", None)
        if conn is None:
            conn = handler._upstream = http.client.HTTPConnection(*self.upstream, timeout=30)
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in _HOP_BY_HOP}
        if body or handler.command in ("PUT", "POST", "PATCH"):
            headers["Content-Length"] = str(len(body))
        try:
            conn.request(handler.command, handler.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            handler._upstream = None
            handler.close_connection = True
            handler.send_error(502)
            return
        handler.send_response(resp.status, resp.reason)
        for key, value in resp.getheaders():
            if key.lower() not in _HOP_BY_HOP and key.lower() != "content-length":
                handler.send_header(key, value)
        if handler.command == "HEAD":
            handler.send_header("Content-Length", resp.getheader("Content-Length") or "0")
        else:
            handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(data)


def _read_body(handler: Any) -> bytes:
    """The request's body, by Content-Length or chunked transfer encoding."""
    length = handler.headers.get("Content-Length")
    if length is not None:
        return bytes(handler.rfile.read(int(length)))
    if "chunked" not in (handler.headers.get("Transfer-Encoding") or "").lower():
        return b""
    parts = []
    while True:
        size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(parts)
        parts.append(handler.rfile.read(size))
        handler.rfile.readline()
