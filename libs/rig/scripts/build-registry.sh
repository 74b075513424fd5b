#!/usr/bin/env bash
# Builds go-containerregistry's in-memory image registry (cmd/registry, which listens on loopback
# only) at the version pinned in libs/rig/versions.json, once per machine, into the cache folder.
# The tests push Berth's images to it with `scripts/images --push`; nothing built is committed.
set -euo pipefail

source "$(dirname "$0")/cache.sh"
version="$(pinned go-containerregistry)"
out="$cache/registry-$version/bin"

[ -x "$out/registry" ] && exit 0
command -v go >/dev/null || { echo "build-registry: Go is needed to build the test registry (install Go >= 1.26)" >&2; exit 1; }
mkdir -p "$out"
echo "build-registry: building go-containerregistry's registry $version into $out (first run only)" >&2
CGO_ENABLED=0 GOFLAGS=-mod=mod GOBIN="$out.tmp" go install -trimpath -ldflags "-s -w" \
  "github.com/google/go-containerregistry/cmd/registry@$version"
mv "$out.tmp/registry" "$out/registry"
rmdir "$out.tmp"
