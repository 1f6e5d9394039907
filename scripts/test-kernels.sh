#!/usr/bin/env bash
# make test-kernels: the root BPF suites (tests/root/test_enforce.sh and
# test_check.sh) on a second kernel, Debian's 6.1, booted under qemu in one VM.
#
#  1. The newest linux-image-6.1.*-amd64 is fetched with `apt-get download`
#     into build/kernels/ and unpacked there with dpkg-deb -x (never installed
#     as this machine's kernel); its vmlinux is extracted once (booting it
#     directly skips the in-guest decompression). Both stay as a cache.
#  2. A busybox initramfs (tests/kernels/init, the 9p, virtio and veth
#     modules of that kernel) is built in build/kernels/ for each run.
#  3. qemu-system-x86_64 boots it with this machine's root file system shared
#     read-only over virtio-9p and build/kernels/out shared writable; the
#     guest runs tests/kernels/guest.sh and powers off. KVM is used when it
#     really boots a kernel here, else software emulation (TCG).
#  4. The guest's PASS/FAIL/SKIP lines, its run time, the total time, and the
#     last line "N passed, N failed, N skipped". Exit 0 when nothing failed.
#
# Knobs: NFT_KERNEL_PKG (a linux-image package name), NFT_KERNEL_SUITES
# (comma-separated, default test_enforce,test_check), NFT_KERNEL_TIMEOUT
# (seconds for the whole VM, default 1200), NFT_KERNEL_ACCEL (auto, kvm,
# tcg), NFT_KERNEL_CPU (qemu -cpu, default max), NFT_KERNEL_CPUS (2),
# NFT_KERNEL_MEM (MiB, 2048).
#
# Everything it starts (qemu, tail) is stopped and its staging directory
# removed on every exit path; build/kernels/out keeps the guest's logs.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
KDIR=$ROOT/build/kernels
OUT=$KDIR/out
SUITES=${NFT_KERNEL_SUITES:-test_enforce,test_check}
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
	bash scripts/install-deps.sh || fail "installing the dependencies failed"
	have_tools || fail "qemu-system-x86_64, xz, dpkg-deb or a static busybox is missing" \
		"(apt-get install qemu-system-x86 busybox-static xz-utils)"
fi
BUSYBOX=$(busybox_static)
[[ -x build/netfence && -x build/tools/nfprobe ]] || fail "build first (make)"
# the paths travel on the kernel command line
[[ $ROOT =~ ^/[A-Za-z0-9._/+-]+$ ]] || fail "the repository path '$ROOT' has characters" \
	"the kernel command line cannot carry"

# --- the kernel -------------------------------------------------------------------------
mkdir -p "$KDIR"
pick_kernel() {
	local p
	if [[ -n ${NFT_KERNEL_PKG:-} ]]; then
		echo "$NFT_KERNEL_PKG"
		return
	fi
	# a cached one first: no registry needed
	p=$(find "$KDIR" -maxdepth 1 -type d -name 'linux-image-6.1.*-amd64' -printf '%f\n' |
		sort -V | tail -n 1)
	if [[ -n $p && -e $KDIR/$p/.unpacked ]]; then
		echo "$p"
		return
	fi
	# what Debian 12's metapackage points to, else the newest 6.1 name
	p=$(apt-cache depends linux-image-amd64 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-6\.1\.[0-9.-]+-amd64$/ { print $2; exit }')
	[[ -z $p ]] && p=$(apt-cache pkgnames linux-image-6.1. 2>/dev/null |
		grep -E '^linux-image-6\.1\.[0-9.-]+-amd64$' | sort -V | tail -n 1)
	echo "$p"
}
PKG=$(pick_kernel)
if [[ -z $PKG ]]; then
	apt-get update -qq >/dev/null 2>&1 || true
	PKG=$(pick_kernel)
fi
[[ -n $PKG ]] || fail "no linux-image-6.1.*-amd64 package in the apt lists"
KPKG=$KDIR/$PKG
if [[ ! -e $KPKG/.unpacked ]]; then
	echo "test-kernels: fetching $PKG" >&2
	rm -rf "$KPKG" "$KDIR/dl"
	mkdir -p "$KDIR/dl"
	# apt's _apt user cannot write into build/: download as root, quietly
	(cd "$KDIR/dl" && apt-get download -q "$PKG" >/dev/null 2>&1) ||
		fail "apt-get download $PKG failed"
	mkdir -p "$KPKG/root"
	dpkg-deb -x "$KDIR"/dl/"$PKG"_*.deb "$KPKG/root" || fail "dpkg-deb -x failed"
	rm -rf "$KDIR/dl"
	touch "$KPKG/.unpacked"
fi
KREL=$(find "$KPKG/root/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f\n' | head -n 1)
BZIMAGE=$KPKG/root/boot/vmlinuz-$KREL
[[ -n $KREL && -f $BZIMAGE ]] || fail "$PKG: no kernel image in the package"

# The uncompressed vmlinux (ELF, booted through its PVH entry): saves the
# in-guest decompression, slow under TCG. Falls back to the bzImage.
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
KERNEL=$KPKG/vmlinux
if [[ ! -f $KERNEL ]] && ! extract_vmlinux; then
	echo "test-kernels: cannot extract vmlinux, booting the bzImage" >&2
	KERNEL=$BZIMAGE
fi

# --- the initramfs ---------------------------------------------------------------------
STAGE=$(mktemp -d "$KDIR/stage.XXXXXX")
mkdir -p "$STAGE/bin" "$STAGE/lib/modules"
cp "$BUSYBOX" "$STAGE/bin/busybox"
cp tests/kernels/init "$STAGE/init"
chmod 755 "$STAGE/init"
MODDIR=$KPKG/root/lib/modules/$KREL
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
		fail "$PKG has no module $name"
	fi
	if [[ $f == *.xz ]]; then
		xz -dc "$f" >"$STAGE/lib/modules/$name.ko"
	else
		cp "$f" "$STAGE/lib/modules/$name.ko"
	fi
	deps=$(tr '\0' '\n' <"$STAGE/lib/modules/$name.ko" | sed -n 's/^depends=//p' | head -n 1)
	for d in ${deps//,/ }; do
		add_module "$d"
	done
	ORDER+=("$name")
}
for m in $MODULES ${NFT_KERNEL_MODULES:-}; do
	add_module "$m"
done
printf '%s\n' "${ORDER[@]}" >"$STAGE/lib/modules/order"
INITRD=$KDIR/initramfs.cpio.gz
(cd "$STAGE" && find . | "$BUSYBOX" cpio -o -H newc 2>/dev/null | gzip -1 >"$INITRD.tmp")
mv "$INITRD.tmp" "$INITRD"
rm -rf -- "$STAGE"
STAGE=

# --- the VM ------------------------------------------------------------------------------
rm -rf "$OUT"
mkdir -p "$OUT"
CMDLINE="console=ttyS0 panic=-1 quiet mitigations=off nft.repo=$ROOT nft.out=$OUT"
# CI=true reaches the suites: a skip fails there as it does in make test
[[ ${CI:-} == true ]] && CMDLINE+=" nft.ci=true"
qemu_args() {	# qemu_args ACCEL
	echo -machine pc -accel "$1" -cpu "$CPU" -smp "$CPUS" -m "$MEM" \
		-display none -monitor none -serial "file:$OUT/console.log" \
		-no-reboot -nic none -kernel "$KERNEL" -initrd "$INITRD" \
		-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
		-virtfs "local,path=$OUT,mount_tag=out,security_model=none"
}

# KVM only if it really boots a kernel here (a /dev/kvm without nested
# virtualisation may not): a boot that powers off at once.
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
*) fail "NFT_KERNEL_ACCEL=$ACCEL: auto, kvm or tcg" ;;
esac

echo "test-kernels: booting $PKG ($KREL) under qemu (${ACCEL%%,*}, $CPUS CPUs," \
	"$MEM MiB), suites ${SUITES//,/ }, timeout ${VM_TIMEOUT}s"
T_BOOT=$(date +%s.%N)
: >"$OUT/guest.log"
# shellcheck disable=SC2046
timeout -k 10 "$VM_TIMEOUT" qemu-system-x86_64 $(qemu_args "$ACCEL") \
	-append "$CMDLINE nft.suites=$SUITES" \
	>"$OUT/qemu.log" 2>&1 </dev/null &
QEMU_PID=$!
# the guest's lines as they come (the out share is written through)
tail -n +1 -F --pid="$QEMU_PID" "$OUT/guest.log" 2>/dev/null | grep --line-buffered -E '^(PASS|FAIL|SKIP|== |-- |kernel |netfence check)' &
TAIL_PID=$!
QRC=0
wait "$QEMU_PID" || QRC=$?
QEMU_PID=
wait "$TAIL_PID" 2>/dev/null || true
TAIL_PID=
VM_SECS=$(elapsed "$T_BOOT")

# --- results --------------------------------------------------------------------------------
if [[ $QRC -eq 124 || $QRC -eq 137 ]]; then
	echo "test-kernels: the VM did not finish within ${VM_TIMEOUT}s (NFT_KERNEL_TIMEOUT)" >&2
elif [[ $QRC -ne 0 ]]; then
	echo "test-kernels: qemu exited $QRC: $(tail -n 5 "$OUT/qemu.log")" >&2
fi
[[ -s $OUT/init.err ]] && echo "test-kernels: guest init: $(cat "$OUT/init.err")" >&2
summary=$(head -n 1 "$OUT/summary" 2>/dev/null || true)
guest_secs=$(sed -n 's/^seconds //p' "$OUT/summary" 2>/dev/null || true)
grc=$(cat "$OUT/guest.rc" 2>/dev/null || echo none)
if [[ ! $summary =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped$ ]]; then
	echo "test-kernels: no result from the guest (guest.rc $grc); last console lines:" >&2
	tail -n 20 "$OUT/console.log" >&2 2>/dev/null || true
	fail "see $OUT (console.log, guest.log)"
fi
p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]} s=${BASH_REMATCH[3]}
[[ $grc == 0 || $f -ne 0 ]] || f=$((f + 1))
grep -hE '^(FAIL|SKIP)' "$OUT"/test_*.log 2>/dev/null | sed 's/^/test-kernels: /' >&2 || true
echo "test-kernels: $KREL: in-guest ${guest_secs:-?} s, VM ${VM_SECS} s (boot and power-off" \
	"included), total $(elapsed "$T0") s; logs in ${OUT#"$ROOT"/}"
echo "$p passed, $f failed, $s skipped"
[[ $f -eq 0 ]]
