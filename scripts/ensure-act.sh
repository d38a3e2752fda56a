#!/usr/bin/env bash
# nektos/act: the workflow runner the tests run workflows-examples/ on (test/e2e/workflows-act.e2e.test.ts),
# in its host mode (-P ubuntu-latest=-self-hosted: steps run on this machine, no Docker). Built once
# per machine (and per act version) from the Go module proxy with `go install`, into a directory
# outside the repository, ${XDG_CACHE_HOME:-$HOME/.cache}/commit-to-cloud/act-<version>/bin; prints
# the path of the act binary on stdout (progress goes to stderr). Safe to run concurrently: a lock,
# and a marker written last, so a half-built binary is never used.
#
#   scripts/ensure-act.sh            build when missing; prints .../bin/act
#   scripts/ensure-act.sh --path     print where act is (or would be); build nothing
set -euo pipefail

ACT_VERSION=v0.2.89
dir="${XDG_CACHE_HOME:-$HOME/.cache}/commit-to-cloud/act-${ACT_VERSION}"
bin="$dir/bin/act"
install_cmd="go install github.com/nektos/act@${ACT_VERSION} (with GOBIN=$dir/bin), or run scripts/ensure-act.sh"

if [ "${1:-}" = "--path" ]; then
  echo "$bin"
  exit 0
fi

if [ -f "$dir/.complete" ] && [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "ensure-act: Go is needed to build act (the workflow runner of the example-workflow tests):" \
    "install Go >= 1.24 (https://go.dev/dl/), then: $install_cmd" >&2
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

echo "ensure-act: building nektos/act ${ACT_VERSION} from the Go module proxy into $dir/bin, once per machine" \
  "(about 80 s on two cores, and about 150 MB of module downloads): the tests run each workflow of workflows-examples/" \
  "on it, in host mode, against the real registry, buildah and the local control plane" >&2
rm -rf "$dir"
mkdir -p "$dir/bin"
start=$(date +%s)
# The module and build caches are the user's own (go env GOMODCACHE GOCACHE); only the binary goes here.
GOBIN="$dir/bin" go install "github.com/nektos/act@${ACT_VERSION}" >&2
"$bin" --version >&2
touch "$dir/.complete"
echo "ensure-act: act ${ACT_VERSION} ready in $(($(date +%s) - start))s: $bin" >&2
echo "$bin"
