#!/usr/bin/env bash
# System set-up for simulation/aloha (MuJoCo offscreen rendering on the CPU).
#
# Why: MuJoCo renders head-less through EGL on Mesa's llvmpipe (libEGL + the Mesa EGL vendor library + the DRI
# drivers); OSMesa is the fallback where EGL cannot be used (`--osmesa` installs it; select it with
# MUJOCO_GL=osmesa). Debian 12's own Mesa 22.3.6 suffices: no extra apt source is needed or written here.
#
# Idempotent and non-interactive; run as root. Exits early when everything is installed.
# Options: --osmesa also installs libosmesa6. Environment: VLASER_APT_DRY_RUN=1 prints what would be installed.
set -euo pipefail

PACKAGES=(libegl1 libegl-mesa0 libgl1-mesa-dri libgles2)
if [ "${1:-}" = "--osmesa" ]; then
    PACKAGES+=(libosmesa6)
elif [ -n "${1:-}" ]; then
    echo "usage: $0 [--osmesa]" >&2
    exit 2
fi
export DEBIAN_FRONTEND=noninteractive
DRY_RUN="${VLASER_APT_DRY_RUN:-0}"

log() { echo "[install_sim_deps] $*"; }
die() { echo "[install_sim_deps] ERROR: $*" >&2; exit 1; }

missing=()
for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -eq 0 ]; then
    log "already installed: ${PACKAGES[*]}"
    exit 0
fi
log "missing: ${missing[*]}"
if [ "$DRY_RUN" = 1 ]; then
    log "dry run: would run apt-get update and apt-get install ${missing[*]}"
    exit 0
fi
[ "$(id -u)" -eq 0 ] || die "must run as root to install packages; try: sudo $0 $*"
command -v apt-get >/dev/null || die "apt-get not found: install ${missing[*]} (or your system's equivalents) by hand"
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
log "done: ${missing[*]}"
