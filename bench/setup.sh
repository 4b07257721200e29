#!/usr/bin/env bash
# Prepare the benchmark's competitors. Idempotent: re-running changes nothing
# once everything is in place.
#
#   - DVC 3.x in bench/.venv (from PyPI), used as bench/.venv/bin/dvc
#   - Git LFS from Debian's package, if `git lfs version` fails
#
#   - gitmv itself in bench/.venv-gitmv: a regular (not editable) install of
#     this checkout, refreshed on every run, so start-up is what a user sees
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$BENCH_DIR/.venv"
GITMV_VENV="$BENCH_DIR/.venv-gitmv"

if [ ! -x "$GITMV_VENV/bin/python" ]; then
    python3 -m venv "$GITMV_VENV"
    "$GITMV_VENV/bin/pip" install -q --upgrade pip
fi
"$GITMV_VENV/bin/pip" install -q "$BENCH_DIR/.."
"$GITMV_VENV/bin/pip" install -q --force-reinstall --no-deps "$BENCH_DIR/.."
echo "setup: $("$GITMV_VENV/bin/gitmv" --version) in $GITMV_VENV"

if [ ! -x "$VENV/bin/python" ]; then
    echo "setup: creating $VENV"
    python3 -m venv "$VENV"
fi

if ! "$VENV/bin/dvc" version >/dev/null 2>&1; then
    echo "setup: installing DVC 3.x into $VENV"
    "$VENV/bin/pip" install -q --upgrade pip
    "$VENV/bin/pip" install -q 'dvc>=3,<4'
fi
echo "setup: dvc $("$VENV/bin/dvc" --version)"

if ! git lfs version >/dev/null 2>&1; then
    echo "setup: installing git-lfs (Debian package)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq git-lfs
fi
echo "setup: $(git lfs version)"

# No `git lfs install` here: the benchmark installs the LFS filters per
# repository (`git lfs install --local`, `git clone --config filter.lfs...`),
# so the user's ~/.gitconfig is left untouched.
echo "setup: done"
