#!/usr/bin/env bash
# System set-up for the demo's browser test (tests/spaces_demo/test_browser.py): Debian's Chromium, which Playwright
# drives through `executable_path` (Playwright's own browser download is not needed, and not reachable offline).
#
# Idempotent and non-interactive; run as root. Exits early when everything is installed.
# Environment: VLASER_APT_DRY_RUN=1 prints what would be installed.
set -euo pipefail

PACKAGES=(chromium fonts-liberation)
export DEBIAN_FRONTEND=noninteractive
DRY_RUN="${VLASER_APT_DRY_RUN:-0}"

log() { echo "[install_browser_deps] $*"; }
die() { echo "[install_browser_deps] ERROR: $*" >&2; exit 1; }

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
[ "$(id -u)" -eq 0 ] || die "must run as root to install packages; try: sudo $0"
command -v apt-get >/dev/null || die "apt-get not found: install ${missing[*]} (or your system's equivalents) by hand"
apt-get update -q
apt-get install -y -q "${missing[@]}"
log "done: ${missing[*]}"
