#!/usr/bin/env bash
# Creates (once) the private Python environment the tests use, from pytests/requirements.txt,
# and prints its path. Re-installs only when the requirements file changes.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
venv=${1:-${CORRAL_CACHE:-$HOME/.cache/corral}/venv-test}
req=$here/pytests/requirements.txt
stamp=$venv/.requirements.sha256
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv" >&2; fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$req" >&2
  echo "$want" > "$stamp"
fi
echo "$venv"
