#!/usr/bin/env bash
# Installs what the demo and the tests need when it is missing: Debian packages (the real registry,
# buildah, kubectl, busybox-static, shellcheck), the npm packages (npm ci, which also brings Node 24), the
# Node 20 and 22 binaries the CLI tests run c2c with (outside the repository), the local
# Kubernetes control plane of the cluster tests and nektos/act, the workflow runner the example
# workflows run on (both built from the Go module proxy once, cached).
# --demo: only what the demo needs: not the Node 20 and 22 binaries, and not the control plane (the
# demo builds it itself, and only when it deploys to it).
set -euo pipefail
demo=false
if [ "${1:-}" = --demo ]; then demo=true; fi
cd "$(dirname "$0")/.."

need=()
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
command -v buildah >/dev/null 2>&1 || need+=(buildah)
# kubectl: the image's own package when apt knows one, else Debian's kubernetes-client.
if ! command -v kubectl >/dev/null 2>&1; then
  if apt-cache policy kubectl 2>/dev/null | grep -q 'Candidate: [0-9]'; then need+=(kubectl); else need+=(kubernetes-client); fi
fi
[ -x /bin/busybox ] || need+=(busybox-static)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql) # the PostgreSQL tests' server
command -v git >/dev/null 2>&1 || need+=(git)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck) # the EC2 user data script's lint test
if [ ${#need[@]} -gt 0 ]; then
  echo "installing system packages: ${need[*]}"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# npm ci when node_modules is missing or older than the lockfile. A node_modules that is a symlink (a
# git worktree using another checkout's packages) is left alone: npm ci would replace the link with a
# directory of its own, and a checkout or rebase that touches the lockfile is enough to trigger it.
if [ -L node_modules ]; then
  :
elif [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

if [ "$demo" = true ]; then exit 0; fi

# Node 20 and 22 for the CLI tests (the CLI supports 20, 22 and 24; the actions run on 24).
scripts/install-node-versions.sh

# The Kubernetes control plane for test/cluster, nektos/act for the example workflows
# (test/e2e/workflows-act.e2e.test.ts), helm for the chart tests, cosign and syft for the signed-image
# tests: each built once per machine (and per version) into
# ${XDG_CACHE_HOME:-$HOME/.cache}/commit-to-cloud; each says what it builds and why.
if command -v go >/dev/null 2>&1; then
  scripts/cluster.sh build >/dev/null
  scripts/ensure-act.sh >/dev/null
  scripts/ensure-helm.sh >/dev/null
  scripts/ensure-cosign.sh >/dev/null
  scripts/ensure-syft.sh >/dev/null
else
  echo "Go is not installed, so neither the Kubernetes control plane of the cluster tests nor act, the" \
    "workflow runner of the example-workflow tests, can be built (those tests fail under CI=true):" \
    "install Go >= 1.24 (https://go.dev/dl/), then run scripts/cluster.sh build, scripts/ensure-act.sh, scripts/ensure-helm.sh, scripts/ensure-cosign.sh and scripts/ensure-syft.sh" >&2
fi

# moto (PyPI moto[server]) for the RDS tests of the feature environments: a venv in the cache, once.
scripts/ensure-moto.sh >/dev/null
scripts/ensure-cfn-lint.sh >/dev/null
