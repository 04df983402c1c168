#!/usr/bin/env bash
# Slims a debootstrap root before docker/build.sh imports it as keel-base: apt's caches and lists
# (an image that installs more runs apt-get update), documentation, man pages, locales; and makes
# dpkg leave them out of later installs too. Usage: cleanup.sh ROOTFS
set -euo pipefail
r=$1
rm -rf "$r"/var/cache/apt/* "$r"/var/lib/apt/lists/* "$r"/var/log/* "$r"/tmp/* \
  "$r"/usr/share/doc/* "$r"/usr/share/man/* "$r"/usr/share/info/* "$r"/usr/share/locale/*
cat >"$r/etc/dpkg/dpkg.cfg.d/keel-slim" <<'CFG'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
CFG
cat >"$r/etc/apt/apt.conf.d/keel-slim" <<'CFG'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
CFG
# The image has no hostname or resolver of its own: docker provides both at run time.
: >"$r/etc/hostname"
rm -f "$r/etc/resolv.conf"
