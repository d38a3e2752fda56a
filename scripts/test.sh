#!/usr/bin/env bash
# The whole test suite (unit, integration against the real registry, buildah, kubectl and the
# fakes, and end-to-end runs of the bundled actions). Works on a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
exec npm test -- "$@"
