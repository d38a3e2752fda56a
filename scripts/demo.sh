#!/usr/bin/env bash
# The demo: starts a local registry, makes a root image from busybox-static, then runs hash-base
# on examples/sample-app twice through the c2c CLI bundle: the first run builds and pushes the base,
# the second skips it. Prints both decisions and their timings. Works on a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
exec node_modules/.bin/node node_modules/.bin/tsx scripts/demo.ts "$@"
