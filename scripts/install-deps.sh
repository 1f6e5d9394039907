#!/usr/bin/env bash
# Installs the Debian packages netfence needs to build, test and run, when they are missing.
# Safe to run again: it does nothing when everything is present.
#
#   scripts/install-deps.sh              build, unit and root tests, demo (the core set)
#   scripts/install-deps.sh GROUP...     the core set plus: docker, dns, browser, kernels, all
set -euo pipefail

core=(
	clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config make gcc
	libcmocka-dev libseccomp-dev libidn2-dev libunistring-dev iproute2 iptables curl openssl squid-openssl procps psmisc
	python3 gnuplot-nox tmux man-db graphviz jq qemu-system-x86 busybox-static
	dnsmasq-base dnsutils nodejs wget git
)
declare -A group=(
	[docker]="docker.io docker-compose debootstrap"
	[dns]="dnsmasq-base unbound dnsutils"
	[browser]="chromium"
	[kernels]="qemu-system-x86 busybox-static xz-utils"
)

pkgs=("${core[@]}")
for g in "$@"; do
	if [ "$g" = all ]; then
		for k in "${!group[@]}"; do
			# shellcheck disable=SC2206
			pkgs+=(${group[$k]})
		done
	elif [ -n "${group[$g]:-}" ]; then
		# shellcheck disable=SC2206
		pkgs+=(${group[$g]})
	else
		echo "Error: unknown package group '$g' (docker, dns, browser, kernels, all)" >&2
		exit 2
	fi
done

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
# one name once
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)

if [ "$(id -u)" -ne 0 ]; then
	echo "Error: missing packages (${missing[*]}) and not root: install them or rerun as root" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# several suites may install at once: wait for dpkg's lock instead of failing
lock=(-o DPkg::Lock::Timeout=600)
apt-get "${lock[@]}" update -qq >/dev/null
# policy-rc.d keeps Debian's squid, dnsmasq, unbound and docker services from starting:
# netfence and its tests run their own.
prc=/usr/sbin/policy-rc.d
made_prc=0
if [ ! -e "$prc" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$prc" && chmod 755 "$prc" && made_prc=1
fi
apt-get "${lock[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
[ "$made_prc" = 1 ] && rm -f "$prc"
exit 0
