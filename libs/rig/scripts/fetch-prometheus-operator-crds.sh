#!/usr/bin/env bash
# Fetches the Prometheus Operator's ServiceMonitor and PrometheusRule CRDs at the version pinned in
# libs/rig/versions.json, once per machine, into the cache folder, so the chart's test can have the
# API server check its optional ServiceMonitor and PrometheusRule against the real schemas. They
# ship in the operator's Go module (example/prometheus-operator-crd/), which the Go module proxy
# serves; nothing third-party is committed.
set -euo pipefail

source "$(dirname "$0")/cache.sh"
version="$(pinned prometheus-operator)"
out="$cache/prometheus-operator-crds-$version"
files=(monitoring.coreos.com_servicemonitors.yaml monitoring.coreos.com_prometheusrules.yaml)

[ -f "$out/${files[0]}" ] && [ -f "$out/${files[1]}" ] && exit 0
command -v go >/dev/null || { echo "fetch-prometheus-operator-crds: Go is needed to fetch the CRDs" >&2; exit 1; }
echo "fetch-prometheus-operator-crds: fetching the Prometheus Operator $version module (first run only)" >&2
dir=$(go mod download -json "github.com/prometheus-operator/prometheus-operator@$version" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
mkdir -p "$out.tmp"
for file in "${files[@]}"; do
  [ -f "$dir/example/prometheus-operator-crd/$file" ] || { echo "fetch-prometheus-operator-crds: no example/prometheus-operator-crd/$file in $version" >&2; exit 1; }
  cp "$dir/example/prometheus-operator-crd/$file" "$out.tmp/"
done
rm -rf "$out"
mv "$out.tmp" "$out"
echo "fetch-prometheus-operator-crds: ServiceMonitor and PrometheusRule CRDs $version at $out" >&2
