#!/usr/bin/env bash
# Builds nats-server at the version pinned in libs/rig/versions.json, once per machine, into the
# cache folder, from its Go module: Debian ships 2.9, and Berth's per-node identities need the
# auth callout of 2.10 and later. The rig runs this binary, and its NATS image carries it.
set -euo pipefail

source "$(dirname "$0")/cache.sh"
version="$(pinned nats-server)"
out="$cache/nats-server-$version"

[ -x "$out/bin/nats-server" ] && exit 0
command -v go >/dev/null || { echo "build-nats: Go is needed to build nats-server (install Go >= 1.26)" >&2; exit 1; }
mkdir -p "$out/bin"
echo "build-nats: building nats-server $version into $out (first run only)" >&2
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOBIN="$out/bin.tmp"
go install -trimpath -ldflags "-s -w" "github.com/nats-io/nats-server/v2@$version"
mv "$out/bin.tmp/nats-server" "$out/bin/nats-server"
rmdir "$out/bin.tmp"
