/* The bytes of an XML report on their way to expat (xml_input.c).
 *
 * Two stages, so real-world documents reach expat in a form it accepts:
 *  1. the head: the first bytes are held until the XML declaration (or the
 *     first element) is seen; a byte-order mark and leading white space
 *     are dropped, and the encoding expat is to use is chosen from the
 *     declaration (see docs/report-formats.md);
 *  2. the filter (8-bit encodings): invalid UTF-8 bytes become U+FFFD (when
 *     the document is read as UTF-8), control characters XML forbids
 *     become spaces, and stray <xs:schema> tags are dropped. Clean
 *     stretches pass through without a copy.
 * The result does not depend on how the bytes are cut into feeds: bytes
 * that cannot be judged yet are held until the next feed. */
#ifndef MAILSEC_LIB_REPORT_XML_INPUT_H
#define MAILSEC_LIB_REPORT_XML_INPUT_H

#include <expat.h>
#include <stddef.h>
#include <stdint.h>

enum {
    MS_XML_HEAD_MAX = 1024, /* bytes held to find the XML declaration */
    MS_XML_CARRY_MAX = 64   /* bytes held back between feeds */
};

/* Where the bytes go: data (len may be 0), final on the last call. */
typedef void (*ms_xml_sink_fn)(void *arg, const void *data, size_t len, int final);
/* Non-zero when the consumer wants no more bytes (it failed or is done). */
typedef int (*ms_xml_stopped_fn)(void *arg);

typedef enum ms_xml_mode {
    MS_XML_HEAD = 0, /* still collecting the head */
    MS_XML_FILTER,   /* an 8-bit encoding: through the filter */
    MS_XML_RAW       /* UTF-16: straight to expat */
} ms_xml_mode;

typedef struct ms_xml_input {
    ms_xml_sink_fn sink;
    ms_xml_stopped_fn stopped;
    void *arg;
    ms_xml_mode mode;
    /* The encoding to give XML_SetEncoding before the first byte reaches
     * the sink ("UTF-8", "windows-1252", "ISO-8859-15"); NULL: expat's
     * own choice (UTF-16). Set when the head is decided. */
    const char *encoding;
    int64_t dropped_lead; /* BOM and white space dropped before the document */
    int nomem;            /* an allocation failed: the bytes were lost */

    int repair_utf8;
    unsigned char head[MS_XML_HEAD_MAX];
    size_t head_len;
    unsigned char carry[MS_XML_CARRY_MAX];
    size_t carry_len;
    int in_schema_tag; /* dropping a stray <xs:schema ...> tag */
    unsigned char *out; /* the filter's output where it changes bytes */
    size_t out_cap;
} ms_xml_input;

void ms_xml_input_init(ms_xml_input *in, ms_xml_sink_fn sink, ms_xml_stopped_fn stopped, void *arg);
void ms_xml_input_free(ms_xml_input *in);
void ms_xml_input_feed(ms_xml_input *in, const void *data, size_t len);
/* The end of the document: everything held is judged and sent, and the
 * sink's last call has final set. */
void ms_xml_input_finish(ms_xml_input *in);
/* Non-zero when nothing but white space was fed (and the head is still
 * undecided). */
int ms_xml_input_is_blank(const ms_xml_input *in);

/* expat's unknown-encoding handler for the encodings ms_xml_input may
 * choose that expat does not know itself (windows-1252, ISO-8859-15). */
int XMLCALL ms_xml_unknown_encoding(void *arg, const XML_Char *name, XML_Encoding *info);

#endif
