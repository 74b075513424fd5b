#!/usr/bin/env bash
# Fetches the Compose Specification's JSON Schema at the version pinned in libs/rig/versions.json,
# once per machine, into the cache folder. It ships inside compose-go's Go module (what Docker
# Compose itself validates with), so the Go module proxy serves it; nothing is committed.
set -euo pipefail

source "$(dirname "$0")/cache.sh"
version="$(pinned compose-spec)"
out="$cache/compose-spec-$version.json"

[ -f "$out" ] && exit 0
command -v go >/dev/null || { echo "fetch-compose-schema: Go is needed to fetch the Compose schema" >&2; exit 1; }
mkdir -p "$cache"
dir=$(go mod download -json "github.com/compose-spec/compose-go/v2@$version" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
[ -f "$dir/schema/compose-spec.json" ] || { echo "fetch-compose-schema: no schema/compose-spec.json in compose-go $version" >&2; exit 1; }
cp "$dir/schema/compose-spec.json" "$out.tmp"
mv "$out.tmp" "$out"
echo "fetch-compose-schema: Compose Specification schema $version at $out" >&2
