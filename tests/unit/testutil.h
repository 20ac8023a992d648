/* Helpers shared by the unit tests. */
#ifndef MAILSEC_TESTUTIL_H
#define MAILSEC_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 1 in builds with AddressSanitizer (GCC says so with a macro, clang with
 * __has_feature). There everything runs several times slower, and on a
 * shared machine unpredictably so: wall-clock upper bounds are checked only
 * in plain builds, where a timing test relies on other evidence too
 * (queries held at once, connections overlapping). */
#if defined(__SANITIZE_ADDRESS__)
#define MAILSEC_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MAILSEC_TEST_SANITIZED 1
#endif
#endif
#ifndef MAILSEC_TEST_SANITIZED
#define MAILSEC_TEST_SANITIZED 0
#endif

/* Reads KEY from a test bed's info file (KEY=VALUE lines) named by the
 * environment variable env into out (cut to size, as snprintf would).
 * Returns 0 when the bed is not running, so a test can fail with a clear
 * message instead of a confusing error later. */
static inline int bed_info_get(const char *env, const char *key, char *out, size_t size)
{
    const char *path = getenv(env);
    FILE *f = path ? fopen(path, "r") : NULL;
    if (f == NULL)
        return 0;
    char line[1024];
    size_t klen = strlen(key);
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        if (strncmp(line, key, klen) == 0 && line[klen] == '=') {
            snprintf(out, size, "%.*s", (int)strcspn(line + klen + 1, "\n"), line + klen + 1);
            found = 1;
        }
    }
    fclose(f);
    return found;
}

/* The DNS test bed's KEY (MAILSEC_DNSBED_INFO). */
static inline int dnsbed_get(const char *key, char *out, size_t size)
{
    return bed_info_get("MAILSEC_DNSBED_INFO", key, out, size);
}

/* The whole of the file at path, NUL-terminated, its length in *len (may be
 * NULL); NULL when it cannot be read. */
static inline char *test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t used = 0, size = 4096;
    char *data = malloc(size);
    size_t n;
    while (data && (n = fread(data + used, 1, size - used - 1, f)) > 0) {
        used += n;
        if (used + 1 == size) {
            char *more = realloc(data, size * 2);
            if (more == NULL)
                free(data);
            data = more;
            size *= 2;
        }
    }
    int failed = ferror(f);
    fclose(f);
    if (data == NULL || failed) {
        free(data);
        return NULL;
    }
    data[used] = '\0';
    if (len)
        *len = used;
    return data;
}

/* The threads of this process (its status file's count), -1 if unknown. */
static inline int test_threads_of_this_process(void)
{
    char line[256];
    int threads = -1;
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "Threads: %d", &threads) == 1)
            break;
    fclose(f);
    return threads;
}

#ifdef _GNU_SOURCE /* pthread_setattr_default_np */
#include <pthread.h>
/* From now on this process can have no new thread: each asks for a stack
 * no address space holds (64 TiB). For a child (fork) that checks work
 * done without threads. 0 when set. */
static inline int test_refuse_new_threads(void)
{
    pthread_attr_t huge;
    pthread_attr_init(&huge);
    pthread_attr_setstacksize(&huge, (size_t)1 << 46);
    int failed = pthread_setattr_default_np(&huge);
    pthread_attr_destroy(&huge);
    return failed;
}
#endif

#endif
