#!/usr/bin/env bash
# Builds helm at the version pinned in libs/rig/versions.json from its published Go module, once
# per machine, into the same cache folder as kube-apiserver. The chart's tests run `helm lint` and
# `helm template` with it; nothing built is ever committed.
set -euo pipefail

source "$(dirname "$0")/cache.sh"
version="${BERTH_HELM_VERSION:-$(pinned helm)}"
out="$cache/helm-$version"
major="${version%%.*}"

if [ -x "$out/bin/helm" ]; then
  exit 0
fi
command -v go >/dev/null || { echo "build-helm: Go is needed to build helm $version (install Go >= 1.26)" >&2; exit 1; }

mkdir -p "$out/bin"
echo "build-helm: building helm $version into $out (first run only; a few minutes)" >&2
start=$(date +%s)
# helm's module has no replace directives, so `go install module@version` builds it as released.
# The version is stamped as helm's own Makefile does, or `helm version` says only "v4.x".
ldflags="-s -w -X helm.sh/helm/$major/internal/version.version=$version -X helm.sh/helm/$major/internal/version.gitTreeState=clean"
CGO_ENABLED=0 GOFLAGS=-mod=mod GOBIN="$out/bin.tmp" go install -trimpath -ldflags "$ldflags" "helm.sh/helm/$major/cmd/helm@$version"
mv "$out/bin.tmp/helm" "$out/bin/helm"
rmdir "$out/bin.tmp"
echo "build-helm: done in $(( $(date +%s) - start )) s ($("$out/bin/helm" version --short))" >&2
