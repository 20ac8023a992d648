/* The core: diagnostics lists, domain names, the PSL, the catalogue, the
 * tag=value tokenizer, ASCII comparison, growing arrays, arenas and tasks. */
#define _GNU_SOURCE /* pthread_setattr_default_np */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/arena.h"
#include "core/grow.h"
#include "core/task.h"
#include "unit/testutil.h"
#include "core/internal.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const ms_diag_def WARN = {"test.warn", MS_SEV_WARNING, "a warning", "do this"};
static const ms_diag_def ERR = {"test.err", MS_SEV_ERROR, "an error", NULL};

static void diag_list_counts_severities_and_finds_codes(void **state)
{
    (void)state;
    ms_diag_list list = MS_DIAG_LIST_INIT;
    assert_int_equal(ms_diag_worst(&list), -1);
    for (int i = 0; i < 20; i++)
        assert_int_equal(ms_diag_add(&list, &WARN, "x.example", i, "warning %d", i), MS_OK);
    assert_int_equal(ms_diag_add(&list, &ERR, NULL, -1, "%s", "bad"), MS_OK);
    assert_int_equal(list.count, 21);
    assert_int_equal(ms_diag_count(&list, MS_SEV_WARNING), 20);
    assert_int_equal(ms_diag_count(&list, MS_SEV_ERROR), 1);
    assert_int_equal(ms_diag_worst(&list), MS_SEV_ERROR);
    assert_true(ms_diag_has(&list, "test.err"));
    assert_false(ms_diag_has(&list, "test.none"));
    assert_string_equal(list.items[7].message, "warning 7");
    assert_string_equal(list.items[7].location, "x.example");
    assert_int_equal(list.items[7].offset, 7);
    assert_null(list.items[20].location);
    ms_diag_list_free(&list);
    assert_int_equal(list.count, 0);
}

static void diag_list_move_appends_and_empties_the_source(void **state)
{
    (void)state;
    ms_diag_list a = MS_DIAG_LIST_INIT, b = MS_DIAG_LIST_INIT;
    ms_diag_add(&a, &WARN, NULL, -1, "a1");
    ms_diag_add(&b, &ERR, NULL, -1, "b1");
    ms_diag_add(&b, &ERR, NULL, -1, "b2");
    assert_int_equal(ms_diag_list_move(&a, &b), MS_OK);
    assert_int_equal(a.count, 3);
    assert_int_equal(b.count, 0);
    assert_string_equal(a.items[2].message, "b2");
    ms_diag_list_free(&a);
    ms_diag_list_free(&b);
}

static void expect_normal(const char *in, const char *want)
{
    char *out = NULL;
    assert_int_equal(ms_domain_normalize(in, &out), MS_OK);
    assert_string_equal(out, want);
    free(out);
}

static void expect_invalid(const char *in)
{
    char *out = NULL;
    assert_int_equal(ms_domain_normalize(in, &out), MS_ERR_INVALID);
    assert_null(out);
}

static void domain_names_are_normalised_to_lower_case_a_labels(void **state)
{
    (void)state;
    expect_normal("Example.COM.", "example.com");
    expect_normal("_dmarc.Example.com", "_dmarc.example.com");
    /* RFC 5891 examples: the U-label and its A-label */
    expect_normal("bücher.example", "xn--bcher-kva.example");
    expect_normal("XN--BCHER-KVA.example", "xn--bcher-kva.example");
}

static void invalid_domain_names_are_refused(void **state)
{
    (void)state;
    char label64[80], name255[300];
    memset(label64, 'a', 64);
    strcpy(label64 + 64, ".com");
    /* four 63-octet labels and three dots: 255 octets, over the 253 limit */
    memset(name255, 'b', 255);
    name255[63] = name255[127] = name255[191] = '.';
    name255[255] = '\0';
    expect_invalid("");
    expect_invalid(".");
    expect_invalid("a..b");
    expect_invalid(label64);
    expect_invalid(name255);
    expect_invalid("a b.com");
    expect_invalid("\xff\xfe.com");
}

static void labels_are_counted_and_ancestors_found(void **state)
{
    (void)state;
    assert_int_equal(ms_domain_label_count("com"), 1);
    assert_int_equal(ms_domain_label_count("a.b.example.com"), 4);
    assert_string_equal(ms_domain_parent_with_labels("a.b.example.com", 2), "example.com");
    assert_string_equal(ms_domain_parent_with_labels("a.b.example.com", 9), "a.b.example.com");
    assert_true(ms_domain_is_within("mail.example.com", "example.com"));
    assert_true(ms_domain_is_within("example.com", "example.com"));
    assert_false(ms_domain_is_within("badexample.com", "example.com"));
    assert_false(ms_domain_is_within("com", "example.com"));
}

static void psl_gives_the_registrable_domain(void **state)
{
    (void)state;
    ms_ctx *ctx;
    assert_int_equal(ms_ctx_new(&ctx), MS_OK);
    static const char *const cases[][2] = {
        {"mail.example.com", "example.com"},
        {"a.b.shop.co.uk", "shop.co.uk"},
        {"co.uk", "co.uk"}, /* a public suffix is its own */
        {"example.com", "example.com"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *org = NULL;
        assert_int_equal(ms_domain_org_psl(ctx, cases[i][0], &org), MS_OK);
        assert_string_equal(org, cases[i][1]);
        free(org);
    }
    ms_ctx_free(ctx);
}

static time_t fixed_clock(void *arg)
{
    return *(time_t *)arg;
}

static void context_clock_can_be_replaced(void **state)
{
    (void)state;
    ms_ctx *ctx;
    time_t when = 1700000000;
    assert_int_equal(ms_ctx_new(&ctx), MS_OK);
    ms_ctx_set_clock(ctx, fixed_clock, &when);
    assert_int_equal(ms_ctx_now(ctx), 1700000000);
    ms_ctx_set_clock(ctx, NULL, NULL);
    assert_true(ms_ctx_now(ctx) > 1700000000);
    assert_int_equal(ms_ctx_set_timeout_ms(ctx, 0), MS_ERR_INVALID);
    ms_ctx_free(ctx);
}

/* The tokenizer splits and trims only; what is a valid name is the
 * grammar's business, so even "1=;" comes back as an item. */
static void tag_tokenizer_splits_trims_and_keeps_offsets(void **state)
{
    (void)state;
    const char *text = " v = DKIM1 ;;k\t=rsa\r\n; noeq ; 1=";
    size_t len = strlen(text), pos = 0;
    ms_tag_item it;
    assert_true(ms_tag_next(text, len, MS_TAG_FWS, &pos, &it));
    assert_true(it.has_equals && it.separator);
    assert_int_equal(it.name_offset, 1);
    assert_int_equal(it.name_len, 1);
    assert_int_equal(it.equals, 3);
    assert_int_equal(it.value_offset, 5);
    assert_memory_equal(it.value, "DKIM1", 5);
    assert_int_equal(it.value_len, 5);
    assert_true(ms_tag_next(text, len, MS_TAG_FWS, &pos, &it)); /* the empty item */
    assert_true(it.start == it.end && it.separator && !it.has_equals);
    assert_true(ms_tag_next(text, len, MS_TAG_FWS, &pos, &it));
    assert_memory_equal(it.name, "k", 1);
    assert_int_equal(it.value_len, 3); /* CR LF trimmed as FWS */
    assert_true(ms_tag_next(text, len, MS_TAG_FWS, &pos, &it));
    assert_false(it.has_equals);
    assert_memory_equal(text + it.start, "noeq", it.end - it.start);
    assert_true(ms_tag_next(text, len, MS_TAG_FWS, &pos, &it));
    assert_true(it.has_equals && !it.separator && it.value_len == 0);
    assert_false(ms_tag_next(text, len, MS_TAG_FWS, &pos, &it));

    /* Without MS_TAG_FWS a line end is part of the value. */
    pos = 0;
    assert_true(ms_tag_next("p=none\r\n", 8, 0, &pos, &it));
    assert_int_equal(it.value_len, 6);
    /* A trailing ";" gives one last, empty item with no separator. */
    pos = 0;
    assert_true(ms_tag_next("a=b;", 4, 0, &pos, &it));
    assert_true(ms_tag_next("a=b;", 4, 0, &pos, &it));
    assert_true(it.start == it.end && !it.separator);
    assert_false(ms_tag_next("a=b;", 4, 0, &pos, &it));
}

static void taglist_applies_rfc6376_rules_and_bounds(void **state)
{
    (void)state;
    ms_taglist list;
    ms_taglist_parse("v=1; 9x=2; =3; noeq; ok_1 = a b ;", 33, &list);
    assert_int_equal(list.count, 2);
    assert_non_null(ms_taglist_find(&list, "OK_1"));
    assert_true(ms_tag_is(&list.tags[1], "ok_1"));
    assert_false(ms_tag_is(&list.tags[1], "OK_1"));
    assert_int_equal(list.error_count, 3);
    assert_int_equal(list.errors[0].kind, MS_TAGLIST_BAD_NAME);
    assert_int_equal(list.errors[1].kind, MS_TAGLIST_EMPTY_NAME);
    assert_int_equal(list.errors[2].kind, MS_TAGLIST_NO_EQUALS);
    assert_int_equal(list.errors[2].item, 15);
    assert_int_equal(list.errors[2].item_len, 4);

    char many[MS_TAGLIST_MAX_TAGS * 4 + 8] = "";
    for (int i = 0; i <= MS_TAGLIST_MAX_TAGS; i++)
        strcat(many, "a=1;");
    ms_taglist_parse(many, strlen(many), &list);
    assert_int_equal(list.count, MS_TAGLIST_MAX_TAGS);
    assert_int_equal(list.error_count, 1);
    assert_int_equal(list.errors[0].kind, MS_TAGLIST_TOO_MANY);
}

static void ascii_comparison_ignores_case_only(void **state)
{
    (void)state;
    assert_true(ms_ascii_ieq("DKIM-Signature", 14, "dkim-signature"));
    assert_false(ms_ascii_ieq("DKIM-Signature", 13, "dkim-signature"));
    assert_false(ms_ascii_ieq("\xc4", 1, "\xe4")); /* not Latin-1 case */
    assert_int_equal(ms_ascii_lower('Z'), 'z');
    assert_int_equal(ms_ascii_lower('['), '[');
}

/* Where invariants are checked (MAILSEC_ASSERTS), a failed one names
 * itself and aborts; elsewhere the check costs nothing and does nothing. */
static void failed_assertion_aborts_with_its_place(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 2);
        MS_ASSERT(1 + 1 == 3);
        _exit(0);
    }
    close(fds[1]);
    char said[512] = "";
    ssize_t n = read(fds[0], said, sizeof said - 1);
    said[n > 0 ? n : 0] = '\0';
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
#if defined(MS_ASSERTS) && MS_ASSERTS
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    assert_non_null(strstr(said, "assertion \"1 + 1 == 3\" failed"));
    assert_non_null(strstr(said, "test_core.c"));
#else
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_string_equal(said, "");
#endif
}

static void catalogue_codes_are_unique_and_well_formed(void **state)
{
    (void)state;
    const ms_diag_def *def;
    size_t n = 0;
    for (size_t i = 0; (def = ms_diag_catalogue_at(i)) != NULL; i++, n++) {
        assert_non_null(def->summary);
        assert_non_null(strchr(def->code, '.'));
        for (const char *p = def->code; *p; p++)
            assert_true((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' ||
                        *p == '-');
        assert_ptr_equal(ms_diag_lookup(def->code), def);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(ms_diag_catalogue_at(j)->code, def->code);
    }
    assert_true(n > 0);
    assert_null(ms_diag_lookup("no.such-code"));
}

static void arrays_grow_by_doubling_and_refuse_overflow(void **state)
{
    (void)state;
    int *items = NULL;
    size_t count = 0, cap = 0;
    for (int i = 0; i < 100; i++) {
        int *grown = ms_grow(items, count, &cap, sizeof *grown, 4);
        assert_non_null(grown);
        items = grown;
        items[count++] = i;
        /* 4 first, then twice the room each time it is full */
        size_t want = 4;
        while (want < count)
            want *= 2;
        assert_int_equal(cap, want);
    }
    for (int i = 0; i < 100; i++)
        assert_int_equal(items[i], i);
    /* room left: the same array, nothing allocated */
    count = 50;
    assert_ptr_equal(ms_grow(items, count, &cap, sizeof *items, 4), items);
    assert_int_equal(cap, 128);
    /* a size that would overflow: NULL, the array and its room unchanged */
    size_t huge_cap = SIZE_MAX / 16 + 1;
    assert_null(ms_grow(items, huge_cap, &huge_cap, 16, 4));
    assert_int_equal(huge_cap, SIZE_MAX / 16 + 1);
    size_t half_cap = SIZE_MAX / 16 / 2 + 1; /* fits, twice it does not */
    assert_null(ms_grow(items, half_cap, &half_cap, 16, 4));
    assert_int_equal(half_cap, SIZE_MAX / 16 / 2 + 1);
    free(items);
}

/* Pieces are aligned, strings packed; a reset keeps the blocks for the
 * next round (no new memory for the same pieces), free returns them. */
static void arenas_cut_pieces_and_keep_blocks_across_resets(void **state)
{
    (void)state;
    ms_arena a = MS_ARENA_INIT;
    char *s = ms_arena_strndup(&a, "abcdef", 3);
    assert_string_equal(s, "abc");
    char *t = ms_arena_strndup(&a, "xy", 2);
    assert_ptr_equal(t, s + 4); /* strings are not padded */
    for (int i = 0; i < 3; i++) {
        void *p = ms_arena_alloc(&a, 1);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % _Alignof(max_align_t), 0);
    }
    size_t one_block = a.bytes;
    assert_true(one_block > 0);
    /* more than one block's worth, and a piece larger than a block */
    for (int i = 0; i < 100; i++)
        assert_non_null(ms_arena_alloc(&a, 1000));
    char *big = ms_arena_alloc(&a, 200000);
    assert_non_null(big);
    memset(big, 'x', 200000);
    size_t held = a.bytes;
    assert_true(held > one_block + 200000);
    /* the same pieces again after a reset: the kept blocks serve */
    ms_arena_reset(&a);
    for (int i = 0; i < 100; i++)
        assert_non_null(ms_arena_alloc(&a, 1000));
    assert_non_null(ms_arena_alloc(&a, 200000));
    assert_int_equal(a.bytes, held);
    assert_null(ms_arena_alloc(&a, SIZE_MAX - 4)); /* refused, not wrapped */
    ms_arena_free(&a);
    assert_int_equal(a.bytes, 0);
    assert_null(a.first);
    assert_string_equal(ms_arena_strndup(&a, "again", 5), "again"); /* usable after free */
    ms_arena_free(&a);
}

/* A piece written at the arena's tail and kept lies where a copy would
 * have been cut; a tail larger than the current block has left is not
 * offered (no block is added for it). */
static void arenas_keep_pieces_written_at_their_tail(void **state)
{
    (void)state;
    ms_arena a = MS_ARENA_INIT;
    assert_null(ms_arena_tail(&a, 1)); /* no block yet */
    char *first = ms_arena_strndup(&a, "abc", 3);
    char *tail = ms_arena_tail(&a, 100);
    assert_ptr_equal(tail, first + 4);
    memcpy(tail, "xyz", 4);
    ms_arena_keep(&a, 4);
    assert_string_equal(tail, "xyz");
    char *next = ms_arena_strndup(&a, "q", 1);
    assert_ptr_equal(next, tail + 4); /* the kept piece is not cut again */
    assert_string_equal(tail, "xyz");
    size_t held = a.bytes;
    assert_null(ms_arena_tail(&a, held)); /* more than the block has left */
    assert_int_equal(a.bytes, held);
    ms_arena_reset(&a);
    assert_ptr_equal(ms_arena_tail(&a, 100), first); /* from the start of the kept block */
    ms_arena_free(&a);
}

static void *count_once(void *arg)
{
    (*(int *)arg)++;
    return NULL;
}

/* With threads to be had, a task runs in one; ms_task_join waits for it,
 * and a second join does nothing. */
static void tasks_run_in_threads_and_join_once(void **state)
{
    (void)state;
    int ran = 0, tried = 0;
    ms_task run, try;
    assert_int_equal(ms_task_run(&run, count_once, &ran), 1);
    assert_int_equal(ms_task_try(&try, count_once, &tried), 1);
    ms_task_join(&run);
    ms_task_join(&try);
    assert_int_equal(ran, 1);
    assert_int_equal(tried, 1);
    ms_task_join(&run); /* joined already: nothing */
    ms_task never = {0};
    ms_task_join(&never); /* never started: nothing */
}

/* Reports whether SIGTERM is blocked in the thread that runs it. */
static void *note_sigterm_blocked(void *arg)
{
    sigset_t mask;
    pthread_sigmask(SIG_BLOCK, NULL, &mask);
    *(int *)arg = sigismember(&mask, SIGTERM);
    return NULL;
}

/* A task's thread takes no signal (libmilter waits for SIGTERM in a
 * thread of its own: a thread that took it would end the milter), and
 * the caller's own mask is left as it was. */
static void task_threads_take_no_signal(void **state)
{
    (void)state;
    int blocked = -1;
    ms_task t;
    assert_int_equal(ms_task_run(&t, note_sigterm_blocked, &blocked), 1);
    ms_task_join(&t);
    assert_int_equal(blocked, 1);
    note_sigterm_blocked(&blocked);
    assert_int_equal(blocked, 0);
}

/* With no thread to be had (every new thread asks for a stack no address
 * space holds), ms_task_run does the work before it returns and
 * ms_task_try does none. In a child, so the default stays as it was. */
static void tasks_without_threads_run_here_or_not_at_all(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (test_refuse_new_threads() != 0)
            _exit(3);
        int ran = 0, tried = 0;
        ms_task run, try;
        int in_thread = ms_task_run(&run, count_once, &ran);
        int started = ms_task_try(&try, count_once, &tried);
        int ok = in_thread == 0 && ran == 1 && started == 0 && tried == 0;
        ms_task_join(&run);
        ms_task_join(&try);
        _exit(ok && ran == 1 && tried == 0 ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(diag_list_counts_severities_and_finds_codes),
        cmocka_unit_test(diag_list_move_appends_and_empties_the_source),
        cmocka_unit_test(domain_names_are_normalised_to_lower_case_a_labels),
        cmocka_unit_test(invalid_domain_names_are_refused),
        cmocka_unit_test(labels_are_counted_and_ancestors_found),
        cmocka_unit_test(psl_gives_the_registrable_domain),
        cmocka_unit_test(context_clock_can_be_replaced),
        cmocka_unit_test(catalogue_codes_are_unique_and_well_formed),
        cmocka_unit_test(tag_tokenizer_splits_trims_and_keeps_offsets),
        cmocka_unit_test(taglist_applies_rfc6376_rules_and_bounds),
        cmocka_unit_test(ascii_comparison_ignores_case_only),
        cmocka_unit_test(failed_assertion_aborts_with_its_place),
        cmocka_unit_test(arrays_grow_by_doubling_and_refuse_overflow),
        cmocka_unit_test(arenas_cut_pieces_and_keep_blocks_across_resets),
        cmocka_unit_test(arenas_keep_pieces_written_at_their_tail),
        cmocka_unit_test(tasks_run_in_threads_and_join_once),
        cmocka_unit_test(tasks_without_threads_run_here_or_not_at_all),
        cmocka_unit_test(task_threads_take_no_signal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
