#!/usr/bin/env bash
# Install the Debian packages given as arguments that are not installed yet (shared by the set-up scripts).
#
#   apt_install_missing.sh LOG_TAG PACKAGE...
#
# Idempotent and non-interactive; needs root only when something is missing. Exits early when everything is
# installed. Environment: VLASER_APT_DRY_RUN=1 prints what would be installed.
set -euo pipefail

TAG="$1"
shift
export DEBIAN_FRONTEND=noninteractive

log() { echo "[$TAG] $*"; }
die() { echo "[$TAG] ERROR: $*" >&2; exit 1; }

missing=()
for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -eq 0 ]; then
    log "already installed: $*"
    exit 0
fi
log "missing: ${missing[*]}"
if [ "${VLASER_APT_DRY_RUN:-0}" = 1 ]; then
    log "dry run: would run apt-get update and apt-get install ${missing[*]}"
    exit 0
fi
[ "$(id -u)" -eq 0 ] || die "must run as root to install packages; try it with sudo"
command -v apt-get >/dev/null || die "apt-get not found: install ${missing[*]} (or your system's equivalents) by hand"
apt-get update -q
apt-get install -y -q "${missing[@]}"
log "done: ${missing[*]}"
