/* mailsec tls: TLS on every mail port (OpenSSL 3).
 *
 * ms_tls_check() connects to each port of one host at once (one thread per
 * port), speaks the port's protocol up to TLS (SMTP/LMTP, IMAP, POP3 or
 * ManageSieve STARTTLS, or TLS from the first byte), and reports per port:
 * the TLS versions accepted, the cipher, group and signature negotiated,
 * the certificate chain as sent (checked by ms_cert_check_chain), whether
 * the server is open to STARTTLS command injection, and, with DANE, whether
 * the TLSA records at _25._tcp.NAME match (RFC 7672), and, with an MTA-STS
 * policy domain, whether a sender applying its policy (RFC 8461) would
 * deliver to the SMTP ports. Findings are tls.*
 * (and cert.*) diagnostics. Every step has a deadline: a server that stalls,
 * drops the connection or speaks garbage ends as a diagnostic, never as a
 * hang.
 *
 * The reply parsers of the four protocols are public too (ms_tls_reply_parse),
 * so they can be fuzzed and tested without a server.
 */
#ifndef MAILSEC_TLS_H
#define MAILSEC_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "mailsec/audit.h"
#include "mailsec/cert.h"
#include "mailsec/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How a port starts TLS. */
typedef enum ms_tls_mode {
    MS_TLS_IMPLICIT = 0, /* TLS from the first byte (465, 993, 995) */
    MS_TLS_SMTP,         /* EHLO, STARTTLS (RFC 3207) */
    MS_TLS_LMTP,         /* LHLO, STARTTLS */
    MS_TLS_IMAP,         /* CAPABILITY, tagged STARTTLS (RFC 9051) */
    MS_TLS_POP3,         /* CAPA, STLS (RFC 2595) */
    MS_TLS_SIEVE         /* ManageSieve capabilities, STARTTLS (RFC 5804) */
} ms_tls_mode;

/* "tls", "smtp", "lmtp", "imap", "pop3", "sieve" */
const char *ms_tls_mode_str(ms_tls_mode mode);
/* Parses those names ("none" and "implicit" mean MS_TLS_IMPLICIT);
 * MS_ERR_INVALID for anything else. */
ms_status ms_tls_mode_parse(const char *name, ms_tls_mode *out);
/* The usual mode of a well-known mail port (25, 587 smtp; 465, 993, 995
 * implicit; 143 imap; 110 pop3; 4190 sieve; 24 lmtp); -1 for others. */
int ms_tls_default_mode(unsigned port);

/* The mail ports checked when none are given, in this order. */
enum { MS_TLS_DEFAULT_PORT_COUNT = 8 };
extern const uint16_t ms_tls_default_ports[MS_TLS_DEFAULT_PORT_COUNT];

/* Limits. */
enum {
    MS_TLS_TIMEOUT_MS = 10000,     /* default deadline of each step */
    MS_TLS_MAX_REPLY = 64 * 1024,  /* bytes of one protocol reply, line ends included */
    MS_TLS_MAX_REPLY_LINES = 256,  /* lines of one protocol reply (an EHLO reply has ~10) */
    MS_TLS_MAX_CHAIN = 16,         /* certificates kept from a chain */
    MS_TLS_MAX_PORTS = 64,         /* ports in one check */
    MS_TLS_MAX_ADDRESSES = 8       /* addresses of one host checked (A, then AAAA records) */
};

/* TLS versions, as bits of ms_tls_port_result.versions_*. */
enum {
    MS_TLS_V1_0 = 1 << 0,
    MS_TLS_V1_1 = 1 << 1,
    MS_TLS_V1_2 = 1 << 2,
    MS_TLS_V1_3 = 1 << 3
};
/* "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3" for one bit. */
const char *ms_tls_version_str(unsigned bit);

typedef struct ms_tls_port {
    uint16_t port;
    ms_tls_mode mode;
} ms_tls_port;

typedef struct ms_tls_check_opts {
    const char *servername;  /* SNI and the name the certificate must cover; NULL: the host */
    const char *ca_file;     /* trust these CAs (PEM) instead of the system's */
    int days_warning;        /* 0: MS_CERT_DAYS_WARNING */
    int dane;                /* look up and match TLSA records for the SMTP ports */
    unsigned timeout_ms;     /* each step's deadline; 0: MS_TLS_TIMEOUT_MS */
    int skip_versions;       /* do not probe TLS 1.0-1.3 one by one */
    int skip_injection;      /* do not test for STARTTLS command injection */
    const char *mta_sts;     /* MTA-STS policy domain: its policy is fetched (the ctx's HTTPS
                              * options apply) and matched against the SMTP ports; NULL: none */
    int ciphers;             /* enumerate the cipher suites of every version accepted, the
                              * key exchange groups and the DH size (needs the versions:
                              * nothing with skip_versions) */
} ms_tls_check_opts;

/* ---- cipher suites ---- */

/* What a cipher suite is worth, best first; a suite is put in the worst
 * class that applies. */
typedef enum ms_tls_cipher_class {
    MS_TLS_CIPHER_AEAD_FS = 0,        /* "aead-fs": AEAD (GCM, CCM, ChaCha20-Poly1305) with
                                       * forward secrecy; every TLS 1.3 suite */
    MS_TLS_CIPHER_CBC,                /* "cbc": CBC with a SHA-2 MAC, forward secret */
    MS_TLS_CIPHER_CBC_SHA1,           /* "cbc-sha1": CBC with a SHA-1 (or MD5) MAC */
    MS_TLS_CIPHER_NO_FS,              /* "no-forward-secrecy": static RSA (or PSK) key exchange */
    MS_TLS_CIPHER_64BIT_BLOCK,        /* "64-bit-block": 3DES, DES, IDEA (Sweet32) */
    MS_TLS_CIPHER_RC4,                /* "rc4" */
    MS_TLS_CIPHER_NULL_ANON_EXPORT    /* "null-anon-export": no encryption, no authentication,
                                       * or under 128 bits */
} ms_tls_cipher_class;

const char *ms_tls_cipher_class_str(ms_tls_cipher_class cls);

typedef struct ms_tls_cipher {
    char *name;               /* OpenSSL's name, e.g. "ECDHE-RSA-AES128-GCM-SHA256" */
    char *iana;               /* the IANA name, e.g. "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" */
    uint16_t id;              /* the suite's code point */
    int bits;                 /* symmetric strength */
    ms_tls_cipher_class cls;
    int anonymous;            /* no authentication (aNULL): class null-anon-export */
} ms_tls_cipher;

/* The suites one version accepts. */
typedef struct ms_tls_version_ciphers {
    unsigned version;         /* MS_TLS_V* bit */
    ms_tls_cipher *ciphers;   /* in the order the server chose them from everything offered */
    size_t count;
    int server_order;         /* 1: the server picks by its own preference (the order above is
                               * it); 0: it follows the client's order; -1: not known (under
                               * two suites) */
    int complete;             /* 0: a probe could not reach the handshake; the list may miss
                               * suites */
} ms_tls_version_ciphers;

/* What became of a port. */
typedef enum ms_tls_port_state {
    MS_TLS_PORT_TLS = 0,   /* TLS was set up and checked */
    MS_TLS_PORT_CLOSED,    /* connection refused: nothing listens */
    MS_TLS_PORT_NO_TLS,    /* the server answered but TLS could not be set up */
    MS_TLS_PORT_UNREACHABLE /* no connection: time-out, no route, no address */
} ms_tls_port_state;

const char *ms_tls_port_state_str(ms_tls_port_state state); /* "tls", "closed", ... */

/* Injection test outcome. */
typedef enum ms_tls_injection {
    MS_TLS_INJECTION_UNTESTED = 0,
    MS_TLS_INJECTION_SAFE,
    MS_TLS_INJECTION_VULNERABLE
} ms_tls_injection;

/* DANE outcome for one port. */
typedef enum ms_tls_dane_state {
    MS_TLS_DANE_NOT_CHECKED = 0, /* not asked for, or not an SMTP port */
    MS_TLS_DANE_NO_RECORDS,      /* no (secure) TLSA records */
    MS_TLS_DANE_MATCH,           /* a usable record matches */
    MS_TLS_DANE_NO_MATCH         /* usable records, none matches */
} ms_tls_dane_state;

const char *ms_tls_dane_state_str(ms_tls_dane_state state);

/* MTA-STS (RFC 8461): the policy domain's policy, as a sender finds it. */
typedef enum ms_tls_mtasts_state {
    MS_TLS_MTASTS_NOT_CHECKED = 0, /* no policy domain given */
    MS_TLS_MTASTS_NO_POLICY,       /* no _mta-sts TXT record: the domain has no policy */
    MS_TLS_MTASTS_UNUSABLE,        /* a record, but the lookup, fetch or policy failed */
    MS_TLS_MTASTS_POLICY           /* a usable policy */
} ms_tls_mtasts_state;

const char *ms_tls_mtasts_state_str(ms_tls_mtasts_state state); /* "not-checked", "no-policy",
                                                                  "unusable", "policy" */

typedef struct ms_tls_mtasts {
    char *domain;             /* the policy domain */
    ms_tls_mtasts_state state;
    char *id;                 /* the TXT record's id; NULL if none */
    ms_audit_mtasts_policy *policy; /* state POLICY: the policy (mode, mx patterns, max_age) */
    char *mx_host;            /* the MX host name matched: the servername, else the host */
    int mx_match;             /* 1: mx_host matches an mx pattern (RFC 8461 4.1); 0: none
                               * does; -1: not checked (no policy, or mode none) */
} ms_tls_mtasts;

/* Per SMTP port: would a sender applying the policy deliver? */
typedef enum ms_tls_mtasts_verdict {
    MS_TLS_MTASTS_PORT_NOT_CHECKED = 0, /* not an SMTP port, closed, or no policy to apply */
    MS_TLS_MTASTS_PORT_PASS,            /* MX host listed and certificate valid (RFC 8461 4) */
    MS_TLS_MTASTS_PORT_FAIL             /* either fails: refused under enforce, reported
                                         * under testing */
} ms_tls_mtasts_verdict;

typedef struct ms_tls_port_result {
    uint16_t port;
    ms_tls_mode mode;
    ms_tls_port_state state;
    char *address;          /* the address connected to */
    char *greeting;         /* the first line the server sent (plain text); NULL if none */
    int starttls_offered;   /* STARTTLS/STLS in the capabilities (STARTTLS modes) */
    char *version;          /* negotiated, e.g. "TLSv1.3" */
    char *cipher;           /* e.g. "TLS_AES_256_GCM_SHA384" */
    char *group;            /* key exchange group, e.g. "X25519"; NULL if unknown */
    char *signature;        /* the server's handshake signature, e.g. "ecdsa_secp256r1_sha256" */
    unsigned versions_probed;   /* MS_TLS_V* bits whose acceptance is known */
    unsigned versions_accepted; /* of those, the ones the server accepted */
    ms_tls_injection injection;
    ms_tls_dane_state dane;
    ms_tls_mtasts_verdict mtasts;
    int mtasts_cert_valid;      /* with mtasts checked: the certificate passes RFC 8461 4.2
                                 * (chain to a trusted root, MX host name, dates); else -1 */
    unsigned char **chain_der;  /* the chain as sent, leaf first */
    size_t *chain_len;
    size_t chain_count;
    ms_cert_chain_info cert;    /* valid when chain_count > 0 */
    ms_tls_version_ciphers *ciphers; /* with opts->ciphers: one entry per version accepted,
                                      * oldest first */
    size_t cipher_versions;
    char **groups;              /* key exchange groups accepted (TLS 1.3, else TLS 1.2 ECDHE),
                                 * in the server's order, e.g. "x25519" */
    size_t group_count;
    int dh_bits;                /* DHE suites: the server's DH parameter size; 0 none */
    unsigned handshakes;        /* hellos sent to enumerate the suites and groups */
    double seconds;             /* wall time of this port's checks */
    ms_diag_list diags;         /* tls.* and cert.* findings about this port */
} ms_tls_port_result;

typedef struct ms_tls_check_result {
    char *host;
    char *servername;
    ms_tls_port_result *ports;     /* every port on every address, address by address: the
                                    * first address's ports first, in the order given */
    size_t count;
    size_t address_count;          /* addresses checked; 0: none found (each port says why) */
    size_t open_ports;      /* ports that accepted a connection (state tls or no-tls); none:
                             * the host could not be checked (tls.no-open-port) */
    int same_certificate;   /* 1: every TLS port sent the same leaf; 0: not; -1: under two TLS ports */
    ms_tls_mtasts mtasts;   /* with opts->mta_sts */
    ms_diag_list diags;     /* findings about the host as a whole (certificates, DANE lookup,
                             * MTA-STS policy and MX match) */
} ms_tls_check_result;

void ms_tls_check_result_free(ms_tls_check_result *result);

/* Checks the ports (the default eight when count is 0) of host, all at
 * once, on each of its addresses: host itself when it is an IPv4 or IPv6
 * address, else its A and AAAA records (at most MS_TLS_MAX_ADDRESSES),
 * looked up with the ctx's resolver and trust anchor. MS_OK unless the check could not run at all (bad arguments, no
 * memory); unreachable servers are results, not errors. A closed port is
 * a note (tls.closed) among the default eight, an error (tls.closed-named)
 * among ports the caller named; with no port open at all, the host has
 * the error tls.no-open-port. */
ms_status ms_tls_check(ms_ctx *ctx, const char *host, const ms_tls_port *ports, size_t count,
                       const ms_tls_check_opts *opts, ms_tls_check_result **out);

/* ---- a domain's MX hosts (tls check --mx, the audit's SMTP TLS area) ---- */

enum { MS_TLS_MAX_MX_HOSTS = 10 }; /* MX hosts checked, by preference; the rest are named */

typedef struct ms_tls_mx_host {
    char *name;                 /* the MX host (the domain itself for an implicit MX) */
    uint16_t preference;
    char grade;                 /* 'A' no findings above notes, 'B' warnings, 'F' errors,
                                 * '?' no port accepted a connection (or no address) */
    ms_tls_check_result *check; /* the host's check (ports on every address) */
} ms_tls_mx_host;

typedef struct ms_tls_mx_result {
    char *domain;
    int null_mx;           /* RFC 7505: the domain accepts no mail; nothing to check */
    int implicit_mx;       /* no MX records: the domain itself is the mail host (RFC 5321 5.1) */
    ms_tls_mx_host *hosts; /* checked, by preference as published */
    size_t count;
    char grade;            /* the worst host's ('?' ranks between B and F); 'A' with null MX */
    int could_not_check;   /* the MX lookup failed, or no host accepted a connection */
    ms_diag_list diags;    /* the MX lookup's findings (mx.*) and tls.mx-too-many */
} ms_tls_mx_result;

void ms_tls_mx_result_free(ms_tls_mx_result *result);

/* Looks up the MX hosts of domain (ms_audit_mx) and checks every host at
 * once with ms_tls_check: ports (port 25, SMTP STARTTLS, when count is 0)
 * on each address, the host name as servername, with opts (opts->servername
 * is ignored). At most MS_TLS_MAX_MX_HOSTS hosts, the first by preference. */
ms_status ms_tls_check_mx(ms_ctx *ctx, const char *domain, const ms_tls_port *ports, size_t count,
                          const ms_tls_check_opts *opts, ms_tls_mx_result **out);

/* The same for MX hosts already looked up (the audit): mx as ms_audit_mx
 * found it; mx_diags, the lookup's findings, are copied to the result. */
ms_status ms_tls_check_mx_hosts(ms_ctx *ctx, const char *domain, const ms_audit_mx_result *mx,
                                const ms_diag_list *mx_diags, const ms_tls_port *ports,
                                size_t count, const ms_tls_check_opts *opts,
                                ms_tls_mx_result **out);

/* ---- protocol replies ---- */

/* Which reply is expected, so the parser knows where it ends. */
typedef enum ms_tls_reply_kind {
    MS_TLS_REPLY_SMTP = 0,  /* "250-..." lines, until "250 ..." */
    MS_TLS_REPLY_IMAP,      /* untagged "* ..." lines, until the tagged reply */
    MS_TLS_REPLY_POP3,      /* one "+OK" / "-ERR" line */
    MS_TLS_REPLY_POP3_MULTI,/* "+OK" then lines until "." (CAPA); "-ERR" is one line */
    MS_TLS_REPLY_SIEVE      /* capability or other lines, until OK / NO / BYE */
} ms_tls_reply_kind;

typedef enum ms_tls_parse {
    MS_TLS_PARSE_MORE = 0, /* the reply is not complete yet */
    MS_TLS_PARSE_DONE,     /* one complete reply; see ms_tls_reply */
    MS_TLS_PARSE_GARBAGE,  /* the bytes are not a reply of this protocol */
    MS_TLS_PARSE_TOO_LONG  /* the reply passed MS_TLS_MAX_REPLY bytes or
                            * MS_TLS_MAX_REPLY_LINES lines: no server needs that */
} ms_tls_parse;

typedef struct ms_tls_reply {
    size_t length;       /* bytes of the reply, CRLFs included */
    int code;            /* SMTP: the three-digit code; others: 1 ok, 0 not ok */
    int ok;              /* SMTP 2xx, IMAP/Sieve OK, POP3 +OK */
    int starttls;        /* the reply lists STARTTLS (SMTP EHLO keyword, IMAP, Sieve
                          * capability) or STLS (POP3 CAPA) */
    size_t lines;
    size_t first_line_len; /* the first line without its line end */
} ms_tls_reply;

/* Parses the reply at the start of buf (len bytes). For IMAP, tag is the
 * tag of the command answered (NULL: the greeting, an untagged OK/PREAUTH/
 * BYE line). Lines end in CRLF or LF; a reply that breaks the protocol's
 * grammar is GARBAGE, one longer than the bounds above TOO_LONG (as soon as
 * the bytes show it, complete or not). */
ms_tls_parse ms_tls_reply_parse(ms_tls_reply_kind kind, const char *tag, const char *buf,
                                size_t len, ms_tls_reply *out);

/* The same parser for a reply that arrives in pieces: each feed parses
 * only the bytes that arrived since the last one, so a reply costs time in
 * proportion to its length however it is cut, and the bounds hold from
 * the first byte. */
typedef struct ms_tls_reply_parser {
    ms_tls_reply_kind kind;
    const char *tag;      /* IMAP: as for ms_tls_reply_parse (not copied) */
    size_t parsed;        /* bytes of the whole lines parsed */
    size_t searched;      /* bytes searched for the next line end */
    ms_tls_parse state;   /* MORE until the reply is over, then how it ended */
    ms_tls_reply reply;   /* what the lines parsed so far say; the reply when DONE */
} ms_tls_reply_parser;

void ms_tls_reply_parser_init(ms_tls_reply_parser *p, ms_tls_reply_kind kind, const char *tag);
/* buf[0, len): the reply's bytes received so far, from its first byte on
 * (those of the last feed, and maybe more). Once the reply is over (DONE,
 * GARBAGE or TOO_LONG), every later feed says the same. */
ms_tls_parse ms_tls_reply_feed(ms_tls_reply_parser *p, const char *buf, size_t len);

/* ---- DANE (RFC 6698, RFC 7672) ---- */

typedef struct ms_tls_tlsa {
    uint8_t usage, selector, mtype;
    const unsigned char *data;
    size_t len;
} ms_tls_tlsa;

/* Parses a TLSA record's RDATA; MS_ERR_INVALID when shorter than 4 bytes. */
ms_status ms_tls_tlsa_parse(const unsigned char *rdata, size_t len, ms_tls_tlsa *out);

/* Matches TLSA records against a chain as sent (leaf first), per RFC 7672:
 * DANE-EE(3) matches the leaf (names and dates are not checked);
 * DANE-TA(2) matches a certificate of the chain that the leaf's chain
 * verifies up to, and the leaf must cover name. PKIX-TA(0)/PKIX-EE(1) and
 * unknown selectors or matching types are unusable. The outcome goes to
 * *state, findings (tls.dane-*) to diags. MS_ERR_NOMEM when memory ran
 * out (OpenSSL's too), MS_ERR_INVALID when a certificate of the chain is
 * not DER: *state and the findings added are then not the answer. */
ms_status ms_tls_dane_match(const ms_tls_tlsa *records, size_t count, unsigned char *const *chain_der,
                            const size_t *chain_len, size_t chain_count, const char *name,
                            const char *location, ms_diag_list *diags, ms_tls_dane_state *state);

#ifdef __cplusplus
}
#endif
#endif
