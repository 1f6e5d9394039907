# bash completion for netfence(8)                     -*- shell-script -*-
#
# Installed as $(PREFIX)/share/bash-completion/completions/netfence, where
# bash-completion loads it the first time `netfence` is completed; or
# `source completion/netfence.bash` by hand. It needs bash only (not the
# bash-completion package, not jq).
#
# The command and flag lists below are the ones `netfence COMMAND --help`
# prints and netfence(8) documents; tests/shell/test_docs_agree.sh fails when
# the three disagree. Values completed: cgroup paths (relative to the cgroup2
# mount in /proc/mounts, or absolute) for --cgroup and --proxy-cgroup; the
# attached cgroups (`netfence -j status`, root only) for detach, status and
# events --cgroup; process ids for --pid and --proxy-pid; files, directories,
# users; the two --loopback words; report's log directory; and after
# `run ... --` the command to run.

_netfence_commands='attach detach status run check events cleanup report'
_netfence_global_flags='-j --json -v --verbose -d --debug --help --version'

# The policy flags: attach and run both take them.
_netfence_policy_flags='--config --proxy --tls-proxy --forward-proxy
	--proxy-cgroup --proxy-pid --enable-host-access --host-gateway
	--allow-host-ports --dns-servers --dns-proxy --redirect-ports --tls-ports
	--loopback --log-allowed --max-connections'

_netfence_flags_attach="--cgroup --pid --hosts-file --veth --allow-raw-sockets
	$_netfence_policy_flags"
_netfence_flags_detach='--cgroup --pid'
_netfence_flags_status='--cgroup --pid'
_netfence_flags_run="$_netfence_policy_flags --allow-domains
	--allow-domains-file --block-domains --block-domains-file --hosts-file --log-dir
	--squid-allow-loopback --proxy-env --user --summary --ssl-bump --allow-urls
	--origin-ca-file --upstream-proxy"
_netfence_flags_check='--no-squid'
_netfence_flags_events='--cgroup --pid --count --timeout'
_netfence_flags_cleanup='--dry-run'
_netfence_flags_report='--text'

# Flags that take a value (the next word, or --flag=value).
_netfence_value_flags='--cgroup --pid --config --proxy --tls-proxy
	--forward-proxy --proxy-cgroup --proxy-pid --host-gateway
	--allow-host-ports --dns-servers --dns-proxy --redirect-ports --tls-ports
	--loopback --allow-domains --allow-domains-file --block-domains
	--block-domains-file --hosts-file
	--log-dir --user --count --timeout --allow-urls --origin-ca-file
	--upstream-proxy --max-connections --veth'

# _netfence_reply: append the lines on stdin to COMPREPLY (no word splitting,
# no globbing: a file name may hold a space or a '*').
_netfence_reply()
{
	local w
	while IFS= read -r w; do
		COMPREPLY+=("$w")
	done
}

# _netfence_has WORD LIST: WORD is one of the words of LIST.
_netfence_has()
{
	local w
	for w in $2; do
		[[ $w == "$1" ]] && return 0
	done
	return 1
}

# _netfence_cgroup2: the cgroup v2 mount point, from /proc/mounts.
_netfence_cgroup2()
{
	local _ dir type rest
	while IFS=$' \t' read -r _ dir type rest; do
		if [[ $type == cgroup2 ]]; then
			printf '%s\n' "$dir"
			return 0
		fi
	done </proc/mounts
	return 1
}

# _netfence_cgroup_dirs CUR: cgroup directories matching CUR, each with a
# trailing '/' so that the next <TAB> goes one level down. CUR is relative to
# the cgroup2 mount, or absolute.
_netfence_cgroup_dirs()
{
	local cur=$1 mnt d

	compopt -o nospace 2>/dev/null
	if [[ $cur == /* ]]; then
		while IFS= read -r d; do
			COMPREPLY+=("$d/")
		done < <(compgen -d -- "$cur")
		return
	fi
	mnt=$(_netfence_cgroup2) || return
	while IFS= read -r d; do
		COMPREPLY+=("${d#"$mnt"/}/")
	done < <(compgen -d -- "$mnt/$cur")
}

# _netfence_attached CUR: the cgroups under a netfence policy, from the
# "cgroup" fields of `netfence -j status` (root only: anyone else gets the
# cgroup directories instead). Relative to the cgroup2 mount unless CUR is
# absolute.
_netfence_attached()
{
	local cur=$1 json mnt p re='"cgroup":"(([^"\\]|\\.)*)"'

	if ((EUID != 0)); then
		_netfence_cgroup_dirs "$cur"
		return
	fi
	json=$("$_netfence_prog" -j status 2>/dev/null) || return
	mnt=$(_netfence_cgroup2)
	while [[ $json =~ $re ]]; do
		p=${BASH_REMATCH[1]}
		json=${json#*"${BASH_REMATCH[0]}"}
		p=${p//\\\//\/}
		p=${p//\\\"/\"}
		p=${p//\\\\/\\}
		if [[ $cur != /* && -n $mnt && $p == "$mnt"/* ]]; then
			p=${p#"$mnt"/}
		fi
		# never through compgen -W, which would expand $(...) in a name
		[[ $p == "$cur"* ]] && COMPREPLY+=("$p")
	done
}

# _netfence_pids CUR: the process ids in /proc.
_netfence_pids()
{
	local d
	for d in /proc/"$1"*; do
		d=${d#/proc/}
		[[ $d =~ ^[0-9]+$ ]] && COMPREPLY+=("$d")
	done
}

# _netfence_value CMD FLAG CUR: complete the value of FLAG.
_netfence_value()
{
	local cmd=$1 flag=$2 cur=$3 IFS=$'\n'	# file names may hold spaces

	case $flag in
	--cgroup)
		if [[ $cmd == detach || $cmd == status || $cmd == events ]]; then
			_netfence_attached "$cur"
		else
			_netfence_cgroup_dirs "$cur"
		fi
		;;
	--proxy-cgroup)
		_netfence_cgroup_dirs "$cur" ;;
	--pid | --proxy-pid)
		_netfence_pids "$cur" ;;
	--config | --allow-domains-file | --block-domains-file | --hosts-file | --origin-ca-file)
		compopt -o filenames 2>/dev/null
		_netfence_reply < <(compgen -f -- "$cur")
		;;
	--log-dir)
		compopt -o filenames 2>/dev/null
		_netfence_reply < <(compgen -d -- "$cur")
		;;
	--user)
		_netfence_reply < <(compgen -u -- "$cur") ;;
	--loopback)
		_netfence_reply < <(compgen -W $'allow\nhost' -- "$cur") ;;
	esac
	# addresses, ports, domains, numbers: nothing to offer
}

_netfence()
{
	local cur prev cmd='' flags w i n ci=0 argi=0
	local -a words=("${COMP_WORDS[@]}")

	COMPREPLY=()
	_netfence_prog=${COMP_WORDS[0]}
	n=$COMP_CWORD
	cur=${words[n]}
	prev=${words[n - 1]:-}
	# --flag=value: readline splits it into "--flag" "=" "value"
	if [[ $cur == = ]]; then
		cur=''
	elif [[ $prev == = ]] && ((n >= 2)); then
		prev=${words[n - 2]}
	fi

	# the command: the first word after the global flags
	for ((i = 1; i < n; i++)); do
		if [[ ${words[i]} != -* ]]; then
			cmd=${words[i]}
			ci=$i
			break
		fi
	done
	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			_netfence_reply < <(compgen -W "$_netfence_global_flags" -- "$cur")
		else
			_netfence_reply < <(compgen -W "$_netfence_commands" -- "$cur")
		fi
		return 0
	fi

	case $cmd in
	attach) flags=$_netfence_flags_attach ;;
	detach) flags=$_netfence_flags_detach ;;
	status) flags=$_netfence_flags_status ;;
	run) flags=$_netfence_flags_run ;;
	check) flags=$_netfence_flags_check ;;
	events) flags=$_netfence_flags_events ;;
	cleanup) flags=$_netfence_flags_cleanup ;;
	report) flags=$_netfence_flags_report ;;
	*) return 0 ;;
	esac

	# run: the flags end at "--" or at the first word that is not a flag
	# nor a flag's value; from there on, the command to run
	if [[ $cmd == run ]]; then
		for ((i = ci + 1; i < n; i++)); do
			w=${words[i]}
			if [[ $w == -- ]]; then
				argi=$((i + 1))
				break
			elif [[ ${words[i + 1]:-} == = ]]; then
				i=$((i + 2))
			elif _netfence_has "$w" "$_netfence_value_flags"; then
				i=$((i + 1))
			elif [[ $w != -* ]]; then
				argi=$i
				break
			fi
		done
		if ((argi == 0)) && [[ -n $cur && $cur != -* ]] &&
			! _netfence_has "$prev" "$_netfence_value_flags"; then
			argi=$n
		fi
		if ((argi > 0)); then
			if declare -F _command_offset >/dev/null; then
				_command_offset "$argi"
			elif ((n == argi)); then
				_netfence_reply < <(compgen -c -- "$cur")
			else
				compopt -o default 2>/dev/null
			fi
			return 0
		fi
	fi

	if _netfence_has "$prev" "$_netfence_value_flags" &&
		_netfence_has "$prev" "$flags --help"; then
		_netfence_value "$cmd" "$prev" "$cur"
		return 0
	fi
	if [[ -z $cur || $cur == -* ]]; then
		local offer=() f
		# each flag once: netfence refuses a repeated one
		for f in $flags --help; do
			for ((i = ci + 1; i < n; i++)); do
				[[ ${words[i]} == "$f" ]] && continue 2
			done
			offer+=("$f")
		done
		[[ $cmd == run ]] && offer+=(--)
		_netfence_reply < <(compgen -W "${offer[*]}" -- "$cur")
	fi
	# report DIR: a run's log directory
	if [[ $cmd == report && $cur != -* ]]; then
		compopt -o filenames 2>/dev/null
		_netfence_reply < <(compgen -d -- "$cur")
	fi
	return 0
}

complete -F _netfence netfence
