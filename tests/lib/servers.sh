# What the scripts that start test servers share (sourced, not run):
# picking a free loopback high port, and NSD's server configuration.
# Used by tests/dnsbed/dnsbed.sh, tests/spf/spfbed.sh, tests/httpsbed/httpsbed.sh,
# tests/sql/mariadb.sh and tests/sql/pgsql.sh.

# A random port in 20000-60000.
random_port() { echo $((20000 + (RANDOM * 32768 + RANDOM) % 40001)); }

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
