#!/usr/bin/env bash
# Builds Docker Compose v2 at the version pinned in libs/rig/versions.json from its published Go
# module, once per machine, into the cache folder, as a plugin of Debian's docker CLI (Debian has
# only the old Python docker-compose 1.29). The rig runs `docker compose` with it; nothing built
# is ever committed.
set -euo pipefail

source "$(dirname "$0")/cache.sh"
version="${BERTH_COMPOSE_VERSION:-$(pinned compose)}"
out="$cache/compose-$version/cli-plugins"

[ -x "$out/docker-compose" ] && exit 0
command -v go >/dev/null || { echo "build-compose: Go is needed to build Docker Compose $version (install Go >= 1.26)" >&2; exit 1; }

mkdir -p "$out"
echo "build-compose: building Docker Compose $version into $out (first run only; about 2 minutes)" >&2
start=$(date +%s)
# Compose's go.mod has exclude and replace directives, which `go install module@version` refuses:
# build inside the downloaded module, as its own main module.
src=$(go mod download -json "github.com/docker/compose/v2@$version" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
[ -d "$src/cmd" ] || { echo "build-compose: could not download github.com/docker/compose/v2@$version" >&2; exit 1; }
(cd "$src" && CGO_ENABLED=0 go build -trimpath \
  -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$version" -o "$out/docker-compose.tmp" ./cmd)
mv "$out/docker-compose.tmp" "$out/docker-compose"
echo "build-compose: done in $(( $(date +%s) - start )) s ($("$out/docker-compose" version))" >&2
