#!/usr/bin/env bash
# moto in server mode (PyPI 'moto[server]'): the AWS stand-in that the RDS tests point the real AWS
# SDK at. Installed once per machine (and per moto version) into a Python venv cached outside the
# repository, ${XDG_CACHE_HOME:-$HOME/.cache}/commit-to-cloud/moto-<version>; prints the path of its
# moto_server on stdout (progress goes to stderr). Safe to run concurrently: a lock, and a marker
# written last, so a half-made venv is never used.
#
#   scripts/ensure-moto.sh            install when missing; prints .../bin/moto_server
#   scripts/ensure-moto.sh --path     print where moto_server is (or would be); install nothing
set -euo pipefail

MOTO_VERSION=5.2.5
dir="${XDG_CACHE_HOME:-$HOME/.cache}/commit-to-cloud/moto-${MOTO_VERSION}"
bin="$dir/bin/moto_server"

if [ "${1:-}" = "--path" ]; then
  echo "$bin"
  exit 0
fi

if [ -f "$dir/.complete" ] && [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi

python="$(command -v python3 || true)"
if [ -z "$python" ]; then
  echo "ensure-moto: python3 is needed for moto (the AWS stand-in of the RDS tests):" \
    "apt-get install -y python3 python3-venv" >&2
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

echo "ensure-moto: installing moto[server]==${MOTO_VERSION} from PyPI into $dir" \
  "(a venv of its own, once per machine): the RDS tests run the real AWS SDK against moto's server" >&2
rm -rf "$dir"
if ! "$python" -m venv "$dir" >&2; then
  echo "ensure-moto: '$python -m venv' failed: apt-get install -y python3-venv" >&2
  rm -rf "$dir"
  exit 1
fi
"$dir/bin/python" -m pip install --quiet --disable-pip-version-check "moto[server]==${MOTO_VERSION}" >&2
"$bin" --help >/dev/null
touch "$dir/.complete"
echo "ensure-moto: moto ${MOTO_VERSION} ready: $bin" >&2
echo "$bin"
