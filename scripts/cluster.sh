#!/usr/bin/env bash
# The local Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
# kwok nodes) that the cluster tests run against, built from the Go module proxy once and cached in
# ${XDG_CACHE_HOME:-$HOME/.cache}/commit-to-cloud. Versions: scripts/cluster/versions.env.
#
#   scripts/cluster.sh build                 build when missing (about 13 minutes on two cores, ~1 GB downloads, once)
#   scripts/cluster.sh up DIR [--nodes N]    start one with its files in DIR; prints DIR/kubeconfig
#   scripts/cluster.sh down DIR              stop exactly what 'up DIR' started
#   scripts/cluster.sh env DIR               exports for a shell: eval "$(scripts/cluster.sh env DIR)"
#   scripts/cluster.sh status DIR
#
# The work is done by test/helpers/cluster.ts, the same code the tests use.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if [ ! -x "$root/node_modules/.bin/tsx" ]; then
  (cd "$root" && npm ci --no-audit --no-fund >&2)
fi
exec "$root/node_modules/.bin/node" "$root/node_modules/.bin/tsx" "$root/scripts/cluster.ts" "$@"
