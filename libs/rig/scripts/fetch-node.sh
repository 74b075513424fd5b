#!/usr/bin/env bash
# Fetches what the rig's Node.js base image is made of, once per machine, into the cache folder:
# the node binary and headers at the version the project pins (its `node` devDependency) from the
# npm package that ships them (node-linux-<arch>), and the npm that Node.js release bundles (that
# package leaves npm out; the release's CHANGELOG names the version). The rig builds
# berth-rig/node:<version>-<debian release> from them with libs/rig/images/node/Dockerfile.
set -euo pipefail

source "$(dirname "$0")/cache.sh"
top="$(dirname "$0")/../../.."
version=$(sed -n '/"node_modules\/node": {/,/}/s/.*"version": "\([0-9.]*\)".*/\1/p' "$top/package-lock.json")
[ -n "$version" ] || { echo "fetch-node: no node devDependency in package-lock.json" >&2; exit 1; }
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64) arch=arm64 ;;
  *) echo "fetch-node: no node-linux package for $(uname -m)" >&2; exit 1 ;;
esac
out="$cache/node-$version"

[ -x "$out/node/bin/node" ] && [ -f "$out/npm/package.json" ] && exit 0
command -v npm >/dev/null || { echo "fetch-node: npm is needed to fetch node-linux-$arch@$version" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "node-linux-$arch@$version" >/dev/null)
mkdir -p "$work/node" && tar -xzf "$work/node-linux-$arch-$version.tgz" -C "$work/node" --strip-components=1
npm_version=$(grep -m1 -o 'upgrade npm to [0-9.]*' "$work/node/CHANGELOG.md" | sed 's/.* //')
[ -n "$npm_version" ] || { echo "fetch-node: the CHANGELOG of node $version names no npm version" >&2; exit 1; }
(cd "$work" && npm pack --silent "npm@$npm_version" >/dev/null)
mkdir -p "$work/npm" && tar -xzf "$work/npm-$npm_version.tgz" -C "$work/npm" --strip-components=1

rm -rf "$out" && mkdir -p "$out"
mv "$work/node" "$work/npm" "$out/"
echo "fetch-node: node $version and npm $npm_version at $out" >&2
