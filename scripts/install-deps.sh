#!/usr/bin/env bash
# Installs the Debian packages netfence needs to build, test and run, when they are missing.
# Safe to run again: it does nothing when everything is present.
set -euo pipefail

pkgs=(
	clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config make gcc
	libcmocka-dev iproute2 iptables curl openssl squid-openssl procps psmisc python3
	gnuplot-nox tmux man-db graphviz
	jq qemu-system-x86 busybox-static
)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "Error: missing packages (${missing[*]}) and not root: install them or rerun as root" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# policy-rc.d keeps Debian's squid service from starting: netfence runs its own Squid.
prc=/usr/sbin/policy-rc.d
made_prc=0
if [ ! -e "$prc" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$prc" && chmod 755 "$prc" && made_prc=1
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
[ "$made_prc" = 1 ] && rm -f "$prc"
exit 0
