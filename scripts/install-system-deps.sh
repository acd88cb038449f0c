#!/usr/bin/env bash
# Installs the Debian packages the local Xvfb computer backend (src/resources/cua/xvfb) needs.
#
#   xvfb      the virtual X server, one per computer (started with -displayfd, -nolisten tcp)
#   xdotool   mouse and keyboard input (XTEST), key combos, literal text
#   xterm     the terminal that ctrl+alt+t opens (the hotkey itself is grabbed by the backend
#             over its own X connection; no window manager or hotkey daemon is needed)
#   x11-utils xwininfo/xdpyinfo: used by the tests and handy for debugging a display
#
# Idempotent and non-interactive: when every package is already installed it does not touch apt
# at all; otherwise it runs `apt-get update` once and installs only what is missing.
set -euo pipefail

PACKAGES=(xvfb xdotool xterm x11-utils tini)

missing=()
for pkg in "${PACKAGES[@]}"; do
  status="$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)"
  if [[ "$status" != ii* ]]; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-system-deps: all present (${PACKAGES[*]})"
  exit 0
fi

SUDO=()
if [[ "$(id -u)" -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo -n)
  else
    echo "install-system-deps: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-system-deps: installing ${missing[*]}"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"

for bin in Xvfb xdotool xterm xwininfo; do
  command -v "$bin" >/dev/null 2>&1 || { echo "install-system-deps: $bin still missing" >&2; exit 1; }
done
echo "install-system-deps: done"
