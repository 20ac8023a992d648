/* The address parser: one pass over the bytes, no allocation for ASCII.
 *
 * The grammar is RFC 5322 section 3.4.1 addr-spec with its obsolete forms,
 * read the way is_email 3.05 reads it so that the categories agree with
 * its conformance suite: every finding is ranked by is_email's numeric
 * value and the highest one is the diagnosis; the first error stops the
 * parse. Contexts nest only in a fixed shape (component, then a quoted
 * string, a literal or any depth of comments, then white space or a
 * quoted pair), so a depth counter and two flags replace a stack.
 *
 * A quick pass (at the end of this file) recognises the forms most lists
 * hold with one table of byte classes and gives up to the full parser on
 * the first byte it does not expect. */
#include "email_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

enum { CX_LOCAL, CX_DOMAIN, CX_LITERAL, CX_COMMENT, CX_FWS, CX_QS, CX_QP };

#define CL_ATEXT 1u  /* RFC 5322 atext */
#define CL_LDH 2u    /* letter or digit */
#define CL_DIGIT 4u
#define CL_WORD 8u   /* PCRE's \w: letters, digits, underscore */
#define CL_HEX 16u
static const unsigned char cls[256] = {
#define A CL_ATEXT
#define LD (CL_ATEXT | CL_LDH | CL_WORD)
#define LH (CL_ATEXT | CL_LDH | CL_WORD | CL_HEX)
#define DG (CL_ATEXT | CL_LDH | CL_WORD | CL_DIGIT | CL_HEX)
    ['!'] = A, ['#'] = A, ['$'] = A, ['%'] = A, ['&'] = A, ['\''] = A, ['*'] = A, ['+'] = A,
    ['-'] = A, ['/'] = A, ['='] = A, ['?'] = A, ['^'] = A, ['_'] = A | CL_WORD, ['`'] = A,
    ['{'] = A, ['|'] = A, ['}'] = A, ['~'] = A,
    ['0'] = DG, ['1'] = DG, ['2'] = DG, ['3'] = DG, ['4'] = DG, ['5'] = DG, ['6'] = DG,
    ['7'] = DG, ['8'] = DG, ['9'] = DG,
    ['A'] = LH, ['B'] = LH, ['C'] = LH, ['D'] = LH, ['E'] = LH, ['F'] = LH, ['G'] = LD,
    ['H'] = LD, ['I'] = LD, ['J'] = LD, ['K'] = LD, ['L'] = LD, ['M'] = LD, ['N'] = LD,
    ['O'] = LD, ['P'] = LD, ['Q'] = LD, ['R'] = LD, ['S'] = LD, ['T'] = LD, ['U'] = LD,
    ['V'] = LD, ['W'] = LD, ['X'] = LD, ['Y'] = LD, ['Z'] = LD,
    ['a'] = LH, ['b'] = LH, ['c'] = LH, ['d'] = LH, ['e'] = LH, ['f'] = LH, ['g'] = LD,
    ['h'] = LD, ['i'] = LD, ['j'] = LD, ['k'] = LD, ['l'] = LD, ['m'] = LD, ['n'] = LD,
    ['o'] = LD, ['p'] = LD, ['q'] = LD, ['r'] = LD, ['s'] = LD, ['t'] = LD, ['u'] = LD,
    ['v'] = LD, ['w'] = LD, ['x'] = LD, ['y'] = LD, ['z'] = LD,
#undef A
#undef LD
#undef LH
#undef DG
};

/* The parser's state: is_email's variables, with the context stack
 * flattened (see the file comment). */
typedef struct st {
    const unsigned char *s;
    size_t len;
    int utf8;
    em_parse *out;
    unsigned rank;
    int ctx, prior, base; /* current, last left, and component (local/domain) */
    int in_qs, in_lit;
    size_t depth; /* comment nesting */
    size_t elem_count, elem_len;
    int end_or_die, hyphen, seen_at;
    int token_prior_cr;
    size_t crlf_count; /* 0: unset */
    size_t lit_start;  /* first byte inside "[" */
    int lit_ws;        /* white space inside the literal */
    int domain_cfws;
    unsigned char last_label_first;
} st;

static void raise(st *p, enum em_diag d, size_t at)
{
    /* is_email keeps the highest value; on a tie the first finding stays. */
    if (em_diag_infos[d].rank > p->rank) {
        p->rank = em_diag_infos[d].rank;
        p->out->diag = d;
        p->out->diag_offset = at;
    }
}

static int fatal(const st *p)
{
    return p->rank > 127;
}

/* Leaves the current context: back to the enclosing one. */
static void pop(st *p)
{
    p->prior = p->ctx;
    if (p->ctx == CX_FWS || p->ctx == CX_QP) {
        if (p->depth > 0)
            p->ctx = CX_COMMENT;
        else if (p->in_qs)
            p->ctx = CX_QS;
        else if (p->in_lit)
            p->ctx = CX_LITERAL;
        else
            p->ctx = p->base;
    } else if (p->ctx == CX_COMMENT) {
        p->depth--;
        p->ctx = p->depth > 0 ? CX_COMMENT : p->base;
    } else {
        p->in_qs = p->in_lit = 0;
        p->ctx = p->base;
    }
}

static void add_token(st *p, size_t at, size_t n)
{
    em_parse *o = p->out;
    if (p->base == CX_LOCAL) {
        if (o->local_octets == 0 && o->local_end == 0)
            o->local_start = at;
        o->local_end = at + n;
        o->local_octets += n;
    } else {
        if (o->domain_octets == 0)
            o->domain_start = at;
        o->domain_end = at + n;
        o->domain_octets += n;
    }
}

/* The n bytes at i belong to the element (atom, label, quoted string or
 * literal) being read. Returns n. */
static size_t take(st *p, size_t i, size_t n)
{
    add_token(p, i, n);
    p->elem_len += n;
    return n;
}

/* A CR must be followed by LF; moves *i onto the LF. Returns 0 on error. */
static int crlf(st *p, size_t *i)
{
    if (p->s[*i] != '\r')
        return 1;
    if (*i + 1 == p->len || p->s[*i + 1] != '\n') {
        raise(p, EM_ERR_CR_NO_LF, *i);
        return 0;
    }
    (*i)++;
    return 1;
}

/* A non-ASCII byte at i: in profile intl one well-formed, safe UTF-8
 * character (its length is returned), otherwise an error (0). */
static size_t non_ascii(st *p, size_t i)
{
    if (!p->utf8) {
        raise(p, EM_ERR_NON_ASCII, i);
        return 0;
    }
    unsigned cp;
    size_t n = em_utf8_decode(p->s + i, p->len - i, &cp);
    if (n == 0) {
        raise(p, EM_ERR_BAD_UTF8, i);
        return 0;
    }
    if (em_codepoint_unsafe(cp)) {
        raise(p, EM_ERR_UNSAFE_CHAR, i);
        return 0;
    }
    return n;
}

/* White space c, or the CR of a fold's CRLF, starts FWS (the diagnosis is
 * the caller's). Returns the bytes consumed: 2 for CRLF. */
static size_t enter_fws(st *p, unsigned char c)
{
    p->out->has_cfws = 1;
    p->ctx = CX_FWS;
    p->token_prior_cr = c == '\r';
    return c == '\r' ? 2 : 1;
}

/* CFWS (a comment or FWS) at i. Before an element, `before` (each part
 * rates CFWS there differently); after one, `after` (EM_VALID for
 * nothing), and the element must end there: only a dot or the part's end
 * may follow. */
static void cfws_at(st *p, size_t i, enum em_diag before, enum em_diag after)
{
    if (p->elem_len == 0) {
        raise(p, before, i);
    } else {
        raise(p, after, i);
        p->end_or_die = 1;
    }
}

/* FWS at i in the local part or the domain: `first` before the first
 * element (each part rates it differently), obsolete before a later one,
 * `after` (EM_VALID for nothing) after an element, as cfws_at. Returns the
 * bytes consumed. (A CR without LF is an error: the parse ends there.) */
static size_t component_fws(st *p, size_t i, enum em_diag first, enum em_diag after)
{
    unsigned char c = p->s[i];
    if (!crlf(p, &i))
        return 1;
    cfws_at(p, i, p->elem_count == 0 ? first : EM_DEPREC_FWS, after);
    return enter_fws(p, c);
}

/* FWS at i inside a comment or a domain literal: EM_CFWS_FWS wherever it
 * stands. Returns the bytes consumed, as component_fws. (In a quoted
 * string FWS is also an octet of the local part: step_qs.) */
static size_t inner_fws(st *p, size_t i)
{
    unsigned char c = p->s[i];
    if (!crlf(p, &i))
        return 1;
    raise(p, EM_CFWS_FWS, i);
    return enter_fws(p, c);
}

static void open_comment(st *p, size_t i, enum em_diag before)
{
    cfws_at(p, i, before, EM_CFWS_COMMENT);
    p->ctx = CX_COMMENT;
    p->depth = 1;
}

/* A dot at i ends the element (atom or label) just read. */
static void next_element(st *p, size_t i)
{
    p->end_or_die = 0;
    p->elem_len = 0;
    p->elem_count++;
    add_token(p, i, 1);
}

/* Returns how many bytes were consumed (0: reprocess in a new context). */
static size_t step_local(st *p, size_t i)
{
    unsigned char c = p->s[i];
    switch (c) {
    case '(':
        open_comment(p, i, p->elem_count == 0 ? EM_CFWS_COMMENT : EM_DEPREC_COMMENT);
        return 1;
    case '\r':
    case ' ':
    case '\t':
        return component_fws(p, i, EM_CFWS_FWS, EM_VALID);
    case '.':
        if (p->elem_len == 0) {
            raise(p, p->elem_count == 0 ? EM_ERR_DOT_START : EM_ERR_CONSECUTIVE_DOTS, i);
        } else {
            if (p->end_or_die)
                raise(p, EM_DEPREC_LOCAL_PART, i);
            next_element(p, i);
        }
        return 1;
    case '"':
        if (p->elem_len == 0) {
            raise(p, p->elem_count == 0 ? EM_RFC5321_QUOTED_STRING : EM_DEPREC_LOCAL_PART, i);
            take(p, i, 1);
            p->end_or_die = 1;
            p->ctx = CX_QS;
            p->in_qs = 1;
        } else {
            raise(p, EM_ERR_EXPECTING_ATEXT, i);
        }
        return 1;
    case '@':
        if (p->out->local_octets == 0)
            raise(p, EM_ERR_NO_LOCAL_PART, i);
        else if (p->elem_len == 0)
            raise(p, EM_ERR_DOT_END, i);
        else if (p->out->local_octets > 64)
            raise(p, EM_RFC5322_LOCAL_TOO_LONG, i);
        else if (p->prior == CX_COMMENT || p->prior == CX_FWS)
            raise(p, EM_DEPREC_CFWS_NEAR_AT, i);
        p->ctx = p->base = CX_DOMAIN;
        p->seen_at = 1;
        p->elem_count = p->elem_len = 0;
        p->end_or_die = 0;
        return 1;
    default: {
        if (p->end_or_die) {
            raise(p, p->prior == CX_QS ? EM_ERR_ATEXT_AFTER_QS : EM_ERR_ATEXT_AFTER_CFWS, i);
            return 1;
        }
        p->prior = CX_LOCAL;
        size_t n = 1;
        if (cls[c] & CL_ATEXT) {
            /* a run of atext raises nothing: take it whole */
            while (i + n < p->len && (cls[p->s[i + n]] & CL_ATEXT))
                n++;
        } else if (c >= 0x80) {
            n = non_ascii(p, i);
            if (n == 0)
                return 1;
            p->out->has_utf8 = 1;
        } else if (!(cls[c] & CL_ATEXT)) {
            raise(p, EM_ERR_EXPECTING_ATEXT, i);
        }
        return take(p, i, n);
    }
    }
}

static size_t step_domain(st *p, size_t i)
{
    unsigned char c = p->s[i];
    switch (c) {
    case '(':
        open_comment(p, i, p->elem_count == 0 ? EM_DEPREC_CFWS_NEAR_AT : EM_DEPREC_COMMENT);
        p->domain_cfws = 1;
        return 1;
    case '\r':
    case ' ':
    case '\t':
        p->domain_cfws = 1;
        return component_fws(p, i, EM_DEPREC_CFWS_NEAR_AT, EM_CFWS_FWS);
    case '.':
        if (p->out->is_literal) {
            /* RFC 5322 3.4.1: a domain literal is the whole domain; nothing
             * may follow it but CFWS (is_email reads on after a dot) */
            raise(p, EM_ERR_ATEXT_AFTER_DOMLIT, i);
        } else if (p->elem_len == 0) {
            raise(p, p->elem_count == 0 ? EM_ERR_DOT_START : EM_ERR_CONSECUTIVE_DOTS, i);
        } else if (p->hyphen) {
            raise(p, EM_ERR_DOMAIN_HYPHEN_END, i);
        } else {
            if (p->elem_len > 63)
                raise(p, EM_RFC5322_LABEL_TOO_LONG, i);
            next_element(p, i);
        }
        return 1;
    case '[':
        if (p->out->domain_octets == 0) {
            p->end_or_die = 1;
            take(p, i, 1);
            p->ctx = CX_LITERAL;
            p->in_lit = 1;
            p->lit_start = i + 1;
            p->out->is_literal = 1;
        } else {
            raise(p, EM_ERR_EXPECTING_ATEXT, i);
        }
        return 1;
    default: {
        if (p->end_or_die) {
            raise(p, p->prior == CX_LITERAL ? EM_ERR_ATEXT_AFTER_DOMLIT : EM_ERR_ATEXT_AFTER_CFWS, i);
            return 1;
        }
        p->hyphen = 0;
        size_t n = 1;
        if ((cls[c] & CL_LDH) || (c == '-' && p->elem_len > 0)) {
            /* a run of letters, digits and inner hyphens raises nothing */
            while (i + n < p->len && ((cls[p->s[i + n]] & CL_LDH) || p->s[i + n] == '-'))
                n++;
            p->hyphen = p->s[i + n - 1] == '-';
        } else if (c >= 0x80) {
            n = non_ascii(p, i);
            if (n == 0)
                return 1;
            p->out->has_utf8 = p->out->domain_utf8 = 1;
        } else if (!(cls[c] & CL_ATEXT)) {
            raise(p, EM_ERR_EXPECTING_ATEXT, i);
        } else if (c == '-') {
            if (p->elem_len == 0)
                raise(p, EM_ERR_DOMAIN_HYPHEN_START, i);
            p->hyphen = 1;
        } else if (!(cls[c] & CL_LDH)) {
            raise(p, EM_RFC5322_DOMAIN, i);
        }
        if (p->elem_len == 0)
            p->last_label_first = c;
        return take(p, i, n);
    }
    }
}

static enum em_diag literal_diag_at(const st *p, size_t end);

/* Text a quoted string, a comment or a domain literal takes as it is,
 * raising nothing: printable ASCII less each context's delimiters and
 * escape (a quoted string's space is text too). A run of it is consumed
 * in one step. */
static int plain_qtext(unsigned char c)
{
    return c >= ' ' && c < 127 && c != '"' && c != '\\';
}

static int plain_ctext(unsigned char c)
{
    return c > ' ' && c < 127 && c != '(' && c != ')' && c != '\\';
}

static int plain_dtext(unsigned char c)
{
    return c > ' ' && c < 127 && c != '[' && c != ']' && c != '\\';
}

/* The length of the run of bytes from s[i] (of len) that `plain` takes. */
static size_t plain_run_at(const unsigned char *s, size_t i, size_t len, int (*plain)(unsigned char))
{
    size_t n = 0;
    while (i + n < len && plain(s[i + n]))
        n++;
    return n;
}

static size_t plain_run(const st *p, size_t i, int (*plain)(unsigned char))
{
    return plain_run_at(p->s, i, p->len, plain);
}

static size_t step_literal(st *p, size_t i)
{
    unsigned char c = p->s[i];
    switch (c) {
    case ']':
        if (p->rank < 63)
            raise(p, literal_diag_at(p, i), i);
        else
            raise(p, EM_RFC5322_DOMAIN_LITERAL, i);
        take(p, i, 1);
        pop(p);
        return 1;
    case '\\':
        raise(p, EM_RFC5322_DOMLIT_OBSDTEXT, i);
        p->ctx = CX_QP;
        return 1;
    case '\r':
    case ' ':
    case '\t':
        p->lit_ws = 1;
        return inner_fws(p, i);
    default: {
        size_t n = plain_run(p, i, plain_dtext);
        if (n == 0) {
            if (c > 127 || c == 0 || c == '[') {
                raise(p, c > 127 && !p->utf8 ? EM_ERR_NON_ASCII : EM_ERR_EXPECTING_DTEXT, i);
                return 1;
            }
            raise(p, EM_RFC5322_DOMLIT_OBSDTEXT, i); /* a control character */
            n = 1;
        }
        return take(p, i, n);
    }
    }
}

static size_t step_comment(st *p, size_t i)
{
    unsigned char c = p->s[i];
    switch (c) {
    case '(':
        p->depth++;
        return 1;
    case ')':
        pop(p);
        return 1;
    case '\\':
        p->ctx = CX_QP;
        return 1;
    case '\r':
    case ' ':
    case '\t':
        /* white space inside a comment is FWS too (RFC 5322 3.2.2), and
         * ranks above the comment (as in is_email) */
        return inner_fws(p, i);
    default: {
        size_t n = plain_run(p, i, plain_ctext);
        if (n > 0)
            return n;
        if (c >= 0x80) {
            n = non_ascii(p, i);
            return n ? n : 1;
        }
        if (c == 0 || c == '\n')
            raise(p, EM_ERR_EXPECTING_CTEXT, i);
        else
            raise(p, EM_DEPREC_CTEXT, i); /* another control character */
        return 1;
    }
    }
}

static size_t step_qs(st *p, size_t i)
{
    unsigned char c = p->s[i];
    switch (c) {
    case '\\':
        p->ctx = CX_QP;
        return 1;
    case '\r':
    case '\t':
        /* A space in a quoted string is text; only a tab or a fold is FWS. */
        if (!crlf(p, &i))
            return 1;
        take(p, i, 1);
        raise(p, EM_CFWS_FWS, i);
        return enter_fws(p, c);
    case '"':
        take(p, i, 1);
        pop(p);
        return 1;
    default: {
        size_t n = plain_run(p, i, plain_qtext);
        if (n > 0) {
            /* text as it is */
        } else if (c >= 0x80) {
            n = non_ascii(p, i);
            if (n == 0)
                return 1;
            p->out->has_utf8 = 1;
        } else if (c == 0 || c == '\n') {
            raise(p, EM_ERR_EXPECTING_QTEXT, i);
            n = 1;
        } else {
            raise(p, EM_DEPREC_QTEXT, i); /* another control character */
            n = 1;
        }
        return take(p, i, n);
    }
    }
}

static size_t step_qp(st *p, size_t i)
{
    unsigned char c = p->s[i];
    size_t n = 1;
    if (c >= 0x80) {
        if (!p->utf8) {
            raise(p, EM_ERR_EXPECTING_QPAIR, i);
            return 1;
        }
        n = non_ascii(p, i);
        if (n == 0)
            return 1;
        p->out->has_utf8 = 1;
    } else if ((c < 32 && c != '\t') || c == 127) {
        raise(p, EM_DEPREC_QP, i);
    }
    pop(p);
    if (p->ctx == CX_QS || p->ctx == CX_LITERAL) {
        /* RFC 5321's limits count octets, the backslash included. */
        take(p, i - 1, n + 1);
    }
    return n;
}

/* FWS = ([*WSP CRLF] 1*WSP) / obs-FWS; obs-FWS = 1*([CRLF] WSP). */
static size_t step_fws(st *p, size_t i)
{
    unsigned char c = p->s[i];
    if (p->token_prior_cr) {
        if (c == '\r') {
            raise(p, EM_ERR_FWS_CRLF_X2, i);
            return 1;
        }
        if (++p->crlf_count > 1)
            raise(p, EM_DEPREC_FWS, i);
    }
    switch (c) {
    case '\r':
        if (!crlf(p, &i))
            return 1;
        p->token_prior_cr = 1;
        return 2;
    case ' ':
    case '\t':
        p->token_prior_cr = 0;
        return 1;
    default:
        if (p->token_prior_cr) {
            raise(p, EM_ERR_FWS_CRLF_END, i);
            return 1;
        }
        p->crlf_count = 0;
        pop(p);
        return 0; /* look at this byte again in the enclosing context */
    }
}

/* The start of an IPv4 address that ends the literal, as is_email's
 * /\b(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\.){3}(?:...)$/ finds it:
 * four runs of 1-3 digits worth at most 255, dot-separated, the first one
 * not preceded by a word character. Returns n when there is none. */
static size_t ipv4_suffix(const unsigned char *lit, size_t n)
{
    size_t p = n;
    for (int octet = 4; octet >= 1; octet--) {
        size_t q = p;
        while (q > 0 && (cls[lit[q - 1]] & CL_DIGIT))
            q--;
        size_t digits = p - q;
        if (digits == 0 || digits > 3)
            return n;
        unsigned v = 0;
        for (size_t k = q; k < p; k++)
            v = v * 10 + (unsigned)(lit[k] - '0');
        if (v > 255)
            return n;
        if (octet > 1) {
            if (q == 0 || lit[q - 1] != '.')
                return n;
            p = q - 1;
        } else {
            if (q > 0 && (cls[lit[q - 1]] & CL_WORD))
                return n;
            return q;
        }
    }
    return n;
}

/* The IPv6 part after "IPv6:", as the concatenation of a and b (b is
 * "0:0" standing in for an IPv4 tail, or empty). */
typedef struct v6 {
    const unsigned char *a;
    size_t alen;
    const char *b;
    size_t blen;
} v6;

static unsigned char v6_at(const v6 *v, size_t k)
{
    return k < v->alen ? v->a[k] : (unsigned char)v->b[k - v->alen];
}

static enum em_diag ipv6_diag(const v6 *v)
{
    size_t n = v->alen + v->blen, groups = 1, first = n, last = n;
    int bad = 0;
    size_t glen = 0;
    for (size_t k = 0; k < n; k++) {
        unsigned char c = v6_at(v, k);
        if (c == ':') {
            groups++;
            if (glen > 4)
                bad = 1;
            glen = 0;
            if (k + 1 < n && v6_at(v, k + 1) == ':') {
                if (first == n)
                    first = k;
                last = k;
            }
        } else {
            glen++;
            if (!(cls[c] & CL_HEX))
                bad = 1;
        }
    }
    if (glen > 4)
        bad = 1;
    enum em_diag count = EM_VALID;
    if (first == n) {
        if (groups != 8)
            count = EM_RFC5322_IPV6_GRP_COUNT;
    } else if (first != last) {
        count = EM_RFC5322_IPV6_2X2X_COLON;
    } else {
        size_t max = 8;
        /* "::" at either end stands for at least one group with 7 others */
        if (first == 0 || first == n - 2)
            max++;
        if (groups > max)
            count = EM_RFC5322_IPV6_MAX_GRPS;
        else if (groups == max)
            count = EM_RFC5321_IPV6_DEPRECATED;
    }
    enum em_diag form;
    unsigned char c0 = n > 0 ? v6_at(v, 0) : 0, c1 = n > 1 ? v6_at(v, 1) : 0;
    unsigned char cl = n > 0 ? v6_at(v, n - 1) : 0, cl2 = n > 1 ? v6_at(v, n - 2) : c0;
    if (c0 == ':' && c1 != ':')
        form = EM_RFC5322_IPV6_COLON_START;
    else if (cl == ':' && cl2 != ':')
        form = EM_RFC5322_IPV6_COLON_END;
    else if (bad)
        form = EM_RFC5322_IPV6_BAD_CHAR;
    else
        form = EM_RFC5321_ADDRESS_LITERAL;
    return em_diag_infos[count].rank > em_diag_infos[form].rank ? count : form;
}

static enum em_diag literal_diag(const unsigned char *lit, size_t n)
{
    size_t v4 = ipv4_suffix(lit, n);
    if (v4 == 0)
        return EM_RFC5321_ADDRESS_LITERAL;
    /* As is_email: an IPv4 tail is replaced by two IPv6 groups. */
    v6 full = {lit, v4, v4 < n ? "0:0" : "", v4 < n ? 3 : 0};
    static const char tag[] = "ipv6:";
    if (full.alen + full.blen < 5)
        return EM_RFC5322_DOMAIN_LITERAL;
    for (size_t k = 0; k < 5; k++)
        if ((v6_at(&full, k) | 0x20) != (unsigned char)tag[k])
            return EM_RFC5322_DOMAIN_LITERAL;
    v6 v;
    if (full.alen >= 5)
        v = (v6){lit + 5, full.alen - 5, full.b, full.blen};
    else
        v = (v6){lit, 0, full.b + (5 - full.alen), full.blen - (5 - full.alen)};
    return ipv6_diag(&v);
}

/* The literal between lit_start and end, less its folding white space. */
static enum em_diag literal_diag_at(const st *p, size_t end)
{
    const unsigned char *lit = p->s + p->lit_start;
    size_t n = end - p->lit_start;
    if (!p->lit_ws)
        return literal_diag(lit, n);
    /* Rare (white space inside brackets): filter into a buffer, on the
     * stack when it fits. */
    unsigned char stackbuf[512];
    unsigned char *buf = n <= sizeof stackbuf ? stackbuf : malloc(n);
    if (buf == NULL)
        return EM_RFC5322_DOMAIN_LITERAL;
    size_t m = 0;
    for (size_t k = 0; k < n; k++)
        if (lit[k] != ' ' && lit[k] != '\t' && lit[k] != '\r' && lit[k] != '\n')
            buf[m++] = lit[k];
    enum em_diag d = literal_diag(buf, m);
    if (buf != stackbuf)
        free(buf);
    return d;
}

static void finish(st *p)
{
    em_parse *o = p->out;
    size_t end = p->len;
    if (p->rank >= 127)
        return;
    /* Ending in white space inside a comment, quoted string or literal
     * leaves it unclosed all the same (is_email misses this: it only
     * looks at the innermost context; docs/email.md). */
    if (p->ctx == CX_FWS && !p->token_prior_cr && (p->depth > 0 || p->in_qs || p->in_lit))
        p->ctx = p->depth > 0 ? CX_COMMENT : p->in_qs ? CX_QS : CX_LITERAL;
    if (p->ctx == CX_QS)
        raise(p, EM_ERR_UNCLOSED_QUOTED_STR, end);
    else if (p->ctx == CX_QP)
        raise(p, EM_ERR_BACKSLASH_END, end);
    else if (p->ctx == CX_COMMENT)
        raise(p, EM_ERR_UNCLOSED_COMMENT, end);
    else if (p->ctx == CX_LITERAL)
        raise(p, EM_ERR_UNCLOSED_DOMLIT, end);
    else if (p->ctx == CX_FWS && p->token_prior_cr)
        raise(p, EM_ERR_FWS_CRLF_END, end);
    else if (o->domain_octets == 0)
        raise(p, p->seen_at ? EM_ERR_NO_DOMAIN : EM_ERR_NO_DOMAIN_SEP, end);
    else if (p->elem_len == 0)
        raise(p, EM_ERR_DOT_END, end);
    else if (p->hyphen)
        raise(p, EM_ERR_DOMAIN_HYPHEN_END, end);
    else if (o->domain_octets > 255)
        raise(p, EM_RFC5322_DOMAIN_TOO_LONG, end);
    else if (o->local_octets + 1 + o->domain_octets > 254)
        raise(p, EM_RFC5322_TOO_LONG, end);
    else if (p->elem_len > 63)
        raise(p, EM_RFC5322_LABEL_TOO_LONG, end);
    if (p->rank >= 127)
        return;
    /* Internationalized domains, U-labels and A-labels alike: IDNA2008
     * through libidn2, then DNS's limits on the A-label form
     * (lib/email/unicode.c). An A-label gets its U-label's verdict. */
    if (!o->is_literal && !p->domain_cfws) {
        const unsigned char *d = p->s + o->domain_start;
        size_t dn = o->domain_end - o->domain_start;
        if (o->domain_utf8 || em_has_alabel(d, dn)) {
            enum em_diag r = em_idn_check(d, dn, o->local_octets);
            if (r != EM_VALID)
                raise(p, r, o->domain_start);
        }
    }
    /* Mail to a top-level domain: RFC 5321 allows it, nobody expects it.
     * is_email skips this when DNS found an MX record; mailsec's --mx
     * does the same (docs/email.md). */
    if (p->rank < 7) {
        if (p->elem_count == 0)
            raise(p, EM_RFC5321_TLD, o->domain_start);
        if (cls[p->last_label_first] & CL_DIGIT)
            raise(p, EM_RFC5321_TLD_NUMERIC, o->domain_start);
    }
}

/* ---- the quick pass ----
 * The forms most lists hold, each with a diagnosis nothing else in the
 * address can change, recognised in one pass over the bytes with one table
 * of byte classes (no call per byte, no allocation). A plain local part
 * (dot-atom) or a quoted string of plain text, then:
 *   "@" host.name                  valid, or the quoted string (an A-label
 *                                  is judged as finish() judges it)
 *   "@" [literal]                  the literal's diagnosis, at its "]"
 *   "@", "@" host. or "@" host-    no domain, a dot or a hyphen at the end
 *   nothing: no "@"                no "@"
 *   a byte no part may hold        that error at that byte: a control,
 *                                  )  , : ; < > @ \ ], or a non-ASCII byte
 *                                  outside profile intl
 * each within every length limit, nothing before it an error. Anything
 * else (comments, white space, obsolete forms, other errors, long parts,
 * UTF-8 for profile intl) goes to the full parser, which says the same of
 * these forms, only slower: unit-email-fastpath and the fuzz harness
 * compare the two. */

enum {
    Q_LOCAL = 1 << 0,  /* dot-atom local part: atext and "." (RFC 5322 3.2.3) */
    Q_DOMAIN = 1 << 1, /* host name: letters, digits, "-", "." (RFC 1035 2.3.1) */
    Q_QTEXT = 1 << 2,  /* as it is in quotes: printable ASCII and space, less '"' and "\" */
    Q_DTEXT = 1 << 3,  /* as it is in a literal: printable ASCII less "[", "]" and "\" */
    Q_PAIR = 1 << 4,   /* may follow "\" in quotes without a finding: printable ASCII and space */
    Q_DOT = 1 << 5,    /* "." */
    /* Neighbours in a host name: a "." may follow neither a "." nor a "-",
     * nor be followed by a "-" (no empty label, no hyphen at a label's
     * ends); "--" is fine, and tells that there may be an A-label. A
     * byte's bits as the right one of a pair (Q_R*) meet, in such a pair,
     * its left neighbour's bits as the left one (Q_L*: the same bits,
     * Q_LEFT places up). */
    Q_R1 = 1 << 6, /* ".": after "." or "-" */
    Q_R2 = 1 << 7, /* "-": after "." */
    Q_R3 = 1 << 8, /* "-": after "-" */
    Q_LEFT = 3,
    Q_L1 = Q_R1 << Q_LEFT,
    Q_L2 = Q_R2 << Q_LEFT,
    Q_L3 = Q_R3 << Q_LEFT,
    Q_BAD_PAIR = Q_R1 | Q_R2,
    Q_END = Q_R1 | Q_R2, /* "." or "-": neither may end a host name */
    /* ends an atom or a label with an error in either part, whatever came
     * before: ERR_EXPECTING_ATEXT ("(", '"', "[", white space and CR open
     * something else) */
    Q_ERR = 1 << 12,
};

static const unsigned short qclass[256] = {
#define PR (Q_QTEXT | Q_DTEXT | Q_PAIR)                /* printable ASCII */
#define ER (PR | Q_ERR)                                /* printable ASCII that no part holds */
#define AT (PR | Q_LOCAL)                              /* atext but LDH */
#define LDH (PR | Q_LOCAL | Q_DOMAIN)                  /* letters and digits */
#define HYP (LDH | Q_R2 | Q_R3 | Q_L1 | Q_L3)          /* "-" */
#define DOT (LDH | Q_DOT | Q_R1 | Q_L1 | Q_L2)         /* "." */
#define CT Q_ERR                                       /* a control character */
    [0] = CT, [1] = CT, [2] = CT, [3] = CT, [4] = CT, [5] = CT, [6] = CT, [7] = CT, [8] = CT, ['\n'] = CT,
    [11] = CT, [12] = CT, [14] = CT, [15] = CT, [16] = CT, [17] = CT, [18] = CT, [19] = CT, [20] = CT, [21] = CT,
    [22] = CT, [23] = CT, [24] = CT, [25] = CT, [26] = CT, [27] = CT, [28] = CT, [29] = CT, [30] = CT, [31] = CT,
    [' '] = Q_QTEXT | Q_PAIR, ['!'] = AT, ['"'] = Q_DTEXT | Q_PAIR, ['#'] = AT, ['$'] = AT, ['%'] = AT, ['&'] = AT,
    ['\''] = AT, ['('] = PR, [')'] = ER, ['*'] = AT, ['+'] = AT, [','] = ER, ['-'] = HYP, ['.'] = DOT, ['/'] = AT,
    ['0'] = LDH, ['1'] = LDH, ['2'] = LDH, ['3'] = LDH, ['4'] = LDH, ['5'] = LDH, ['6'] = LDH, ['7'] = LDH,
    ['8'] = LDH, ['9'] = LDH, [':'] = ER, [';'] = ER, ['<'] = ER, ['='] = AT, ['>'] = ER, ['?'] = AT, ['@'] = ER,
    ['A'] = LDH, ['B'] = LDH, ['C'] = LDH, ['D'] = LDH, ['E'] = LDH, ['F'] = LDH, ['G'] = LDH, ['H'] = LDH,
    ['I'] = LDH, ['J'] = LDH, ['K'] = LDH, ['L'] = LDH, ['M'] = LDH, ['N'] = LDH, ['O'] = LDH, ['P'] = LDH,
    ['Q'] = LDH, ['R'] = LDH, ['S'] = LDH, ['T'] = LDH, ['U'] = LDH, ['V'] = LDH, ['W'] = LDH, ['X'] = LDH,
    ['Y'] = LDH, ['Z'] = LDH, ['['] = Q_QTEXT | Q_PAIR, ['\\'] = Q_PAIR | Q_ERR, [']'] = Q_QTEXT | Q_PAIR | Q_ERR,
    ['^'] = AT, ['_'] = AT, ['`'] = AT, ['a'] = LDH, ['b'] = LDH, ['c'] = LDH, ['d'] = LDH, ['e'] = LDH,
    ['f'] = LDH, ['g'] = LDH, ['h'] = LDH, ['i'] = LDH, ['j'] = LDH, ['k'] = LDH, ['l'] = LDH, ['m'] = LDH,
    ['n'] = LDH, ['o'] = LDH, ['p'] = LDH, ['q'] = LDH, ['r'] = LDH, ['s'] = LDH, ['t'] = LDH, ['u'] = LDH,
    ['v'] = LDH, ['w'] = LDH, ['x'] = LDH, ['y'] = LDH, ['z'] = LDH, ['{'] = AT, ['|'] = AT, ['}'] = AT, ['~'] = AT,
    [127] = CT,
#undef PR
#undef ER
#undef AT
#undef LDH
#undef HYP
#undef DOT
#undef CT
};

/* The local part and the domain the full parser's tokens cover: the
 * local part s[0..local_end), the domain s[domain_start..domain_end)
 * (none when empty). Returns 1.
 * What the quick pass takes is in the WHATWG form (em_html5_match) when
 * it is valid, and else not, but for a local part ending in a dot (the
 * WHATWG form allows it): each byte that stops it is one the form's local
 * part or host name refuses, and the form has neither quotes nor
 * literals. */
static int quick_found(em_parse *out, enum em_diag diag, size_t offset, size_t local_end, size_t domain_start,
                       size_t domain_end)
{
    memset(out, 0, sizeof *out);
    out->not_html5 = diag != EM_VALID;
    out->diag = diag;
    out->diag_offset = offset;
    out->local_end = out->local_octets = local_end;
    if (domain_end > domain_start) {
        out->domain_start = domain_start;
        out->domain_end = domain_end;
        out->domain_octets = domain_end - domain_start;
    }
    return 1;
}

/* ---- 16 bytes a step ----
 * The scans of a local part and of a host name (the quick pass's and
 * em_html5_match's) test 16 bytes at a time in the compiler's vectors
 * (GCC and Clang: SSE2 on x86-64, NEON on ARM), as the command's list
 * reader does (src/email.c): each test gives a mask of 16 bits, bit k for
 * byte k. The classes are qclass[]'s Q_LOCAL, Q_DOMAIN, "." and "-"
 * (unit-email-fastpath's one-byte mutations put every byte value in each
 * part and compare with the full parser, which reads the bytes one by one
 * through cls[]). */
typedef signed char bytes16 __attribute__((vector_size(16)));
typedef unsigned char ubytes16 __attribute__((vector_size(16)));

/* bit k set where byte k of m (0 or -1) is -1 */
static inline unsigned mask_bits(bytes16 m)
{
#ifdef __SSE2__
    return (unsigned)_mm_movemask_epi8((__m128i)m);
#else
    unsigned bits = 0;
    for (unsigned k = 0; k < 16; k++)
        bits |= (unsigned)(m[k] & 1) << k;
    return bits;
#endif
}

/* -1 where lo <= byte <= hi (unsigned), in one addition and one signed
 * comparison: x - lo moved down by 0x80 is below hi - lo + 1 - 0x80 */
static inline bytes16 in_range(bytes16 x, unsigned char lo, unsigned char hi)
{
    bytes16 y = (bytes16)((ubytes16)x + (unsigned char)(0x80 - lo));
    return y < (signed char)(hi - lo + 1 - 0x80);
}

/* The classes of the bytes s[i..i+16) (of len; i <= len): bytes past len
 * are in none. */
typedef struct {
    unsigned local;  /* Q_LOCAL: atext and "." */
    unsigned host;   /* Q_DOMAIN: letters, digits, "-", "." */
    unsigned dot;    /* "." */
    unsigned hyphen; /* "-" */
} chunk_classes;

/* The n bytes at s (n < 16) and NULs after them, without a call to
 * memcpy: two loads of 8 bytes (of 4 below 8) that may overlap, the second
 * moved to where its bytes belong (little-endian; else a copy). */
__attribute__((always_inline)) static inline bytes16 load_short(const unsigned char *s, size_t n)
{
    bytes16 x;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t half[2] = {0, 0};
    if (n >= 8) {
        memcpy(&half[0], s, 8);
        if (n > 8) {
            memcpy(&half[1], s + n - 8, 8);
            half[1] >>= 8 * (16 - n);
        }
    } else if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        half[0] = a | (uint64_t)b << 8 * (n - 4);
    } else {
        for (size_t k = 0; k < n; k++)
            half[0] |= (uint64_t)s[k] << 8 * k;
    }
    memcpy(&x, half, 16);
#else
    unsigned char padded[16] = {0};
    memcpy(padded, s, n);
    memcpy(&x, padded, 16);
#endif
    return x;
}

__attribute__((always_inline)) static inline chunk_classes classes_at(const unsigned char *s, size_t i, size_t len)
{
    bytes16 x;
    unsigned drop = 0; /* bytes loaded before s[i] */
    if (len >= 16) { /* from s[i], or the last 16 bytes with the masks moved down */
        size_t from = i + 16 <= len ? i : len - 16; /* (no branch: lengths vary) */
        memcpy(&x, s + from, 16);
        drop = (unsigned)(i - from);
    } else { /* the whole input, then NULs (in no class) */
        x = load_short(s, len);
        drop = (unsigned)i;
    }
    bytes16 printable = in_range(x, '!', '~'); /* not space, not a control, ASCII */
    bytes16 not_atext = (x == '"') | in_range(x, '(', ')') | (x == ',') | in_range(x, ':', '<') | (x == '>') |
                        (x == '@') | in_range(x, '[', ']');
    bytes16 dot = x == '.', hyphen = x == '-';
    bytes16 host = in_range(x | 0x20, 'a', 'z') | (in_range(x, '-', '9') & (x != '/'));
    return (chunk_classes){.local = mask_bits(printable & ~not_atext) >> drop,
                           .host = mask_bits(host) >> drop,
                           .dot = mask_bits(dot) >> drop,
                           .hyphen = mask_bits(hyphen) >> drop};
}

/* The bits below the lowest set bit of stop (all when none is). */
static inline unsigned bits_before(unsigned stop)
{
    return (stop & -stop) - 1;
}

/* A dot-atom from the start: where it stops (len: it does not). *clean
 * when no "." starts it or follows another one; *last is the class of its
 * last byte (a "." when it is empty; another byte's class otherwise:
 * callers ask only about the dot). */
__attribute__((always_inline)) static inline size_t quick_atom(const unsigned char *s, size_t len, unsigned *last, int *clean)
{
    unsigned dot_before = 1, doubled = 0; /* as if after a ".": none may start it */
    for (size_t i = 0;; i += 16) {
        chunk_classes c = classes_at(s, i, len);
        unsigned stop = ~c.local & 0xFFFF;
        unsigned dots = c.dot & bits_before(stop);
        unsigned after_dot = dots << 1 | dot_before; /* bit k: byte k - 1 is a "." */
        doubled |= dots & after_dot;
        if (stop != 0) {
            unsigned n = (unsigned)__builtin_ctz(stop);
            *clean = !doubled;
            *last = after_dot >> n & 1 ? qclass['.'] : qclass['a'];
            return i + n;
        }
        dot_before = dots >> 15;
    }
}

/* A quoted string from the start, of text and quoted pairs that raise
 * nothing, then "@": the offset of the "@", or 0. */
static size_t quick_quoted(const unsigned char *s, size_t len)
{
    size_t i = 1;
    for (;;) {
        while (i < len && (qclass[s[i]] & Q_QTEXT))
            i++;
        if (i + 1 < len && s[i] == '\\' && (qclass[s[i + 1]] & Q_PAIR))
            i += 2;
        else
            break;
    }
    return i + 1 < len && s[i] == '"' && s[i + 1] == '@' ? i + 1 : 0;
}

/* A host name from s[start]: where it stops (len: it does not). Its
 * neighbours' bits in *pairs (Q_BAD_PAIR: a label so far starts with "."
 * or "-", or ends in "-."; Q_R3: "--"); *last is the class of its last
 * byte (a "." when it is empty; "-", or a letter's for any other);
 * *last_label where its last label starts (after its last ".", start
 * when it has none). */
__attribute__((always_inline)) static inline size_t quick_host(const unsigned char *s, size_t start, size_t len, unsigned *last, unsigned *pairs,
                                size_t *last_label)
{
    unsigned dot_before = 1, hyphen_before = 0, seen = 0; /* as if after a "." */
    size_t label = start;
    for (size_t i = start;; i += 16) {
        chunk_classes c = classes_at(s, i, len);
        unsigned stop = ~c.host & 0xFFFF;
        unsigned in = bits_before(stop);
        unsigned dots = c.dot & in, hyphens = c.hyphen & in;
        unsigned after_dot = dots << 1 | dot_before, after_hyphen = hyphens << 1 | hyphen_before;
        seen |= (dots & (after_dot | after_hyphen) ? Q_R1 : 0) | (hyphens & after_dot ? Q_R2 : 0) |
                (hyphens & after_hyphen ? Q_R3 : 0);
        size_t after_last_dot = i + 32 - (size_t)__builtin_clz(dots | 1);
        size_t found = -(size_t)(dots != 0); /* all ones when there is a dot: no branch */
        label = (after_last_dot & found) | (label & ~found);
        if (stop != 0) {
            unsigned n = (unsigned)__builtin_ctz(stop);
            *pairs = seen;
            *last_label = label;
            *last = after_dot >> n & 1 ? qclass['.'] : after_hyphen >> n & 1 ? qclass['-'] : qclass['a'];
            return i + n;
        }
        dot_before = dots >> 15;
        hyphen_before = hyphens >> 15;
    }
}

/* What the full parser finds where a plain part (the local part up to
 * local_end, the domain from domain_start) stops on byte k: an error at
 * k, or 0 when k opens something only the full parser reads. */
static int quick_stop(const unsigned char *s, size_t k, int utf8, em_parse *out, size_t local_end,
                      size_t domain_start)
{
    size_t domain_end = domain_start > 0 ? k : 0;
    if (s[k] >= 0x80)
        return !utf8 && quick_found(out, EM_ERR_NON_ASCII, k, local_end, domain_start, domain_end);
    if (!(qclass[s[k]] & Q_ERR))
        return 0;
    /* the full parser takes the byte into its part all the same */
    if (domain_start > 0)
        return quick_found(out, EM_ERR_EXPECTING_ATEXT, k, local_end, domain_start, k + 1);
    return quick_found(out, EM_ERR_EXPECTING_ATEXT, k, k + 1, 0, 0);
}

/* Some label of the domain d (n octets) is longer than 63 octets. */
static int has_long_label(const unsigned char *d, size_t n)
{
    for (const unsigned char *end = d + n, *dot; d < end; d = dot + 1) {
        dot = memchr(d, '.', (size_t)(end - d));
        if (dot == NULL)
            dot = end;
        if (dot - d > 63)
            return 1;
    }
    return 0;
}

/* A whole host name d (n octets, no bad pair, ending in a letter or
 * digit, its last label from d[tld]) that finish() lets pass without a
 * finding: two labels or more, the last not starting with a digit, none
 * over 63 octets, A-labels (only where there is a "--") valid. */
static int quick_host_ok(const unsigned char *d, size_t n, size_t tld, unsigned pairs, size_t local_octets)
{
    if (tld == 0 || (cls[d[tld]] & CL_DIGIT))
        return 0;
    if (n > 63 && has_long_label(d, n))
        return 0;
    return !(pairs & Q_R3) || !em_has_alabel(d, n) || em_idn_check(d, n, local_octets) == EM_VALID;
}

/* WHATWG HTML, "valid e-mail address":
 *   1*( ALPHA / DIGIT / "." / atext-specials ) "@" label *( "." label )
 *   label = ALPHA / DIGIT, then up to 61 LDH, ending in ALPHA / DIGIT.
 * No total length limit, dots anywhere in the local part: the quick
 * pass's scans, less its other rules. */
int em_html5_match(const unsigned char *s, size_t len)
{
    unsigned last, pairs;
    int clean;
    size_t at = quick_atom(s, len, &last, &clean);
    if (at == 0 || at == len || s[at] != '@')
        return 0;
    size_t tld;
    size_t end = quick_host(s, at + 1, len, &last, &pairs, &tld);
    /* no empty label, none starting or ending with "-", none too long */
    return end == len && !(pairs & Q_BAD_PAIR) && !(last & Q_END) &&
           !(len - at - 1 > 63 && has_long_label(s + at + 1, len - at - 1));
}

/* dot-atom "@" "[" dtext "]": the literal's diagnosis at its "]". */
static int quick_literal(const unsigned char *s, size_t len, size_t at, em_parse *out)
{
    size_t open = at + 1, i = open + 1;
    while (i < len && (qclass[s[i]] & Q_DTEXT))
        i++;
    /* the "]" ends the address; the literal is one label: 63 octets at most */
    if (i + 1 != len || s[i] != ']' || len - open > 63)
        return 0;
    quick_found(out, literal_diag(s + open + 1, i - open - 1), i, at, open, len);
    out->is_literal = 1;
    return 1;
}

/* The local part: the offset of its "@", or 0 when the quick pass has
 * found the answer already (*done: 1) or must give up (*done: 0). */
static size_t quick_local(const unsigned char *s, size_t len, int utf8, em_parse *out, enum em_diag *diag,
                          int *done)
{
    *done = 0;
    if (s[0] == '"') {
        size_t at = quick_quoted(s, len);
        *diag = EM_RFC5321_QUOTED_STRING;
        return at <= 64 ? at : 0; /* 64 octets at most */
    }
    unsigned last;
    int clean;
    size_t at = quick_atom(s, len, &last, &clean);
    if (!clean)
        return 0;
    if (at == len)
        *done = quick_found(out, EM_ERR_NO_DOMAIN_SEP, len, len, 0, 0);
    else if (s[at] != '@')
        *done = quick_stop(s, at, utf8, out, at, 0);
    else if (at == 0)
        *done = quick_found(out, EM_ERR_NO_LOCAL_PART, 0, 0, 0, 0);
    else if (last & Q_DOT) {
        *done = quick_found(out, EM_ERR_DOT_END, at, at, 0, 0);
        out->not_html5 = 0; /* "a.@example.com": the WHATWG form may take it */
    } else
        return at <= 64 ? at : 0;
    return 0;
}

/* ---- comments and white space around the "@" ----
 * The forms with comments or white space lists hold most, each with the
 * findings the full parser makes of them (is_email's; the highest ranked
 * one, the first of equals):
 *   [comment] dot-atom [comment] "@" host [comment]
 *   [comment] dot-atom " @ " host [comment]
 * where a comment is "(" plain ctext ")" (no nesting, no quoted pair, no
 * white space) and host is what the quick pass lets pass without a
 * finding. A leading or trailing comment is EM_CFWS_COMMENT at its "(";
 * a comment or white space before the "@" is EM_DEPREC_CFWS_NEAR_AT at
 * the "@", which outranks it (and the space after the "@", raised at that
 * space). Comments do not count as CFWS in em_parse.has_cfws (the full
 * parser sets it for white space only). Nothing of these is in the
 * WHATWG form. */

/* A comment of plain ctext from s[i]: the offset after its ")", or 0. */
static size_t quick_comment(const unsigned char *s, size_t i, size_t len)
{
    if (i >= len || s[i] != '(')
        return 0;
    size_t k = i + 1 + plain_run_at(s, i + 1, len, plain_ctext);
    return k < len && s[k] == ')' ? k + 1 : 0;
}

/* Keeps the finding d at `at` when it outranks *diag (raise()'s rule). */
static void quick_raise(enum em_diag *diag, size_t *offset, enum em_diag d, size_t at)
{
    if (em_diag_infos[d].rank > em_diag_infos[*diag].rank) {
        *diag = d;
        *offset = at;
    }
}

static int quick_cfws(const unsigned char *s, size_t len, em_parse *out)
{
    if (len > 254) /* then within every length limit, comments and all */
        return 0;
    enum em_diag diag = EM_VALID;
    size_t offset = 0;
    size_t local = quick_comment(s, 0, len); /* where the dot-atom starts */
    if (local > 0)
        quick_raise(&diag, &offset, EM_CFWS_COMMENT, 0);
    unsigned last;
    int clean;
    size_t local_end = local + quick_atom(s + local, len - local, &last, &clean);
    if (local_end == local || local_end - local > 64 || !clean || (last & Q_DOT) || local_end == len)
        return 0;
    size_t at = local_end, domain = at + 1;
    int fws = 0;
    if (s[local_end] == '(') {
        at = quick_comment(s, local_end, len);
        if (at == 0 || at == len)
            return 0;
        domain = at + 1;
    } else if (s[local_end] == ' ' && local_end + 2 < len && s[local_end + 2] == ' ') {
        at = local_end + 1;
        domain = at + 2;
        fws = 1;
    }
    if (s[at] != '@')
        return 0;
    if (at != local_end)
        quick_raise(&diag, &offset, EM_DEPREC_CFWS_NEAR_AT, at);
    unsigned pairs;
    size_t tld;
    size_t end = quick_host(s, domain, len, &last, &pairs, &tld);
    if (end == domain || (pairs & Q_BAD_PAIR) || (last & Q_END) ||
        !quick_host_ok(s + domain, end - domain, tld - domain, pairs, local_end - local))
        return 0;
    if (end < len) {
        if (quick_comment(s, end, len) != len)
            return 0;
        quick_raise(&diag, &offset, EM_CFWS_COMMENT, end);
    }
    if (diag == EM_VALID) /* no comment, no white space: the plain forms' */
        return 0;
    quick_found(out, diag, offset, local_end, domain, end);
    out->local_start = local;
    out->local_octets = local_end - local;
    out->has_cfws = fws;
    return 1;
}

/* The plain forms (see "the quick pass" above). */
static int quick_plain(const unsigned char *s, size_t len, int utf8, em_parse *out)
{
    /* A non-ASCII first byte outside profile intl: what the scans below
     * find (it stops the local part, and is that error), without them
     * (a UTF-8 local part in a non-Latin script starts so) */
    if (s[0] >= 0x80 && !utf8)
        return quick_found(out, EM_ERR_NON_ASCII, 0, 0, 0, 0);
    enum em_diag diag = EM_VALID;
    int done;
    size_t at = quick_local(s, len, utf8, out, &diag, &done);
    if (at == 0)
        return done;
    if (diag == EM_VALID && at + 1 < len && s[at + 1] == '[')
        return len <= 254 && quick_literal(s, len, at, out);
    unsigned last, pairs;
    size_t tld;
    size_t end = quick_host(s, at + 1, len, &last, &pairs, &tld);
    if (pairs & Q_BAD_PAIR)
        return 0;
    if (end < len)
        return quick_stop(s, end, utf8, out, at, at + 1);
    if (end == at + 1)
        return quick_found(out, EM_ERR_NO_DOMAIN, len, at, 0, 0);
    if (last & Q_DOT)
        return quick_found(out, EM_ERR_DOT_END, len, at, at + 1, len);
    if (last & Q_END)
        return quick_found(out, EM_ERR_DOMAIN_HYPHEN_END, len, at, at + 1, len);
    if (len > 254 || !quick_host_ok(s + at + 1, len - at - 1, tld - at - 1, pairs, at)) /* RFC 5321 path limit */
        return 0;
    return quick_found(out, diag, 0, at, at + 1, len);
}

int em_parse_quick(const unsigned char *s, size_t len, int utf8, em_parse *out)
{
    return len > 0 && (quick_plain(s, len, utf8, out) || quick_cfws(s, len, out));
}

void em_parse_run(const unsigned char *s, size_t len, int utf8, em_parse *out)
{
    if (!em_parse_quick(s, len, utf8, out))
        em_parse_full(s, len, utf8, out);
}

void em_parse_full(const unsigned char *s, size_t len, int utf8, em_parse *out)
{
    memset(out, 0, sizeof *out);
    out->diag = EM_VALID;
    st p = {0};
    p.s = s;
    p.len = len;
    p.utf8 = utf8;
    p.out = out;
    p.ctx = p.base = CX_LOCAL;
    p.prior = -1;
    size_t i = 0;
    while (i < len && !fatal(&p)) {
        size_t n;
        switch (p.ctx) {
        case CX_LOCAL: n = step_local(&p, i); break;
        case CX_DOMAIN: n = step_domain(&p, i); break;
        case CX_LITERAL: n = step_literal(&p, i); break;
        case CX_COMMENT: n = step_comment(&p, i); break;
        case CX_QS: n = step_qs(&p, i); break;
        case CX_QP: n = step_qp(&p, i); break;
        default: n = step_fws(&p, i); break;
        }
        i += n;
    }
    finish(&p);
}
