#!/usr/bin/python3
"""dkimpy-verify.py RESOLVER FILE...: verify every DKIM-Signature of each
message with dkimpy (Debian's python3-dkim), the reference verifier of the
DKIM tests, fetching keys from the DNS test bed (RESOLVER is ADDR@PORT).

Prints one line per file: the file name, then one word per signature in
order, "pass" or "fail" (dkimpy says only whether a signature verified).
"""
import sys

import dkim
import dns.resolver


def make_dnsfunc(resolver_spec):
    addr, _, port = resolver_spec.partition("@")
    res = dns.resolver.Resolver(configure=False)
    res.nameservers = [addr]
    res.port = int(port or 53)

    def dnsfunc(name, timeout=5):
        qname = name.decode() if isinstance(name, bytes) else name
        try:
            answer = res.resolve(qname, "TXT", lifetime=timeout)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return None
        # like dkimpy's own lookup: the strings of the first record, joined
        for rdata in answer:
            return b"".join(rdata.strings)
        return None

    return dnsfunc


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
