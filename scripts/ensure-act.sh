#!/usr/bin/env bash
# nektos/act: the workflow runner the tests run workflows-examples/ on (test/e2e/workflows-act.e2e.test.ts),
# in its host mode (-P ubuntu-latest=-self-hosted: steps run on this machine, no Docker). Built once
# per machine by scripts/ensure-go-tool.sh.
#
#   scripts/ensure-act.sh            build when missing; prints .../bin/act
#   scripts/ensure-act.sh --path     print where act is (or would be); build nothing
set -euo pipefail
exec "$(dirname "$0")/ensure-go-tool.sh" act v0.2.89 github.com/nektos/act \
  "the tests run each workflow of workflows-examples/ on it, in host mode, against the real registry, buildah and the local control plane (about 80 s on two cores, and about 150 MB of module downloads)" \
  "$@"
