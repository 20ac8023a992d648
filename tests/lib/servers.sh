# What the scripts that start test servers share (sourced, not run):
# picking a free loopback high port and starting a server on one, stopping
# a server by its PID, stopping a server from its info file, NSD's server
# configuration, start and stop, and a test bed script's command line.
# Used by the scripts that start test beds (grep -l servers.sh tests).

# A random port from 10000 up to the start of the kernel's ephemeral range
# (32768 by default): a port free when picked must stay free until the
# server binds it, and the ephemeral range is where every outgoing
# connection of the tests running meanwhile takes its local port.
random_port() {
    local low=32768 high
    read -r low high </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
    ((low > 12000)) || low=32768 # an unusual range: keep below the default one
    echo $((10000 + (RANDOM * 32768 + RANDOM) % (low - 10000)))
}

# A port is free when we can bind it on 127.0.0.1, for UDP and for TCP.
port_is_free() {
    perl -MSocket -e '
        my $port = shift;
        for my $type (SOCK_DGRAM, SOCK_STREAM) {
            socket(my $s, PF_INET, $type, 0) or exit 1;
            bind($s, sockaddr_in($port, inet_aton("127.0.0.1"))) or exit 1;
            close($s);
        }' "$1"
}

# port_from_file FILE: the port a test server wrote to FILE once it was
# listening on a port the kernel picked (bind to port 0), waiting up to
# 10 s for it. The safe way for a server we write ourselves: nothing can
# take the port between a check and the bind. Fails when FILE never comes.
port_from_file() {
    local file=$1
    for _ in $(seq 100); do
        [[ -s $file ]] && { cat "$file"; return 0; }
        sleep 0.1
    done
    return 1
}

# free_port [TAKEN...]: a port free now on 127.0.0.1 and not among TAKEN
# (ports picked before but not yet bound); fails after 50 tries. A server
# that may lose the port to another before it binds is better started with
# start_on_free_port.
free_port() {
    local port
    for _ in $(seq 50); do
        port=$(random_port)
        if port_is_free "$port" && [[ " $* " != *" $port "* ]]; then
            echo "$port"
            return 0
        fi
    done
    return 1
}

# free_ports NAME...: sets each variable NAME to a port free now, all of
# them distinct (free_port); fails when a port is not found.
free_ports() {
    local name port taken=()
    for name in "$@"; do
        port=$(free_port "${taken[@]}") || return 1
        taken+=("$port")
        printf -v "$name" '%s' "$port"
    done
}

# start_on_free_port DIR CONFIGURE LAUNCH STOP READY: starts a server on a
# random free port and prints the port. CONFIGURE DIR PORT writes its
# configuration and LAUNCH DIR starts it. When LAUNCH fails, the port was
# most likely taken between our check and the server's bind: STOP DIR, and
# another port is tried (20 in all). A server that starts but never passes
# READY DIR PORT is a real failure, returned (1) at once.
start_on_free_port() {
    local dir=$1 configure=$2 launch=$3 stop=$4 ready=$5 try port
    for ((try = 0; try < 20; try++)); do
        port=$(random_port)
        port_is_free "$port" || continue
        "$configure" "$dir" "$port"
        if ! "$launch" "$dir"; then
            "$stop" "$dir"
            continue
        fi
        "$ready" "$dir" "$port" || return 1
        echo "$port"
        return 0
    done
    return 1
}

# stop_pid PID SIGNAL SECONDS: asks the server to stop with SIGNAL, waits
# up to SECONDS for it to go, then kills it. Nothing to do for an empty PID
# or a process already gone.
stop_pid() {
    local pid=$1 signal=$2 seconds=$3 i
    [[ -n $pid ]] || return 0
    kill "-$signal" "$pid" 2>/dev/null || return 0
    for ((i = 0; i < seconds * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
}

# stop_from_info INFOFILE STOP: stops the server whose directory
# INFOFILE's DIR key names, with the caller's function STOP DIR, then
# removes that directory and INFOFILE. Nothing to do when INFOFILE is gone.
stop_from_info() {
    local info=$1 stop=$2 dir
    [[ -f $info ]] || return 0
    dir=$(sed -n 's/^DIR=//p' "$info")
    if [[ -n $dir && -d $dir ]]; then
        "$stop" "$dir"
        rm -rf "$dir"
    fi
    rm -f "$info"
}

# nsd_server_conf DIR PORT ZONESDIR VERBOSITY: writes DIR/nsd.conf with the
# server section of an NSD that runs as the current user on 127.0.0.1:PORT,
# keeps every file under DIR and has no remote control. The caller appends
# its zone: sections.
nsd_server_conf() {
    local dir=$1 port=$2 zonesdir=$3 verbosity=$4
    cat >"$dir/nsd.conf" <<CONF
server:
	ip-address: 127.0.0.1@$port
	port: $port
	do-ip6: no
	server-count: 1
	zonesdir: "$zonesdir"
	pidfile: "$dir/nsd.pid"
	logfile: "$dir/nsd.log"
	xfrdfile: "$dir/xfrd.state"
	xfrdir: "$dir"
	zonelistfile: "$dir/zone.list"
	database: ""
	username: ""
	chroot: ""
	verbosity: $verbosity
	hide-version: yes
remote-control:
	control-enable: no
CONF
}

# launch_nsd DIR: starts the NSD configured in DIR/nsd.conf (it daemonizes;
# its stdio must not hold CTest's pipes open). stop_nsd DIR stops it.
launch_nsd() {
    nsd -c "$1/nsd.conf" </dev/null >>"$1/nsd.out" 2>&1
}

stop_nsd() {
    [[ -f $1/nsd.pid ]] && stop_pid "$(cat "$1/nsd.pid")" TERM 5
    rm -f "$1/nsd.pid"
    return 0
}

# bed_command STOP ARGS...: a test bed script's command line (its ARGS).
# "start INFOFILE" runs the script's cmd_start INFOFILE; "stop INFOFILE"
# stops the bed with stop_from_info INFOFILE STOP. The script defines die.
bed_command() {
    local stop=$1
    shift
    case ${1:-} in
    start) [[ $# -eq 2 ]] || die "usage: $0 start INFOFILE"; cmd_start "$2" ;;
    stop) [[ $# -eq 2 ]] || die "usage: $0 stop INFOFILE"; stop_from_info "$2" "$stop" ;;
    *) die "usage: $0 start|stop INFOFILE" ;;
    esac
}
