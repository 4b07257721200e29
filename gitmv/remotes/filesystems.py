"""The storage libraries themselves: the only importer of fsspec, s3fs and gcsfs.

Each is imported inside the function that needs it: `import s3fs` alone costs a quarter
of a second, which `gitmv status` must never pay. Here gitmv's option names become the
libraries' keywords, and the libraries' own retry loops are switched off: gitmv's
(`retries.with_retries`) is the one layer.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

from gitmv.base.config import redact_url
from gitmv.base.errors import GitmvError, RemoteError
from gitmv.remotes.credentials import s3_credentials

CONNECT_TIMEOUT = 3.0
# Options gitmv reads itself (workers.retry): never passed to a storage library.
RETRY_OPTIONS = ("retries", "retry_timeout", "retry_delay")


# The extra of gitmv that brings each protocol's package: `pip install gitmv` alone has
# folder remotes, without the S3 and GCS stacks.
EXTRAS = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs"}


def check_installed(url: str, name: str | None = None) -> None:
    """The protocol of `url` (which has a `://`) is one fsspec knows, with its package
    installed. `name` is the remote's, for the error."""
    protocol = url.split("://", 1)[0].lower()
    try:
        import fsspec  # here: only `remote add` and transfers pay for it
        from fsspec.registry import known_implementations, registry
    except ImportError:
        # s3fs and gcsfs bring fsspec; `pip install gitmv` alone has neither.
        raise missing_package(protocol, url, name, "fsspec") from None

    if protocol not in known_implementations and protocol not in registry:
        raise GitmvError(
            f"unknown storage protocol {protocol!r} in the remote URL {redact_url(url)!r}",
            hint="use a folder, file://, s3://, gs://, or another fsspec protocol",
        )
    try:
        fsspec.get_filesystem_class(protocol)
    except ImportError as exc:
        raise missing_package(protocol, url, name, exc) from None


def missing_package(
    protocol: str, url: str, name: str | None, cause: ImportError | str
) -> RemoteError:
    """The error for a remote whose protocol's package is not installed: it names the remote
    and the protocol, and the hint says what to install (gitmv's extra for S3 and GCS, else
    the package fsspec names for the protocol)."""
    shown = redact_url(url)
    where = f"remote {name!r} ({shown})" if name else f"the remote URL {shown!r}"
    if isinstance(cause, str):
        package = cause
    else:
        package = str(cause.name or "") or _fsspec_package(protocol) or "its package"
    extra = EXTRAS.get(protocol)
    if extra:
        package = {"s3": "s3fs", "gcs": "gcsfs"}[extra]
        hint = f"pip install 'gitmv[{extra}]'"
    elif package == "fsspec":
        hint = f"pip install fsspec (and then the package it names for {protocol}://)"
    elif " " in package:  # fsspec's own sentence, e.g. "Install paramiko to access SSH/SFTP"
        hint = package
        package = "its package"
    else:
        hint = f"pip install {package}"
    return RemoteError(
        f"{where}: the {protocol}:// protocol needs {package}, which is not installed",
        hint=hint,
    )


def _fsspec_package(protocol: str) -> str | None:
    """What fsspec says to install for `protocol` ("Install paramiko to access SSH/SFTP")."""
    try:
        from fsspec.registry import known_implementations
    except ImportError:
        return None
    err = known_implementations.get(protocol, {}).get("err")
    return str(err) if err else None


def filesystem(protocol: str, options: dict[str, Any], jobs: int) -> Any:
    """The storage library's file system, gitmv's option names mapped onto its keywords."""
    options.pop("jobs", None)
    for name in RETRY_OPTIONS:
        options.pop(name, None)
    endpoint = options.pop("endpoint_url", None)
    # Fresh instances with no listing cache: a listing must show what is there now.
    kwargs: dict[str, Any] = {"skip_instance_cache": True, "use_listings_cache": False}
    if protocol in ("s3", "s3a"):
        import s3fs

        fs = s3fs.S3FileSystem(**kwargs, **_s3_options(options, endpoint, jobs))
        _no_expect_continue(fs)
        # One retry layer, gitmv's (workers.retry, bounded per object): botocore makes one
        # attempt (`_s3_options`), and s3fs's own retries are off too. Retries stacked
        # three deep turned one failing object into minutes of requests.
        fs.retries = 1
        return fs
    if endpoint:
        kwargs["endpoint_url"] = endpoint
    if protocol in ("gs", "gcs"):
        # Without this, gcsfs probes every bucket for hierarchical-namespace support,
        # which stalls each call against an emulator.
        os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
        read_timeout = options.pop("read_timeout", None)
        if read_timeout is not None:
            options.setdefault("requests_timeout", read_timeout)
        return _gcs_class()(**kwargs, **options)
    import fsspec

    return fsspec.filesystem(protocol, **kwargs, **options)


@functools.cache
def _gcs_class() -> Any:
    """gcsfs's file system with its own retry loop off: gitmv's is the one layer.

    gcsfs wraps every request in `gcsfs.retry.retry_request` (six tries with up to 32 s
    waits), fixed when the class is defined, with no option to change it. Under our
    retries that made one object against a 503 cost 24 requests over 136 s. The subclass
    calls the undecorated methods (`__wrapped__`, which the `decorator` package keeps);
    a gcsfs without them keeps its own loop, still bounded by our per-object timeout."""
    import gcsfs.core

    base = gcsfs.core.GCSFileSystem
    plain = {
        name: inner
        for name in ("_request", "_get_file_request", "_get_file_concurrent")
        if (inner := getattr(base.__dict__.get(name), "__wrapped__", None)) is not None
    }
    return type("GCSFileSystemOneTry", (base,), plain)


def _no_expect_continue(fs: Any) -> None:
    """botocore sends every upload with `Expect: 100-continue`, and aiohttp waits for the
    `100` with no timeout: a server that stops answering mid-upload would hang the push for
    ever. Without the header the body goes at once and `read_timeout` bounds the wait."""
    from botocore.handlers import add_expect_header

    fs.connect().meta.events.unregister("before-call.s3", add_expect_header)


def _s3_options(options: dict[str, Any], endpoint: object, jobs: int) -> dict[str, Any]:
    """Short connect timeouts and few retries, so an unreachable endpoint fails in seconds;
    a connection pool as wide as the transfer's concurrency."""
    s3_credentials(options)
    client = dict(options.pop("client_kwargs", None) or {})
    region = options.pop("region", None)
    if region:
        client["region_name"] = region
    config = {
        "connect_timeout": options.pop("connect_timeout", CONNECT_TIMEOUT),
        "read_timeout": options.pop("read_timeout", 60),
        # One attempt per call: gitmv's retry (workers.retry) is the only layer. Not
        # `max_attempts: 1`, which botocore reads as one *retry* (two attempts).
        "retries": {"total_max_attempts": 1, "mode": "standard"},
        "max_pool_connections": max(10, 2 * jobs),
    }
    config.update(options.pop("config_kwargs", None) or {})
    out: dict[str, Any] = {"client_kwargs": client, "config_kwargs": config, **options}
    if endpoint:
        out["endpoint_url"] = endpoint
    return out


def callback(on_bytes: Callable[[int], None] | None) -> Any:
    """An fsspec progress callback relaying each increment of bytes to `on_bytes`."""
    import fsspec.callbacks

    if on_bytes is None:
        return fsspec.callbacks.DEFAULT_CALLBACK
    relay: Callable[[int], None] = on_bytes

    class _Relay(fsspec.callbacks.Callback):  # type: ignore[misc]
        def relative_update(self, inc: int = 1) -> None:
            relay(inc)

        def absolute_update(self, value: int) -> None:
            inc = value - int(getattr(self, "value", 0) or 0)
            self.value = value
            if inc > 0:
                relay(inc)

    return _Relay()
