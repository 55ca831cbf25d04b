#!/usr/bin/env bash
# System packages the test suite uses beyond PyPI: Debian's Chromium for the share-page browser test.
# Installs only what is missing; needs root (or sudo) for apt-get.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-test-deps: chromium is missing and this user cannot run apt-get; the browser test will be skipped" >&2
    exit 0
  fi
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
