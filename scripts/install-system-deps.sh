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
#   nats-server  the cluster tests' NATS (JetStream)
#   nginx        the cluster tests' round-robin load balancer
# The tests run both themselves (test/support/nats-server.ts, test/support/nginx.ts: own config,
# loopback ports, temp dirs); the system services are never started, not even by the install.
#
# Idempotent and non-interactive: when every package is already installed it does not touch apt
# at all; otherwise it runs `apt-get update` once and installs only what is missing.
set -euo pipefail

PACKAGES=(bubblewrap xvfb xterm tini slirp4netns x11-utils xdotool iproute2 util-linux nats-server nginx)

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

# Debian's nginx postinst would start the system nginx (a daemon on port 80), as other postinsts
# would their daemons: while apt-get runs, a policy-rc.d answering 101 ("action forbidden") keeps
# invoke-rc.d / deb-systemd-invoke from starting any. One already present (as in most containers)
# is left alone; ours is removed again however the script ends.
POLICY_RC=/usr/sbin/policy-rc.d
if [[ ! -e "$POLICY_RC" ]]; then
  trap '"${SUDO[@]}" rm -f "$POLICY_RC"' EXIT
  trap 'exit 129' HUP
  trap 'exit 130' INT
  trap 'exit 143' TERM
  printf '#!/bin/sh\n# install-system-deps.sh: no daemon starts during its apt-get install\nexit 101\n' \
    | "${SUDO[@]}" tee "$POLICY_RC" >/dev/null
  "${SUDO[@]}" chmod 755 "$POLICY_RC"
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-system-deps: installing ${missing[*]}"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"

for bin in bwrap Xvfb xterm tini slirp4netns xwininfo xdotool ip nsenter setpriv; do
  command -v "$bin" >/dev/null 2>&1 || { echo "install-system-deps: $bin still missing" >&2; exit 1; }
done
# By path: the tests run these, and /usr/sbin need not be on a user's PATH.
for bin in /usr/sbin/nats-server /usr/sbin/nginx; do
  [[ -x "$bin" ]] || { echo "install-system-deps: $bin still missing" >&2; exit 1; }
done
echo "install-system-deps: done"
