#!/usr/bin/python3
"""dkimpy-verify.py RESOLVER FILE...: verify every DKIM-Signature of each
message with dkimpy (Debian's python3-dkim), the reference verifier of the
DKIM tests, fetching keys from the DNS test bed (RESOLVER is ADDR@PORT).

Prints one line per file: the file name, then one word per signature in
order, "pass" or "fail" (dkimpy says only whether a signature verified).
"""
import sys

import dkim

from dkimpy_dns import make_dnsfunc


def main():
    dnsfunc = make_dnsfunc(sys.argv[1])
    for path in sys.argv[2:]:
        with open(path, "rb") as f:
            message = f.read()
        d = dkim.DKIM(message)
        count = sum(1 for name, _ in d.headers if name.lower() == b"dkim-signature")
        words = []
        for idx in range(count):
            try:
                ok = d.verify(idx=idx, dnsfunc=dnsfunc)
            except dkim.DKIMException:
                ok = False
            words.append("pass" if ok else "fail")
        print(path, *words)


if __name__ == "__main__":
    main()
