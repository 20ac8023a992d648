/* Decoding RDATA and names from the wire: the bytes are hostile, every
 * length must be checked. Expected values follow RFC 1035 3.1 and 3.3. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <unbound.h>

#include "dns/dns_internal.h"

static char *name_of(const char *wire, size_t len)
{
    char *name = NULL;
    ms_status st = ms_dns_name_from_wire((const unsigned char *)wire, len, &name);
    assert_true(st == MS_OK ? name != NULL : name == NULL && st == MS_ERR_LIMIT);
    return name;
}

static void wire_name_decodes_without_trailing_dot(void **state)
{
    (void)state;
    char *name = name_of("\3www\7example\3org\0", 17);
    assert_string_equal(name, "www.example.org");
    free(name);
}

static void wire_root_name_decodes_as_empty_string(void **state)
{
    (void)state;
    char *name = name_of("\0", 1);
    assert_string_equal(name, "");
    free(name);
}

static void wire_name_escapes_dots_and_unprintable_bytes(void **state)
{
    (void)state;
    char *name = name_of("\3a.b\2\x01\\\0", 8);
    assert_string_equal(name, "a\\.b.\\001\\\\");
    free(name);
}

static void wire_name_with_compression_pointer_is_refused(void **state)
{
    (void)state;
    assert_null(name_of("\3www\xc0\x0c", 6));
}

static void wire_name_with_label_past_the_end_is_refused(void **state)
{
    (void)state;
    assert_null(name_of("\7exa", 4));
}

static void wire_name_without_root_label_is_refused(void **state)
{
    (void)state;
    assert_null(name_of("\3www", 4));
}

static void wire_name_with_bytes_after_root_is_refused(void **state)
{
    (void)state;
    assert_null(name_of("\3www\0\0", 6));
}

static void wire_name_over_255_octets_is_refused(void **state)
{
    (void)state;
    /* five labels of 63 octets: 5 * 64 + 1 = 321 octets */
    char wire[321];
    for (int i = 0; i < 5; i++) {
        wire[i * 64] = 63;
        memset(wire + i * 64 + 1, 'a', 63);
    }
    wire[320] = 0;
    assert_null(name_of(wire, sizeof wire));
}

static void wire_empty_input_is_refused(void **state)
{
    (void)state;
    assert_null(name_of("", 0));
}

/* A libunbound result holding one record of the given RDATA. */
static ms_status decode_one(uint16_t type, const char *rdata, int len, ms_dns_answer *answer)
{
    char *data[2] = {(char *)rdata, NULL};
    int lens[1] = {len};
    struct ub_result result = {0};
    result.qtype = type;
    result.data = data;
    result.len = lens;
    result.ttl = 60;
    memset(answer, 0, sizeof *answer);
    return ms_dns_decode_records(answer, &result);
}

static void free_records(ms_dns_answer *answer)
{
    for (size_t i = 0; i < answer->count; i++) {
        free((void *)answer->records[i].rdata);
        free(answer->records[i].text);
    }
    free(answer->records);
}

static void txt_strings_are_joined_and_counted(void **state)
{
    (void)state;
    ms_dns_answer a;
    assert_int_equal(decode_one(MS_DNS_TXT, "\3abc\0\2de", 8, &a), MS_OK);
    assert_int_equal(a.records[0].nstrings, 3);
    assert_int_equal(a.records[0].text_len, 5);
    assert_string_equal(a.records[0].text, "abcde");
    assert_int_equal(a.records[0].ttl, 60);
    free_records(&a);
}

static void txt_string_longer_than_rdata_is_refused(void **state)
{
    (void)state;
    ms_dns_answer a;
    assert_int_equal(decode_one(MS_DNS_TXT, "\3abc\011de", 7, &a), MS_ERR_LIMIT);
    free_records(&a);
}

static void a_record_of_wrong_length_is_refused(void **state)
{
    (void)state;
    ms_dns_answer a;
    assert_int_equal(decode_one(MS_DNS_A, "\1\2\3", 3, &a), MS_ERR_LIMIT);
    free_records(&a);
}

static void mx_without_exchange_is_refused(void **state)
{
    (void)state;
    ms_dns_answer a;
    assert_int_equal(decode_one(MS_DNS_MX, "\0\x0a", 2, &a), MS_ERR_LIMIT);
    free_records(&a);
}

static void mx_preference_is_big_endian(void **state)
{
    (void)state;
    ms_dns_answer a;
    assert_int_equal(decode_one(MS_DNS_MX, "\x01\x02\2mx\0", 6, &a), MS_OK);
    assert_int_equal(a.records[0].preference, 0x0102);
    assert_string_equal(a.records[0].text, "mx");
    free_records(&a);
}

static void unknown_type_keeps_raw_rdata_only(void **state)
{
    (void)state;
    ms_dns_answer a;
    assert_int_equal(decode_one(MS_DNS_TLSA, "\3\1\1\xab", 4, &a), MS_OK);
    assert_null(a.records[0].text);
    assert_int_equal(a.records[0].rdata_len, 4);
    assert_memory_equal(a.records[0].rdata, "\3\1\1\xab", 4);
    free_records(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wire_name_decodes_without_trailing_dot),
        cmocka_unit_test(wire_root_name_decodes_as_empty_string),
        cmocka_unit_test(wire_name_escapes_dots_and_unprintable_bytes),
        cmocka_unit_test(wire_name_with_compression_pointer_is_refused),
        cmocka_unit_test(wire_name_with_label_past_the_end_is_refused),
        cmocka_unit_test(wire_name_without_root_label_is_refused),
        cmocka_unit_test(wire_name_with_bytes_after_root_is_refused),
        cmocka_unit_test(wire_name_over_255_octets_is_refused),
        cmocka_unit_test(wire_empty_input_is_refused),
        cmocka_unit_test(txt_strings_are_joined_and_counted),
        cmocka_unit_test(txt_string_longer_than_rdata_is_refused),
        cmocka_unit_test(a_record_of_wrong_length_is_refused),
        cmocka_unit_test(mx_without_exchange_is_refused),
        cmocka_unit_test(mx_preference_is_big_endian),
        cmocka_unit_test(unknown_type_keeps_raw_rdata_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
