#!/usr/bin/python3
"""dkimpy-sign.py [--length] [--expired] [--canon H/B] [--alg A] [--identity I]
                  SELECTOR DOMAIN KEYFILE < MESSAGE > SIGNED

Signs with dkimpy (Debian's python3-dkim) for what its dkimsign command
does not offer: l= (--length), and a signature that expired two days ago
(--expired: t= three days ago, x= one hour after t=). dkimpy's own sign()
makes the signature in both cases; for x= the tag is added to the tags
dkimpy signs, before it computes b=, so the signature covers it.
"""
import argparse
import sys
import time

import dkim


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--length", action="store_true")
    p.add_argument("--expired", action="store_true")
    p.add_argument("--canon", default="relaxed/simple")
    p.add_argument("--alg", default="rsa-sha256")
    p.add_argument("--identity")
    p.add_argument("selector")
    p.add_argument("domain")
    p.add_argument("keyfile")
    a = p.parse_args()
    message = sys.stdin.buffer.read()
    with open(a.keyfile, "rb") as f:
        key = f.read()
    d = dkim.DKIM(message, signature_algorithm=a.alg.encode())
    if a.expired:
        signed_at = int(time.time()) - 3 * 86400
        real_time = time.time
        dkim.time.time = lambda: signed_at  # t= comes from time.time()
        real_gen = d.gen_header

        def gen_header(fields, *args, **kwargs):
            at = next(i for i, (k, _) in enumerate(fields) if k == b"b")
            fields.insert(at, (b"x", str(signed_at + 3600).encode()))
            return real_gen(fields, *args, **kwargs)

        d.gen_header = gen_header
    h, b = a.canon.split("/")
    sig = d.sign(a.selector.encode(), a.domain.encode(), key,
                 identity=a.identity.encode() if a.identity else None,
                 canonicalize=(h.encode(), b.encode()), length=a.length)
    if a.expired:
        dkim.time.time = real_time
    sys.stdout.buffer.write(sig + message)


if __name__ == "__main__":
    main()
