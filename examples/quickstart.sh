#!/usr/bin/env bash
# The gitmv quick start, end to end, in a temporary folder: version a model and a data
# folder, push the bytes to a local folder remote, clone elsewhere, pull, and compare.
set -euo pipefail

work=$(mktemp -d "${TMPDIR:-/tmp}/gitmv-quickstart.XXXXXX")
echo "working in $work"
cd "$work"
export GIT_AUTHOR_NAME="${GIT_AUTHOR_NAME:-gitmv demo}" GIT_AUTHOR_EMAIL="${GIT_AUTHOR_EMAIL:-demo@example.com}"
export GIT_COMMITTER_NAME="$GIT_AUTHOR_NAME" GIT_COMMITTER_EMAIL="$GIT_AUTHOR_EMAIL"

git init -q --bare -b main origin.git
git init -q -b main project
cd project
git remote add origin ../origin.git

gitmv init --remote "$work/store"          # project config + a default folder remote
python3 -c "import os; open('model.pt', 'wb').write(os.urandom(5 * 1024 * 1024))"
mkdir -p data && for i in $(seq 1 100); do echo "row $i" > "data/part-$i.csv"; done

gitmv add model.pt data                     # hash, cache, write + stage model.pt.gmv, data.gmv
git commit -qm "model v1 and its data"
gitmv status
git push -q origin main                     # the pre-push hook uploads the bytes
gitmv push                                  # (explicit too: a no-op when the hook did it)

cd "$work"
git clone -q origin.git clone
cd clone
gitmv pull                                  # fetch the bytes and check them out
cmp model.pt ../project/model.pt
diff -r data ../project/data
echo "quick start OK: the clone has the exact bytes"
