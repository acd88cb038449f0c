#!/usr/bin/env bash
# Installs the Debian packages mcp-actors and its tests need.
#
# The computers of the cua toolset (src/resources/cua/xvfb):
#   bubblewrap  the sandbox every computer is (user, mount, PID, IPC, UTS, network namespaces)
#   xvfb        the virtual X server, one per computer, inside its sandbox
#   xterm       the terminal that ctrl+alt+t opens
#   tini        PID 1 of a computer's desktop sandbox (reaps orphans)
#   slirp4netns network "outbound" for computers: internet without the host's loopback
# The tests:
#   x11-utils   xwininfo, run inside a computer to see its windows as an independent X client
#   xdotool     likewise, to ask a computer's X server which window has the focus
#   iproute2    `ip netns`: the tests' stand-in for the internet is a network namespace
#   util-linux  nsenter/setpriv (normally present already)
#
# Idempotent and non-interactive: when every package is already installed it does not touch apt
# at all; otherwise it runs `apt-get update` once and installs only what is missing.
set -euo pipefail

PACKAGES=(bubblewrap xvfb xterm tini slirp4netns x11-utils xdotool iproute2 util-linux)

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

for bin in bwrap Xvfb xterm tini slirp4netns xwininfo xdotool ip nsenter setpriv; do
  command -v "$bin" >/dev/null 2>&1 || { echo "install-system-deps: $bin still missing" >&2; exit 1; }
done
echo "install-system-deps: done"
