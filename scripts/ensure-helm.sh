#!/usr/bin/env bash
# Helm: action-deploy-k8s renders a `chart` with `helm template`; the chart tests
# (test/contract/deploy-chart.test.ts) run the real helm. Built once per machine by
# scripts/ensure-go-tool.sh (the hosted runners have helm; this machine has no download site).
#
#   scripts/ensure-helm.sh            build when missing; prints .../bin/helm
#   scripts/ensure-helm.sh --path     print where helm is (or would be); build nothing
set -euo pipefail
exec "$(dirname "$0")/ensure-go-tool.sh" helm v4.3.2 helm.sh/helm/v4/cmd/helm \
  "the chart tests render charts with it and push one to the real registry (about 3 minutes on two cores, and about 300 MB of module downloads)" \
  "$@"
