#!/usr/bin/env bash
# System set-up for simulation/widowx (ManiSkill3 3.0.1 + SAPIEN 3.0.3 rendering on the CPU).
#
# Why: SAPIEN 3 renders through Vulkan and accepts a device only if it reports descriptorBindingPartiallyBound,
# which Debian 12's lavapipe (Mesa 22.3.6) does not; Mesa 25 lavapipe from <codename>-backports does. This script
# adds the backports suite to the machine's *existing* Debian apt source (same mirror, same keyring: no registry host
# name is written here), then installs the Vulkan loader and the backports lavapipe.
#
# Idempotent and non-interactive; run as root (CI does, through `make sim-deps-widowx`).
# Environment: VLASER_APT_DRY_RUN=1 prints what would change and installs nothing.
set -euo pipefail

MIN_MESA_MAJOR=25
PACKAGES=(libvulkan1 mesa-vulkan-drivers vulkan-tools)
export DEBIAN_FRONTEND=noninteractive
DRY_RUN="${VLASER_APT_DRY_RUN:-0}"

log() { echo "[install_sim_deps_widowx] $*"; }
die() { echo "[install_sim_deps_widowx] ERROR: $*" >&2; exit 1; }

mesa_major() {
    # Major version of the installed lavapipe, or 0 when it is absent.
    local version
    version="$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)"
    version="${version#*:}"
    echo "${version%%.*}" | grep -E '^[0-9]+$' || echo 0
}

all_installed() {
    local pkg
    for pkg in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || return 1
    done
}

if all_installed && [ "$(mesa_major)" -ge "$MIN_MESA_MAJOR" ]; then
    log "already set up: mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers), nothing to do"
    exit 0
fi

[ "$(id -u)" -eq 0 ] || die "must run as root (it edits apt sources and installs packages); try: sudo $0"
command -v apt-get >/dev/null || die "apt-get not found: this script supports Debian-based systems only"

# shellcheck disable=SC1091
. /etc/os-release
CODENAME="${VERSION_CODENAME:-}"
[ -n "$CODENAME" ] || die "VERSION_CODENAME missing in /etc/os-release; cannot derive the backports suite"
BACKPORTS="${CODENAME}-backports"

add_backports_suite() {
    # deb822 sources (Debian 12 default): append the suite to the Suites: line of the stanza that carries the
    # release suite itself (not -security / -updates only stanzas).
    local file changed=0
    for file in /etc/apt/sources.list.d/*.sources; do
        [ -f "$file" ] || continue
        if grep -Eq "^Suites:.*(^|[[:space:]])${BACKPORTS}([[:space:]]|$)" "$file"; then
            log "$file already lists $BACKPORTS"
            return 0
        fi
    done
    for file in /etc/apt/sources.list.d/*.sources; do
        [ -f "$file" ] || continue
        if grep -Eq "^Suites:(.*[[:space:]])?${CODENAME}([[:space:]]|$)" "$file"; then
            log "adding $BACKPORTS to the Suites: line of $file"
            if [ "$DRY_RUN" != 1 ]; then
                sed -i -E "s/^(Suites:(.*[[:space:]])?${CODENAME})([[:space:]]|$)/\1 ${BACKPORTS}\3/" "$file"
            fi
            changed=1
            break
        fi
    done
    [ "$changed" = 1 ] && return 0

    # One-line sources: copy the release line (same URI, same options) with the suite swapped, into our own file.
    local line target=/etc/apt/sources.list.d/vlaser-backports.list
    if [ -f "$target" ]; then
        log "$target exists"
        return 0
    fi
    for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$file" ] || continue
        if grep -Eq "^deb[[:space:]].*[[:space:]]${BACKPORTS}[[:space:]]" "$file"; then
            log "$file already lists $BACKPORTS"
            return 0
        fi
        line="$(grep -E "^deb[[:space:]].*[[:space:]]${CODENAME}[[:space:]]" "$file" | head -n 1 || true)"
        if [ -n "$line" ]; then
            log "writing $target from the $CODENAME line of $file"
            if [ "$DRY_RUN" != 1 ]; then
                echo "$line" | sed -E "s/[[:space:]]${CODENAME}[[:space:]]/ ${BACKPORTS} /" >"$target"
            fi
            return 0
        fi
    done
    die "no apt source for suite '$CODENAME' found in /etc/apt/sources.list{,.d/}; add one, then re-run"
}

add_backports_suite
if [ "$DRY_RUN" = 1 ]; then
    log "dry run: would run apt-get update and install -t $BACKPORTS ${PACKAGES[*]}"
    exit 0
fi
apt-get update -q
apt-get install -y -q --no-install-recommends -t "$BACKPORTS" "${PACKAGES[@]}"

major="$(mesa_major)"
[ "$major" -ge "$MIN_MESA_MAJOR" ] || die "mesa-vulkan-drivers major version is $major after install, expected >= $MIN_MESA_MAJOR"
log "done: mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)"
if command -v vulkaninfo >/dev/null; then
    vulkaninfo 2>/dev/null | grep -m1 -E "descriptorBindingPartiallyBound" || true
fi
