"""Key lookups for dkimpy from the DNS test bed, shared by dkimpy-verify.py
and dkimpy-arc.py (dkimpy's own lookup asks the system's resolver)."""
import dns.resolver


def make_dnsfunc(resolver_spec):
    """A dkimpy dnsfunc asking RESOLVER (ADDR@PORT) for TXT records."""
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
