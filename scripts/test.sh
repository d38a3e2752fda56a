#!/usr/bin/env bash
# The whole test suite (unit, integration against the real registry, buildah, kubectl and the
# fakes, cluster tests against a local Kubernetes control plane, and end-to-end runs of the bundled
# actions). Works on a fresh clone (the first run builds the control plane: about 13 minutes on two cores, once).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
exec npm test -- "$@"
