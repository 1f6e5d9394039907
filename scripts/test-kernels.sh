#!/usr/bin/env bash
# make test-kernels: the root suites in qemu guests on Debian's kernels, one
# guest per kernel, one after the other: 5.10 (Debian 11), 6.1 (Debian 12)
# and 6.12 (Debian 12's newer kernel). KERNELS=5.10,6.1,6.12 chooses.
#
#  1. Each kernel's newest linux-image package is found in the apt lists:
#     6.1 (linux-image-6.1.*-amd64) and 6.12 (linux-image-6.12.*+deb12-amd64)
#     through the machine's own apt configuration; 5.10 (linux-image-5.10.*-
#     amd64) through a PRIVATE apt configuration for bullseye and
#     bullseye-security, made in the cache from the mirror the machine's
#     /etc/apt/sources.list* name (the machine's sources are never edited).
#     The .deb is kept in the cache, NFT_KERNEL_CACHE (default
#     /var/cache/netfence-kernels: outside build/, so make clean keeps it); a
#     cached package is used without asking a registry at all.
#  2. The package is unpacked into build/kernels/PKG (dpkg-deb -x, never
#     installed as this machine's kernel), its vmlinux extracted (booting it
#     directly skips the in-guest decompression, slow under TCG).
#  3. A busybox initramfs (tests/kernels/init, the kernel's own 9p, virtio
#     and veth modules) is built for that kernel.
#  4. qemu-system-x86_64 boots it with this machine's root file system shared
#     read-only over virtio-9p and build/kernels/out/VER shared writable; the
#     guest runs tests/kernels/guest.sh and powers off. KVM is used when it
#     really boots a kernel here, else software emulation (TCG).
#  5. Per kernel: the guest's PASS/FAIL/SKIP lines and its times; at the end
#     a table (kernel, result, seconds) and the last line
#     "N passed, N failed, N skipped". Exit 0 when nothing failed.
#
# The BPF LSM: NFT_KERNEL_LSM says per kernel how the guest boots:
# "bpf" (lsm= the kernel's own CONFIG_LSM list with bpf added), "nobpf" (the
# list without bpf) or "default" (no lsm=). Default
# "5.10=bpf,6.1=bpf,6.12=nobpf": 5.10 has BPF LSM programs but no
# lsm_cgroup (Linux 6.0), 6.1 runs the lsm_cgroup/socket_create path whole,
# 6.12 has no BPF LSM at all; the host's 6.18 refuses LSM programs (EPERM).
#
# Knobs: KERNELS, NFT_KERNEL_CACHE, NFT_KERNEL_LSM, NFT_KERNEL_MIRROR (the
# Debian mirror for bullseye; default: the machine's), NFT_KERNEL_PKG_<V>
# (a package name for kernel V, dots as underscores: NFT_KERNEL_PKG_6_12),
# NFT_KERNEL_SUITES (comma-separated; default test_enforce,test_squid,
# test_static; every guest also asserts `netfence check` first),
# NFT_KERNEL_EXTRA (suites for one kernel only, VER=SUITE+SUITE,...; e.g.
# 5.10=test_adversarial+test_check: the attack suite takes about 8x its host
# time under TCG), NFT_KERNEL_TIMEOUT (seconds per VM, default
# 1200), NFT_KERNEL_ACCEL (auto, kvm, tcg), NFT_KERNEL_CPU (qemu -cpu,
# default max), NFT_KERNEL_CPUS (2), NFT_KERNEL_MEM (MiB, 2048).
#
# Everything it starts (qemu, tail) is stopped and its staging directory
# removed on every exit path; build/kernels/out/VER keeps each guest's logs
# (check.txt: `netfence check` on that kernel).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
KDIR=$ROOT/build/kernels
CACHE=${NFT_KERNEL_CACHE:-/var/cache/netfence-kernels}
KERNELS=${KERNELS:-5.10,6.1,6.12}
LSM_MODES=${NFT_KERNEL_LSM:-5.10=bpf,6.1=bpf,6.12=nobpf}
SUITES=${NFT_KERNEL_SUITES:-test_enforce,test_squid,test_static}
# suites added on one kernel only (VER=SUITE+SUITE,...): the long ones
EXTRA=${NFT_KERNEL_EXTRA-}
VM_TIMEOUT=${NFT_KERNEL_TIMEOUT:-1200}
CPUS=${NFT_KERNEL_CPUS:-2}
MEM=${NFT_KERNEL_MEM:-2048}
ACCEL=${NFT_KERNEL_ACCEL:-auto}
CPU=${NFT_KERNEL_CPU:-max}
# the modules the guest needs, beyond what Debian builds in
MODULES="virtio_pci 9pnet_virtio 9p veth"

T0=$(date +%s.%N)
STAGE=
QEMU_PID=
TAIL_PID=

elapsed() {
	awk -v a="$(date +%s.%N)" -v b="$1" 'BEGIN { printf "%.1f", a - b }'
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	if [[ -n $QEMU_PID ]] && kill -0 "$QEMU_PID" 2>/dev/null; then
		# timeout(1) passes the signal on to qemu
		kill -TERM "$QEMU_PID" 2>/dev/null || true
		wait "$QEMU_PID" 2>/dev/null || true
	fi
	if [[ -n $TAIL_PID ]] && kill -0 "$TAIL_PID" 2>/dev/null; then
		kill -TERM "$TAIL_PID" 2>/dev/null || true
		wait "$TAIL_PID" 2>/dev/null || true
	fi
	[[ -n $STAGE && -d $STAGE ]] && rm -rf -- "$STAGE"
	exit "$rc"
}
trap cleanup EXIT
trap 'echo "test-kernels: interrupted" >&2; exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# fail MESSAGE: a setup failure still ends with the summary line
fail() {
	echo "test-kernels: $*" >&2
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
}

# --- tools --------------------------------------------------------------------------
[[ $(id -u) -eq 0 ]] || fail "needs root (the guest reads the host's root file system as root)"
have_tools() {
	command -v qemu-system-x86_64 >/dev/null && command -v xz >/dev/null &&
		command -v dpkg-deb >/dev/null && command -v apt-get >/dev/null &&
		busybox_static >/dev/null
}
# busybox_static: the path of a statically linked busybox (busybox-static)
busybox_static() {
	local b
	for b in /bin/busybox /usr/bin/busybox; do
		[[ -x $b ]] || continue
		# a static binary has no program interpreter
		if ! LC_ALL=C readelf -l "$b" 2>/dev/null | grep -q 'Requesting program interpreter'; then
			echo "$b"
			return 0
		fi
	done
	return 1
}
if ! have_tools; then
	bash scripts/install-deps.sh kernels || fail "installing the dependencies failed"
	have_tools || fail "qemu-system-x86_64, xz, dpkg-deb or a static busybox is missing" \
		"(apt-get install qemu-system-x86 busybox-static xz-utils)"
fi
BUSYBOX=$(busybox_static)
[[ -x build/netfence && -x build/tools/nfprobe ]] || fail "build first (make)"
if [[ ,$SUITES, == *,test_static,* && ! -x build/netfence-static ]]; then
	fail "test_static needs build/netfence-static (make static)"
fi
# the paths travel on the kernel command line
[[ $ROOT =~ ^/[A-Za-z0-9._/+-]+$ ]] || fail "the repository path '$ROOT' has characters" \
	"the kernel command line cannot carry"

# --- the kernels ---------------------------------------------------------------------
mkdir -p "$KDIR" "$CACHE"

# pkg_regex VER: the package names of kernel VER (the plain amd64 flavour)
pkg_regex() {
	case $1 in
	5.10) echo '^linux-image-5\.10\.[0-9]+-[0-9]+-amd64$' ;;
	6.1) echo '^linux-image-6\.1\.[0-9]+-[0-9]+-amd64$' ;;
	6.12) echo '^linux-image-6\.12\.[0-9]+\+deb12-amd64$' ;;
	*) return 1 ;;
	esac
}

# apt_uri SUFFIX: the first URI of the machine's apt sources ending in
# SUFFIX (/debian, /debian-security), one-line and deb822 formats alike
apt_uri() {
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
		/etc/apt/sources.list.d/*.sources 2>/dev/null |
		awk -v suf="$1" '
		$1 == "deb" || $1 == "URIs:" {
			for (i = 2; i <= NF; i++) {
				u = $i
				sub(/\/$/, "", u)
				if (u ~ /^(https?|file):\/\// && substr(u, length(u) - length(suf) + 1) == suf) {
					print u
					exit
				}
			}
		}'
}

# The private apt configuration for bullseye (5.10): its own source list,
# lists and cache under $CACHE/apt-bullseye; the machine's untouched.
BULLSEYE=$CACHE/apt-bullseye
bullseye_apt() {
	echo -o "Dir::Etc::sourcelist=$BULLSEYE/sources.list" -o Dir::Etc::sourceparts=- \
		-o "Dir::State::Lists=$BULLSEYE/lists" -o "Dir::Cache=$BULLSEYE/cache" \
		-o Dir::Etc::preferences=/dev/null -o Dir::Etc::preferencesparts=- \
		-o APT::Sandbox::User=root -o Acquire::Languages=none
}
bullseye_update() {
	local mirror sec
	mirror=${NFT_KERNEL_MIRROR:-$(apt_uri /debian)}
	mirror=${mirror:-http://deb.debian.org/debian}
	sec=$(apt_uri /debian-security)
	sec=${sec:-${mirror%/debian}/debian-security}
	mkdir -p "$BULLSEYE/lists/partial" "$BULLSEYE/cache/archives/partial"
	{
		echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror bullseye main"
		echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $sec bullseye-security main"
	} >"$BULLSEYE/sources.list"
	# shellcheck disable=SC2046
	apt-get $(bullseye_apt) -q update >"$BULLSEYE/update.log" 2>&1
}

# pick_pkg VER: the package for kernel VER; a cached .deb first (no registry)
pick_pkg() {
	local ver=$1 re p var
	var=NFT_KERNEL_PKG_${ver//./_}
	if [[ -n ${!var:-} ]]; then
		echo "${!var}"
		return
	fi
	re=$(pkg_regex "$ver") || return 1
	p=$(find "$CACHE" -maxdepth 1 -name 'linux-image-*.deb' -printf '%f\n' |
		sed 's/_.*//' | grep -E "$re" | sort -V | tail -n 1)
	if [[ -n $p ]]; then
		echo "$p"
		return
	fi
	if [[ $ver == 5.10 ]]; then
		# shellcheck disable=SC2046
		[[ -d $BULLSEYE/lists ]] && ls "$BULLSEYE"/lists/*Packages* >/dev/null 2>&1 ||
			bullseye_update || return 1
		# shellcheck disable=SC2046
		apt-cache $(bullseye_apt) pkgnames linux-image-5.10. 2>/dev/null |
			grep -E "$re" | sort -V | tail -n 1
		return
	fi
	if [[ $ver == 6.1 ]]; then
		# what Debian 12's metapackage points to
		p=$(apt-cache depends linux-image-amd64 2>/dev/null |
			awk -v re="$re" '$1 == "Depends:" && $2 ~ re { print $2; exit }')
		[[ -n $p ]] && { echo "$p"; return; }
	fi
	apt-cache pkgnames "linux-image-$ver." 2>/dev/null | grep -E "$re" | sort -V | tail -n 1
}

# fetch_pkg VER PKG: the package's .deb into the cache
fetch_pkg() {
	local ver=$1 pkg=$2 dl
	ls "$CACHE/${pkg}"_*.deb >/dev/null 2>&1 && return 0
	echo "test-kernels: fetching $pkg into $CACHE" >&2
	dl=$(mktemp -d "$CACHE/dl.XXXXXX")
	# shellcheck disable=SC2046
	if [[ $ver == 5.10 ]]; then
		(cd "$dl" && apt-get $(bullseye_apt) download -q "$pkg" >/dev/null 2>&1) ||
			{ bullseye_update && (cd "$dl" && apt-get $(bullseye_apt) download -q "$pkg" \
				>/dev/null 2>&1); }
	else
		(cd "$dl" && apt-get download -q "$pkg" >/dev/null 2>&1) ||
			{ apt-get update -qq >/dev/null 2>&1 &&
				(cd "$dl" && apt-get download -q "$pkg" >/dev/null 2>&1); }
	fi
	if ! ls "$dl/${pkg}"_*.deb >/dev/null 2>&1; then
		rm -rf -- "$dl"
		return 1
	fi
	mv "$dl/${pkg}"_*.deb "$CACHE/"
	rm -rf -- "$dl"
}

# The uncompressed vmlinux (ELF, booted through its PVH entry) of BZIMAGE
# into KPKG/vmlinux; fails when it cannot be found.
extract_vmlinux() {
	local magic off
	for magic in $'\xfd7zXZ' $'\x28\xb5\x2f\xfd' $'\x1f\x8b\x08'; do
		off=$(LC_ALL=C grep -obUa "$magic" "$BZIMAGE" 2>/dev/null | head -n 1 | cut -d: -f1)
		[[ -n $off ]] || continue
		case $magic in
		$'\xfd7zXZ') tail -c +$((off + 1)) "$BZIMAGE" | xz -dc --single-stream ;;
		$'\x28\xb5\x2f\xfd') tail -c +$((off + 1)) "$BZIMAGE" | zstd -dc 2>/dev/null ;;
		*) tail -c +$((off + 1)) "$BZIMAGE" | gzip -dc 2>/dev/null ;;
		esac >"$KPKG/vmlinux.tmp" 2>/dev/null
		if [[ $(head -c 4 "$KPKG/vmlinux.tmp" 2>/dev/null) == $'\x7fELF' ]]; then
			mv "$KPKG/vmlinux.tmp" "$KPKG/vmlinux"
			return 0
		fi
	done
	rm -f "$KPKG/vmlinux.tmp"
	return 1
}

# prepare_kernel VER: PKG, KPKG, KREL, KERNEL set, the package unpacked
prepare_kernel() {
	local ver=$1
	PKG=$(pick_pkg "$ver") || true
	if [[ -z $PKG ]]; then
		echo "test-kernels: no package for kernel $ver in the apt lists" >&2
		return 1
	fi
	fetch_pkg "$ver" "$PKG" || { echo "test-kernels: downloading $PKG failed" >&2; return 1; }
	KPKG=$KDIR/$PKG
	if [[ ! -e $KPKG/.unpacked ]]; then
		rm -rf "$KPKG"
		mkdir -p "$KPKG/root"
		dpkg-deb -x "$(ls "$CACHE/${PKG}"_*.deb | head -n 1)" "$KPKG/root" ||
			{ echo "test-kernels: dpkg-deb -x $PKG failed" >&2; return 1; }
		touch "$KPKG/.unpacked"
	fi
	KREL=$(find "$KPKG/root/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f\n' | head -n 1)
	BZIMAGE=$KPKG/root/boot/vmlinuz-$KREL
	if [[ -z $KREL || ! -f $BZIMAGE ]]; then
		echo "test-kernels: $PKG: no kernel image in the package" >&2
		return 1
	fi
	KERNEL=$KPKG/vmlinux
	if [[ ! -f $KERNEL ]] && ! extract_vmlinux; then
		echo "test-kernels: cannot extract vmlinux from $PKG, booting the bzImage" >&2
		KERNEL=$BZIMAGE
	fi
}

# lsm_arg VER: the lsm= word for the guest's command line (NFT_KERNEL_LSM)
lsm_arg() {
	local ver=$1 mode=default item list
	for item in ${LSM_MODES//,/ }; do
		[[ ${item%%=*} == "$ver" ]] && mode=${item#*=}
	done
	[[ $mode == default ]] && return 0
	list=$(sed -n 's/^CONFIG_LSM="\(.*\)"$/\1/p' "$KPKG/root/boot/config-$KREL" 2>/dev/null)
	list=${list:-lockdown,yama,apparmor}
	list=$(tr ',' '\n' <<<"$list" | grep -vx bpf | paste -sd, -)
	case $mode in
	bpf) echo "lsm=$list,bpf" ;;
	nobpf) echo "lsm=$list" ;;
	*) echo "test-kernels: NFT_KERNEL_LSM: '$mode' for $ver: bpf, nobpf or default" >&2
	   return 1 ;;
	esac
}

# --- the initramfs ---------------------------------------------------------------------
declare -A SEEN=()
ORDER=()
# add_module NAME: NAME after the modules it depends on (modinfo's depends=)
add_module() {
	local name=$1 f deps d
	[[ -n ${SEEN[$name]:-} ]] && return 0
	SEEN[$name]=1
	f=$(find "$MODDIR" \( -name "$name.ko" -o -name "$name.ko.xz" -o \
		-name "${name//_/-}.ko" -o -name "${name//_/-}.ko.xz" \) | head -n 1)
	if [[ -z $f ]]; then
		# built in (modules.builtin) is fine
		grep -qE "/(${name}|${name//_/-})\.ko\$" "$MODDIR/modules.builtin" 2>/dev/null && return 0
		echo "test-kernels: $PKG has no module $name" >&2
		return 1
	fi
	if [[ $f == *.xz ]]; then
		xz -dc "$f" >"$STAGE/lib/modules/$name.ko"
	else
		cp "$f" "$STAGE/lib/modules/$name.ko"
	fi
	deps=$(tr '\0' '\n' <"$STAGE/lib/modules/$name.ko" | sed -n 's/^depends=//p' | head -n 1)
	for d in ${deps//,/ }; do
		add_module "$d" || return 1
	done
	ORDER+=("$name")
}
# build_initrd: INITRD for KPKG/KREL
build_initrd() {
	local m
	STAGE=$(mktemp -d "$KDIR/stage.XXXXXX")
	mkdir -p "$STAGE/bin" "$STAGE/lib/modules"
	cp "$BUSYBOX" "$STAGE/bin/busybox"
	cp tests/kernels/init "$STAGE/init"
	chmod 755 "$STAGE/init"
	MODDIR=$KPKG/root/lib/modules/$KREL
	SEEN=()
	ORDER=()
	for m in $MODULES ${NFT_KERNEL_MODULES:-}; do
		add_module "$m" || return 1
	done
	printf '%s\n' "${ORDER[@]}" >"$STAGE/lib/modules/order"
	INITRD=$KPKG/initramfs.cpio.gz
	(cd "$STAGE" && find . | "$BUSYBOX" cpio -o -H newc 2>/dev/null | gzip -1 >"$INITRD.tmp")
	mv "$INITRD.tmp" "$INITRD"
	rm -rf -- "$STAGE"
	STAGE=
}

# --- the VMs ----------------------------------------------------------------------------
# qemu_args ACCEL: KERNEL, INITRD, OUT of the kernel at hand
qemu_args() {
	echo -machine pc -accel "$1" -cpu "$CPU" -smp "$CPUS" -m "$MEM" \
		-display none -monitor none -serial "file:$OUT/console.log" \
		-no-reboot -nic none -kernel "$KERNEL" -initrd "$INITRD" \
		-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
		-virtfs "local,path=$OUT,mount_tag=out,security_model=none"
}

# pick_accel: KVM only if it really boots a kernel here (a /dev/kvm without
# nested virtualisation may not): a boot that powers off at once.
pick_accel() {
	if [[ $ACCEL == auto ]]; then
		ACCEL=tcg
		if [[ -r /dev/kvm && -w /dev/kvm ]]; then
			# shellcheck disable=SC2046
			timeout -k 5 20 qemu-system-x86_64 $(qemu_args kvm) \
				-append "$CMDLINE nft.probe=1" >/dev/null 2>&1 </dev/null || true
			[[ $(cat "$OUT/probe" 2>/dev/null) == ok ]] && ACCEL=kvm
			rm -f "$OUT/probe" "$OUT/console.log"
		fi
	fi
	case $ACCEL in
	kvm) ;;
	tcg) ACCEL=tcg,thread=multi ;;
	tcg,*) ;;
	*) fail "NFT_KERNEL_ACCEL=$ACCEL: auto, kvm or tcg" ;;
	esac
}

TOTAL_P=0 TOTAL_F=0 TOTAL_S=0
RESULTS=()
# run_kernel VER: one guest; adds to the totals and RESULTS
run_kernel() {
	local ver=$1 lsm t_boot vm_secs qrc summary guest_secs grc p f s t_k suites item
	t_k=$(date +%s.%N)
	suites=$SUITES
	for item in ${EXTRA//,/ }; do
		[[ ${item%%=*} == "$ver" ]] && suites+=,${item#*=}
	done
	suites=${suites//+/,}
	OUT=$KDIR/out/$ver
	rm -rf "$OUT"
	mkdir -p "$OUT"
	if ! prepare_kernel "$ver" || ! build_initrd; then
		[[ -n $STAGE ]] && rm -rf -- "$STAGE"
		STAGE=
		TOTAL_F=$((TOTAL_F + 1))
		RESULTS+=("$ver - setup-failed - -")
		return
	fi
	lsm=$(lsm_arg "$ver") || fail "bad NFT_KERNEL_LSM"
	# no_timer_check: a loaded host makes the emulated timer look broken to 5.10
	CMDLINE="console=ttyS0 panic=-1 quiet mitigations=off no_timer_check nft.repo=$ROOT nft.out=$OUT"
	[[ -n $lsm ]] && CMDLINE+=" $lsm"
	# CI=true reaches the suites: a skip fails there as it does in make test
	[[ ${CI:-} == true ]] && CMDLINE+=" nft.ci=true"
	pick_accel

	echo "test-kernels: booting $PKG ($KREL) under qemu (${ACCEL%%,*}, $CPUS CPUs," \
		"$MEM MiB${lsm:+, $lsm}), suites ${suites//,/ }, timeout ${VM_TIMEOUT}s"
	t_boot=$(date +%s.%N)
	: >"$OUT/guest.log"
	# shellcheck disable=SC2046
	timeout -k 10 "$VM_TIMEOUT" qemu-system-x86_64 $(qemu_args "$ACCEL") \
		-append "$CMDLINE nft.suites=$suites" \
		>"$OUT/qemu.log" 2>&1 </dev/null &
	QEMU_PID=$!
	# the guest's lines as they come (the out share is written through)
	tail -n +1 -F --pid="$QEMU_PID" "$OUT/guest.log" 2>/dev/null |
		grep --line-buffered -E '^(PASS|FAIL|SKIP|== |-- |kernel |netfence check)' &
	TAIL_PID=$!
	qrc=0
	wait "$QEMU_PID" || qrc=$?
	QEMU_PID=
	wait "$TAIL_PID" 2>/dev/null || true
	TAIL_PID=
	vm_secs=$(elapsed "$t_boot")

	if [[ $qrc -eq 124 || $qrc -eq 137 ]]; then
		echo "test-kernels: $ver: the VM did not finish within ${VM_TIMEOUT}s" \
			"(NFT_KERNEL_TIMEOUT)" >&2
	elif [[ $qrc -ne 0 ]]; then
		echo "test-kernels: $ver: qemu exited $qrc: $(tail -n 5 "$OUT/qemu.log")" >&2
	fi
	[[ -s $OUT/init.err ]] && echo "test-kernels: $ver: guest init: $(cat "$OUT/init.err")" >&2
	summary=$(head -n 1 "$OUT/summary" 2>/dev/null || true)
	guest_secs=$(sed -n 's/^seconds //p' "$OUT/summary" 2>/dev/null || true)
	grc=$(cat "$OUT/guest.rc" 2>/dev/null || echo none)
	if [[ ! $summary =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped$ ]]; then
		echo "test-kernels: $ver: no result from the guest (guest.rc $grc); last console lines:" >&2
		tail -n 20 "$OUT/console.log" >&2 2>/dev/null || true
		TOTAL_F=$((TOTAL_F + 1))
		RESULTS+=("$ver $KREL no-result - $vm_secs")
		return
	fi
	p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]} s=${BASH_REMATCH[3]}
	[[ $grc == 0 || $f -ne 0 ]] || f=$((f + 1))
	grep -hE '^(FAIL|SKIP)' "$OUT"/test_*.log 2>/dev/null | sed "s/^/test-kernels: $ver: /" >&2 || true
	echo "test-kernels: $KREL: $p passed, $f failed, $s skipped; in-guest ${guest_secs:-?} s," \
		"VM ${vm_secs} s (boot and power-off included), with setup $(elapsed "$t_k") s;" \
		"logs in ${OUT#"$ROOT"/}"
	TOTAL_P=$((TOTAL_P + p)) TOTAL_F=$((TOTAL_F + f)) TOTAL_S=$((TOTAL_S + s))
	RESULTS+=("$ver $KREL $p/$f/$s ${guest_secs:-?} $vm_secs")
}

for v in ${KERNELS//,/ }; do
	pkg_regex "$v" >/dev/null || fail "KERNELS: unknown kernel '$v' (5.10, 6.1, 6.12)"
done
for v in ${KERNELS//,/ }; do
	run_kernel "$v"
done
# The feature x kernel table (docs/kernels.md): each guest's check, the host's
tables=()
for v in ${KERNELS//,/ }; do
	[[ -s $KDIR/out/$v/check.json ]] && tables+=("$KDIR/out/$v/check.json")
done
build/netfence -j check >"$KDIR/out/host-check.json" 2>/dev/null || true
[[ -s $KDIR/out/host-check.json ]] && tables+=("$KDIR/out/host-check.json")
if ((${#tables[@]})) && bash scripts/kernel-table.sh "${tables[@]}" >"$KDIR/out/table.md" 2>/dev/null; then
	echo "test-kernels: the feature x kernel table: ${KDIR#"$ROOT"/}/out/table.md"
fi
echo "test-kernels: kernel, release, passed/failed/skipped, in-guest s, VM s:"
for r in "${RESULTS[@]}"; do
	echo "test-kernels:   $r"
done
echo "test-kernels: total $(elapsed "$T0") s"
echo "$TOTAL_P passed, $TOTAL_F failed, $TOTAL_S skipped"
[[ $TOTAL_F -eq 0 ]]
