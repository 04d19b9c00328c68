#!/usr/bin/env bash
# System set-up for the demo's browser test (tests/spaces_demo/test_browser.py): Debian's Chromium, which Playwright
# drives through `executable_path` (Playwright's own browser download is not needed, and not reachable offline).
# Idempotent; root the first time. VLASER_APT_DRY_RUN=1 prints what would be installed.
set -euo pipefail
exec bash "$(dirname "$0")/apt_install_missing.sh" install_browser_deps chromium fonts-liberation
