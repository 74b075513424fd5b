#!/usr/bin/env bash
# Builds CoreDNS, the rig cluster's DNS, at the version pinned in libs/rig/versions.json, once per
# machine, into the cache folder. Only the plugins a cluster's DNS uses are compiled in (CoreDNS's
# own main with every plugin pulls in every cloud's SDK): the same coremain, a smaller plugin list,
# plus bind and hosts for the rig's DNS server on loopback (a few names, silenced at will).
set -euo pipefail

source "$(dirname "$0")/cache.sh"
version="$(pinned coredns)"
out="$cache/coredns-$version"
# In the order CoreDNS runs them; a change here rebuilds.
plugins="errors log health ready bind hosts cache loadbalance kubernetes"

[ -x "$out/bin/coredns" ] && [ "$(cat "$out/plugins" 2>/dev/null)" = "$plugins" ] && exit 0
command -v go >/dev/null || { echo "build-coredns: Go is needed to build CoreDNS (install Go >= 1.26)" >&2; exit 1; }
mkdir -p "$out/src" "$out/bin"
cd "$out/src"
echo "build-coredns: building CoreDNS $version into $out (first run only)" >&2
cat > go.mod <<MOD
module berth.local/coredns

go 1.26
MOD
cat > main.go <<GO
// CoreDNS with the plugins of a cluster's DNS server.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"
$(for p in $plugins; do printf '\t_ "github.com/coredns/coredns/plugin/%s"\n' "$p"; done)
)

func init() {
	dnsserver.Directives = []string{$(printf '"%s", ' $plugins)}
}

func main() { coremain.Run() }
GO
export CGO_ENABLED=0 GOFLAGS=-mod=mod
go get "github.com/coredns/coredns@$version" 2>&1 | tail -n 3 >&2 || true
go build -trimpath -ldflags "-s -w" -o "$out/bin/coredns.tmp" .
mv "$out/bin/coredns.tmp" "$out/bin/coredns"
echo "$plugins" > "$out/plugins"
