# Sourced by the setup's build and fetch scripts. `cache`: where they keep what they build or
# fetch, outside the repository (the folder libs/rig/src/cache.ts reads). `pinned NAME`: NAME's
# version in libs/rig/versions.json, or a message naming what is missing.
cache="${BERTH_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/berth}"

pinned() {
  local versions version
  versions="$(dirname "${BASH_SOURCE[0]}")/../versions.json"
  version="$(sed -n "s/.*\"$1\": \"\([^\"]*\)\".*/\1/p" "$versions")"
  [ -n "$version" ] || { echo "$(basename "$0" .sh): no \"$1\" version in $versions" >&2; return 1; }
  echo "$version"
}
