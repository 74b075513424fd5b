#!/usr/bin/env bash
# Builds the Kubernetes binaries the rig runs (kube-apiserver and kubectl; the controller manager,
# scheduler, kubelet and kube-proxy of the rig's cluster) at a pinned version from the published Go
# modules, once per machine, into a cache folder outside the repository. There is no Debian package
# for any of them and no registry to pull them from, so the Go module proxy is the only source.
set -euo pipefail

source "$(dirname "$0")/cache.sh"
version="${BERTH_KUBE_VERSION:-$(pinned kubernetes)}"
out="$cache/kube-$version"
minor="${version#v1.}"; minor="${minor%%.*}"
staging_version="v0.${version#v1.}"

commands=(kube-apiserver kubectl kube-controller-manager kube-scheduler kubelet kube-proxy)
missing=()
for c in "${commands[@]}"; do [ -x "$out/bin/$c" ] || missing+=("$c"); done
[ ${#missing[@]} -eq 0 ] && exit 0
command -v go >/dev/null || { echo "build-control-plane: Go is needed to build Kubernetes $version (install Go >= 1.24)" >&2; exit 1; }

work="$out/src"
mkdir -p "$work" "$out/bin"
cd "$work"
echo "build-control-plane: building ${missing[*]} $version into $out (first run only; several minutes)" >&2
start=$(date +%s)

cat > go.mod <<MOD
module berth.local/controlplane

go 1.24
MOD

# k8s.io/kubernetes requires its staging modules at v0.0.0; point each at its published twin.
gomod=$(go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
[ -n "$gomod" ] || { echo "build-control-plane: could not download k8s.io/kubernetes@$version" >&2; exit 1; }
staging=$(grep -E '^\s*k8s\.io/[a-z0-9-]+ v0\.0\.0\s*(//.*)?$' "$gomod" | awk '{print $1}' | sort -u)
{
  echo "require k8s.io/kubernetes $version"
  echo "replace ("
  for m in $staging; do echo "  $m => $m $staging_version"; done
  echo ")"
} >> go.mod

go mod download k8s.io/kubernetes
packages=("${missing[@]/#/k8s.io/kubernetes/cmd/}")
go get "${packages[@]/%/@$version}" 2>&1 | tail -n 3 >&2 || true

ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/client-go/pkg/version.gitVersion=$version -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
export CGO_ENABLED=0 GOFLAGS=-mod=mod
for c in "${missing[@]}"; do
  go build -trimpath -ldflags "$ldflags" -o "$out/bin/$c.tmp" "k8s.io/kubernetes/cmd/$c"
  mv "$out/bin/$c.tmp" "$out/bin/$c"
done
echo "build-control-plane: done in $(( $(date +%s) - start )) s" >&2
