# What the test beds that run their own Postfix and Dovecot share (sourced,
# not run; needs servers.sh sourced first). A bed keeps everything under
# one directory DIR:
#
#   DIR/postfix/{main,master}.cf   Postfix's configuration (postfix -c)
#   DIR/spool, DIR/postfix-data    its queue and data directories
#   DIR/postfix.log                its log (maillog_file)
#   DIR/dovecot.conf               Dovecot's configuration
#   DIR/dovecot-run, -state        its base and state directories
#   DIR/dovecot.log                its log
#
# A bed appends its own main.cf settings to what postfix_main_cf_base
# writes, its smtpd listeners before postfix_master_cf_services, its
# protocols and services to what dovecot_conf_base writes, then starts both
# with start_mail_servers and stops them with stop_mail_servers. Used by tests/mailbed/mailbed.sh, tests/conf/serve.sh
# and tests/milter.

# postfix_main_cf_base DIR HOSTNAME ADDR: writes DIR/postfix/main.cf with
# the lines that keep a Postfix under DIR, logging to DIR/postfix.log,
# listening on ADDR only, delivering nowhere unless the bed says so (the
# bed appends its own). Creates the directories it names.
postfix_main_cf_base() {
    local dir=$1 hostname=$2 addr=$3
    mkdir -p "$dir/postfix" "$dir/spool" "$dir/postfix-data"
    chown postfix "$dir/postfix-data"
    cat >"$dir/postfix/main.cf" <<CONF
compatibility_level = 3.6
queue_directory = $dir/spool
data_directory = $dir/postfix-data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
shlib_directory = /usr/lib/postfix
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
maillog_file = $dir/postfix.log
maillog_file_prefixes = $dir
myhostname = $hostname
mydestination =
inet_interfaces = $addr
inet_protocols = ipv4
biff = no
alias_maps =
alias_database =
local_recipient_maps =
CONF
}

# postfix_master_cf_services: the master.cf lines for Postfix's own
# services, none chrooted (DIR is not a chroot). The bed's smtpd listeners
# come before them.
postfix_master_cf_services() {
    cat <<'CONF'
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
local unix - n n - - local
lmtp unix - - n - - lmtp
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
tlsmgr unix - - n 1000? 1 tlsmgr
CONF
}

# dovecot_conf_base DIR NAME ADDR: writes DIR/dovecot.conf with the lines
# that keep a Dovecot under DIR (instance NAME, so several beds run side by
# side), listening on ADDR, with no chroot for anvil (the bed appends its
# own). Creates the directories it names.
dovecot_conf_base() {
    local dir=$1 name=$2 addr=$3
    mkdir -p "$dir/dovecot-run" "$dir/dovecot-state"
    cat >"$dir/dovecot.conf" <<CONF
base_dir = $dir/dovecot-run
state_dir = $dir/dovecot-state
log_path = $dir/dovecot.log
instance_name = $name
listen = $addr
first_valid_uid = 1
service anvil {
  chroot =
}
CONF
}

# start_mail_servers DIR: starts the Postfix and the Dovecot configured
# under DIR (either may be absent); on failure prints their logs to stderr
# and returns 1.
start_mail_servers() {
    local dir=$1
    if [[ -f $dir/postfix/main.cf ]]; then
        postfix -c "$dir/postfix" start >"$dir/postfix-start.log" 2>&1 || {
            cat "$dir/postfix-start.log" "$dir/postfix.log" >&2 2>/dev/null
            return 1
        }
    fi
    if [[ -f $dir/dovecot.conf ]]; then
        dovecot -c "$dir/dovecot.conf" >"$dir/dovecot-start.log" 2>&1 || {
            cat "$dir/dovecot-start.log" "$dir/dovecot.log" >&2 2>/dev/null
            return 1
        }
    fi
}

# stop_mail_servers DIR: stops the Postfix and the Dovecot running from DIR
# and waits until Postfix's master is gone (killed after 5 s). Nothing to do
# for what never started.
stop_mail_servers() {
    local dir=$1 master
    [[ -n $dir && -d $dir ]] || return 0
    if [[ -f $dir/postfix/main.cf ]]; then
        postfix -c "$dir/postfix" stop >/dev/null 2>&1 || true
    fi
    if [[ -f $dir/dovecot.conf ]]; then
        doveadm -c "$dir/dovecot.conf" stop >/dev/null 2>&1 || true
        stop_pid "$(cat "$dir/dovecot-run/master.pid" 2>/dev/null || true)" TERM 5
    fi
    master=$(tr -d ' ' <"$dir/spool/pid/master.pid" 2>/dev/null || true)
    if [[ -n $master ]] && kill -0 "$master" 2>/dev/null; then
        for _ in $(seq 50); do
            kill -0 "$master" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$master" 2>/dev/null || true
    fi
    return 0
}

# wait_for_line ADDR PORT PATTERN: waits (up to about 10 s) until the
# server on ADDR:PORT greets with a first line starting with PATTERN.
wait_for_line() {
    local addr=$1 port=$2 pattern=$3 line
    for _ in $(seq 100); do
        line=$(timeout 2 bash -c "exec 3<>/dev/tcp/$addr/$port && head -n1 <&3" 2>/dev/null || true)
        [[ $line == "$pattern"* ]] && return 0
        sleep 0.1
    done
    return 1
}

# dovecot_maildir_user DIR USER PASSWORD HOME: Dovecot's one passwd-file
# user, its mail stored as nobody in HOME/Maildir (created), and the
# passdb, userdb and mail_location lines for it, appended to
# DIR/dovecot.conf.
dovecot_maildir_user() {
    local dir=$1 user=$2 password=$3 home=$4
    mkdir -p "$home/Maildir"/{cur,new,tmp}
    chown -R nobody "$home"
    printf '%s:{PLAIN}%s:%s:%s::%s\n' "$user" "$password" "$(id -u nobody)" "$(id -g nobody)" "$home" \
        >"$dir/dovecot-users"
    cat >>"$dir/dovecot.conf" <<CONF
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN $dir/dovecot-users
}
userdb {
  driver = passwd-file
  args = $dir/dovecot-users
}
CONF
}

# dovecot_lmtp_listener DIR ADDR PORT: LMTP (delivery into the Maildir) on
# ADDR:PORT, appended to DIR/dovecot.conf.
dovecot_lmtp_listener() {
    cat >>"$1/dovecot.conf" <<CONF
service lmtp {
  inet_listener lmtp {
    address = $2
    port = $3
  }
}
CONF
}

# dovecot_imap_login DIR ADDR IMAP_PORT IMAPS_PORT [SETTING...]: the IMAP
# login service, IMAP on ADDR:IMAP_PORT and IMAPS on ADDR:IMAPS_PORT, not
# chrooted (DIR is not a chroot), with the bed's own SETTING lines;
# appended to DIR/dovecot.conf.
dovecot_imap_login() {
    local dir=$1 addr=$2 imap_port=$3 imaps_port=$4 setting
    shift 4
    {
        echo "service imap-login {"
        echo "  chroot ="
        for setting in "$@"; do
            echo "  $setting"
        done
        cat <<CONF
  inet_listener imap {
    address = $addr
    port = $imap_port
  }
  inet_listener imaps {
    address = $addr
    port = $imaps_port
    ssl = yes
  }
}
CONF
    } >>"$dir/dovecot.conf"
}
