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
 * A fast path recognises the overwhelmingly common plain form
 * (dot-atom@host.name) with a character table and gives up to the full
 * parser on the first byte it does not expect. */
#include "email_internal.h"

#include <stdlib.h>
#include <string.h>

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

/* Byte classes for the fast path, one table for both parts:
 *   FP_LOCAL   allowed in a dot-atom local part: atext and "." (RFC 5322 3.2.3)
 *   FP_DOMAIN  allowed in an LDH domain: letters, digits, "-", "." (RFC 1035 2.3.1)
 *   FP_AT      the "@" that ends the local part
 *   FP_DOT     "."
 *   FP_JOIN    "." and "-": neither may stand next to another one in a
 *              domain (no empty label, no hyphen at a label's ends, no "--")
 * A byte that is in neither part (0: controls, specials, non-ASCII) sends
 * the address to the full parser. */
enum { FP_LOCAL = 1, FP_DOMAIN = 2, FP_AT = 4, FP_DOT = 8, FP_JOIN = 16 };

static const unsigned char fp_class[256] = {
#define L FP_LOCAL
#define LD (FP_LOCAL | FP_DOMAIN)
    ['!'] = L, ['#'] = L, ['$'] = L, ['%'] = L, ['&'] = L, ['\''] = L, ['*'] = L, ['+'] = L,
    ['/'] = L, ['='] = L, ['?'] = L, ['^'] = L, ['_'] = L, ['`'] = L, ['{'] = L, ['|'] = L,
    ['}'] = L, ['~'] = L,
    ['-'] = LD | FP_JOIN, ['.'] = LD | FP_DOT | FP_JOIN, ['@'] = FP_AT,
    ['0'] = LD, ['1'] = LD, ['2'] = LD, ['3'] = LD, ['4'] = LD, ['5'] = LD, ['6'] = LD,
    ['7'] = LD, ['8'] = LD, ['9'] = LD,
    ['A'] = LD, ['B'] = LD, ['C'] = LD, ['D'] = LD, ['E'] = LD, ['F'] = LD, ['G'] = LD,
    ['H'] = LD, ['I'] = LD, ['J'] = LD, ['K'] = LD, ['L'] = LD, ['M'] = LD, ['N'] = LD,
    ['O'] = LD, ['P'] = LD, ['Q'] = LD, ['R'] = LD, ['S'] = LD, ['T'] = LD, ['U'] = LD,
    ['V'] = LD, ['W'] = LD, ['X'] = LD, ['Y'] = LD, ['Z'] = LD,
    ['a'] = LD, ['b'] = LD, ['c'] = LD, ['d'] = LD, ['e'] = LD, ['f'] = LD, ['g'] = LD,
    ['h'] = LD, ['i'] = LD, ['j'] = LD, ['k'] = LD, ['l'] = LD, ['m'] = LD, ['n'] = LD,
    ['o'] = LD, ['p'] = LD, ['q'] = LD, ['r'] = LD, ['s'] = LD, ['t'] = LD, ['u'] = LD,
    ['v'] = LD, ['w'] = LD, ['x'] = LD, ['y'] = LD, ['z'] = LD,
#undef L
#undef LD
};

/* Some label of the domain d (n octets) is longer than 63 octets. */
static int has_long_label(const unsigned char *d, size_t n)
{
    size_t label = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || d[i] == '.') {
            if (i - label > 63)
                return 1;
            label = i + 1;
        }
    }
    return 0;
}

/* dot-atom "@" LDH labels, within every limit, two labels or more, no
 * "--" (so no A-label), top-level label not starting with a digit: VALID
 * without further ado. Returns the offset of the "@", or 0 to hand over to
 * the full parser.
 *
 * One pass, two loops: the local part up to the "@", then the domain. Each
 * byte costs one table lookup; the only branch in a loop is the exit on a
 * byte the part does not allow (so broken input is handed over at once).
 * Dots next to dots, and joiners next to joiners in the domain, are found
 * by AND-ing each byte's class with its predecessor's and tested once at
 * the end. */
size_t em_fast_path(const unsigned char *s, size_t len)
{
    if (len > 254) /* RFC 5321 path limit */
        return 0;
    /* the local part: at most 64 octets, so the "@" is within 65 bytes */
    size_t limit = len < 65 ? len : 65, i = 0;
    unsigned f = 0, prev = FP_DOT, pairs = 0; /* a dot "before" the start catches a leading dot */
    for (; i < limit; i++) {
        f = fp_class[s[i]];
        if (!(f & FP_LOCAL))
            break;
        pairs |= prev & f;
        prev = f;
    }
    size_t at = i;
    /* stopped on the "@"; not empty (the virtual dot), no "..", no "." before "@" */
    if (at == limit || f != FP_AT || (pairs & FP_DOT) || (prev & FP_DOT))
        return 0;
    size_t last_dot = 0;
    pairs = 0;
    prev = FP_JOIN; /* a label may not start with "." or "-" */
    for (i = at + 1; i < len; i++) {
        f = fp_class[s[i]];
        if (!(f & FP_DOMAIN))
            return 0;
        pairs |= prev & f;
        last_dot = (f & FP_DOT) ? i : last_dot;
        prev = f;
    }
    /* no joiner pair; ends in a letter or digit (also: not empty); a dot */
    if (((pairs | prev) & FP_JOIN) || last_dot == 0)
        return 0;
    /* label lengths matter only for a domain over 63 octets (rare) */
    if (len - at - 1 > 63 && has_long_label(s + at + 1, len - at - 1))
        return 0;
    /* the top-level label must not start with a digit (EM_RFC5321_TLD_NUMERIC) */
    if (cls[s[last_dot + 1]] & CL_DIGIT)
        return 0;
    return at;
}

static int fast_path(const unsigned char *s, size_t len, em_parse *out)
{
    size_t at = em_fast_path(s, len);
    if (at == 0)
        return 0;
    out->diag = EM_VALID;
    out->diag_offset = 0;
    out->local_start = 0;
    out->local_end = at;
    out->domain_start = at + 1;
    out->domain_end = len;
    out->local_octets = at;
    out->domain_octets = len - at - 1;
    return 1;
}

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

static void enter_fws(st *p, unsigned char c)
{
    p->ctx = CX_FWS;
    p->token_prior_cr = c == '\r';
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
            add_token(p, i, 1);
            p->elem_len++;
            p->end_or_die = 1;
            p->ctx = CX_QS;
            p->in_qs = 1;
        } else {
            raise(p, EM_ERR_EXPECTING_ATEXT, i);
        }
        return 1;
    case '\r':
    case ' ':
    case '\t':
        if (!crlf(p, &i))
            return 1;
        cfws_at(p, i, p->elem_count == 0 ? EM_CFWS_FWS : EM_DEPREC_FWS, EM_VALID);
        p->out->has_cfws = 1;
        enter_fws(p, c);
        return c == '\r' ? 2 : 1;
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
        add_token(p, i, n);
        p->elem_len += n;
        return n;
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
            p->elem_len++;
            add_token(p, i, 1);
            p->ctx = CX_LITERAL;
            p->in_lit = 1;
            p->lit_start = i + 1;
            p->out->is_literal = 1;
        } else {
            raise(p, EM_ERR_EXPECTING_ATEXT, i);
        }
        return 1;
    case '\r':
    case ' ':
    case '\t':
        if (!crlf(p, &i))
            return 1;
        cfws_at(p, i, p->elem_count == 0 ? EM_DEPREC_CFWS_NEAR_AT : EM_DEPREC_FWS, EM_CFWS_FWS);
        p->out->has_cfws = 1;
        p->domain_cfws = 1;
        enter_fws(p, c);
        return c == '\r' ? 2 : 1;
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
        add_token(p, i, n);
        p->elem_len += n;
        return n;
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

/* The length of the run of bytes from i that `plain` takes. */
static size_t plain_run(const st *p, size_t i, int (*plain)(unsigned char))
{
    size_t n = 0;
    while (i + n < p->len && plain(p->s[i + n]))
        n++;
    return n;
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
        add_token(p, i, 1);
        p->elem_len++;
        pop(p);
        return 1;
    case '\\':
        raise(p, EM_RFC5322_DOMLIT_OBSDTEXT, i);
        p->ctx = CX_QP;
        return 1;
    case '\r':
    case ' ':
    case '\t':
        if (!crlf(p, &i))
            return 1;
        raise(p, EM_CFWS_FWS, i);
        p->out->has_cfws = 1;
        p->lit_ws = 1;
        enter_fws(p, c);
        return c == '\r' ? 2 : 1;
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
        add_token(p, i, n);
        p->elem_len += n;
        return n;
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
        if (!crlf(p, &i))
            return 1;
        /* white space inside a comment is FWS too (RFC 5322 3.2.2), and
         * ranks above the comment (as in is_email) */
        raise(p, EM_CFWS_FWS, i);
        p->out->has_cfws = 1;
        enter_fws(p, c);
        return c == '\r' ? 2 : 1;
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
        add_token(p, i, 1);
        p->elem_len++;
        raise(p, EM_CFWS_FWS, i);
        p->out->has_cfws = 1;
        enter_fws(p, c);
        return c == '\r' ? 2 : 1;
    case '"':
        add_token(p, i, 1);
        p->elem_len++;
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
        add_token(p, i, n);
        p->elem_len += n;
        return n;
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
        add_token(p, i - 1, n + 1);
        p->elem_len += n + 1;
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

void em_parse_run(const unsigned char *s, size_t len, int utf8, em_parse *out)
{
    memset(out, 0, sizeof *out);
    out->diag = EM_VALID;
    if (fast_path(s, len, out))
        return;
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
