#!/usr/bin/env bash
# build/netfence-static (make static) where no shared library exists at all:
# a root file system of a static busybox, the binary, /etc/passwd, /etc/group,
# /etc/hosts and an /etc/nsswitch.conf naming only sources that do not exist
# (so any NSS module load would fail). In it, chrooted: --version, check, an
# attach whose --host-gateway is a name only /etc/hosts knows, a redirected
# connect made by busybox nc from a process in the agent cgroup and the
# agent netns, a refused one, a detach, and the same connect going direct.
# Runs on the host (make test) and in the kernel guests (make test-kernels).
set -u
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root_env

STATIC=$NFT_ROOT/build/netfence-static
if [[ ! -x $STATIC ]]; then
	t_fail "build/netfence-static exists" "run make static first"
	t_summary
	exit 1
fi
BB=
for b in /bin/busybox /usr/bin/busybox; do
	if [[ -x $b ]] && ! LC_ALL=C readelf -l "$b" 2>/dev/null | grep -q 'program interpreter'; then
		BB=$b
		break
	fi
done
if [[ -z $BB ]]; then
	t_fail "a static busybox" "apt-get install busybox-static (scripts/install-deps.sh kernels)"
	t_summary
	exit 1
fi

private_pins
R=$TDIR/root
mkdir -p "$R"/{bin,etc,proc,sys,dev,tmp,run}
chmod 1777 "$R/tmp"
cp "$BB" "$R/bin/busybox"
for a in sh nc cat echo ls; do
	ln -s busybox "$R/bin/$a"
done
cp "$STATIC" "$R/bin/netfence"

topo_up || exit 1
AGENT_CG=$(make_cgroup agent) || exit 1
PROXY_CG=$(make_cgroup proxy) || exit 1

cat >"$R/etc/passwd" <<EOF
root:x:0:0:root:/root:/bin/sh
proxy:x:13:13:proxy:/bin:/bin/sh
EOF
printf 'root:x:0:\nproxy:x:13:\n' >"$R/etc/group"
# the gateway by a name only this file knows
printf '127.0.0.1 localhost\n%s gw.static.test\n' "$GW_IP" >"$R/etc/hosts"
# sources that do not exist: a static glibc would try to dlopen them
printf 'hosts: nosuch\npasswd: nosuch\ngroup: nosuch\n' >"$R/etc/nsswitch.conf"

# the mounts netfence needs, removed at cleanup (lazily: a chrooted process
# may still be exiting)
on_cleanup "umount -R -l '$R/sys' 2>/dev/null; umount -l '$R/proc' '$R/dev' 2>/dev/null"
mount -t proc proc "$R/proc" &&
	mount --rbind /sys "$R/sys" && mount --make-rslave "$R/sys" &&
	mount --bind /dev "$R/dev" || {
	t_fail "mount /proc, /sys, /dev in the root" "mount failed"
	t_summary
	exit 1
}

libs=$(find "$R" -xdev \( -name '*.so' -o -name '*.so.*' \) -print | head -n 3)
assert_eq "the root has no shared library (no libbpf, libelf, zlib, libc)" "$libs" ""
assert_eq "the binary has no program interpreter (statically linked)" \
	"$(LC_ALL=C readelf -l "$STATIC" | grep -c 'program interpreter')" 0

# in_root CMD...: CMD chrooted, with the test's pin root
in_root() {
	chroot "$R" "$@"
}

out=$(in_root /bin/netfence --version 2>&1)
assert_match "--version names libbpf and says static" "$out" \
	'^netfence [0-9.]+ \(libbpf v[0-9.]+, built with libbpf [0-9.]+, static\)$'

# getpwnam through glibc's NSS: /etc/nsswitch.conf names no usable source,
# the static binary reads /etc/passwd anyway (the flag after --user fails)
out=$(in_root /bin/netfence run --user proxy --no-such-flag -- true 2>&1)
assert_match "run --user: a user of /etc/passwd is found without NSS modules" "$out" \
	"^Error: .*--no-such-flag"

# libidn2 (and libunistring) linked in, no locale or gconv files in the root:
# an internationalised name converts (the error is about the next item), an
# invalid one is refused by IDNA2008's tables
out=$(in_root /bin/netfence run --allow-domains $'b\xc3\xbccher.example,a..b' -- true 2>&1)
assert_match "an internationalised name converts in the static binary" "$out" \
	'^Error: --allow-domains .*invalid item "a\.\.b": empty label$'
out=$(in_root /bin/netfence run --allow-domains $'\xe2\x98\x83.example' -- true 2>&1)
assert_match "an invalid internationalised name is refused in the static binary" "$out" \
	'^Error: --allow-domains .*IDNA2008\): string contains a disallowed character$'

out=$(in_root /bin/netfence check --no-squid 2>&1)
rc=$?
assert_eq "check exits 0 in the root" "$rc" 0
# (a release such as 6.12.118+deb12-amd64 is no regular expression)
first=${out%%$'\n'*}
rest=${first#"netfence check: kernel $(uname -r), libbpf v"}
assert_match "check names the kernel and a static binary" "$rest" '^[0-9.]+, static binary$'
assert_match "check: netfence's programs load there" "$out" "present +netfence's programs load"
out=$(in_root /bin/netfence -j check --no-squid 2>/dev/null)
assert_eq "check --json: static is true" "$(json_field "$out" static)" true

bg_start proxy "$NFPROBE" -c "$PROXY_CG" -n "$HOST_NS" serve --name proxy --orig \
	--listen "$GW_IP:3129"
bg_start origin "$NFPROBE" -n "$HOST_NS" serve --name origin --listen "$ORIGIN1:80" \
	--listen "$ORIGIN1:5000" --listen "$GW_IP:8080"
for p in proxy origin; do
	wait_ready "$p" || { t_fail "start $p" "$(cat "$TDIR/$p.err")"; t_summary; exit 1; }
done

# agent_nc IP PORT: busybox nc in the root, from a process in the agent
# cgroup (joined before entering the netns) and the agent netns
agent_nc() {
	sh -c 'echo $$ >"$1/cgroup.procs" && exec nsenter --net="/run/netns/$2" \
		chroot "$3" /bin/nc -w 3 "$4" "$5" </dev/null' sh \
		"$AGENT_CG" "$AGENT_NS" "$R" "$1" "$2" 2>&1 | head -n 2
}

assert_eq "no policy: the origin answers busybox nc" "$(agent_nc "$ORIGIN1" 80)" "HELLO origin"

out=$(in_root /bin/netfence attach --cgroup "$AGENT_CG" --proxy "$GW_IP:3129" \
	--proxy-cgroup "$PROXY_CG" --enable-host-access --host-gateway gw.static.test \
	--allow-host-ports 8080 2>&1)
assert_eq "attach exits 0 in the root" "$?" 0
assert_match "attach reports the cgroup" "$out" "attached to $AGENT_CG"
assert_eq "the policy is pinned under the test's pin root" \
	"$(find "$NETFENCE_PIN_ROOT" -maxdepth 1 -name 'cg-*' | wc -l)" 1

assert_eq "attached: :80 is redirected to the proxy, which sees the original destination" \
	"$(agent_nc "$ORIGIN1" 80)" "ORIG $ORIGIN1:80"
assert_eq "attached: the gateway named in /etc/hosts is reached on its allowed port" \
	"$(agent_nc "$GW_IP" 8080)" "HELLO origin"
assert_match "attached: another port is refused at connect()" "$(agent_nc "$ORIGIN1" 5000)" \
	'Operation not permitted'

out=$(in_root /bin/netfence status 2>&1)
assert_match "status in the root lists the cgroup" "$out" "$AGENT_CG"

out=$(in_root /bin/netfence detach --cgroup "$AGENT_CG" 2>&1)
assert_eq "detach exits 0 in the root" "$?" 0
assert_eq "detach removed the pins" \
	"$(find "$NETFENCE_PIN_ROOT" -maxdepth 1 -name 'cg-*' 2>/dev/null | wc -l)" 0
assert_eq "detached: :80 goes direct again" "$(agent_nc "$ORIGIN1" 80)" "HELLO origin"

t_summary
