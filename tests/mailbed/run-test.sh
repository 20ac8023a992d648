#!/usr/bin/env bash
# run-test.sh MAILSEC FILE.test: runs a test file with tests/cli/run.sh,
# with the mail bed's info (SMTP_PORT, CA, BAD_STALL_PORT, ...) in the
# environment, so `run:` lines can name the bed's ports, and
#   $MAILBED  = 127.0.0.1 --servername SERVERNAME --ca CA
# the host and the options every check of the bed needs.
set -euo pipefail
info=${MAILSEC_MAILBED_INFO:?MAILSEC_MAILBED_INFO is not set}
[[ -f $info ]] || { echo "the mail test bed is not running (no $info)" >&2; exit 1; }
while IFS='=' read -r key value; do
    [[ $key =~ ^[A-Z0-9_]+$ ]] && export "$key=$value"
done <"$info"
export MAILBED="$ADDR --servername $SERVERNAME --ca $CA"
# every case runs within bounds of time and memory (bounded.sh)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export MAILBED_BOUNDED=$(realpath "$1")
exec bash "$here/../cli/run.sh" "$here/bounded.sh" "$2"
