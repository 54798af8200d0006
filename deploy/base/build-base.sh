#!/usr/bin/env bash
# Build the Debian bookworm base image from Debian packages, for engines with no registry.
#
# Where a registry exists, pass BASE_IMAGE=debian:bookworm-slim to the builds instead: the
# Dockerfiles only assume "a Debian bookworm root with apt", which both provide.
#
# Usage: deploy/base/build-base.sh [TAG]   (default: canaryspec/debian:bookworm)
# The image is built once per engine: an existing tag is reused unless FORCE=1.
set -euo pipefail

tag="${1:-canaryspec/debian:bookworm}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
suite="${DEBIAN_SUITE:-bookworm}"

# The recipe's version, as a label: a base built by an older recipe (one that left apt's caches
# in every layer) is rebuilt rather than silently reused. Bump it when the rootfs changes.
recipe=2
if [ "${FORCE:-0}" != 1 ] && [ "$(docker image inspect -f '{{index .Config.Labels "io.canaryspec.base-recipe"}}' "$tag" 2>/dev/null)" = "$recipe" ]; then
    echo "base image $tag already present (recipe $recipe)"
    exit 0
fi

command -v debootstrap >/dev/null || {
    echo "debootstrap is not installed (apt-get install debootstrap)" >&2
    exit 2
}

rootfs="$(mktemp -d /tmp/canaryspec-rootfs.XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT

echo "debootstrap $suite (minbase) from $mirror ..."
debootstrap --variant=minbase --components=main "$suite" "$rootfs" "$mirror" >/tmp/canaryspec-debootstrap.log 2>&1 || {
    tail -20 /tmp/canaryspec-debootstrap.log >&2
    exit 1
}

# Same apt hygiene as the official slim images: no recommends, no docs, no caches left behind.
cat >"$rootfs/etc/apt/apt.conf.d/90canaryspec" <<'APT'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
APT
# What the official image's /etc/apt/apt.conf.d/docker-clean does: without it every layer that
# runs apt-get keeps /var/cache/apt/{pkgcache,srcpkgcache}.bin (77 MB a layer; seen: the
# backend image 269 MB of which 77 MB were these two files, the CPU worker carried them twice).
cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/90canaryspec-nodoc" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
DPKG
cat >"$rootfs/etc/apt/sources.list" <<SRC
deb $mirror $suite main
deb $mirror $suite-updates main
deb http://deb.debian.org/debian-security $suite-security main
SRC
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
       "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*

tar -C "$rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["bash"]' \
    --change "LABEL io.canaryspec.base-recipe=$recipe" \
    - "$tag" >/dev/null
echo "built base image $tag ($(docker image inspect -f '{{.Size}}' "$tag") bytes)"
