#!/usr/bin/env bash
# The demo (README, Quick start): a local registry and a root image made from busybox-static, then
# c2c hash-base on examples/sample-app twice (the base built, then skipped), then one c2c deploy of
# all the services (--services 'services/*'), each built on that base. Without a kubeconfig it deploys to a local Kubernetes control plane it
# starts (built from source once, when missing), then deploys a broken image and shows it diagnosed
# and rolled back; with one it deploys to that cluster; with --render it prints what would be applied.
# Prints the timings at the end. scripts/demo.ts does the work; --help lists the flags.
set -euo pipefail
cd "$(dirname "$0")/.."
# Only what the demo needs: the control plane is built by the demo itself, when it deploys to it.
scripts/ensure-deps.sh --demo

# The demo's files (the control plane's dir among them). Whatever ends the demo (success, failure,
# Ctrl-C, a kill), the trap stops the control plane that runs there, if any: nothing stays running.
work="$(mktemp -d "${TMPDIR:-/tmp}/c2c-demo.XXXXXX")"
cleanup() {
  local rc=$?
  if [ -f "$work/k8s/state.json" ]; then scripts/cluster.sh down "$work/k8s" >/dev/null 2>&1 || true; fi
  # After a failure the control plane's logs stay for a look; otherwise nothing stays.
  if [ "$rc" = 0 ] || [ "$rc" -ge 128 ] || [ ! -d "$work/k8s/logs" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# TMPDIR: the demo's temporary files (registry storage, builder store, hash manifest) go there too.
TMPDIR="$work" C2C_DEMO_WORK="$work" node_modules/.bin/node --import tsx scripts/demo.ts "$@"
