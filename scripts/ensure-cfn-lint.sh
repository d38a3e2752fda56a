#!/usr/bin/env bash
# cfn-lint (PyPI), the CloudFormation linter AWS maintains: the test of infra/image-builder/pipelines.yml
# checks the template against the resource specifications with it (no AWS account here to deploy it).
# Installed once per machine (and per version) into a Python venv cached outside the repository,
# ${XDG_CACHE_HOME:-$HOME/.cache}/commit-to-cloud/cfn-lint-<version>; prints the path of cfn-lint on
# stdout (progress goes to stderr). A lock, and a marker written last, as scripts/ensure-moto.sh does.
#
#   scripts/ensure-cfn-lint.sh          install when missing; prints .../bin/cfn-lint
#   scripts/ensure-cfn-lint.sh --path   print where it is (or would be); install nothing
set -euo pipefail

VERSION=1.58.0
dir="${XDG_CACHE_HOME:-$HOME/.cache}/commit-to-cloud/cfn-lint-${VERSION}"
bin="$dir/bin/cfn-lint"
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
  echo "ensure-cfn-lint: python3 is needed: apt-get install -y python3 python3-venv" >&2
  exit 1
fi
mkdir -p "$(dirname "$dir")"
exec 9>"$dir.lock"
flock 9
if [ -f "$dir/.complete" ] && [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi
echo "ensure-cfn-lint: installing cfn-lint==${VERSION} from PyPI into $dir (a venv of its own, once per machine):" \
  "the test of the image pipelines' CloudFormation template lints it" >&2
rm -rf "$dir"
"$python" -m venv "$dir" >&2
"$dir/bin/python" -m pip install --quiet --disable-pip-version-check "cfn-lint==${VERSION}" >&2
"$bin" --version >/dev/null
touch "$dir/.complete"
echo "$bin"
