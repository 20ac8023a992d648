#!/usr/bin/env bash
# apply.sh MAILSEC: `mailsec conf generate --apply` writes files with care
# (docs/conf.md, "How --apply writes"):
#  - the new file is created O_EXCL with mode 0600 and given its final
#    owner, group and mode before its first byte (strace shows the calls),
#    also under umask 000; a 0600 file stays 0600;
#  - owner, group and mode of the file replaced are kept (root:mail 0640);
#  - a staging file left by an interrupted run does not block the next run,
#    and is removed;
#  - every backup is kept: main.cf.mailsec-bak.1, .2, ... (after the
#    highest number there);
#  - a symlinked main.cf stays a link: its target is replaced, the backup
#    is made next to the target; two links to one file are refused;
#  - all files or none: with the disk full (a tiny tmpfs) when master.cf
#    is written, and when renaming master.cf fails (chattr +i) after
#    main.cf was replaced, both files are as they were, no staging file
#    or backup is left, and the error names both files and their state.
# Needs root: mount, chown to the group mail, chattr.
set -uo pipefail
BIN=$1
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.sh"
DATA=$ROOT/tests/conf/data
MNT=$WORK/mnt
cleanup() {
    mountpoint -q "$MNT" 2>/dev/null && umount "$MNT"
    chattr -i "$WORK"/*/master.cf 2>/dev/null
}
on_exit cleanup
if [[ $(id -u) != 0 ]]; then
    die "needs root (mount, chown, chattr)"
fi

PROFILE=(--profile intermediate --cert /etc/mail/cert.pem --key /etc/mail/key.pem)
apply_postfix() { # DIR [PROFILE]: exit status of --apply, stderr in $WORK/err
    "$BIN" conf generate postfix --version 3.7 --profile "${2:-intermediate}" \
        --cert /etc/mail/cert.pem --key /etc/mail/key.pem --apply "$1" >/dev/null 2>"$WORK/err"
}
postfix_dir() { # NAME: a copy of Debian's main.cf and master.cf
    local d=$WORK/$1
    mkdir -p "$d"
    cp "$DATA/debian/postfix/main.cf" "$DATA/debian/postfix/master.cf" "$d/"
    echo "$d"
}
leftovers() { # DIR: staging files and backups there
    find "$1" -name '*.mailsec-new*' -o -name '*.mailsec-bak*' | sort | paste -sd' '
}

# ---- created with its final mode, before the first byte ----
# Every file created with O_CREAT must grant nothing its final mode does
# not, and get fchmod before its first write.
check_creation() { # NAME TRACE FINAL-MODE (octal)
    local name=$1 trace=$2 final=$3
    local report
    report=$(awk -v final=$((8#$final)) '
        { sub(/^[0-9]+ +/, "") } # the PID strace -f puts first
        # openat(AT_FDCWD, "X.mailsec-new...", O_...|O_CREAT|..., 0600) = 3
        /^openat\(.*mailsec-new.*O_CREAT/ {
            fd = $NF; mode = $0; sub(/\) *= *[0-9]+$/, "", mode); sub(/.*, /, "", mode)
            m = 0; for (i = 1; i <= length(mode); i++) m = m * 8 + substr(mode, i, 1)
            if (and(m, compl(final)) != 0) { printf "created with mode %s; ", mode; bad = 1 }
            if ($0 !~ /O_EXCL/) { printf "created without O_EXCL; "; bad = 1 }
            open[fd] = 1; chmodded[fd] = 0; files++
            next
        }
        { call = $0; sub(/\(.*/, "", call); fd = $0; sub(/^[a-z]+\(/, "", fd); sub(/[,)].*/, "", fd) }
        call == "fchmod" && (fd in open) { chmodded[fd] = 1 }
        call == "write" && (fd in open) && !chmodded[fd] { printf "written before fchmod; "; bad = 1; delete open[fd] }
        call == "close" { delete open[fd] }
        END { if (files == 0) { printf "no staging file created"; bad = 1 } exit bad }' "$trace")
    if (($? == 0)); then
        ok "$name: created O_EXCL with no more than mode $final, fchmod before the first write"
    else
        fail "$name: $report"
    fi
}

d=$WORK/dovecot-secret
mkdir -p "$d/conf.d"
cp "$DATA/debian/dovecot/dovecot.conf" "$d/"
cp "$DATA/debian/dovecot/conf.d/10-ssl.conf" "$d/conf.d/"
echo "ssl_key_password = secret" >>"$d/conf.d/10-ssl.conf"
chmod 600 "$d/conf.d/10-ssl.conf"
# (LeakSanitizer cannot run under ptrace; the other runs check for leaks)
(umask 000 && ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -qq -o "$WORK/trace" -e trace=openat,fchmod,fchown,write,close \
    "$BIN" conf generate dovecot --version 2.3 "${PROFILE[@]}" --apply "$d" >/dev/null 2>"$WORK/err")
st=$?
((st == 0)) || fail "dovecot apply under strace: exit $st: $(cat "$WORK/err")"
check_creation "10-ssl.conf (0600, ssl_key_password), umask 000" "$WORK/trace" 600
[[ $(stat -c %a "$d/conf.d/10-ssl.conf") == 600 ]] && ok "10-ssl.conf is still 0600 under umask 000" ||
    fail "10-ssl.conf mode $(stat -c %a "$d/conf.d/10-ssl.conf") under umask 000"

# ---- owner, group and mode kept ----
d=$(postfix_dir group)
chown root:mail "$d/main.cf" "$d/master.cf"
chmod 640 "$d/main.cf"
chmod 604 "$d/master.cf"
(umask 077 && apply_postfix "$d")
st=$?
if ((st == 0)) && [[ $(stat -c '%U:%G %a' "$d/main.cf") == "root:mail 640" &&
    $(stat -c '%U:%G %a' "$d/master.cf") == "root:mail 604" ]] && grep -q '^tls_preempt_cipherlist = no$' "$d/main.cf"; then
    ok "root:mail 0640 main.cf and 0604 master.cf keep owner, group and mode (umask 077)"
else
    fail "owner/group/mode: exit $st, main.cf $(stat -c '%U:%G %a' "$d/main.cf"), master.cf $(stat -c '%U:%G %a' "$d/master.cf"); $(cat "$WORK/err")"
fi

# ---- a staging file left by an interrupted run ----
d=$(postfix_dir stale)
echo "half written by an older version" >"$d/main.cf.mailsec-new"
sleep 0 &
dead=$!
wait "$dead"
echo "half written" >"$d/master.cf.mailsec-new.$dead.AbCdEf"
apply_postfix "$d"
st=$?
if ((st == 0)) && grep -q '^tls_preempt_cipherlist = no$' "$d/main.cf" &&
    [[ $(leftovers "$d") == "$d/main.cf.mailsec-bak.1 $d/master.cf.mailsec-bak.1" ]]; then
    ok "stale staging files: the apply goes ahead and removes them"
else
    fail "stale staging files: exit $st ($(cat "$WORK/err")), left: $(leftovers "$d")"
fi

# ---- every backup kept ----
d=$(postfix_dir backups)
apply_postfix "$d" intermediate
cp "$d/main.cf" "$WORK/main.cf.first"
apply_postfix "$d" modern
st=$?
if ((st == 0)) && cmp -s "$d/main.cf.mailsec-bak.1" "$DATA/debian/postfix/main.cf" &&
    cmp -s "$d/main.cf.mailsec-bak.2" "$WORK/main.cf.first" && grep -q '>=TLSv1.3' "$d/main.cf"; then
    ok "two applies: main.cf.mailsec-bak.1 is the original, .2 the first apply's"
else
    fail "two applies: exit $st, backups: $(leftovers "$d")"
fi

d=$(postfix_dir numbering)
echo "an old backup" >"$d/main.cf.mailsec-bak.7"
apply_postfix "$d"
st=$?
if ((st == 0)) && cmp -s "$d/main.cf.mailsec-bak.8" "$DATA/debian/postfix/main.cf" &&
    [[ $(cat "$d/main.cf.mailsec-bak.7") == "an old backup" && ! -e $d/main.cf.mailsec-bak.1 ]]; then
    ok "with main.cf.mailsec-bak.7 there, the next backup is .8 and .7 is left alone"
else
    fail "backup numbering: exit $st, backups: $(leftovers "$d")"
fi

# ---- a symlinked main.cf ----
d=$(postfix_dir link)
mkdir -p "$WORK/managed"
mv "$d/main.cf" "$WORK/managed/main.cf"
chown root:mail "$WORK/managed/main.cf"
chmod 640 "$WORK/managed/main.cf"
ln -s ../managed/main.cf "$d/main.cf"
apply_postfix "$d"
st=$?
if ((st == 0)) && [[ -L $d/main.cf && $(readlink "$d/main.cf") == ../managed/main.cf ]] &&
    grep -q '^tls_preempt_cipherlist = no$' "$WORK/managed/main.cf" &&
    [[ $(stat -c '%U:%G %a' "$WORK/managed/main.cf") == "root:mail 640" ]] &&
    cmp -s "$WORK/managed/main.cf.mailsec-bak.1" "$DATA/debian/postfix/main.cf" && [[ ! -e $d/main.cf.mailsec-bak.1 ]]; then
    ok "symlinked main.cf: the link stays, its target is replaced and backed up next to it"
else
    fail "symlinked main.cf: exit $st ($(cat "$WORK/err")); $(ls -l "$d/main.cf"); $(leftovers "$WORK/managed")"
fi

# main.cf and master.cf the same file (two links): refused, nothing written
d=$WORK/same
mkdir -p "$d"
cp "$DATA/debian/postfix/main.cf" "$d/both.cf"
ln -s both.cf "$d/main.cf"
ln -s both.cf "$d/master.cf"
apply_postfix "$d"
st=$?
if ((st == 2)) && grep -q 'are the same file' "$WORK/err" && cmp -s "$d/both.cf" "$DATA/debian/postfix/main.cf" &&
    [[ -z $(leftovers "$d") ]]; then
    ok "main.cf and master.cf links to one file: refused, nothing written"
else
    fail "one file twice: exit $st, left: $(leftovers "$d"); $(cat "$WORK/err")"
fi

# ---- all or nothing ----
all_or_nothing() { # NAME DIR: both files as they were, nothing left, both named
    local name=$1 d=$2 st=$3
    if ((st == 2)) && cmp -s "$d/main.cf" "$DATA/debian/postfix/main.cf" &&
        cmp -s "$d/master.cf" "$DATA/debian/postfix/master.cf" && [[ -z $(leftovers "$d") ]] &&
        grep -q "main.cf: $4" "$WORK/err" && grep -q 'master.cf: unchanged' "$WORK/err"; then
        ok "$name: exit 2, main.cf and master.cf as they were, nothing left, both named"
    else
        fail "$name: exit $st; main.cf $(cmp -s "$d/main.cf" "$DATA/debian/postfix/main.cf" && echo unchanged || echo CHANGED); left: $(leftovers "$d"); $(cat "$WORK/err")"
    fi
}

# The disk fills up while master.cf is written: a tmpfs with room for a
# copy of main.cf and the new main.cf (what a copying backup and main.cf
# take), not for the new master.cf too (sizes from an apply on a normal disk).
pages() { echo $(( ($(stat -c %s "$1") + 4095) / 4096 )); }
d=$(postfix_dir sizes)
apply_postfix "$d"
room=$(( $(pages "$DATA/debian/postfix/main.cf") + $(pages "$d/main.cf") ))
(($(pages "$d/master.cf") > $(pages "$DATA/debian/postfix/main.cf"))) ||
    fail "disk full: the new master.cf is too small for this test"
mkdir -p "$MNT"
if mount -t tmpfs -o size=1m tmpfs "$MNT"; then
    d=$MNT/full
    mkdir -p "$d"
    cp "$DATA/debian/postfix/main.cf" "$DATA/debian/postfix/master.cf" "$d/"
    dd if=/dev/zero of="$MNT/filler" bs=4096 2>/dev/null
    truncate -s "-$((room * 4096))" "$MNT/filler"
    apply_postfix "$d"
    st=$?
    all_or_nothing "disk full at master.cf" "$d" $st unchanged
    grep -q 'No space left on device' "$WORK/err" || fail "disk full: the cause is not named: $(cat "$WORK/err")"
    umount "$MNT"
else
    fail "cannot mount a tmpfs"
fi

# Renaming master.cf fails (immutable) after main.cf was replaced: main.cf
# is put back from its backup.
d=$(postfix_dir immutable)
if chattr +i "$d/master.cf" 2>/dev/null; then
    apply_postfix "$d"
    st=$?
    chattr -i "$d/master.cf"
    all_or_nothing "rename of master.cf refused" "$d" $st "put back as it was"
else
    fail "chattr +i is not supported here ($(stat -f -c %T "$d"))"
fi

finish apply
