#!/usr/bin/env bash
# Ways past the policy below the socket layer, and a denial of service of the
# shared proxy, tried from processes in the agent's cgroup (tools/nfattack)
# in the container picture (agent netns + host netns over a veth):
#
#   multicast joins   the kernel's IGMP/MLD reports name groups the agent
#                     chose; a sniffer on the host side of the veth decodes
#                     them (issue 11, case 2)
#   proxy starvation  one agent holds redirected connections until a proxy
#                     that others share has no descriptors left (case 8)
#   AF_PACKET frames  where the BPF LSM cannot refuse packet sockets: a
#                     hand-made frame with a spoofed source leaves the agent's
#                     namespace; attach --veth checks every frame on the host
#                     side of its veth (case 7), and attach refuses a cgroup
#                     whose process in the host namespace holds CAP_NET_RAW
#
# Each attack first runs with no policy and must get through: that is what
# makes the assertion under the policy able to fail.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root_env
NFATTACK=${NFATTACK:-$NFT_ROOT/build/tools/nfattack}

private_pins

need_tools "run 'make all'" "$NFATTACK"

topo_up || exit 1
AGENT_CG=$(make_cgroup agent) || exit 1
AGENT2_CG=$(make_cgroup agent2) || exit 1

ATK=("$NFATTACK" -c "$AGENT_CG" -n "$AGENT_NS")
ATK_NOBODY=("$NFATTACK" -c "$AGENT_CG" -n "$AGENT_NS" -u 65534)
ATK2=("$NFATTACK" -c "$AGENT2_CG" -n "$AGENT_NS")

# The secret the agent tries to get out, spelt in group addresses: "SEC" in
# an IPv4 group, "SECRET" in an IPv6 one.
SECRET4=239.83.69.67
SECRET6=ff05::5345:4352:4554
SECRET4B=239.83.69.68	# a second one, for the other ways of joining

# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

NSNIFF=0
# sniffed NAME WANT GROUP -- CMD...: a sniffer on the host side of the veth
# (host namespace, not in any agent cgroup) runs while CMD joins; asserts
# that GROUP is (WANT=seen) or is not (WANT=unseen) among the groups of the
# IGMP/MLD reports it decoded, and, for unseen, that CMD's join was refused
# with EPERM.
sniffed() {
	local name=$1 want=$2 group=$3 out groups sn
	shift 4
	NSNIFF=$((NSNIFF + 1))
	sn=sniff$NSNIFF
	# a report may wait for the interface's unsolicited-report timer: the
	# baselines (which must see it) listen longer
	bg_start "$sn" "$NFATTACK" -n "$HOST_NS" sniff \
		--timeout "$([[ $want == seen ]] && echo 3000 || echo 1500)" nfh0
	wait_ready "$sn" || { t_fail "$name" "sniffer did not start"; return 1; }
	out=$("$@" 2>&1)
	bg_wait "$sn" 5 >/dev/null
	groups=$(json_field "$(tail -n 1 "$TDIR/$sn.out")" groups)
	if [[ $want == seen ]]; then
		if [[ ,$groups, == *",$group,"* ]]; then
			t_pass "$name"
		else
			t_fail "$name" "group $group not among sniffed '$groups'; join: $out"
		fi
		return
	fi
	if [[ ,$groups, == *",$group,"* ]]; then
		t_fail "$name" "group $group sniffed on the link: '$groups'; join: $out"
	elif [[ $(json_field "$out" error) != EPERM ]]; then
		t_fail "$name" "join not refused with EPERM: $out"
	else
		t_pass "$name"
	fi
}

# status_field CG KEY: a top-level or counter field of `status -j` for CG
status_field() {
	"$NETFENCE" -j status --cgroup "$1" | python3 -c '
import json, sys
d = json.load(sys.stdin)[0]
k = sys.argv[1]
print(d["counters"][k] if k in d["counters"] else d.get(k, (d.get("policy") or {}).get(k)))' "$2"
}

# wait_file FILE: up to 10 s for FILE to exist
wait_file() {
	local i
	for ((i = 0; i < 200; i++)); do
		[[ -e $1 ]] && return 0
		sleep 0.05
	done
	return 1
}

attach_agent() {
	"$NETFENCE" attach --cgroup "$1" --proxy "$GW_IP:3140" --dns-servers "$GW_IP" "${@:2}"
}

# --------------------------------------------------------------------------
# 1. Multicast group joins (IGMP/MLD reports carry the group the agent chose)
# --------------------------------------------------------------------------

sniffed "baseline: IPv4 join as root, the group is seen on the link" seen "$SECRET4" -- \
	"${ATK[@]}" join-group --timeout 1500 nfa0 "$SECRET4"
sniffed "baseline: IPv4 join as uid 65534, seen" seen "$SECRET4" -- \
	"${ATK_NOBODY[@]}" join-group --timeout 1500 nfa0 "$SECRET4"
sniffed "baseline: IPv6 join (MLD) as uid 65534, seen" seen "$SECRET6" -- \
	"${ATK_NOBODY[@]}" join-group --v6 --timeout 1500 nfa0 "$SECRET6"
# io_uring's setsockopt (SOCKET_URING_OP_SETSOCKOPT) is Linux 6.7+: before,
# the kernel refuses the command itself and there is nothing to refuse
out=$("${ATK[@]}" join-group --via uring --send mcast --timeout 10 nfa0 "$SECRET4B")
URING=$(json_field "$out" joined)
if [[ $URING == true ]]; then
	sniffed "baseline: io_uring setsockopt MCAST_JOIN_GROUP, seen" seen "$SECRET4B" -- \
		"${ATK[@]}" join-group --via uring --send mcast --timeout 300 nfa0 "$SECRET4B"
else
	assert_match "io_uring setsockopt: not on this kernel (Linux 6.7+)" \
		"$(json_field "$out" error)" '^(EOPNOTSUPP|EINVAL)$'
fi

if ! attach_agent "$AGENT_CG" >"$TDIR/attach.out" 2>&1; then
	t_fail "attach" "$(cat "$TDIR/attach.out")"
	t_summary
	exit 1
fi

for who in root nobody; do
	if [[ $who == root ]]; then
		A=("${ATK[@]}")
	else
		A=("${ATK_NOBODY[@]}")
	fi
	sniffed "attach, $who: IP_ADD_MEMBERSHIP refused, nothing on the link" unseen "$SECRET4" -- \
		"${A[@]}" join-group --timeout 300 nfa0 "$SECRET4"
	sniffed "attach, $who: IPV6_ADD_MEMBERSHIP refused, no MLD report" unseen "$SECRET6" -- \
		"${A[@]}" join-group --v6 --timeout 300 nfa0 "$SECRET6"
	sniffed "attach, $who: MCAST_JOIN_GROUP (IPv4) refused" unseen "$SECRET4B" -- \
		"${A[@]}" join-group --send mcast --timeout 300 nfa0 "$SECRET4B"
	sniffed "attach, $who: MCAST_JOIN_GROUP (IPv6) refused" unseen "$SECRET6" -- \
		"${A[@]}" join-group --v6 --send mcast --timeout 300 nfa0 "$SECRET6"
	sniffed "attach, $who: MCAST_JOIN_SOURCE_GROUP refused" unseen "$SECRET4B" -- \
		"${A[@]}" join-group --send source --timeout 300 nfa0 "$SECRET4B"
	sniffed "attach, $who: an IPv6 socket joining at SOL_IP refused" unseen "$SECRET4B" -- \
		"${A[@]}" join-group --send v4-on-v6 --timeout 300 nfa0 "$SECRET4B"
	[[ $URING == true ]] &&
		sniffed "attach, $who: io_uring setsockopt MCAST_JOIN_GROUP refused" unseen "$SECRET4B" -- \
			"${A[@]}" join-group --via uring --send mcast --timeout 300 nfa0 "$SECRET4B"
done
out=$("${ATK[@]}" join-group --send msfilter --timeout 100 nfa0 "$SECRET4B")
assert_eq "attach: MCAST_MSFILTER refused" "$(json_field "$out" error)" EPERM
out=$("${ATK[@]}" join-group --v6 --send anycast --timeout 100 nfa0 fd00::5345)
assert_eq "attach: IPV6_JOIN_ANYCAST refused" "$(json_field "$out" error)" EPERM
out=$("${ATK[@]}" exec python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, 16)
print("ok")' 2>&1)
assert_eq "attach: other socket options still work" "$out" ok
n=$(status_field "$AGENT_CG" deny_multicast)
want=14
[[ $URING == true ]] && want=16
if [[ $n =~ ^[0-9]+$ ]] && ((n >= want)); then
	t_pass "status counts the refused joins (deny_multicast=$n)"
else
	t_fail "status counts the refused joins" "deny_multicast=$n, want >= $want"
fi
ev=$("$NETFENCE" events --cgroup "$AGENT_CG" --count 1 --timeout 3)
assert_match "events shows a refused join" "$ev" \
	'^refused setsockopt family 2 level 0 optname 35 \(deny_multicast\) pid [0-9]+ uid 0 nfattack'

# --------------------------------------------------------------------------
# 2. One agent starving a proxy both agents share (--max-connections)
# --------------------------------------------------------------------------

# A proxy stand-in with 300 descriptors for clients: past that it accepts
# nothing, as a proxy out of descriptors.
bg_start standin "$NFATTACK" -n "$HOST_NS" proxy-standin "$GW_IP:3140" 300
wait_ready standin || { t_fail "start the proxy stand-in" "$(cat "$TDIR/standin.err")"; t_summary; exit 1; }
attach_agent "$AGENT2_CG" >"$TDIR/attach2.out" 2>&1 ||
	t_fail "attach the second agent" "$(cat "$TDIR/attach2.out")"

expect_reply() {
	local name=$1 want=$2 out
	shift 2
	out=$("$@" 2>&1)
	if [[ $(json_field "$out" reply) == "$want" ]]; then
		t_pass "$name"
	else
		t_fail "$name" "$out"
	fi
}
expect_reply "agent B reaches the shared proxy (redirected)" "HELLO proxy" \
	"${ATK2[@]}" tcp --timeout 2000 "$ORIGIN1" 80

# hold_400 NAME WHAT HOST PORT: agent A holds 400 idle connections to HOST
# PORT (its default limit is 256) while agent B must still reach the proxy
# there; sets HELD to agent A's result line.
hold_400() {
	local name=$1 what=$2 host=$3 port=$4

	rm -f "$TDIR/go"
	bg_start "$name" "${ATK[@]}" hold-many --timeout 3000 --go "$TDIR/go" \
		--ready "$TDIR/held.$name" 400 "$host" "$port"
	wait_file "$TDIR/held.$name"
	expect_reply "agent A holding 400 $what: agent B still reaches the proxy" \
		"HELLO proxy" "${ATK2[@]}" tcp --timeout 3000 "$host" "$port"
	touch "$TDIR/go"
	bg_wait "$name" 10 >/dev/null
	HELD=$(tail -n 1 "$TDIR/$name.out")
}
# conns_drained: wait (at most 2 s) for agent A's open-connection count to be 0
conns_drained() {
	local i
	for ((i = 0; i < 40; i++)); do
		[[ $(status_field "$AGENT_CG" connections) == 0 ]] && return
		sleep 0.05
	done
}

hold_400 holdA connections "$ORIGIN1" 80
outA=$HELD
assert_eq "agent A: 256 connections opened (the default limit), 144 refused with EPERM" \
	"$(json_field "$outA" opened) $(json_field "$outA" refused)" "256 144"
n=$(status_field "$AGENT_CG" deny_connlimit)
assert_eq "status counts agent A's refusals (deny_connlimit)" "$n" 144
ev=$("$NETFENCE" events --cgroup "$AGENT_CG" --count 500 --timeout 2 | grep -c 'deny_connlimit')
assert_eq "events show agent A's refusals" "$ev" 144

# An explicit, smaller limit; re-attach keeps the count of what is open.
attach_agent "$AGENT_CG" --max-connections 20 >/dev/null 2>&1 ||
	t_fail "re-attach with --max-connections 20"
assert_eq "status shows the limit" "$(status_field "$AGENT_CG" max_connections)" 20
rm -f "$TDIR/go"
bg_start holdA2 "${ATK[@]}" hold-many --timeout 3000 --go "$TDIR/go" \
	--ready "$TDIR/heldA2" 50 "$ORIGIN1" 80
wait_file "$TDIR/heldA2"
assert_eq "status: 20 redirected connections open" "$(status_field "$AGENT_CG" connections)" 20
# kill -9 with everything open: the count goes back to 0
kill -KILL "$(bg_pid holdA2)"
bg_wait holdA2 5 >/dev/null
conns_drained
assert_eq "kill -9 of the holder: the count returns to 0" \
	"$(status_field "$AGENT_CG" connections)" 0

# Thousands of connects that end every way a connection can: accepted and
# reset (storm), refused by the proxy port (nothing listens), unanswered SYNs
# (an address where no host answers), all closed: the count returns to 0.
attach_agent "$AGENT_CG" --max-connections 5000 >/dev/null 2>&1
"$NFPROBE" -c "$AGENT_CG" -n "$AGENT_NS" storm --count 2000 "$ORIGIN1" 80 \
	>"$TDIR/storm.out" 2>&1
"$NETFENCE" attach --cgroup "$AGENT_CG" --proxy "$GW_IP:3999" --dns-servers "$GW_IP" \
	--max-connections 5000 >/dev/null 2>&1
touch "$TDIR/go"
out=$(ulimit -n 4096 && "${ATK[@]}" hold-many --timeout 2000 --go "$TDIR/go" 2000 "$ORIGIN1" 80)
assert_eq "2000 connects refused by the proxy port (RST)" "$(json_field "$out" failed)" 2000
"$NETFENCE" attach --cgroup "$AGENT_CG" --proxy "10.200.$TOPO_K.77:3140" \
	--dns-servers "$GW_IP" --max-connections 5000 >/dev/null 2>&1
out=$("${ATK[@]}" hold-many --timeout 300 --go "$TDIR/go" 1000 "$ORIGIN1" 80)
assert_match "1000 connects to an address that never answers" \
	"$(json_field "$out" opened)" '^0$'
conns_drained
assert_eq "after 5,000 connects reset, refused or unanswered: the count is 0" \
	"$(status_field "$AGENT_CG" connections)" 0
st=$(status_field "$AGENT_CG" redirect)
if [[ $st =~ ^[0-9]+$ ]] && ((st >= 5000)); then
	t_pass "those connects were redirected ($st redirects counted)"
else
	t_fail "those connects were redirected" "redirect=$st"
fi

# With no limit, the policy's record map (NF_SK_RECORDS, 16,384 open
# redirected sockets) is the bound: a connect that finds it full is refused,
# counted once as deny_norecord and reported with an event, and the records
# of released sockets come back.
"$NETFENCE" attach --cgroup "$AGENT_CG" --proxy "10.200.$TOPO_K.77:3140" \
	--dns-servers "$GW_IP" --max-connections 0 >/dev/null 2>&1
nr0=$(status_field "$AGENT_CG" deny_norecord)
rd0=$(status_field "$AGENT_CG" redirect)
out=$(ulimit -n 20000 && "${ATK[@]}" hold-many --timeout 200 --go "$TDIR/go" 16500 "$ORIGIN1" 80)
refused=$(json_field "$out" refused)
assert_eq "16,500 held connects: 16,384 recorded, 116 refused (the record map is full)" \
	"$refused" 116
assert_eq "status counts them once, as deny_norecord" \
	"$(($(status_field "$AGENT_CG" deny_norecord) - nr0))" 116
assert_eq "and not as redirects" "$(($(status_field "$AGENT_CG" redirect) - rd0))" 16384
ev=$("$NETFENCE" events --cgroup "$AGENT_CG" --count 20000 --timeout 2 | grep -c 'deny_norecord')
assert_eq "each has its event" "$ev" 116
out=$("${ATK[@]}" hold-many --timeout 200 --go "$TDIR/go" 100 "$ORIGIN1" 80)
assert_eq "released sockets give their records back: 100 more connects, none refused" \
	"$(json_field "$out" refused)" 0

# The forward-proxy port (proxy-aware clients, HTTP_PROXY) goes direct, not
# redirected: its connections take the shared proxy's descriptors just the
# same, so they count against the limit too.
"$NETFENCE" attach --cgroup "$AGENT_CG" --proxy "$GW_IP:3141" --forward-proxy "$GW_IP:3140" \
	--dns-servers "$GW_IP" >"$TDIR/attachF.out" 2>&1 ||
	t_fail "attach agent A with the stand-in as forward proxy" "$(cat "$TDIR/attachF.out")"
"$NETFENCE" attach --cgroup "$AGENT2_CG" --proxy "$GW_IP:3141" --forward-proxy "$GW_IP:3140" \
	--dns-servers "$GW_IP" >"$TDIR/attachF.out" 2>&1 ||
	t_fail "attach agent B with the stand-in as forward proxy" "$(cat "$TDIR/attachF.out")"
hold_400 holdF "forward-proxy connections" "$GW_IP" 3140
outF=$HELD
assert_eq "agent A: 256 forward-proxy connections opened, 144 refused with EPERM" \
	"$(json_field "$outF" opened) $(json_field "$outF" refused)" "256 144"
conns_drained
assert_eq "forward-proxy connections closed: the count returns to 0" \
	"$(status_field "$AGENT_CG" connections)" 0

# --------------------------------------------------------------------------
# 3. AF_PACKET without the BPF LSM: the filter on the host side of the veth
# --------------------------------------------------------------------------

"$NETFENCE" detach --cgroup "$AGENT_CG" >/dev/null 2>&1
"$NETFENCE" detach --cgroup "$AGENT2_CG" >/dev/null 2>&1
HOST_MAC=$(ip -n "$HOST_NS" -br link show nfh0 | awk '{ print $3 }')
SPOOF=10.200.$TOPO_K.66
bg_start origin "$NFATTACK" -n "$HOST_NS" serve --name origin --udp "$ORIGIN2:5353" \
	--udp "$GW_IP:53"
bg_start agentsrv "${ATK[@]}" serve --name agentsrv --listen "$AGENT_IP:7000"
for p in origin agentsrv; do
	wait_ready "$p" || { t_fail "start $p" "$(cat "$TDIR/$p.err")"; t_summary; exit 1; }
done
# udp_arrivals: datagrams the origin logged so far
udp_arrivals() {
	local n
	n=$(grep -c '^udp ' "$TDIR/origin.err" 2>/dev/null) || n=0
	echo "$n"
}
# frame NAME WANT(arrives|dropped) ARGS...: an AF_PACKET frame from the agent
# (FRAME_ATK: root, in its cgroup and namespace); WANT says whether the
# origin logs it
FRAME_ATK=("${ATK[@]}")
frame() {
	local name=$1 want=$2 before out got
	shift 2
	before=$(udp_arrivals)
	out=$("${FRAME_ATK[@]}" packet --timeout 700 "$@" nfa0 "$HOST_MAC" "$ORIGIN2" 5353)
	sleep 0.2
	got=$(($(udp_arrivals) - before))
	if [[ $(json_field "$out" frame_sent) != true ]]; then
		t_fail "$name" "the frame was not even sent: $out"
	elif [[ $want == arrives && $got -ge 1 ]] || [[ $want == dropped && $got == 0 ]]; then
		t_pass "$name"
	else
		t_fail "$name" "$got arrival(s); $out"
	fi
}
# in_host CMD...: CMD in the host namespace (setns only: the cgroup mount stays)
in_host() {
	"$NFATTACK" -n "$HOST_NS" exec "$@"
}
# arp_spoof NAME WANT(taken|dropped): the agent (root, CAP_NET_RAW) sends an
# ARP reply "VICTIM is-at <the agent's MAC>" to the host; the host has a
# (stale) entry for VICTIM, another machine of the link, as it would for a
# neighbour container or Squid's. Taken, the host (and a bridge's other
# ports) sends VICTIM's traffic to the agent.
VICTIM=10.200.$TOPO_K.55
AGENT_MAC=$(ip -n "$AGENT_NS" -br link show nfa0 | awk '{ print $3 }')
arp_spoof() {
	local name=$1 want=$2 out
	ip -n "$HOST_NS" neigh replace "$VICTIM" lladdr 02:00:00:00:00:55 dev nfh0 nud stale
	sleep 1.2	# past the entry's locktime, when a reply may override it
	out=$("${FRAME_ATK[@]}" exec python3 -c '
import socket, sys
dev, victim, gw, dmac, smac = sys.argv[1:6]
mac = lambda m: bytes.fromhex(m.replace(":", ""))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((dev, 0))
arp = (b"\x00\x01\x08\x00\x06\x04\x00\x02" + mac(smac) + socket.inet_aton(victim) +
       mac(dmac) + socket.inet_aton(gw))
s.send(mac(dmac) + mac(smac) + b"\x08\x06" + arp)
print("sent")' nfa0 "$VICTIM" "$GW_IP" "$HOST_MAC" "$AGENT_MAC" 2>&1)
	sleep 0.2
	got=$(ip -n "$HOST_NS" neigh show "$VICTIM" dev nfh0)
	if [[ $out != sent ]]; then
		t_fail "$name" "the ARP reply was not sent: $out"
	elif [[ $want == taken && $got == *"$AGENT_MAC"* ]] ||
		[[ $want == dropped && $got == *02:00:00:00:00:55* ]]; then
		t_pass "$name"
	else
		t_fail "$name" "the host's entry for $VICTIM: $got"
	fi
	ip -n "$HOST_NS" neigh del "$VICTIM" dev nfh0 2>/dev/null
}

frame "baseline: AF_PACKET frame with a spoofed source reaches the host" arrives --bind "$SPOOF"
frame "baseline: AF_PACKET frame from the agent's address reaches the host" arrives
arp_spoof "baseline: an ARP reply for another machine's address rewrites the host's entry" taken
attach_agent "$AGENT_CG" >/dev/null 2>&1
LSM=$(status_field "$AGENT_CG" bpf_lsm)
if [[ $LSM == True ]]; then
	# The BPF LSM hook refuses the packet socket itself (a guest booted with
	# it): the veth filter is then shown with a root process of the agent's
	# namespace outside the cgroup, whose frames it checks just the same.
	out=$("${ATK[@]}" packet --bind "$SPOOF" nfa0 "$HOST_MAC" "$ORIGIN2" 5353)
	assert_eq "attach without --veth, BPF LSM: the packet socket is refused" \
		"$(json_field "$out" stage) $(json_field "$out" error)" "socket EPERM"
	FRAME_ATK=("$NFATTACK" -n "$AGENT_NS")
else
	frame "attach without --veth (no BPF LSM): kernel limit, the spoofed frame still arrives" \
		arrives --bind "$SPOOF"
fi
"$NETFENCE" detach --cgroup "$AGENT_CG" >/dev/null 2>&1

veth_suite() {
	local mode=$1 st out
	shift
	out=$(in_host env "$@" "$NETFENCE" attach --cgroup "$AGENT_CG" --proxy "$GW_IP:3140" \
		--dns-servers "$GW_IP" --veth nfh0 2>"$TDIR/veth.err")
	if ! assert_match "attach --veth nfh0 ($mode)" "$out" "packet filter on the agent's veth \\($mode\\)"; then
		cat "$TDIR/veth.err"
		return
	fi
	ip -n "$AGENT_NS" neigh flush all
	ip -n "$HOST_NS" neigh flush all
	frame "--veth ($mode): a spoofed AF_PACKET frame is dropped on the host side" dropped \
		--bind "$SPOOF"
	frame "--veth ($mode): a frame from the agent's address to a refused port is dropped" dropped
	arp_spoof "--veth ($mode): an ARP reply for another machine's address is dropped" dropped
	expect_reply "--veth ($mode): redirected TCP still reaches the proxy (ARP too)" \
		"HELLO proxy" "${ATK[@]}" tcp --timeout 2000 "$ORIGIN1" 80
	expect_reply "--veth ($mode): DNS to the allowed resolver still works" \
		"HELLO origin" "${ATK[@]}" dns "$GW_IP"
	expect_reply "--veth ($mode): the host's connection to a server of the agent works" \
		"HELLO agentsrv" "$NFATTACK" -n "$HOST_NS" tcp --timeout 2000 "$AGENT_IP" 7000
	st=$(in_host "$NETFENCE" status --cgroup "$AGENT_CG")
	assert_match "--veth ($mode): status shows the filter" "$st" \
		"packet filter on the agent's veth nfh0 \\(ifindex [0-9]+\\): $mode"
	n=$(status_field "$AGENT_CG" veth_drop)
	if [[ $n =~ ^[0-9]+$ ]] && ((n >= 2)); then
		t_pass "--veth ($mode): status counts the dropped frames (veth_drop=$n)"
	else
		t_fail "--veth ($mode): status counts the dropped frames" "veth_drop=$n"
	fi
	in_host "$NETFENCE" detach --cgroup "$AGENT_CG" >/dev/null 2>&1
	assert_eq "--veth ($mode): detach removes the filter (no BPF program on nfh0)" \
		"$(in_host bpftool -j net show dev nfh0 | python3 -c '
import json, sys
d = json.load(sys.stdin)[0]
print(len(d.get("tc", [])) + len(d.get("tcx", [])))')" 0
	frame "--veth ($mode): after detach the frame arrives again" arrives --bind "$SPOOF"
}
bg_start sleeper "${ATK[@]}" exec sleep 120
# tcx where the kernel has it (Linux 6.6+, as `check` says), tc clsact always
if "$NETFENCE" check --no-squid 2>/dev/null | grep -q 'packet filter on an agent.s veth: tcx links'; then
	veth_suite tcx
fi
veth_suite tc NETFENCE_VETH_TC=1
bg_stop sleeper KILL >/dev/null 2>&1

out=$(in_host "$NETFENCE" attach --cgroup "$AGENT_CG" --proxy "$GW_IP:3140" --veth nosuch0 2>&1)
assert_eq "--veth with an unknown interface: exit 2" "$?:$out" \
	"2:Error: --veth 'nosuch0': no such interface in this network namespace"

# A process of the cgroup in the loader's own (host) network namespace with
# CAP_NET_RAW, and no BPF LSM hook: attach refuses, and pins nothing.
bg_start rawroot "$NFATTACK" -c "$AGENT_CG" -n "$HOST_NS" exec sleep 120
sleep 0.2
if [[ $LSM == True ]]; then
	out=$(in_host "$NETFENCE" attach --cgroup "$AGENT_CG" --proxy "$GW_IP:3140" \
		--dns-servers "$GW_IP" 2>&1)
	assert_eq "BPF LSM: a root process of the cgroup needs no refusal (attach exits 0)" "$?" 0
	in_host "$NETFENCE" detach --cgroup "$AGENT_CG" >/dev/null 2>&1
	bg_stop rawroot KILL >/dev/null 2>&1
	t_summary
	exit $?
fi
out=$(in_host "$NETFENCE" attach --cgroup "$AGENT_CG" --proxy "$GW_IP:3140" \
	--dns-servers "$GW_IP" 2>&1)
rc=$?
assert_eq "CAP_NET_RAW in the host namespace, no BPF LSM: attach exits 1" "$rc" 1
assert_match "... with one Error line naming the process and the flag" "$out" \
	"^Error: process [0-9]+ in .* holds CAP_NET_RAW in the host's network namespace .*--allow-raw-sockets"
assert_eq "... and nothing is pinned" \
	"$(find "$NETFENCE_PIN_ROOT" -mindepth 1 -maxdepth 1 -name '*cg-*' 2>/dev/null | wc -l)" 0
out=$(in_host "$NETFENCE" attach --cgroup "$AGENT_CG" --proxy "$GW_IP:3140" \
	--dns-servers "$GW_IP" --allow-raw-sockets 2>&1)
assert_match "--allow-raw-sockets: attach goes on and says so" "$out" \
	"BPF LSM hook is unavailable and process [0-9]+ .* holds CAP_NET_RAW.*accepted with --allow-raw-sockets.*attached to"
assert_match "status says raw sockets were accepted" "$(in_host "$NETFENCE" status --cgroup "$AGENT_CG")" \
	"packet sockets: not refused \\(no BPF LSM hook\\); accepted with --allow-raw-sockets"
in_host "$NETFENCE" detach --cgroup "$AGENT_CG" >/dev/null 2>&1
bg_stop rawroot KILL >/dev/null 2>&1
bg_start rawnobody "$NFATTACK" -c "$AGENT_CG" -n "$HOST_NS" -u 65534 exec sleep 120
sleep 0.2
out=$(in_host "$NETFENCE" attach --cgroup "$AGENT_CG" --proxy "$GW_IP:3140" \
	--dns-servers "$GW_IP" 2>&1)
assert_eq "no process with CAP_NET_RAW: attach works (exit 0)" "$?" 0
bg_stop rawnobody KILL >/dev/null 2>&1

t_summary
