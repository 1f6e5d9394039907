#!/usr/bin/env bash
# Every way around the policy we know of, tried from a process in the
# agent's cgroup (tools/nfattack) in the container picture (agent netns +
# host netns over veth), and judged at the application layer: a server's
# reply and its log of arrivals say whether bytes got there; a reply
# "ORIG ..." from the proxy stand-in says they went through the proxy.
#
# Each attack first runs with no policy and must reach its server: that is
# what makes the assertion under the policy able to fail. What the kernel
# does not let netfence stop under `attach` is asserted as it is, named
# "kernel limit, documented" (docs/kernel-limits.md), and then shown closed
# under `netfence run`.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root_env
NFATTACK=${NFATTACK:-$NFT_ROOT/build/tools/nfattack}

private_pins

need_tools "run 'make all'" "$NFATTACK"

# sysctls are set in the agent's namespace only: the root one is compared at the end
ROOT_SYSCTLS="net/ipv4/tcp_fastopen net/ipv4/ping_group_range net/ipv4/ip_forward"
root_sysctls() {
	local k
	for k in $ROOT_SYSCTLS; do
		printf '%s=%s ' "$k" "$(tr '\t' ' ' <"/proc/sys/$k")"
	done
}
ROOT_SYSCTLS_BEFORE=$(root_sysctls)

topo_up || exit 1
AGENT_CG=$(make_cgroup agent) || exit 1
AGENT2_CG=$(make_cgroup agent2) || exit 1
SUB_CG=$(make_cgroup agent/sub) || exit 1
PROXY_CG=$(make_cgroup proxy) || exit 1

# More of the container picture: host.docker.internal on its own address,
# the cloud metadata address, IPv6 on the veth (so a native IPv6 attack has
# somewhere to go), and what the attacks need in the agent's namespace only.
HDI_IP=10.200.$TOPO_K.254
BCAST_IP=10.200.$TOPO_K.255
V6_AGENT=fd00:200:$TOPO_K::2
V6_HOST=fd00:200:$TOPO_K::1
METADATA=169.254.169.254
if ! { ip -n "$HOST_NS" addr add "$HDI_IP/24" dev nfh0 &&
	ip -n "$HOST_NS" addr add "$METADATA/32" dev lo &&
	ip -n "$AGENT_NS" addr add "$V6_AGENT/64" dev nfa0 nodad &&
	ip -n "$HOST_NS" addr add "$V6_HOST/64" dev nfh0 nodad &&
	ip netns exec "$AGENT_NS" sysctl -qw net.ipv4.tcp_fastopen=5 \
		net.ipv4.ping_group_range="0 2147483647"; }; then
	t_fail "topology extras" "addresses or agent sysctls could not be set"
	t_summary
	exit 1
fi
# What an agent with CAP_NET_ADMIN can do in its own namespace (done here by
# the test, as netfence does not govern routing): send 127.1.0.0/16 out of
# its interface. The host side accepts it, as hosts with route_localnet do
# (kube-proxy sets it). 127.0.0.1 stays the agent's own.
LOCALNET_IP=127.1.2.3
if ! { ip netns exec "$HOST_NS" sysctl -qw net.ipv4.conf.all.route_localnet=1 \
		net.ipv4.conf.nfh0.route_localnet=1 &&
	ip netns exec "$AGENT_NS" sysctl -qw net.ipv4.conf.all.route_localnet=1 \
		net.ipv4.conf.nfa0.route_localnet=1 &&
	ip -n "$AGENT_NS" route del local 127.0.0.0/8 dev lo table local &&
	ip -n "$AGENT_NS" route add 127.1.0.0/16 via "$GW_IP" dev nfa0 src "$AGENT_IP"; }; then
	t_fail "topology extras" "loopback routing could not be set up"
	t_summary
	exit 1
fi
HOST_MAC=$(ip -n "$HOST_NS" -br link show nfh0 | awk '{ print $3 }')
printf '127.0.0.1 localhost\n%s host.docker.internal\n' "$HDI_IP" >"$TDIR/hosts"

DANGER="22 23 25 110 143 445 1433 1521 3306 3389 5432 5984 6379 6984 8086 8088 9200 9300 27017 27018 28017"

# The host side. The intercept stand-ins are nfprobe's (SO_ORIGINAL_DST,
# Squid 5.7's stop-after-one-failed-lookup); everything else is an nfattack
# server that logs every arrival ("tcp|udp PEER -> LOCAL") before replying.
origin_args=()
for p in 80 443 5000 6000 6001 $DANGER; do
	origin_args+=(--listen "$ORIGIN1:$p")
done
origin_args+=(--listen "$ORIGIN2:53" --udp "$ORIGIN2:53" --udp "$ORIGIN2:5353"
	--udp "$ORIGIN1:443" --listen "$METADATA:80" --udp "$METADATA:53"
	--listen "[$V6_HOST]:80" --udp "[$V6_HOST]:5353" --listen "$LOCALNET_IP:6000")
bg_start proxy "$NFPROBE" -c "$PROXY_CG" -n "$HOST_NS" serve --name proxy --orig \
	--strict --listen "$GW_IP:3129"
bg_start proxytls "$NFPROBE" -c "$PROXY_CG" -n "$HOST_NS" serve --name proxytls --orig \
	--strict --listen "$GW_IP:3130"
bg_start fwd "$NFATTACK" -n "$HOST_NS" serve --name fwd --listen "$GW_IP:3128"
bg_start mcp "$NFATTACK" -n "$HOST_NS" serve --name mcp --listen "$GW_IP:8080" \
	--listen "$GW_IP:9090" --listen "$HDI_IP:8080" --listen "$HDI_IP:9090"
bg_start dns "$NFATTACK" -n "$HOST_NS" serve --name dns --udp "$GW_IP:53" \
	--listen "$GW_IP:53"
bg_start origin "$NFATTACK" -n "$HOST_NS" serve --name origin "${origin_args[@]}"
bg_start bcast "$NFATTACK" -n "$HOST_NS" serve --name bcast --udp 0.0.0.0:5353 \
	--group 224.0.0.251 --dev nfh0
bg_start hostunix "$NFATTACK" serve --name hostunix --unix "$TDIR/host.sock"
bg_start agentlo "$NFATTACK" -n "$AGENT_NS" serve --name agentlo --listen 127.0.0.1:7000
for p in proxy proxytls fwd mcp dns origin bcast hostunix agentlo; do
	wait_ready "$p" || { t_fail "start $p" "$(cat "$TDIR/$p.err")"; t_summary; exit 1; }
done

# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

# atk ARGS...: nfattack from a process in the agent cgroup, in the agent netns
# (ATK: the same as a command line, for env and with_hosts)
ATK=("$NFATTACK" -c "$AGENT_CG" -n "$AGENT_NS")
atk() {
	"${ATK[@]}" "$@"
}
NOPROXY=(env -u http_proxy -u HTTP_PROXY -u https_proxy -u HTTPS_PROXY -u all_proxy -u ALL_PROXY)

# with_hosts CMD...: CMD in a private mount namespace whose /etc/hosts is
# $TDIR/hosts (host.docker.internal -> HDI_IP); nothing leaks out of it.
with_hosts() {
	unshare -m --propagation private sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' \
		"$TDIR/hosts" "$@"
}

# arrivals SERVER: connections and datagrams SERVER's log shows so far
arrivals() {
	local n
	n=$(grep -cE '^(tcp|udp|unix|conn) ' "$TDIR/$1.err" 2>/dev/null) || n=0
	echo "$n"
}

# expect NAME CHECK... -- CMD...: CMD prints one JSON line that meets every
# CHECK:  key=VALUE (field equals), key~REGEX (field matches),
#         @SERVER+N (SERVER's log grew by exactly N arrivals during CMD).
expect() {
	local name=$1 c k op v got out why='' srv n
	local -A before=()
	local checks=()
	shift
	while (($#)) && [[ $1 != -- ]]; do
		checks+=("$1")
		shift
	done
	shift
	for c in "${checks[@]}"; do
		if [[ $c == @* ]]; then
			srv=${c#@}
			srv=${srv%%+*}
			before[$srv]=$(arrivals "$srv")
		fi
	done
	out=$("$@" 2>"$TDIR/expect.err")
	printf '%s\n' "$out" >>"$TDIR/outputs.log"
	for c in "${checks[@]}"; do
		if [[ $c == @* ]]; then
			srv=${c#@}
			n=${srv#*+}
			srv=${srv%%+*}
			got=$(($(arrivals "$srv") - ${before[$srv]}))
			((got == n)) || why+="$srv: $got arrivals, want $n; "
			continue
		fi
		[[ $c =~ ^([a-z0-9_]+)([=~])(.*)$ ]] || { why+="bad check '$c'; "; continue; }
		k=${BASH_REMATCH[1]} op=${BASH_REMATCH[2]} v=${BASH_REMATCH[3]}
		got=$(json_field "$out" "$k") || got='<absent>'
		if [[ $op == = ]]; then
			[[ $got == "$v" ]] || why+="$k='$got', want '$v'; "
		else
			[[ $got =~ $v ]] || why+="$k='$got', want /$v/; "
		fi
	done
	if [[ -z $why ]]; then
		t_pass "$name"
		return 0
	fi
	t_fail "$name" "$why output: $out $(head -c 300 "$TDIR/expect.err")"
	return 1
}

# denied NAME [SERVER] -- CMD...: refused with EPERM, nothing arrived at
# SERVER (default: origin)
denied() {
	local name=$1 srv=origin
	shift
	if [[ $1 != -- ]]; then
		srv=$1
		shift
	fi
	expect "$name" reached=false error=EPERM "@$srv+0" "$@"
}

# reaches NAME REPLY [SERVER] -- CMD...: the reply line is REPLY and (with
# SERVER) SERVER saw exactly one arrival
reaches() {
	local name=$1 want=$2 chk=()
	shift 2
	if [[ $1 != -- ]]; then
		chk=("@$1+1")
		shift
	fi
	expect "$name" reached=true "reply=$want" "${chk[@]}" "$@"
}

# proxied NAME ORIG -- CMD...: went to the intercept proxy with ORIG as its
# original destination, and nothing reached the origin directly
proxied() {
	local name=$1 want=$2
	shift 2
	expect "$name" reached=true "reply=ORIG $want" @origin+0 "$@"
}

attach() {
	with_hosts "$NETFENCE" attach --cgroup "$AGENT_CG" --proxy "$GW_IP:3129" \
		--tls-proxy "$GW_IP:3130" --forward-proxy "$GW_IP:3128" \
		--proxy-cgroup "$PROXY_CG" --enable-host-access \
		--host-gateway "$GW_IP,host.docker.internal" --allow-host-ports 8080 \
		--dns-servers "$GW_IP"
}

# nfrun [RUN FLAGS] -- CMD...: netfence run with the stand-in proxy, bounded
# in time. run itself is started in the agent netns and its command inherits
# it: the command cannot setns() (run drops CAP_SYS_ADMIN; asserted below).
nfrun() {
	timeout -k 5 30 "$NFATTACK" -n "$AGENT_NS" exec "$NETFENCE" run \
		--proxy "$GW_IP:3129" --tls-proxy "$GW_IP:3130" \
		--forward-proxy "$GW_IP:3128" --proxy-cgroup "$PROXY_CG" \
		--loopback allow --dns-servers "$GW_IP" --enable-host-access \
		--host-gateway "$GW_IP" --allow-host-ports 8080 "$@" 2>>"$TDIR/run.err"
}

# --------------------------------------------------------------------------
# No policy: every attack reaches its server (so each check below can fail)
# --------------------------------------------------------------------------

reaches "baseline: plain HTTP to :5000" "HELLO origin" origin -- \
	"${NOPROXY[@]}" "${ATK[@]}" http "$ORIGIN1" 5000
reaches "baseline: raw IP on :80 reaches the origin" "HELLO origin" origin -- \
	atk tcp "$ORIGIN1" 80
reaches "baseline: :22 direct" "HELLO origin" origin -- atk tcp "$ORIGIN1" 22
reaches "baseline: v4-mapped TCP" "HELLO origin" origin -- atk tcp --v6 "$ORIGIN1" 5000
reaches "baseline: v4-mapped UDP" "HELLO origin" origin -- atk udp --v6 "$ORIGIN2" 5353
reaches "baseline: IPv6 literal TCP" "HELLO origin" origin -- atk tcp "$V6_HOST" 80
reaches "baseline: IPv6 literal UDP" "HELLO origin" origin -- atk udp "$V6_HOST" 5353
reaches "baseline: TFO sendto(MSG_FASTOPEN)" "HELLO origin" origin -- atk tfo "$ORIGIN1" 5000
reaches "baseline: TCP_FASTOPEN_CONNECT" "HELLO origin" origin -- \
	atk tfo-connect "$ORIGIN1" 5000
reaches "baseline: io_uring connect" "HELLO origin" origin -- atk uring "$ORIGIN1" 5000
reaches "baseline: io_uring sendmsg" "HELLO origin" origin -- atk uring --udp "$ORIGIN2" 5353
for how in sendto sendmsg connect; do
	reaches "baseline: UDP $how" "HELLO origin" origin -- \
		atk udp --via "$how" "$ORIGIN2" 5353
done
expect "baseline: UDP sendmmsg, both datagrams" reached=true sent=2 \
	"replies=HELLO origin; HELLO origin" @origin+2 -- \
	atk udp --via sendmmsg "$ORIGIN2" 5353
reaches "baseline: QUIC-style UDP 443" "HELLO origin" origin -- atk udp "$ORIGIN1" 443
reaches "baseline: DNS to another resolver (UDP)" "HELLO origin" origin -- atk dns "$ORIGIN2"
reaches "baseline: DNS to another resolver (TCP)" "HELLO origin" origin -- \
	atk dns --tcp "$ORIGIN2"
reaches "baseline: ICMP ping socket (ping_group_range allows it)" \
	"ICMP echo reply from $ORIGIN1" -- atk ping "$ORIGIN1"
reaches "baseline: raw ICMP socket" "ICMP echo reply from $ORIGIN1" -- atk raw-icmp "$ORIGIN1"
reaches "baseline: raw IP_HDRINCL UDP" "HELLO origin" origin -- \
	atk raw-udp "$AGENT_IP" "$ORIGIN2" 5353
reaches "baseline: AF_PACKET frame" "HELLO origin" origin -- \
	atk packet nfa0 "$HOST_MAC" "$ORIGIN2" 5353
reaches "baseline: metadata address" "HELLO origin" origin -- atk tcp "$METADATA" 80
reaches "baseline: multicast 224.0.0.251:5353" "HELLO bcast" bcast -- \
	atk udp 224.0.0.251 5353
reaches "baseline: broadcast 255.255.255.255" "HELLO bcast" bcast -- \
	atk udp --broadcast 255.255.255.255 5353
reaches "baseline: subnet broadcast $BCAST_IP" "HELLO bcast" bcast -- \
	atk udp --broadcast "$BCAST_IP" 5353
reaches "baseline: gateway on a port not allowed" "HELLO mcp" mcp -- atk tcp "$GW_IP" 9090
reaches "baseline: loopback routed off-box reaches the host" "HELLO origin" origin -- \
	atk tcp "$LOCALNET_IP" 6000
n=0
for p in $DANGER; do
	out=$(atk tcp "$ORIGIN1" "$p")
	[[ $(json_field "$out" reply) == "HELLO origin" ]] && n=$((n + 1))
done
assert_eq "baseline: all 21 dangerous ports reachable" "$n" 21
# MPTCP where the kernel has it (Debian's 5.10 is built without: no such
# socket can be made there, policy or not)
MPTCP="inet stream mptcp"
if [[ ! -d /proc/sys/net/mptcp ]]; then
	expect "baseline: no MPTCP in this kernel, no such socket" stage=socket \
		error=EPROTONOSUPPORT -- atk socket inet stream mptcp
	MPTCP=
fi
for k in ${MPTCP:+"$MPTCP"} "inet dgram udplite" "inet6 dgram icmpv6" "inet6 raw udp" \
	"packet dgram 0"; do
	# shellcheck disable=SC2086 # FAMILY TYPE PROTO
	expect "baseline: socket $k can be made" created=true -- atk socket $k
done

# Connections made before the policy exists, held open across the attach.
bg_start holdtcp atk hold --go "$TDIR/go" --ready "$TDIR/held.tcp" "$ORIGIN1" 6001
bg_start holdudp atk hold --udp --repeat 300 --go "$TDIR/go" --ready "$TDIR/held.udp" \
	"$ORIGIN2" 5353
for _ in $(seq 1 100); do
	[[ -e $TDIR/held.tcp && -e $TDIR/held.udp ]] && break
	sleep 0.05
done
assert_eq "baseline: two connections open before the policy" \
	"$(find "$TDIR" -maxdepth 1 -name 'held.*' | wc -l)" 2

# --------------------------------------------------------------------------
# attach (host.docker.internal from a hosts file, through a private mount)
# --------------------------------------------------------------------------

out=$(attach 2>&1)
assert_eq "attach exits 0" "$?" 0
st=$("$NETFENCE" -j status --cgroup "$AGENT_CG")
assert_match "attach: host.docker.internal resolved from the hosts file" "$st" \
	"\"$HDI_IP:8080\""
assert_match "attach: the gateway IP too" "$st" "\"$GW_IP:8080\""

# --- connections older than the policy ---------------------------------------
# packet_drop: the egress filter's counter
drops() {
	json_field "$("$NETFENCE" -j status --cgroup "$AGENT_CG")" packet_drop
}
d0=$(drops)
n0=$(arrivals origin)
touch "$TDIR/go"
bg_wait holdtcp 10
bg_wait holdudp 10
expect "TCP connection open before attach: later bytes dropped by the egress filter" \
	before="ECHO one" reached=false error=timeout -- cat "$TDIR/holdtcp.out"
assert_eq "TCP connection open before attach: the origin never saw them" \
	"$(grep -c 'echo two' "$TDIR/origin.err")" 0
# connect4 and sendmsg4 do not run for a send on a connected socket: the
# EPERM is the egress filter's drop, reported to the sender
expect "UDP socket connected before attach: later datagrams dropped by the egress filter" \
	before="HELLO origin" reached=false stage=send error=EPERM -- cat "$TDIR/holdudp.out"
assert_eq "UDP socket connected before attach: the origin never saw them" \
	"$(arrivals origin)" "$n0"
d1=$(drops)
assert_eq "the egress filter counted the drops" "$((d1 > d0))" 1
# Every drop is a refusal with an event, rate-limited (NF_DROP_EVENTS_PER_SEC
# per CPU and ~1 s window): 300 datagrams sent at once give at most 16 per CPU
# per window (the burst may straddle two), the rest are counted as suppressed.
ev=$("$NETFENCE" events --cgroup "$AGENT_CG" --count 2000 --timeout 2)
n_tcp=$(grep -c "refused packet tcp $ORIGIN1:6001 (packet_drop)" <<<"$ev")
n_udp=$(grep -c "refused packet udp $ORIGIN2:5353 (packet_drop)" <<<"$ev")
assert_eq "the dropped TCP bytes have an event (refused, packet_drop, the destination)" \
	"$((n_tcp >= 1))" 1
sup=$(json_field "$("$NETFENCE" -j status --cgroup "$AGENT_CG")" events_suppressed)
if ((n_udp >= 1 && n_udp + n_tcp <= 16 * $(nproc) * 2 && sup >= 300 - n_udp - 32 * $(nproc))); then
	t_pass "300 dropped datagrams: $n_udp events, $sup suppressed and counted"
else
	t_fail "300 dropped datagrams: events rate-limited, the rest counted" \
		"events tcp=$n_tcp udp=$n_udp, events_suppressed=$sup"
fi

# --- issue rows: HTTP, raw IP, CONNECT through the forward proxy ------------
denied "plain HTTP to :5000 with no proxy variables is refused" -- \
	"${NOPROXY[@]}" "${ATK[@]}" http "$ORIGIN1" 5000
proxied "raw IP on :80 goes to the proxy, not the origin" "$ORIGIN1:80" -- \
	atk tcp "$ORIGIN1" 80
proxied "raw IP on :443 goes to the TLS proxy, not the origin" "$ORIGIN1:443" -- \
	atk tcp "$ORIGIN1" 443
expect "CONNECT :22 through the forward-proxy port reaches the forward proxy only" \
	reached=true "reply=HELLO fwd" @fwd+1 @origin+0 -- \
	atk http-connect "$GW_IP" 3128 "$ORIGIN1:22"
denied "direct connect to :22 is refused" -- atk tcp "$ORIGIN1" 22

# --- IPv6 ---------------------------------------------------------------------
denied "v4-mapped TCP to :5000 is refused" -- atk tcp --v6 "$ORIGIN1" 5000
proxied "v4-mapped TCP to :80 goes to the proxy" "$ORIGIN1:80" -- atk tcp --v6 "$ORIGIN1" 80
denied "v4-mapped UDP sendto is refused" -- atk udp --v6 "$ORIGIN2" 5353
denied "v4-mapped UDP connect is refused" -- atk udp --v6 --via connect "$ORIGIN2" 5353
denied "v4-mapped UDP sendmsg is refused" -- atk udp --v6 --via sendmsg "$ORIGIN2" 5353
denied "IPv6 literal TCP is refused" -- atk tcp "$V6_HOST" 80
denied "IPv6 literal UDP is refused" -- atk udp "$V6_HOST" 5353
denied "IPv6 literal UDP connect is refused" -- atk udp --via connect "$V6_HOST" 5353
denied "IPv4-compatible ::a.b.c.d is refused" -- atk tcp "::$ORIGIN1" 80
denied "NAT64 64:ff9b::a.b.c.d is refused" -- atk tcp "64:ff9b::$ORIGIN1" 80

# --- TCP Fast Open, io_uring -------------------------------------------------------
denied "TFO sendto(MSG_FASTOPEN) to :5000 is refused" -- atk tfo "$ORIGIN1" 5000
proxied "TFO sendto(MSG_FASTOPEN) to :80 goes to the proxy" "$ORIGIN1:80" -- \
	atk tfo "$ORIGIN1" 80
denied "TCP_FASTOPEN_CONNECT to :5000 is refused" -- atk tfo-connect "$ORIGIN1" 5000
proxied "TCP_FASTOPEN_CONNECT to :80 goes to the proxy" "$ORIGIN1:80" -- \
	atk tfo-connect "$ORIGIN1" 80
denied "TFO straight to the intercept port is refused" proxy -- atk tfo "$GW_IP" 3129
denied "io_uring connect to :5000 is refused" -- atk uring "$ORIGIN1" 5000
denied "io_uring connect from an io-wq worker (IOSQE_ASYNC) is refused" -- \
	atk uring --async "$ORIGIN1" 5000
denied "io_uring IORING_OP_SOCKET + connect is refused" -- \
	atk uring --uring-socket --async "$ORIGIN1" 5000
proxied "io_uring connect to :80 goes to the proxy" "$ORIGIN1:80" -- atk uring "$ORIGIN1" 80
denied "io_uring UDP sendmsg is refused" -- atk uring --udp "$ORIGIN2" 5353
denied "io_uring UDP sendmsg from an io-wq worker is refused" -- \
	atk uring --udp --async --uring-socket "$ORIGIN2" 5353

# --- UDP ------------------------------------------------------------------------------
for how in sendto sendmsg sendmmsg connect; do
	denied "unconnected UDP $how is refused" -- atk udp --via "$how" "$ORIGIN2" 5353
done
expect "sendmmsg: a refused datagram after an allowed one does not leave" \
	reached=true "replies=HELLO dns" sent=1 @dns+1 @origin+0 -- \
	atk udp --via sendmmsg --mix "$GW_IP:53" "$ORIGIN2" 5353
denied "UDP connected to the resolver, then sendto elsewhere, is refused" -- \
	atk udp --connect-first "$GW_IP:53" "$ORIGIN2" 5353
denied "UDP from source port 53 is refused" -- atk udp --bind "$AGENT_IP:53" "$ORIGIN2" 5353
denied "QUIC-style UDP 443 is refused" -- atk udp "$ORIGIN1" 443
denied "UDP to the metadata address port 53 is refused" -- atk udp "$METADATA" 53

# --- DNS ---------------------------------------------------------------------------------
denied "DNS to a resolver not allowed (UDP) is refused" -- atk dns "$ORIGIN2"
denied "DNS to a resolver not allowed (TCP) is refused" -- atk dns --tcp "$ORIGIN2"
reaches "DNS to the allowed resolver (UDP) works" "HELLO dns" dns -- atk dns "$GW_IP"
reaches "DNS to the allowed resolver (TCP) works" "HELLO dns" dns -- atk dns --tcp "$GW_IP"

# --- ICMP, raw, packet sockets, other protocols ------------------------------------------
expect "ICMP ping socket is refused at socket()" reached=false stage=socket error=EPERM -- \
	atk ping "$ORIGIN1"
expect "raw ICMP socket is refused at socket()" reached=false stage=socket error=EPERM -- \
	atk raw-icmp "$ORIGIN1"
expect "raw IP_HDRINCL socket is refused at socket()" reached=false stage=socket \
	error=EPERM @origin+0 -- atk raw-udp "$AGENT_IP" "$ORIGIN2" 5353
for k in ${MPTCP:+"$MPTCP"} "inet dgram udplite" "inet6 dgram icmpv6" "inet6 raw udp"; do
	# shellcheck disable=SC2086 # FAMILY TYPE PROTO
	expect "socket $k is refused" stage=socket error=EPERM -- atk socket $k
done
# AF_PACKET: only the BPF LSM hook (lsm_cgroup/socket_create) sees such a
# socket being made, and its frames skip the IP layer where the egress filter
# runs. Where attach could not load that hook (here: no BPF LSM), a root agent
# with CAP_NET_RAW sends what it likes: a kernel limit, asserted as it is.
if [[ -e $NETFENCE_PIN_ROOT/cg-$(stat -c %i "$AGENT_CG")/link_socket_create ]]; then
	expect "AF_PACKET under attach: the BPF LSM hook refuses the socket" \
		stage=socket error=EPERM -- atk socket packet dgram 0
	expect "AF_PACKET under attach: no frame leaves" reached=false stage=socket \
		error=EPERM @origin+0 -- atk packet nfa0 "$HOST_MAC" "$ORIGIN2" 5353
else
	expect "AF_PACKET under attach: kernel limit, documented (socket is made)" \
		created=true -- atk socket packet dgram 0
	expect "AF_PACKET under attach: kernel limit, documented (frames leave)" \
		reached=true socket_created=true "reply=HELLO origin" @origin+1 -- \
		atk packet nfa0 "$HOST_MAC" "$ORIGIN2" 5353
fi
# Kernel limit: a packet the agent's kernel forwards (written to a tun device
# it made with CAP_NET_ADMIN) belongs to no socket, so no cgroup hook sees it.
expect "tun + forwarding under attach: kernel limit, documented (packets leave)" \
	reached=true "reply=HELLO origin" @origin+1 -- atk tun --netns "$AGENT_NS" "$AGENT_IP" "$ORIGIN2" 5353

# --- reserved destinations ----------------------------------------------------------------
denied "metadata 169.254.169.254:80 is refused" -- atk tcp "$METADATA" 80
denied "metadata over v4-mapped IPv6 is refused" -- atk tcp --v6 "$METADATA" 80
denied "multicast 224.0.0.251:5353 is refused" bcast -- atk udp 224.0.0.251 5353
denied "broadcast 255.255.255.255 is refused" bcast -- \
	atk udp --broadcast 255.255.255.255 5353
denied "subnet broadcast $BCAST_IP is refused" bcast -- \
	atk udp --broadcast "$BCAST_IP" 5353

# --- the proxy's own ports, the gateway ------------------------------------------------------
denied "straight to the intercept port is refused" proxy -- atk tcp "$GW_IP" 3129
denied "straight to the TLS intercept port is refused" proxytls -- atk tcp "$GW_IP" 3130
denied "gateway on a port not allowed is refused" mcp -- atk tcp "$GW_IP" 9090
denied "host.docker.internal on a port not allowed is refused" mcp -- \
	with_hosts "${ATK[@]}" tcp host.docker.internal 9090
reaches "gateway IP on the allowed port goes direct" "HELLO mcp" mcp -- atk tcp "$GW_IP" 8080
expect "host.docker.internal (hosts file) on the allowed port goes direct" \
	reached=true "reply=HELLO mcp" "resolved=$HDI_IP" @mcp+1 -- \
	with_hosts "${ATK[@]}" tcp host.docker.internal 8080

# --- children ---------------------------------------------------------------------------------
expect "a forked child keeps the policy" reached=false error=EPERM via=fork @origin+0 -- \
	atk fork tcp "$ORIGIN1" 5000
expect "an exec'd program keeps the policy" reached=false error=EPERM via=exec @origin+0 -- \
	atk exec-self tcp "$ORIGIN1" 5000
expect "a double-forked orphan keeps the policy" reached=false error=EPERM via=double-fork \
	orphaned=true @origin+0 -- atk double-fork tcp "$ORIGIN1" 5000
expect "a double-forked orphan is still redirected" reached=true "reply=ORIG $ORIGIN1:80" \
	via=double-fork @origin+0 -- atk double-fork tcp "$ORIGIN1" 80

# --- leaving the cgroup --------------------------------------------------------------------------
expect "non-root: moving to the cgroup2 root fails, then still refused" \
	escape=EACCES reached=false error=EPERM @origin+0 -- \
	atk -u 65534 escape "$CG2" "$ORIGIN1" 5000
expect "non-root: moving into the proxy's cgroup fails, then still refused" \
	escape=EACCES reached=false error=EPERM @origin+0 -- \
	atk -u 65534 escape "$PROXY_CG" "$ORIGIN1" 5000
expect "non-root: clone3(CLONE_INTO_CGROUP) to the root fails, then still refused" \
	clone=EACCES reached=false error=EPERM @origin+0 -- \
	atk -u 65534 clone-into "$CG2" "$ORIGIN1" 5000
expect "a child cgroup of the agent's inherits the policy" escape=moved \
	"cgroup=${SUB_CG#"$CG2"}" reached=false error=EPERM @origin+0 -- \
	atk escape "$SUB_CG" "$ORIGIN1" 5000
# Kernel limit: cgroup.procs is root's file; root (uid 0, whatever its
# capabilities) may move itself to any cgroup it can see.
expect "root under attach can write itself out of the cgroup: kernel limit, documented" \
	escape=moved cgroup=/ reached=true "reply=HELLO origin" @origin+1 -- \
	atk escape "$CG2" "$ORIGIN1" 5000

# A read-only cgroup mount (systemd's ProtectControlGroups=yes) does not
# stop root: cgroup.procs refuses the write, but clone3(CLONE_INTO_CGROUP)
# checks the file's permissions only, not the mount.
# ro_cgroup CASE: nfattack CASE $CG2 $ORIGIN1 5000 from the agent cgroup,
# under a read-only cgroup2 mount, as uid 0 with no capabilities at all
ro_cgroup() {
	atk exec unshare -m --propagation private sh -c \
		'mount --bind "$1" "$1" && mount -o bind,remount,ro "$1" "$1" &&
		exec setpriv --bounding-set=-all --inh-caps=-all "$0" "$2" "$1" "$3" 5000' \
		"$NFATTACK" "$CG2" "$1" "$ORIGIN1"
}
expect "root, no capabilities, read-only cgroup mount: writing cgroup.procs fails" \
	escape=EROFS reached=false error=EPERM @origin+0 -- \
	ro_cgroup escape
expect "root, no capabilities, read-only cgroup mount: clone3(CLONE_INTO_CGROUP) leaves: kernel limit, documented" \
	clone=ok child_cgroup=/ reached=true "reply=HELLO origin" @origin+1 -- \
	ro_cgroup clone-into

# --- the pinned policy -------------------------------------------------------------------------------
expect "non-root: the pinned maps and links cannot be opened nor unlinked" \
	obj_fds=0 "obj_get~^(EACCES|EPERM)$" unlinked=0 reached=false error=EPERM @origin+0 -- \
	atk -u 65534 bpf-tamper "$NETFENCE_PIN_ROOT" "$ORIGIN1" 5000
"$NFATTACK" -u 65534 exec "$NETFENCE" detach --cgroup "$AGENT_CG" >/dev/null 2>&1
assert_eq "non-root: netfence detach fails" "$?" 1
assert_match "non-root: the policy is intact" \
	"$("$NETFENCE" -j status --cgroup "$AGENT_CG")" '"state":"enforcing"'
denied "non-root: and still refuses" -- atk -u 65534 tcp "$ORIGIN1" 5000

# --- socket options and source addresses ---------------------------------------------------------------
denied "SO_MARK (set as root) changes nothing: refused" -- \
	atk tcp --mark 0x1234 "$ORIGIN1" 5000
expect "SO_MARK (set as root) changes nothing: redirected" mark_set=true \
	"reply=ORIG $ORIGIN1:80" @origin+0 -- atk tcp --mark 0x1234 "$ORIGIN1" 80
denied "SO_BINDTODEVICE changes nothing: refused" -- atk tcp --bindtodevice nfa0 "$ORIGIN1" 5000
expect "SO_BINDTODEVICE changes nothing: redirected" bound_to_device=true \
	"reply=ORIG $ORIGIN1:80" @origin+0 -- atk tcp --bindtodevice nfa0 "$ORIGIN1" 80
denied "bound to the agent's address: refused" -- atk tcp --bind "$AGENT_IP" "$ORIGIN1" 5000
proxied "bound to the agent's address and port: redirected" "$ORIGIN1:80" -- \
	atk tcp --bind "$AGENT_IP:40123" "$ORIGIN1" 80
denied "bound to 127.0.0.1: refused" -- atk tcp --bind 127.0.0.1 "$ORIGIN1" 5000
expect "bound to 127.0.0.1: :80 does not reach the origin" reached=false @origin+0 -- \
	atk tcp --bind 127.0.0.1 "$ORIGIN1" 80
denied "policy follows the cgroup, not the netns (agent process in the host netns)" -- \
	"$NFATTACK" -c "$AGENT_CG" -n "$HOST_NS" tcp "$ORIGIN1" 5000
reaches "loopback=allow: the agent's own loopback" "HELLO agentlo" agentlo -- \
	atk tcp 127.0.0.1 7000

# --- sockets made before joining the agent cgroup ----------------------------------------------
# Kernel limit: a socket belongs to the cgroup of the process that made it,
# fixed at creation; connect4 and the egress filter never run for it.
expect "socket made before joining the agent cgroup: kernel limit, documented (it leaks)" \
	socket_cgroup=/ "cgroup=${AGENT_CG#"$CG2"}" reached=true "reply=HELLO origin" @origin+1 -- \
	"$NFATTACK" -n "$AGENT_NS" presock --join "$AGENT_CG" "$ORIGIN1" 5000
expect "socket passed in from outside: kernel limit, documented (it leaks)" \
	"cgroup=${AGENT_CG#"$CG2"}" reached=true "reply=HELLO origin" @origin+1 -- \
	"$NFATTACK" -n "$AGENT_NS" pass-fd 7 "$NFATTACK" -c "$AGENT_CG" tcp --fd 7 "$ORIGIN1" 5000

# --loopback allow must not trust the agent's routing for 127.0.0.0/8: the
# egress filter lets loopback out through lo only.
expect "loopback=allow: 127.1.0.0/16 routed off-box by a NET_ADMIN agent is dropped" \
	reached=false @origin+0 -- atk tcp "$LOCALNET_IP" 6000

# --------------------------------------------------------------------------
# Dangerous ports: never redirected nor allowed, whatever the flags
# --------------------------------------------------------------------------

"$NETFENCE" attach --cgroup "$AGENT2_CG" --proxy "$GW_IP:3129" --proxy-cgroup "$PROXY_CG" \
	--redirect-ports 1-65535 --dns-servers "$GW_IP" >/dev/null
assert_eq "agent2: --redirect-ports 1-65535 attached" "$?" 0
expect "agent2: with 1-65535 an ordinary port is redirected" \
	"reply=ORIG $ORIGIN1:5000" @origin+0 -- \
	"$NFATTACK" -c "$AGENT2_CG" -n "$AGENT_NS" tcp "$ORIGIN1" 5000
for p in $DANGER; do
	denied "dangerous port $p refused under --redirect-ports 1-65535" -- \
		"$NFATTACK" -c "$AGENT2_CG" -n "$AGENT_NS" tcp "$ORIGIN1" "$p"
done
"$NETFENCE" attach --cgroup "$AGENT2_CG" --proxy "$GW_IP:3129" --tls-proxy "$GW_IP:3130" \
	--proxy-cgroup "$PROXY_CG" --redirect-ports 1-65535 --tls-ports 1-65535 \
	--dns-servers "$GW_IP" >/dev/null
n=0
for p in $DANGER; do
	out=$("$NFATTACK" -c "$AGENT2_CG" -n "$AGENT_NS" tcp "$ORIGIN1" "$p")
	[[ $(json_field "$out" error) == EPERM ]] && n=$((n + 1))
done
assert_eq "all 21 dangerous ports refused under --tls-ports 1-65535 too" "$n" 21
for p in $DANGER; do
	"$NETFENCE" attach --cgroup "$AGENT2_CG" --proxy "$GW_IP:3129" --enable-host-access \
		--host-gateway "$GW_IP" --allow-host-ports "8080,$p" >/dev/null 2>"$TDIR/bad.err"
	rc=$?
	assert_match "--allow-host-ports with $p: exit 2 and one clear error" \
		"$rc $(cat "$TDIR/bad.err")" \
		"^2 Error: --allow-host-ports '8080,$p': port $p is a dangerous port and is never allowed$"
done
"$NETFENCE" attach --cgroup "$AGENT2_CG" --proxy "$GW_IP:3129" --enable-host-access \
	--host-gateway "$GW_IP" --allow-host-ports 20-30 >/dev/null 2>"$TDIR/bad.err"
assert_match "--allow-host-ports with a range over 22: exit 2, names 22" \
	"$? $(cat "$TDIR/bad.err")" "^2 Error: --allow-host-ports '20-30': port 22 is a dangerous port"
"$NETFENCE" run --proxy "$GW_IP:3129" --proxy-cgroup "$PROXY_CG" --enable-host-access \
	--host-gateway "$GW_IP" \
	--allow-host-ports 3306 -- true >/dev/null 2>"$TDIR/bad.err"
assert_match "run --allow-host-ports 3306: exit 2 and one clear error" \
	"$? $(cat "$TDIR/bad.err")" \
	"^2 Error: --allow-host-ports '3306': port 3306 is a dangerous port and is never allowed$"
assert_match "agent2 kept its last good policy, dangerous ports taken out" \
	"$("$NETFENCE" -j status --cgroup "$AGENT2_CG")" \
	'"tls_ports":"1-21,24,26-109,111-142,144-444,446-1432,'

# --- Docker's embedded DNS server ----------------------------------------------
# On a user-defined Docker network, dockerd listens in the container's own
# namespace on 127.0.0.11 (UDP and TCP, random ports; iptables sends port 53
# there), outside the agent's cgroup, and resolves any name through the
# host's resolvers. --loopback allow (loopback is the agent's own) let the
# agent reach those ports directly (it reads them in /proc/net/udp): DNS to
# any name past the DNS filter. The stand-in: a server in the agent's
# namespace, in no agent cgroup.
DNSF_CG=$(make_cgroup dnsf) || exit 1
# (this namespace's 127.0.0.0/8 is routed away above: the address, as Docker's)
ip -n "$AGENT_NS" addr add 127.0.0.11/32 dev lo
bg_start edns "$NFATTACK" -n "$AGENT_NS" serve --name edns --udp 127.0.0.11:35353 \
	--listen 127.0.0.11:35353
wait_ready edns || t_fail "start edns" "$(cat "$TDIR/edns.err")"
"$NETFENCE" attach --cgroup "$DNSF_CG" --proxy "$GW_IP:3129" --proxy-cgroup "$PROXY_CG" \
	--dns-proxy "$GW_IP:53" >"$TDIR/dnsf.out" 2>&1 ||
	t_fail "attach with a DNS filter" "$(cat "$TDIR/dnsf.out")"
denied "DNS filter: Docker's embedded DNS (127.0.0.11) on its own UDP port is refused" edns -- \
	"$NFATTACK" -c "$DNSF_CG" -n "$AGENT_NS" udp 127.0.0.11 35353
denied "DNS filter: ... and on its own TCP port" edns -- \
	"$NFATTACK" -c "$DNSF_CG" -n "$AGENT_NS" tcp 127.0.0.11 35353
reaches "DNS filter, loopback=allow: the agent's own loopback still" "HELLO agentlo" agentlo -- \
	"$NFATTACK" -c "$DNSF_CG" -n "$AGENT_NS" tcp 127.0.0.1 7000
"$NETFENCE" detach --cgroup "$DNSF_CG" >/dev/null
bg_stop edns

# --- the operator's terminal --------------------------------------------------
# An event names the process by its comm, which the agent sets (prctl
# PR_SET_NAME: any bytes but NUL), and `netfence events` prints it on the
# operator's terminal: "ESC[1A ESC[2K" there moves up and erases the agent's
# own refusals from view; other sequences set the title or the clipboard.
"$NETFENCE" events --cgroup "$AGENT_CG" --timeout 1 >/dev/null
atk exec python3 -c '
import ctypes, socket, sys
ctypes.CDLL(None).prctl(15, b"\x1b[1A\x1b[2K\x1b]0;x\x07", 0, 0, 0)
try:
    socket.create_connection((sys.argv[1], 6000), timeout=2)
except OSError:
    pass' "$ORIGIN1" >/dev/null 2>&1
ev=$("$NETFENCE" events --cgroup "$AGENT_CG" --count 1 --timeout 3)
if [[ $ev != *"deny_port"* ]]; then
	t_fail "events: an agent's comm is printed without its escape sequences" "no event: '$ev'"
elif [[ $ev == *$'\e'* || $ev == *$'\a'* ]]; then
	t_fail "events: an agent's comm is printed without its escape sequences" \
		"escape sequences printed: $(printf '%q' "$ev")"
else
	assert_match "events: an agent's comm is printed without its escape sequences" \
		"$ev" 'uid 0 \?\[1A\?\[2K\?\]0;x\?$'
fi

# --- the agent's own hosts file ------------------------------------------------
# attach reads host.docker.internal as the agent sees it (/proc/PID/root/etc/hosts
# of a process of the cgroup). A root agent writes that file: the next attach
# (a policy change, an upgrade) must not make the agent's choice a bypass
# pair, or the "gateway" on an allowed port is any server on the internet.
# The "container": a cgroup of its own, the agent's network namespace, a
# private mount namespace with its own /etc/hosts, as Docker bind-mounts one.
CTR_CG=$(make_cgroup ctr) || exit 1
printf '127.0.0.1 localhost\n%s host.docker.internal\n' "$HDI_IP" >"$TDIR/ctr-hosts"
bg_start ctr bash -c 'echo $$ >"$1/cgroup.procs" &&
	exec nsenter --net="/run/netns/$2" unshare -m --propagation private \
		sh -c "mount --bind $3 /etc/hosts && echo READY && exec sleep 600"' \
	_ "$CTR_CG" "$AGENT_NS" "$TDIR/ctr-hosts"
wait_ready ctr || t_fail "start ctr" "$(cat "$TDIR/ctr.err")"
cpid=$(bg_pid ctr)
ctr_attach() {
	"$NETFENCE" attach --pid "$cpid" --proxy "$GW_IP:3129" --tls-proxy "$GW_IP:3130" \
		--proxy-cgroup "$PROXY_CG" --enable-host-access --allow-host-ports 6001 \
		--dns-servers "$GW_IP"
}
out=$(ctr_attach 2>&1)
assert_match "agent's hosts file: host.docker.internal on the agent's own link is taken" \
	"$? $out" "^0 .*host gateway $HDI_IP ports 6001 \\(from /proc/$cpid/root/etc/hosts\\)"
# the agent, root in its container, names a server of its own
nsenter -t "$cpid" -m sh -c "printf '127.0.0.1 localhost\n%s host.docker.internal\n' $ORIGIN1 >/etc/hosts"
out=$(ctr_attach 2>&1)
assert_match "agent's hosts file naming an address off the agent's link and off this host: attach refused, exit 2" \
	"$? $out" "^2 Error: --host-gateway 'host.docker.internal': $ORIGIN1 \\(from /proc/$cpid/root/etc/hosts, which the agent can write\\) is neither an address of this host nor on the agent's own network"
denied "agent's hosts file: the agent's server on an allowed host port stays refused" -- \
	"$NFATTACK" -c "$CTR_CG" -n "$AGENT_NS" tcp "$ORIGIN1" 6001
# ... or makes it a FIFO (where it is no bind mount: not Docker): the read
# must not hang the operator's attach
mkfifo "$TDIR/ctr-fifo"
nsenter -t "$cpid" -m mount --bind "$TDIR/ctr-fifo" /etc/hosts
out=$(timeout 10 "$NETFENCE" attach --pid "$cpid" --proxy "$GW_IP:3129" --enable-host-access \
	--allow-host-ports 6001 --dns-servers "$GW_IP" 2>&1)
assert_match "agent's hosts file made a FIFO: attach does not hang, exit 2" "$? $out" \
	"^2 Error: --hosts-file: the agent's own /proc/$cpid/root/etc/hosts is not a regular file"
"$NETFENCE" detach --pid "$cpid" >/dev/null
bg_stop ctr

# --------------------------------------------------------------------------
# netfence run: the limits above closed by the launcher
# --------------------------------------------------------------------------

RUNCG='^/netfence-run-[0-9]+/agent$'
expect "run: the command runs in run's agent cgroup and is refused" \
	reached=false error=EPERM "cgroup~$RUNCG" @origin+0 -- \
	nfrun -- "$NFATTACK" tcp "$ORIGIN1" 5000
proxied "run: :80 goes to the stand-in proxy" "$ORIGIN1:80" -- \
	nfrun -- "$NFATTACK" tcp "$ORIGIN1" 80
out=$(nfrun -- grep -E '^(CapEff|CapBnd|NoNewPrivs):' /proc/self/status)
assert_match "run: no_new_privs is set" "$out" 'NoNewPrivs:[[:space:]]+1'
eff=$(awk '/^CapEff:/ { print $2 }' <<<"$out")
bnd=$(awk '/^CapBnd:/ { print $2 }' <<<"$out")
# NET_ADMIN 12, NET_RAW 13, SYS_ADMIN 21, BPF 39
mask=$(((1 << 12) | (1 << 13) | (1 << 21) | (1 << 39)))
assert_eq "run: NET_RAW, NET_ADMIN, SYS_ADMIN, BPF gone (effective, bounding)" \
	"$(((0x${eff:-ffffffffff} | 0x${bnd:-ffffffffff}) & mask))" 0
expect "run: an AF_PACKET socket cannot be made" stage=socket error=EAFNOSUPPORT -- \
	nfrun -- "$NFATTACK" socket packet dgram 0
expect "run: AF_PACKET frames do not leave" reached=false stage=socket error=EAFNOSUPPORT @origin+0 -- \
	nfrun -- "$NFATTACK" packet nfa0 "$HOST_MAC" "$ORIGIN2" 5353
expect "run: a raw socket cannot be made" reached=false stage=socket error=EPERM -- \
	nfrun -- "$NFATTACK" raw-icmp "$ORIGIN1"
expect "run: a raw IP_HDRINCL socket cannot be made" reached=false stage=socket error=EPERM \
	@origin+0 -- nfrun -- "$NFATTACK" raw-udp "$AGENT_IP" "$ORIGIN2" 5353
expect "run: an ICMP ping socket cannot be made" reached=false stage=socket error=EPERM -- \
	nfrun -- "$NFATTACK" ping "$ORIGIN1"
expect "run: no tun device" reached=false stage=open_tun error=ENOENT @origin+0 -- \
	nfrun -- "$NFATTACK" tun --netns "$AGENT_NS" "$AGENT_IP" "$ORIGIN2" 5353
expect "run: SO_MARK is refused" reached=false stage=so_mark error=EPERM -- \
	nfrun -- "$NFATTACK" tcp --mark 1 "$ORIGIN1" 80
expect "run: no setns into another netns" reached=false stage=setns error=EPERM -- \
	nfrun -- "$NFATTACK" -n "$HOST_NS" tcp "$ORIGIN1" 5000
expect "run: a double-forked orphan keeps the policy" reached=false error=EPERM \
	via=double-fork "cgroup~$RUNCG" @origin+0 -- \
	nfrun -- "$NFATTACK" double-fork tcp "$ORIGIN1" 5000
expect "run --user: the pins cannot be opened nor unlinked, the policy holds" obj_fds=0 \
	unlinked=0 prog_query=EPERM reached=false error=EPERM uid=65534 @origin+0 -- \
	nfrun --user nobody -- "$NFATTACK" bpf-tamper "$NETFENCE_PIN_ROOT" "$ORIGIN1" 5000
# With no --user the command is uid 0, the owner of the pins; unlink needs
# no capability (nor, since Linux 5.19, BPF_OBJ_GET). run hides the bpf and
# cgroup2 mounts from it (a mount namespace of its own, CAP_SYS_ADMIN gone).
expect "run without --user: a root command cannot open nor unlink its policy's pins" \
	obj_fds=0 unlinked=0 reached=false error=EPERM @origin+0 -- \
	nfrun -- "$NFATTACK" bpf-tamper "$NETFENCE_PIN_ROOT" "$ORIGIN1" 5000
expect "run without --user: a root command cannot write itself out of the cgroup" \
	escape=ENOENT reached=false error=EPERM @origin+0 -- \
	nfrun -- "$NFATTACK" escape "$CG2" "$ORIGIN1" 5000
expect "run --user: the command cannot leave its cgroup" "escape~^(EACCES|ENOENT)$" reached=false \
	error=EPERM uid=65534 @origin+0 -- \
	nfrun --user nobody -- "$NFATTACK" escape "$CG2" "$ORIGIN1" 5000
expect "run --user: nor clone3 a child out of it" "clone~^(EACCES|ENOENT|EBADF|ENOSYS)$" reached=false error=EPERM \
	@origin+0 -- nfrun --user nobody -- "$NFATTACK" clone-into "$CG2" "$ORIGIN1" 5000
# A server in the command: run shares the caller's network namespace, so on a
# host anything that reaches the host reaches the command's listener, and
# the replies (accepted connections) would be a way out to any address. Only
# local clients (loopback) are answered.
bg_start inbound timeout -k 5 30 "$NFATTACK" -n "$AGENT_NS" exec "$NETFENCE" run \
	--proxy "$GW_IP:3129" --tls-proxy "$GW_IP:3130" --forward-proxy "$GW_IP:3128" \
	--proxy-cgroup "$PROXY_CG" --loopback allow --dns-servers "$GW_IP" \
	-- "$NFATTACK" serve --name inbound --listen 0.0.0.0:7100
if wait_ready inbound 10; then
	expect "run: a server in the command answers no client from another machine" \
		reached=false -- "$NFATTACK" -n "$HOST_NS" tcp --timeout 1500 "$AGENT_IP" 7100
	expect "run: a server in the command answers a local client" reached=true \
		"reply=HELLO inbound" -- "$NFATTACK" -n "$AGENT_NS" tcp "$AGENT_IP" 7100
else
	t_fail "run: a server in the command" "it did not start: $(tail -n 3 "$TDIR/inbound.err")"
fi
bg_stop inbound

# run closes every descriptor but stdio: a socket its caller made (in the
# caller's cgroup) never reaches the command.
expect "run: a socket passed in by the caller is not inherited" \
	reached=false error=EBADF @origin+0 -- \
	"$NFATTACK" -n "$AGENT_NS" pass-fd 7 "$NETFENCE" run --proxy "$GW_IP:3129" \
	--proxy-cgroup "$PROXY_CG" --loopback allow --dns-servers "$GW_IP" -- \
	"$NFATTACK" tcp --fd 7 "$ORIGIN1" 5000
# Not a network path: a Unix socket on the host's file system.
expect "run: AF_UNIX to a host socket is outside the network policy (documented)" \
	reached=true "reply=HELLO hostunix" @hostunix+1 -- \
	nfrun -- "$NFATTACK" unix "$TDIR/host.sock"
# A host resolver daemon over local IPC resolves any name for any user
# (systemd-resolved's varlink socket is mode 0666): DNS to any name past
# run's DNS filter. The stand-in, in a private mount namespace over a tmpfs
# at /run/systemd: a Unix server at resolved's path.
resolved_run() {
	unshare -m --propagation private bash -c '
	mount -t tmpfs -o size=64k,mode=0755 nftest /run/systemd || exit 3
	mkdir /run/systemd/resolve || exit 3
	sock=/run/systemd/resolve/io.systemd.Resolve
	timeout 30 "$1" serve --name resolved --unix $sock >"$2/resolved.out" 2>>"$2/resolved.err" &
	srv=$!
	for ((i = 0; i < 100; i++)); do
		grep -qx READY "$2/resolved.out" 2>/dev/null && break
		sleep 0.05
	done
	chmod 0666 $sock
	shift 2
	"$@" unix $sock
	kill $srv 2>/dev/null
	wait $srv 2>/dev/null
	exit 0' _ "$NFATTACK" "$TDIR" "$@"
}
expect "baseline: a resolver daemon's socket (mode 0666) answers uid 65534" \
	reached=true "reply=HELLO resolved" -- resolved_run setpriv --reuid 65534 \
	--regid 65534 --clear-groups "$NFATTACK"
expect "run --allow-domains --user: the resolver daemons' sockets are masked (the DNS filter holds)" \
	reached=false -- resolved_run timeout -k 5 30 "$NETFENCE" run --allow-domains example.test \
	--user nobody -- "$NFATTACK"
left=0
while read -r d; do
	d=${d#'"cgroup":"/'}
	[[ -n $d && -e $CG2/$d ]] && left=$((left + 1))
done < <(grep -o '"cgroup":"/netfence-run-[0-9]*' "$TDIR/outputs.log" | sort -u)
assert_eq "every netfence run removed its cgroups" "$left" 0

# --------------------------------------------------------------------------
# netfence run as a sandbox: what the cgroup hooks do not see (the kernel's
# usermode helpers, the host's files and processes, multicast reports,
# vsock, the caller's terminal, a working directory on cgroup2 or bpffs,
# root writing the logs, Squid's shared memory). Each baseline shows the way
# open outside run, so the assertion under run can fail.
# --------------------------------------------------------------------------

# host files a root command must not be able to create: cleaned up if it could
SB_ETC=/etc/nftest-$$ SB_USR=/usr/local/nftest-$$
on_cleanup "rm -f '$SB_ETC' '$SB_USR'"
sb_paths=(/proc/sys/kernel/core_pattern /proc/sys/kernel/core_uses_pid "$SB_ETC" "$SB_USR")
for f in /proc/sys/fs/binfmt_misc/register /sys/kernel/uevent_helper /proc/sysrq-trigger \
	/sys/kernel/mm/transparent_hugepage/enabled; do
	[[ -e $f ]] && sb_paths+=("$f")
done
expect "baseline: root may open core_pattern, /etc, /usr (and what else exists) for writing" \
	"writable=${#sb_paths[@]}" -- atk open-write "${sb_paths[@]}"
rm -f "$SB_ETC" "$SB_USR"
expect "run without --user: core_pattern, /proc/sys, /sys, /etc, /usr cannot be written" \
	writable=0 "w_0=EROFS" "w_2=EROFS" "w_3=EROFS" -- \
	nfrun -- "$NFATTACK" open-write "${sb_paths[@]}"
assert_eq "run without --user: nothing was created in /etc nor /usr" \
	"$(ls -d "$SB_ETC" "$SB_USR" 2>/dev/null | wc -l)" 0
# the disk under the read-only mounts: /dev is run's own, without it
# (kernels since 6.8 may refuse writes to a mounted disk: the baseline is
# an unmounted loop device)
rootdev=$(findmnt -no SOURCE / | sed 's/\[.*//')
if [[ -b $rootdev && -b /dev/loop0 ]]; then
	expect "baseline: root may open a block device (/dev/loop0) for writing" \
		writable=1 -- atk open-write /dev/loop0
	expect "run without --user: no disk to write under the read-only mounts" \
		writable=0 "w_0~^(ENOENT|EROFS)$" "w_1~^(ENOENT|EROFS)$" -- \
		nfrun -- "$NFATTACK" open-write /dev/loop0 "$rootdev"
fi
bg_start hostproc sleep 120
hostpid=$(bg_pid hostproc)
expect "baseline: a root process may signal any root process (another run's Squid)" \
	signal=ok -- atk signal "$hostpid"
expect "run without --user: the host's processes are out of reach (PID namespace)" \
	signal=ESRCH -- nfrun -- "$NFATTACK" signal "$hostpid"
expect "baseline: root holds CAP_SYS_BOOT (reboot() gets past the capability check)" \
	reboot=EINVAL -- atk reboot
expect "run without --user: reboot() is refused" reboot=EPERM -- nfrun -- "$NFATTACK" reboot
out=$(nfrun -- grep -E '^(CapEff|CapBnd):' /proc/self/status)
bnd=$(awk '/^CapBnd:/ { print $2 }' <<<"$out")
# kept: CHOWN 0, DAC_OVERRIDE 1, FOWNER 3, FSETID 4, KILL 5, SETGID 6, SETUID 7,
# NET_BIND_SERVICE 10, SYS_CHROOT 18, AUDIT_WRITE 29
assert_eq "run without --user: only the kept capabilities are left (bounding set)" \
	"$((0x${bnd:-ffffffffff}))" "$(((1 << 0) | (1 << 1) | (1 << 3) | (1 << 4) | (1 << 5) |
	(1 << 6) | (1 << 7) | (1 << 10) | (1 << 18) | (1 << 29)))"

# multicast joins: the kernel's membership reports carry the group address
expect "baseline: a non-root process joins IPv4 and IPv6 multicast groups" joined=2 -- \
	"$NFATTACK" -n "$AGENT_NS" -u 65534 mcast-join 239.1.2.3
for g in 239.1.2.3 ff05::1:3; do
	expect "run --user: joining multicast group $g is refused (every option form)" \
		joined=0 "join_mcast_join_group=EPERM" -- \
		nfrun --user nobody -- "$NFATTACK" mcast-join "$g"
done

# AF_VSOCK needs no capability; seccomp allows unix, inet, inet6, netlink only
expect "baseline: a non-root process makes an AF_VSOCK socket" created=true -- \
	"$NFATTACK" -u 65534 socket vsock stream 0
for k in "vsock stream 0" "xdp raw 0" "packet dgram 0"; do
	# shellcheck disable=SC2086 # FAMILY TYPE PROTO
	expect "run --user: socket $k is refused (EAFNOSUPPORT)" stage=socket \
		error=EAFNOSUPPORT -- nfrun --user nobody -- "$NFATTACK" socket $k
done
expect "run: io_uring cannot be set up (it makes sockets past the filter)" \
	reached=false "error~^(EPERM|stage)" @origin+0 -- \
	nfrun -- "$NFATTACK" uring --uring-socket "$ORIGIN1" 5000
# the filter is for the native ABI only: i386 (int 0x80) and x32 calls kill
expect "run: a 32-bit or x32 system call does not go around the filter" \
	"i386~^killed:" "x32~^killed:Bad system call$" -- nfrun -- "$NFATTACK" abi32 40

# TIOCSTI: typed into the caller's terminal, read by its shell after run exits
# pty_run TIMEOUT SCRIPT [INPUT]: bash -c SCRIPT on a new pty, INPUT typed once
# READY is printed; prints what the terminal showed
pty_run() {
	python3 - "$@" <<'EOF'
import os, pty, select, signal, sys, time
limit, script = float(sys.argv[1]), sys.argv[2]
typed = sys.argv[3].encode() if len(sys.argv) > 3 else None
pid, fd = pty.fork()
if pid == 0:
    # a suite started in the background has SIGINT ignored: a shell
    # started so cannot trap it
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.execvp("bash", ["bash", "-c", script])
out, end = b"", time.time() + limit
while time.time() < end:
    if select.select([fd], [], [], 0.2)[0]:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        out += data
    if typed is not None and b"READY" in out:
        time.sleep(0.3)
        os.write(fd, typed)
        typed = None
_, st = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace").replace("\r", ""))
print("STATUS %d" % os.waitstatus_to_exitcode(st))
EOF
}
RUNLO=("$NETFENCE" run --proxy 127.0.0.1:3 --proxy-cgroup "$PROXY_CG")
tio="${RUNLO[*]} -- $NFATTACK tiocsti 'echo INJECTED' 2>/dev/null; read -r -t 2 line; echo \"GOT[\$line]\""
if [[ $(cat /proc/sys/dev/tty/legacy_tiocsti 2>/dev/null || echo 1) == 1 ]]; then
	assert_match "baseline: TIOCSTI types a line the caller's shell reads" \
		"$(pty_run 15 "$NFATTACK tiocsti 'echo INJECTED'; read -r -t 2 line; echo \"GOT[\$line]\"")" \
		'GOT\[echo INJECTED\]'
fi
out=$(pty_run 30 "$tio")
assert_match "run --user: TIOCSTI into the caller's terminal is refused" \
	"$(pty_run 30 "${RUNLO[*]} --user nobody -- $NFATTACK tiocsti 'echo INJECTED' 2>/dev/null; read -r -t 2 line; echo \"GOT[\$line]\"")" \
	'"stage":"tiocsti","error":"EPERM".*GOT\[\]'
assert_match "run: the caller's shell reads nothing injected" "$out" \
	'"stage":"tiocsti","error":"EPERM".*GOT\[\]'
assert_match "run: a command reads the terminal (bash read)" \
	"$(pty_run 30 "${RUNLO[*]} -- bash -c 'echo READY; read -r x; echo \"READ[\$x]\"' 2>/dev/null" $'hello\n')" \
	'READ\[hello\]'
assert_match "run: Ctrl-C on the terminal reaches the command (exit 130 via its trap)" \
	"$(pty_run 30 "exec ${RUNLO[*]} -- bash -c 'trap \"echo GOT-INT; exit 130\" INT; echo READY; sleep 20 & wait' 2>/dev/null" $'\x03')" \
	'GOT-INT.*STATUS 130'

# a working directory on cgroup2 or bpffs
out=$(cd "$CG2" && "${RUNLO[@]}" -- sh -c 'echo $$ >./cgroup.procs && echo MOVED' 2>&1)
assert_match "run from the cgroup2 mount: refused, one Error line, exit 2" "$? $out" \
	"^2 Error: the working directory '$CG2' is on cgroup2: run the command from another directory$"
out=$(cd "$NETFENCE_PIN_ROOT" && "${RUNLO[@]}" -- ls 2>&1)
assert_match "run from bpffs: refused, one Error line, exit 2" "$? $out" \
	"^2 Error: the working directory '$NETFENCE_PIN_ROOT' is on bpf: "

# --log-dir under a directory the command's user can write (the GitHub
# Actions recipe, "$RUNNER_TEMP/netfence"): the command swaps the directory
# for one of its own with links to where root should not write
LOGP=$(mktemp -d /tmp/nftest-logp-XXXXXX)
on_cleanup "rm -rf '$LOGP'"
chown 65534 "$LOGP"
mkdir -m 0700 "$TDIR/rootonly"
victim=$TDIR/rootonly/planted
"$NETFENCE" run --user nobody --log-dir "$LOGP/netfence" -- sh -c \
	'mv "$1/netfence" "$1/moved" && mkdir "$1/netfence" &&
	for f in access.log cache.log events.jsonl; do ln -s "$2.$f" "$1/netfence/$f"; done' \
	sh "$LOGP" "$victim" >/dev/null 2>"$TDIR/logdir.err"
assert_eq "--log-dir swapped by the command: run exits 0" "$?" 0
assert_eq "--log-dir swapped by the command: root created nothing through its links" \
	"$(ls "$TDIR/rootonly" | wc -l)" 0
assert_match "--log-dir swapped by the command: the logs are in the directory run made" \
	"$(stat -c '%U %a' "$LOGP/moved" "$LOGP/moved/access.log" "$LOGP/moved/events.jsonl" 2>&1 | tr '\n' ' ')" \
	'^root 700 root 600 root 600 $'
"$NETFENCE" run --user nobody --log-dir "$LOGP/netfence" -- true >/dev/null 2>"$TDIR/logdir.err"
assert_match "--log-dir owned by the command's user: refused, exit 2" \
	"$? $(cat "$TDIR/logdir.err")" \
	"^2 Error: --log-dir '$LOGP/netfence': not owned by root"

# /dev/shm squatting: an agent pre-creates Squid's segment names for the
# next PIDs; Squid exits on a name that exists
last=$(cat /proc/sys/kernel/ns_last_pid)
on_cleanup "find /dev/shm -maxdepth 1 -user 65534 -name 'nf*' -delete"
squat=$(setpriv --reuid 65534 --regid 65534 --clear-groups bash -c '
	n=0
	for ((p = $1 + 1; p <= $1 + 400; p++)); do
		for seg in cf__metadata cf__queues cf__readers tls_session_cache; do
			: >"/dev/shm/nf$p-$seg.shm" && n=$((n + 1))
		done
	done
	echo $n' bash "$last" 2>/dev/null)
"$NETFENCE" run -- true >/dev/null 2>"$TDIR/squat.err"
assert_match "names squatted for the next 400 PIDs ($squat files): run still starts Squid" \
	"$? $(head -c 300 "$TDIR/squat.err")" '^0 $'

# --------------------------------------------------------------------------
# detach, and nothing of ours is left
# --------------------------------------------------------------------------

"$NETFENCE" detach --cgroup "$AGENT_CG" >/dev/null
assert_eq "detach agent" "$?" 0
"$NETFENCE" detach --cgroup "$AGENT2_CG" >/dev/null
assert_eq "detach agent2" "$?" 0
assert_eq "no pins left" "$(find "$NETFENCE_PIN_ROOT" -mindepth 1 2>/dev/null | wc -l)" 0
assert_eq "the root netns sysctls are untouched" "$(root_sysctls)" "$ROOT_SYSCTLS_BEFORE"

t_summary
