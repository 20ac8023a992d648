#!/usr/bin/python3
"""dkimpy-arc.py: ARC with dkimpy (Debian's python3-dkim), the reference
sealer and verifier of the ARC tests.

  dkimpy-arc.py seal SELECTOR DOMAIN KEYFILE AUTHSERV ARC_RESULT < in > out
      acts as one intermediary: adds its Authentication-Results
      (dkim=pass, and arc=ARC_RESULT unless ARC_RESULT is "-"; dkimpy takes
      the new seal's cv= from it), then the ARC set dkimpy's arc_sign makes,
      on top of the message, as a forwarder does.
  dkimpy-arc.py verify RESOLVER FILE...
      prints, per file, the file name and dkimpy's ARC verdict (pass, fail
      or none), keys from the DNS test bed (RESOLVER is ADDR@PORT).
"""
import sys

import dkim

from dkimpy_dns import make_dnsfunc


def seal(selector, domain, keyfile, authserv, arc_result):
    message = sys.stdin.buffer.read()
    with open(keyfile, "rb") as f:
        key = f.read()
    results = "%s; dkim=pass header.d=%s" % (authserv, domain)
    if arc_result != "-":
        results += "; arc=%s" % arc_result
    ar = ("Authentication-Results: %s\r\n" % results).encode()
    message = ar + message
    arc_set = dkim.arc_sign(message, selector.encode(), domain.encode(), key, authserv.encode(),
                            include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
                            timestamp=None)
    if not arc_set:
        sys.exit("dkimpy-arc.py: dkimpy made no ARC set")
    sys.stdout.buffer.write(b"".join(arc_set) + message)


def verify(resolver, paths):
    dnsfunc = make_dnsfunc(resolver)
    for path in paths:
        with open(path, "rb") as f:
            message = f.read()
        cv, _, _ = dkim.arc_verify(message, dnsfunc=dnsfunc)
        # dkimpy gives None for a chain it cannot read at all: a failure
        print(path, cv.decode() if cv else "fail")


def main():
    if len(sys.argv) == 7 and sys.argv[1] == "seal":
        seal(*sys.argv[2:])
    elif len(sys.argv) >= 4 and sys.argv[1] == "verify":
        verify(sys.argv[2], sys.argv[3:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
