"""A fault-injecting TCP proxy on loopback, for the network-fault tests.

It listens on 127.0.0.1 (a free port) and forwards each connection to one upstream on
127.0.0.1 (the moto server). A seeded plan decides, per connection, whether and where it
fails: drop (close both ways) or reset (RST, via SO_LINGER 0) after N bytes, or stall for
T seconds after N bytes and then go on. A black hole accepts and never answers; a hang
goes silent after N bytes (or at the first PUT) with the socket left open. Every socket
and thread is closed by `stop()`; the upstream is always 127.0.0.1.
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
