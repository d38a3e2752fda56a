#!/usr/bin/env bash
# moto in server mode (PyPI 'moto[server]'): the AWS stand-in that the RDS tests point the real AWS
# SDK at, in a venv of its own cached outside the repository (scripts/ensure-pip-tool.sh); prints
# the path of its moto_server on stdout.
#
#   scripts/ensure-moto.sh            install when missing; prints .../bin/moto_server
#   scripts/ensure-moto.sh --path     print where moto_server is (or would be); install nothing
set -euo pipefail
MOTO_VERSION=5.2.5
path=()
if [ "${1:-}" = "--path" ]; then path=(--path); fi
exec "$(dirname "$0")/ensure-pip-tool.sh" "${path[@]}" "moto-${MOTO_VERSION}" "moto[server]==${MOTO_VERSION}" \
  moto_server --help "the RDS tests run the real AWS SDK against moto's server"
