/* The classification of sending sources (lib/sources/classify.c) and the
 * reverse-lookup names (RFC 1035 section 3.5 for in-addr.arpa, RFC 3596
 * section 2.5 for ip6.arpa). The message splits are made by hand, one per
 * class and one on each side of every threshold. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mailsec/sources.h"

#include <stdlib.h>
#include <string.h>

static ms_sources_class classify(uint64_t aligned, uint64_t unaligned, uint64_t failing, uint64_t forwarded,
                                uint64_t dkim_pass_spf_fail, const char *rdns, size_t *signs)
{
    ms_store_source s = {.source_ip = "192.0.2.1", .rdns = (char *)rdns,
                         .messages = aligned + unaligned + failing, .aligned = aligned,
                         .unaligned = unaligned, .failing = failing, .forwarded = forwarded,
                         .dkim_pass_spf_fail = dkim_pass_spf_fail};
    ms_sources_verdict v;
    ms_sources_classify(&s, &v);
    if (signs != NULL)
        *signs = v.sign_count;
    for (size_t i = 0; i < v.sign_count; i++)
        assert_non_null(v.signs[i]);
    ms_sources_verdict_clear(&v);
    return v.cls;
}

static void majority_decides(void **state)
{
    (void)state;
    assert_int_equal(classify(90, 5, 5, 0, 0, NULL, NULL), MS_SOURCES_ALIGNED);
    assert_int_equal(classify(10, 80, 10, 0, 0, NULL, NULL), MS_SOURCES_UNALIGNED);
    /* exactly half is no majority */
    assert_int_equal(classify(50, 50, 0, 0, 0, NULL, NULL), MS_SOURCES_MIXED);
    assert_int_equal(classify(51, 49, 0, 0, 0, NULL, NULL), MS_SOURCES_ALIGNED);
    assert_int_equal(classify(34, 33, 33, 0, 0, NULL, NULL), MS_SOURCES_MIXED);
}

static void failing_without_signs_is_spoofing(void **state)
{
    (void)state;
    size_t signs;
    assert_int_equal(classify(0, 0, 40, 0, 0, "", &signs), MS_SOURCES_SPOOFING);
    assert_int_equal(signs, 2); /* nothing passed; no reverse DNS */
    assert_int_equal(classify(0, 0, 40, 0, 0, "mx.example", &signs), MS_SOURCES_SPOOFING);
    assert_int_equal(signs, 1);
}

static void failing_with_forwarding_signs(void **state)
{
    (void)state;
    /* a quarter of the failing messages marked forwarded is enough */
    assert_int_equal(classify(0, 0, 40, 10, 0, NULL, NULL), MS_SOURCES_FORWARDING);
    assert_int_equal(classify(0, 0, 40, 9, 0, NULL, NULL), MS_SOURCES_SPOOFING);
    assert_int_equal(classify(10, 0, 40, 0, 10, NULL, NULL), MS_SOURCES_FORWARDING);
}

static void names_and_advice(void **state)
{
    (void)state;
    assert_string_equal(ms_sources_class_name(MS_SOURCES_ALIGNED), "aligned");
    assert_string_equal(ms_sources_class_name(MS_SOURCES_UNALIGNED), "unaligned");
    assert_string_equal(ms_sources_class_name(MS_SOURCES_FORWARDING), "forwarding");
    assert_string_equal(ms_sources_class_name(MS_SOURCES_SPOOFING), "spoofing");
    assert_string_equal(ms_sources_class_name(MS_SOURCES_MIXED), "mixed");
    assert_non_null(strstr(ms_sources_class_advice(MS_SOURCES_SPOOFING), "p=reject"));
}

static void reverse_names(void **state)
{
    (void)state;
    char *n = ms_sources_reverse_name("192.0.2.25");
    assert_string_equal(n, "25.2.0.192.in-addr.arpa");
    free(n);
    /* RFC 3596 section 2.5's example address */
    n = ms_sources_reverse_name("4321:0:1:2:3:4:567:89ab");
    assert_string_equal(n, "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa");
    free(n);
    assert_null(ms_sources_reverse_name("999.1.2.3"));
    assert_null(ms_sources_reverse_name("mail.example"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(majority_decides),
        cmocka_unit_test(failing_without_signs_is_spoofing),
        cmocka_unit_test(failing_with_forwarding_signs),
        cmocka_unit_test(names_and_advice),
        cmocka_unit_test(reverse_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
