#!/usr/bin/env bash
# What `make test` needs from the machine besides Python: Debian's Chromium (the dashboard's and the docs'
# browser tests drive it; never a downloaded browser) and a CJK font (Chinese legible on their screenshots).
# Installs them from the machine's package manager when missing; says what to do when it cannot.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
dpkg -s fonts-wqy-microhei >/dev/null 2>&1 || missing+=(fonts-wqy-microhei)
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "[test-packages] missing ${missing[*]}, and this is not a Debian-like machine: install them (a Chromium" \
       "binary named chromium on PATH and a CJK font) and run make test again" >&2
  exit 1
fi
as_root=()
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    echo "[test-packages] missing ${missing[*]}: run  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
fi
echo "[test-packages] installing ${missing[*]} from the package manager (once)"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
  || { "${as_root[@]}" apt-get update -q >/dev/null && "${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }
