#!/usr/bin/env bash
# A test tool from PyPI, installed once per machine (and per version) into a Python venv cached
# outside the repository, ${XDG_CACHE_HOME:-$HOME/.cache}/commit-to-cloud/<dir>; prints the path of
# its program on stdout (progress goes to stderr). Safe to run concurrently: a lock, and a marker
# written last, so a half-made venv is never used. The tools' own scripts call it (ensure-moto.sh,
# ensure-cfn-lint.sh).
#
#   scripts/ensure-pip-tool.sh [--path] <dir> <pip requirement> <program> <check argument> <why>
#   --path: print where the program is (or would be); install nothing
set -euo pipefail

only_path=false
if [ "${1:-}" = "--path" ]; then
  only_path=true
  shift
fi
name="$1" requirement="$2" program="$3" check="$4" why="$5"
dir="${XDG_CACHE_HOME:-$HOME/.cache}/commit-to-cloud/${name}"
bin="$dir/bin/${program}"

if [ "$only_path" = true ] || { [ -f "$dir/.complete" ] && [ -x "$bin" ]; }; then
  echo "$bin"
  exit 0
fi
python="$(command -v python3 || true)"
if [ -z "$python" ]; then
  echo "ensure-pip-tool: python3 is needed for ${requirement} (${why}): apt-get install -y python3 python3-venv" >&2
  exit 1
fi
mkdir -p "$(dirname "$dir")"
exec 9>"$dir.lock"
flock 9
# Another run may have finished it while this one waited for the lock.
if [ -f "$dir/.complete" ] && [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi
echo "ensure-pip-tool: installing ${requirement} from PyPI into $dir (a venv of its own, once per machine): ${why}" >&2
rm -rf "$dir"
if ! "$python" -m venv "$dir" >&2; then
  echo "ensure-pip-tool: '$python -m venv' failed: apt-get install -y python3-venv" >&2
  rm -rf "$dir"
  exit 1
fi
"$dir/bin/python" -m pip install --quiet --disable-pip-version-check "${requirement}" >&2
"$bin" "$check" >/dev/null
touch "$dir/.complete"
echo "ensure-pip-tool: ${requirement} ready: $bin" >&2
echo "$bin"
