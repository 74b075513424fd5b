#!/usr/bin/env bash
# Fetches promtool, to unit-test the Helm chart's alert rules, once per machine into the cache
# folder. It comes from Debian's prometheus package, unpacked rather than installed: installing it
# would start a Prometheus server on a machine with systemd, and only the one binary is needed.
set -euo pipefail

source "$(dirname "$0")/cache.sh"
out="$cache/promtool"
[ -x "$out/promtool" ] && exit 0
command -v apt-get >/dev/null || { echo "fetch-promtool: apt-get is needed to fetch Debian's prometheus package" >&2; exit 1; }
echo "fetch-promtool: fetching Debian's prometheus package for its promtool (first run only)" >&2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The package lists may be empty on a fresh machine; refresh them once when root may.
(cd "$tmp" && apt-get download -qq prometheus 2>/dev/null) \
  || { [ "$(id -u)" -eq 0 ] && apt-get update -qq && (cd "$tmp" && apt-get download -qq prometheus); } \
  || { echo "fetch-promtool: apt-get download prometheus failed; run apt-get update as root and try again" >&2; exit 1; }
dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/root"
mkdir -p "$out.tmp"
cp "$tmp/root/usr/bin/promtool" "$out.tmp/promtool"
"$out.tmp/promtool" --version >/dev/null
rm -rf "$out"
mv "$out.tmp" "$out"
echo "fetch-promtool: $("$out/promtool" --version | head -1) at $out/promtool" >&2
