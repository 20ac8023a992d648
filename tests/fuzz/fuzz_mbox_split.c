/* libFuzzer harness for the mbox splitter (lib/report/mbox_split.c), the
 * one thread's cut that lets several threads parse one mbox: arbitrary
 * bytes are read as an mbox twice,
 *  - by GMime alone, the whole mbox in one parse (how mailsec read an
 *    mbox before the splitter), and
 *  - cut by the splitter, each message parsed by GMime on its own bytes
 *    [marker, stop) (how the walk and the shared reader read it now),
 * and every message the whole parse finds must come out of the cut the
 * same: the same "From " line, the same header and end offsets, the same
 * MIME tree with the same content windows (a message GMime stops parsing
 * early, at a broken part, ends early in both; the next one begins at the
 * next "From " line in both). The whole parse may end one later: a "From " line
 * right after a part's header block that holds no field is eaten by GMime
 * as the end of the multipart, and the next message merged into this one;
 * the cut starts a message at every "From " line, so from there on the two
 * are not compared (docs/report-ingest.md). Nor after a message the whole
 * parse cannot parse: the old reader stopped there, the cut goes on. After
 * the last message of a whole parse that ended cleanly, the cut finds no
 * other message.
 * Checked too: messages are numbered from 1 in order, each begins at a
 * line beginning with "From ", within the input, after the one before. */
#include "core/lazy_gmime.h"
#include "report/mbox.h"
#include "report/report_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"

enum { MESSAGES_MAX = 256, WINDOWS_MAX = 64 };

/* What one parsed message is, to compare. */
typedef struct shape {
    int64_t marker, begin, end;
    size_t windows;
    int64_t window[WINDOWS_MAX][2]; /* leaf parts' content, and -1 -1 for a multipart's end */
} shape;

static void add_window(shape *s, int64_t a, int64_t b)
{
    if (s->windows < WINDOWS_MAX) {
        s->window[s->windows][0] = a;
        s->window[s->windows][1] = b;
        s->windows++;
    }
}

static void describe(shape *s, GMimeObject *obj, unsigned depth)
{
    if (obj == NULL || depth > 32) {
        add_window(s, -2, -2);
        return;
    }
    if (GMIME_IS_MULTIPART(obj)) {
        int n = g_mime_multipart_get_count((GMimeMultipart *)obj);
        for (int i = 0; i < n; i++)
            describe(s, g_mime_multipart_get_part((GMimeMultipart *)obj, i), depth + 1);
        add_window(s, -1, -1);
    } else if (GMIME_IS_MESSAGE_PART(obj)) {
        GMimeMessage *m = g_mime_message_part_get_message((GMimeMessagePart *)obj);
        describe(s, m != NULL ? g_mime_message_get_mime_part(m) : NULL, depth + 1);
    } else if (GMIME_IS_PART(obj)) {
        GMimeDataWrapper *content = g_mime_part_get_content((GMimePart *)obj);
        GMimeStream *stream = content != NULL ? g_mime_data_wrapper_get_stream(content) : NULL;
        if (stream != NULL)
            add_window(s, stream->bound_start, stream->bound_end);
        else
            add_window(s, -3, -3);
    }
}

/* The next message of parser: 1 with *s filled, 0 at a clean end, -1 when
 * it cannot be parsed. */
static int next_shape(GMimeParser *parser, shape *s)
{
    GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
    if (msg == NULL)
        return g_mime_parser_eos(parser) ? 0 : -1;
    *s = (shape){.marker = g_mime_parser_get_mbox_marker_offset(parser),
                 .begin = g_mime_parser_get_headers_begin(parser),
                 .end = g_mime_parser_tell(parser)};
    describe(s, g_mime_message_get_mime_part(msg), 0);
    g_object_unref(msg);
    return 1;
}

static GMimeParser *mbox_parser(GMimeStream *stream)
{
    GMimeParser *parser = g_mime_parser_new_with_stream(stream);
    g_mime_parser_set_format(parser, GMIME_FORMAT_MBOX);
    g_mime_parser_set_persist_stream(parser, TRUE);
    return parser;
}

static int same(const shape *a, const shape *b)
{
    if (a->marker != b->marker || a->begin != b->begin || a->end != b->end || a->windows != b->windows)
        return 0;
    return memcmp(a->window, b->window, a->windows * sizeof a->window[0]) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static shape whole[MESSAGES_MAX];
    if (!report_gmime_init())
        return 0;
    GMimeStream *stream = g_mime_stream_mem_new_with_buffer((const char *)data, size);

    /* the whole mbox in one parse */
    GMimeParser *parser = mbox_parser(stream);
    size_t count = 0;
    int ended = 0;
    while (count < MESSAGES_MAX && (ended = next_shape(parser, &whole[count])) > 0)
        count++;
    g_object_unref(parser);

    /* cut, each message parsed alone */
    mbox_split *split = malloc(sizeof *split);
    CHECK(split != NULL);
    CHECK(mbox_split_init(split, -1, data, (int64_t)size) == 0);
    static mbox_message cut[MESSAGES_MAX + 1];
    size_t cuts = 0;
    int64_t last = -1;
    int got;
    while (cuts <= MESSAGES_MAX && (got = mbox_split_next(split, &cut[cuts])) > 0) {
        const mbox_message *m = &cut[cuts];
        CHECK(m->number == cuts + 1);
        CHECK(m->marker > last && m->marker < m->stop && m->stop <= (int64_t)size);
        CHECK(memcmp(data + m->marker, "From ", m->stop - m->marker < 5 ? (size_t)(m->stop - m->marker) : 5) == 0);
        CHECK(m->marker == 0 || data[m->marker - 1] == '\n');
        last = m->marker;
        cuts++;
    }
    CHECK(cuts > MESSAGES_MAX || got == 0);
    CHECK(cuts >= count || cuts > MESSAGES_MAX);
    for (size_t i = 0; i < cuts && i < MESSAGES_MAX; i++) {
        GMimeStream *bytes = g_mime_stream_substream(stream, cut[i].marker, cut[i].stop);
        parser = mbox_parser(bytes);
        shape alone;
        int r = next_shape(parser, &alone);
        g_object_unref(parser);
        g_object_unref(bytes);
        int64_t cut_end = i + 1 < cuts ? cut[i + 1].marker : (int64_t)size;
        if (i < count) {
            CHECK(whole[i].marker == cut[i].marker);
            if (whole[i].end > cut_end)
                break; /* GMime merged the next message into this one: the cut does not */
            CHECK(r == 1 && same(&whole[i], &alone));
        } else if (count < MESSAGES_MAX && ended == 0) {
            CHECK(r != 1); /* the whole parse found no more: neither does the cut */
        } else {
            break;
        }
    }
    free(split);
    g_object_unref(stream);
    return 0;
}
