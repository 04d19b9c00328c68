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
exec bash "$(dirname "$0")/apt_install_missing.sh" install_sim_deps "${PACKAGES[@]}"
