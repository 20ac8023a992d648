/* The reference for the ingest benchmark: merely parsing the bytes of the
 * reports with expat (the XML library mailsec uses), decompression
 * included, and nothing else.
 *
 *   expat_only [--handlers] [--rounds N] PATH...
 *
 * PATH is a report file or a directory of them (not recursive). A file is
 * gzip when it starts with the gzip magic (1f 8b), else plain XML. Its bytes
 * go through XML_Parse in 256 KiB chunks, one parser (reset between files).
 *
 * Without --handlers expat gets no callbacks at all: the fastest any
 * expat-based reader can be, the figure the ingest target is measured
 * against. With --handlers it gets the minimal start/end/character handlers
 * every real consumer needs (element depth, the text of the current leaf
 * copied to a small buffer, <record> elements counted).
 *
 * Prints one line, key=value: files, in_bytes (as stored), xml_bytes
 * (after decompression), records (with --handlers, else -1), seconds (wall
 * clock, best of the rounds), cpu_seconds (of that round), xml_mbps (MB of
 * XML per wall second, MB = 10^6 bytes).
 *
 * Build: cc -O2 -std=c17 -Wall -Wextra expat_only.c -lexpat -lz -o expat_only
 * (bench/report/run.sh does this). */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <zlib.h>

enum { CHUNK = 256 * 1024, TEXT_MAX = 1024, MAX_ROUNDS = 100 };

typedef struct totals {
    long files;
    unsigned long long in_bytes;
    unsigned long long xml_bytes;
    long records;
} totals;

/* What the handlers keep: what a consumer of DMARC reports needs at least. */
typedef struct consumer {
    int depth;
    long records;
    size_t text_len;
    char text[TEXT_MAX];
} consumer;

static void XMLCALL on_start(void *arg, const XML_Char *name, const XML_Char **attrs)
{
    consumer *c = arg;
    (void)attrs;
    c->depth++;
    c->text_len = 0;
    if (strcmp(name, "record") == 0)
        c->records++;
}

static void XMLCALL on_end(void *arg, const XML_Char *name)
{
    consumer *c = arg;
    (void)name;
    c->depth--;
    c->text_len = 0; /* a real consumer would store the leaf's text here */
}

static void XMLCALL on_text(void *arg, const XML_Char *s, int len)
{
    consumer *c = arg;
    size_t room = TEXT_MAX - c->text_len;
    size_t n = (size_t)len < room ? (size_t)len : room;
    memcpy(c->text + c->text_len, s, n);
    c->text_len += n;
}

static double clock_seconds(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Feeds one chunk; on an XML error names the file and the position. */
static int feed(XML_Parser p, const char *path, const char *buf, size_t len, int final)
{
    if (XML_Parse(p, buf, (int)len, final) == XML_STATUS_OK)
        return 0;
    fprintf(stderr, "expat_only: %s: line %lu, column %lu: %s\n", path,
            (unsigned long)XML_GetCurrentLineNumber(p), (unsigned long)XML_GetCurrentColumnNumber(p),
            XML_ErrorString(XML_GetErrorCode(p)));
    return -1;
}

static int parse_plain(XML_Parser p, const char *path, FILE *f, char *buf, totals *t)
{
    size_t n;
    while ((n = fread(buf, 1, CHUNK, f)) > 0) {
        t->in_bytes += n;
        t->xml_bytes += n;
        if (feed(p, path, buf, n, 0) != 0)
            return -1;
    }
    if (ferror(f)) {
        fprintf(stderr, "expat_only: %s: read error\n", path);
        return -1;
    }
    return feed(p, path, buf, 0, 1);
}

/* gzip, several members allowed (as gunzip does). */
static int parse_gzip(XML_Parser p, const char *path, FILE *f, char *in, char *out, totals *t)
{
    z_stream z = {0};
    int rc = Z_OK, status = 0, out_full = 0;
    if (inflateInit2(&z, 15 + 16) != Z_OK)
        return -1;
    for (;;) {
        /* A full output buffer may hide more output: inflate again first. */
        if (z.avail_in == 0 && !out_full) {
            size_t n = fread(in, 1, CHUNK, f);
            if (n == 0)
                break;
            t->in_bytes += n;
            z.next_in = (Bytef *)in;
            z.avail_in = (uInt)n;
        }
        z.next_out = (Bytef *)out;
        z.avail_out = CHUNK;
        rc = inflate(&z, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
            fprintf(stderr, "expat_only: %s: gzip: %s\n", path, z.msg ? z.msg : "corrupt data");
            status = -1;
            break;
        }
        size_t got = CHUNK - z.avail_out;
        out_full = z.avail_out == 0 && rc != Z_STREAM_END;
        t->xml_bytes += got;
        if (got > 0 && feed(p, path, out, got, 0) != 0) {
            status = -1;
            break;
        }
        if (rc == Z_STREAM_END)
            inflateReset(&z); /* another member may follow */
    }
    if (status == 0 && rc != Z_STREAM_END) {
        fprintf(stderr, "expat_only: %s: gzip: truncated\n", path);
        status = -1;
    }
    inflateEnd(&z);
    return status == 0 ? feed(p, path, out, 0, 1) : -1;
}

static int parse_file(XML_Parser p, const char *path, char *in, char *out, totals *t)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "expat_only: %s: %s\n", path, strerror(errno));
        return -1;
    }
    int b0 = getc(f), b1 = getc(f);
    rewind(f);
    int rc = (b0 == 0x1f && b1 == 0x8b) ? parse_gzip(p, path, f, in, out, t) : parse_plain(p, path, f, in, t);
    fclose(f);
    t->files++;
    return rc;
}

/* The paths to read: files as given, directories expanded (sorted). */
typedef struct path_list {
    char **v;
    size_t n, cap;
} path_list;

static void out_of_memory(void)
{
    fprintf(stderr, "expat_only: out of memory\n");
    exit(2);
}

static void add_path(path_list *l, char *path)
{
    if (path == NULL)
        out_of_memory();
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 1024;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        if (l->v == NULL)
            out_of_memory();
    }
    l->v[l->n++] = path;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int expand(path_list *l, const char *arg)
{
    struct stat st;
    if (stat(arg, &st) != 0) {
        fprintf(stderr, "expat_only: %s: %s\n", arg, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        add_path(l, strdup(arg));
        return 0;
    }
    DIR *d = opendir(arg);
    if (d == NULL) {
        fprintf(stderr, "expat_only: %s: %s\n", arg, strerror(errno));
        return -1;
    }
    size_t first = l->n;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        size_t size = strlen(arg) + strlen(e->d_name) + 2;
        char *path = malloc(size);
        if (path != NULL)
            snprintf(path, size, "%s/%s", arg, e->d_name);
        add_path(l, path);
    }
    closedir(d);
    qsort(l->v + first, l->n - first, sizeof *l->v, by_name);
    return 0;
}

/* One pass over every file. */
static int run_round(const path_list *l, int handlers, char *in, char *out, totals *t)
{
    consumer c = {0};
    XML_Parser p = XML_ParserCreate(NULL);
    int rc = 0;
    for (size_t i = 0; i < l->n && rc == 0; i++) {
        if (handlers) {
            XML_SetUserData(p, &c);
            XML_SetElementHandler(p, on_start, on_end);
            XML_SetCharacterDataHandler(p, on_text);
        }
        rc = parse_file(p, l->v[i], in, out, t);
        XML_ParserReset(p, NULL); /* drops the handlers too */
    }
    XML_ParserFree(p);
    t->records = handlers ? c.records : -1;
    return rc;
}

static int usage(void)
{
    fprintf(stderr, "usage: expat_only [--handlers] [--rounds N] PATH...\n");
    return 2;
}

int main(int argc, char **argv)
{
    int handlers = 0, rounds = 1, i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--handlers") == 0)
            handlers = 1;
        else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else
            return usage();
    }
    if (i == argc || rounds < 1 || rounds > MAX_ROUNDS)
        return usage();
    path_list l = {0};
    for (; i < argc; i++)
        if (expand(&l, argv[i]) != 0)
            return 2;
    char *in = malloc(CHUNK), *out = malloc(CHUNK);
    if (in == NULL || out == NULL)
        return 2;

    totals best = {0};
    double best_wall = 0, best_cpu = 0;
    int status = 0;
    for (int r = 0; r < rounds && status == 0; r++) {
        totals t = {0};
        double w0 = clock_seconds(CLOCK_MONOTONIC), c0 = clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
        if (run_round(&l, handlers, in, out, &t) != 0) {
            status = 1;
            break;
        }
        double wall = clock_seconds(CLOCK_MONOTONIC) - w0, cpu = clock_seconds(CLOCK_PROCESS_CPUTIME_ID) - c0;
        if (r == 0 || wall < best_wall) {
            best = t;
            best_wall = wall;
            best_cpu = cpu;
        }
    }
    if (status == 0)
        printf("files=%ld in_bytes=%llu xml_bytes=%llu records=%ld seconds=%.3f cpu_seconds=%.3f xml_mbps=%.1f\n",
               best.files, best.in_bytes, best.xml_bytes, best.records, best_wall, best_cpu,
               (double)best.xml_bytes / 1e6 / best_wall);
    for (size_t k = 0; k < l.n; k++)
        free(l.v[k]);
    free(l.v);
    free(in);
    free(out);
    return status;
}
