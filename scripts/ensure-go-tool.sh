#!/usr/bin/env bash
# A test tool that only Go ships, built once per machine (and per version) from the Go module proxy
# with `go install`, into a directory outside the repository,
# ${XDG_CACHE_HOME:-$HOME/.cache}/commit-to-cloud/<name>-<version>/bin; prints the binary's path on
# stdout (progress goes to stderr). Safe to run concurrently: a lock, and a marker written last, so a
# half-built binary is never used. scripts/ensure-act.sh and scripts/ensure-helm.sh call it.
#
#   scripts/ensure-go-tool.sh NAME VERSION PACKAGE WHY [--path]
#     NAME     the binary (act, helm)
#     VERSION  the module version (v0.2.89)
#     PACKAGE  the package to install, without @version (github.com/nektos/act)
#     WHY      what the tests use it for, and what the first build costs (said once, when building)
#     --path   print where it is (or would be); build nothing
set -euo pipefail

name=$1 version=$2 package=$3 why=$4
dir="${XDG_CACHE_HOME:-$HOME/.cache}/commit-to-cloud/${name}-${version}"
bin="$dir/bin/$name"
install_cmd="go install ${package}@${version} (with GOBIN=$dir/bin), or run scripts/ensure-${name}.sh"

if [ "${5:-}" = "--path" ]; then
  echo "$bin"
  exit 0
fi
if [ -f "$dir/.complete" ] && [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "ensure-${name}: Go is needed to build ${name} (${why}): install Go >= 1.24 (https://go.dev/dl/), then: $install_cmd" >&2
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

echo "ensure-${name}: building ${package} ${version} from the Go module proxy into $dir/bin, once per machine: ${why}" >&2
rm -rf "$dir"
mkdir -p "$dir/bin"
start=$(date +%s)
# The module and build caches are the user's own (go env GOMODCACHE GOCACHE); only the binary goes here.
GOBIN="$dir/bin" go install "${package}@${version}" >&2
"$bin" version >&2 2>/dev/null || "$bin" --version >&2
touch "$dir/.complete"
echo "ensure-${name}: ${name} ${version} ready in $(($(date +%s) - start))s: $bin" >&2
echo "$bin"
