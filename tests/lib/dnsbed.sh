# The DNS test bed, as a test script reads it (sourced, not run): sets
# dns_info (its info file), resolver (ADDR@PORT), anchor (its trust
# anchors) and dns_port from MAILSEC_DNSBED_INFO, which the dnsbed fixture
# sets; a test run without the bed fails at once, saying so.
dns_info=${MAILSEC_DNSBED_INFO:-}
[[ -n $dns_info && -f $dns_info ]] || { echo "FAIL - the DNS test bed is not running"; exit 1; }
resolver=$(sed -n 's/^RESOLVER=//p' "$dns_info")
anchor=$(sed -n 's/^TRUST_ANCHOR=//p' "$dns_info")
dns_port=$(sed -n 's/^PORT=//p' "$dns_info")
