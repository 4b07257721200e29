"""Credentials at the edge of a storage library: the spellings of S3 keys a library takes,
and the secrets blanked out of anything a library says.

What counts as a secret, and where it may be written, is the config's rule
(`base/config.is_secret`); here it is applied to what comes back from a library."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitmv.base.config import is_secret, scrub

# The AWS (and DVC) spellings of S3 credentials, as s3fs names them.
S3_CREDENTIALS = {
    "aws_access_key_id": "key",
    "access_key_id": "key",
    "aws_secret_access_key": "secret",
    "secret_access_key": "secret",
    "aws_session_token": "token",
    "session_token": "token",
}


def s3_credentials(options: dict[str, Any]) -> None:
    """Rename, in place, the AWS and DVC spellings of S3 credentials to s3fs's own."""
    for name, s3fs_name in S3_CREDENTIALS.items():
        if name in options:
            options.setdefault(s3fs_name, options.pop(name))


def scrub_secrets(text: str, url: str, options: Mapping[str, object]) -> str:
    """Error text from a storage library, with any secret it might echo blanked out:
    secret options' values, and the URL's user info (a library may echo the bucket as
    it parsed it, `user:password@bucket`, without the scheme)."""
    secrets: list[object] = [v for k, v in options.items() if is_secret(k, v)]
    authority = url.partition("://")[2].split("/", 1)[0]
    if "@" in authority:
        userinfo = authority.rsplit("@", 1)[0]
        secrets += [userinfo, *userinfo.split(":", 1)[1:]]  # the password, not the user
    return scrub(text, sorted(secrets, key=lambda v: -len(str(v))))
