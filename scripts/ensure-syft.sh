#!/usr/bin/env bash
# syft (Anchore's SBOM generator): with buildah, `sbom: true` runs it on the pushed image and
# attaches its SPDX document to the image as an OCI referrer; the signed-image tests
# (test/contract/deploy-sign.test.ts) run the real one. Built once per machine by
# scripts/ensure-go-tool.sh (the hosted runners get it from anchore/sbom-action/download-syft;
# this machine has no download site).
#
#   scripts/ensure-syft.sh            build when missing; prints .../bin/syft
#   scripts/ensure-syft.sh --path     print where syft is (or would be); build nothing
set -euo pipefail
exec "$(dirname "$0")/ensure-go-tool.sh" syft v1.57.2 github.com/anchore/syft/cmd/syft \
  "the SBOM tests generate SPDX documents of built images with it (several minutes on two cores, and several hundred MB of module downloads)" \
  "$@"
