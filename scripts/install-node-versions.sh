#!/usr/bin/env bash
# Installs the Node.js binaries the CLI tests run `c2c` with, besides the Node 24 the project itself
# uses (node_modules/.bin/node): the npm packages node@20 and node@22, each in a cache directory
# outside the repository, $XDG_CACHE_HOME/commit-to-cloud/node-<major>/node_modules/node/bin/node
# (XDG_CACHE_HOME defaults to ~/.cache). Idempotent: a binary of the right major is kept.
set -euo pipefail

cache="${XDG_CACHE_HOME:-$HOME/.cache}/commit-to-cloud"
for major in 20 22; do
  dir="$cache/node-$major"
  bin="$dir/node_modules/node/bin/node"
  if [ -x "$bin" ] && [ "$("$bin" -p 'process.versions.node.split(".")[0]' 2>/dev/null)" = "$major" ]; then
    continue
  fi
  echo "installing Node $major (npm package node@$major) into $dir"
  rm -rf "$dir"
  mkdir -p "$dir"
  # The node package fetches its platform's binary in a preinstall script: allow it (npm 11).
  printf '{\n  "private": true,\n  "allowScripts": { "node": true }\n}\n' > "$dir/package.json"
  (cd "$dir" && npm install --no-audit --no-fund --no-save --loglevel=error "node@$major")
  "$bin" --version
done
