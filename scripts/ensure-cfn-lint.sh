#!/usr/bin/env bash
# cfn-lint (PyPI), the CloudFormation linter AWS maintains: the test of infra/image-builder/pipelines.yml
# checks the template against the resource specifications with it (no AWS account here to deploy
# it), in a venv of its own cached outside the repository (scripts/ensure-pip-tool.sh); prints the
# path of cfn-lint on stdout.
#
#   scripts/ensure-cfn-lint.sh          install when missing; prints .../bin/cfn-lint
#   scripts/ensure-cfn-lint.sh --path   print where it is (or would be); install nothing
set -euo pipefail
VERSION=1.58.0
path=()
if [ "${1:-}" = "--path" ]; then path=(--path); fi
exec "$(dirname "$0")/ensure-pip-tool.sh" "${path[@]}" "cfn-lint-${VERSION}" "cfn-lint==${VERSION}" \
  cfn-lint --version "the test of the image pipelines' CloudFormation template lints it"
