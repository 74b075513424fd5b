#!/usr/bin/env bash
# Makes the root file system of the rig's Debian base image from Debian's own packages, once per
# machine, into the cache folder: no registry is needed (none can be reached where Berth is tested).
# debootstrap's minbase variant of the release pinned in libs/rig/versions.json, with that
# release's updates and security fixes, trimmed and configured the way the official
# debian:<release>-slim image is (no docs, man pages or locales; apt keeps no caches). The rig
# imports the tarball into its own Docker engine as berth-rig/debian:<release>.
set -euo pipefail

source "$(dirname "$0")/cache.sh"
release="$(pinned debian)"
out="$cache/debian-$release"
mirror="${BERTH_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
security="${BERTH_DEBIAN_SECURITY_MIRROR:-$mirror-security}"

[ -f "$out/rootfs.tar" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "build-debian-rootfs: skipped: debootstrap needs root (the container tests, which use it, need root too)" >&2
  exit 0
fi
command -v debootstrap >/dev/null || { echo "build-debian-rootfs: debootstrap is missing: apt-get install debootstrap" >&2; exit 1; }

mkdir -p "$out"
echo "build-debian-rootfs: debootstrap $release from $mirror into $out (first run only; about a minute)" >&2
start=$(date +%s)
work=$(mktemp -d "$out/rootfs.XXXXXX")
trap 'rm -rf "$work"' EXIT
root="$work/root"
debootstrap --variant=minbase "$release" "$root" "$mirror" > "$work/debootstrap.log" 2>&1 \
  || { tail -n 20 "$work/debootstrap.log" >&2; exit 1; }

rm -f "$root/etc/apt/sources.list"
cat > "$root/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: $release $release-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: $release-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
# As the official slim image: dpkg leaves out documentation, and apt keeps no package caches,
# fetches no translations and keeps its indexes compressed.
cat > "$root/etc/dpkg/dpkg.cfg.d/docker" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
DPKG
cat > "$root/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
echo 'Acquire::Languages "none";' > "$root/etc/apt/apt.conf.d/docker-no-languages"
printf 'Acquire::GzipIndexes "true";\nAcquire::CompressionTypes::Order:: "gz";\n' > "$root/etc/apt/apt.conf.d/docker-gzip-indexes"
echo 'Apt::AutoRemove::SuggestsImportant "false";' > "$root/etc/apt/apt.conf.d/docker-autoremove-suggests"

chroot "$root" apt-get update -qq
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get -y -qq upgrade > "$work/upgrade.log" 2>&1 \
  || { tail -n 20 "$work/upgrade.log" >&2; exit 1; }
chroot "$root" apt-get clean

find "$root/usr/share/doc" -mindepth 1 -not -type d -not -name copyright -delete
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$root"/usr/share/{man,info,locale}/* "$root"/usr/share/{lintian,linda} \
  "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/log/apt/* "$root"/var/log/*.log \
  "$root"/var/cache/debconf/*-old "$root"/var/cache/ldconfig/aux-cache "$root"/tmp/*
# debootstrap copied this machine's resolver and name; Docker mounts a container's own over them.
: > "$root/etc/resolv.conf"
: > "$root/etc/hostname"

tar --numeric-owner --xattrs --xattrs-include='*' -C "$root" -cf "$out/rootfs.tar.tmp" .
mv "$out/rootfs.tar.tmp" "$out/rootfs.tar"
echo "build-debian-rootfs: done in $(( $(date +%s) - start )) s ($(du -h "$out/rootfs.tar" | cut -f1))" >&2
