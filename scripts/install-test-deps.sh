#!/usr/bin/env bash
# What the test suite needs beyond the `dev` extra, installed only where missing (safe to re-run):
# - Debian packages: Chromium (share-page browser test) and the real S3 clients of the client
#   matrix (tests/plugins/s3proxy/test_e2e_client_matrix.py): aws-cli v2 and restic; Node.js and
#   npm when absent. (aws-cli v1 and s3cmd come from the `dev` extra.)
# - Outside the repository, in $STOWAGE_TEST_DEPS (default ~/.cache/stowage-test-deps):
#   the AWS SDK for JavaScript v3 (npm) and boto3 with a botocore older than 1.40.21 (pip --target).
# apt-get needs root (or sudo); without either, the missing tools' tests skip and say why.
set -euo pipefail

DEPS="${STOWAGE_TEST_DEPS:-${XDG_CACHE_HOME:-$HOME/.cache}/stowage-test-deps}"
AWS_SDK_JS_VERSION="3.1175.0"
AWS_SDK_JS_PRESIGNER_VERSION="3.1169.0"  # released less often than the client
OLD_BOTOCORE_VERSION="1.40.20"  # the last botocore that needs `100 Continue` before sending a body

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ -x /usr/bin/aws ] || missing+=(awscli)  # Debian's aws-cli v2 (the venv's `aws` is v1 from PyPI)
command -v restic >/dev/null 2>&1 || missing+=(restic)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
      echo "install-test-deps: missing ${missing[*]} and this user cannot run apt-get; their tests will be skipped" >&2
      SUDO="none"
    fi
  fi
  if [ "$SUDO" != "none" ]; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

mkdir -p "$DEPS"

node_dir="$DEPS/aws-sdk-js-$AWS_SDK_JS_VERSION"
if command -v npm >/dev/null 2>&1 && [ ! -d "$node_dir/node_modules/@aws-sdk/lib-storage" ]; then
  mkdir -p "$node_dir"
  npm install --prefix "$node_dir" --no-audit --no-fund --silent \
    "@aws-sdk/client-s3@$AWS_SDK_JS_VERSION" "@aws-sdk/lib-storage@$AWS_SDK_JS_VERSION" \
    "@aws-sdk/s3-request-presigner@$AWS_SDK_JS_PRESIGNER_VERSION"
fi

boto_dir="$DEPS/botocore-$OLD_BOTOCORE_VERSION"
if [ ! -d "$boto_dir/botocore" ]; then
  python3 -m pip install -q --disable-pip-version-check --no-warn-conflicts --target "$boto_dir" \
    "boto3==$OLD_BOTOCORE_VERSION" "botocore==$OLD_BOTOCORE_VERSION"
fi
