#!/usr/bin/env bash
# cosign: the signed-image tests (test/contract/deploy-sign.test.ts) check that what
# action-deploy-k8s's `sign-key` writes is accepted by the real `cosign verify`, and that a
# signature cosign makes is accepted by `verify-key`. Built once per machine by
# scripts/ensure-go-tool.sh (the hosted runners install it with sigstore/cosign-installer; this
# machine has no download site).
#
#   scripts/ensure-cosign.sh            build when missing; prints .../bin/cosign
#   scripts/ensure-cosign.sh --path     print where cosign is (or would be); build nothing
set -euo pipefail
exec "$(dirname "$0")/ensure-go-tool.sh" cosign v3.1.3 github.com/sigstore/cosign/v3/cmd/cosign \
  "the signed-image tests verify the suite's signatures with it (several minutes on two cores, and several hundred MB of module downloads)" \
  "$@"
