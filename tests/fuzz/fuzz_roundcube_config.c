/* libFuzzer harness for the Roundcube PHP configuration reader
 * (lib/roundcube/config.c).
 *
 * Arbitrary bytes are parsed, and:
 *  - the parse ends (MS_OK, or MS_ERR_LIMIT past the settings' limit);
 *  - every setting has a key, a value within MS_RC_MAX_VALUE_BYTES, a line
 *    within the input's line count, and a value that agrees with its type
 *    (a bool "1"/"0" and its number, an integer's digits and its number);
 *  - ms_rc_config_get finds the last assignment of a key;
 *  - parsing is stable: the literal settings written back as
 *    `$config['key'] = literal;` lines parse to the same keys, types and
 *    values.
 * Everything is freed, so LeakSanitizer sees any leak. */
#include "mailsec/roundcube.h"
#include "core/internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"

/* bytes as a single-quoted PHP string: only \ and ' are escaped there */
static void put_single_quoted(ms_buf *b, const char *s, size_t len)
{
    ms_buf_append(b, "'", 1);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\\' || s[i] == '\'')
            ms_buf_append(b, "\\", 1);
        ms_buf_append(b, &s[i], 1);
    }
    ms_buf_append(b, "'", 1);
}

static void check_setting(const ms_rc_config *cfg, size_t i, size_t lines)
{
    const ms_rc_setting *s = &cfg->settings[i];
    CHECK(s->key != NULL && s->value != NULL);
    CHECK(s->line >= 1 && s->line <= lines);
    CHECK(s->value_len <= MS_RC_MAX_VALUE_BYTES);
    CHECK(s->value[s->value_len] == '\0');
    switch (s->type) {
    case MS_RC_BOOL:
        CHECK((s->number == 1 && strcmp(s->value, "1") == 0) ||
              (s->number == 0 && strcmp(s->value, "0") == 0));
        break;
    case MS_RC_NULL:
        CHECK(s->value_len == 0);
        break;
    case MS_RC_INT: {
        char digits[32];
        snprintf(digits, sizeof digits, "%lld", s->number);
        CHECK(strcmp(digits, s->value) == 0);
        break;
    }
    default:
        break;
    }
    const ms_rc_setting *last = ms_rc_config_get(cfg, s->key);
    CHECK(last != NULL && last >= s && strcmp(last->key, s->key) == 0);
}

/* The literal settings again, one assignment a line. */
static void check_round_trip(const ms_rc_config *cfg)
{
    ms_buf again = MS_BUF_INIT;
    ms_buf_puts(&again, "<?php\n");
    size_t written = 0;
    for (size_t i = 0; i < cfg->count; i++) {
        const ms_rc_setting *s = &cfg->settings[i];
        if (s->type == MS_RC_ARRAY || s->type == MS_RC_OTHER)
            continue;
        ms_buf_puts(&again, "$config[");
        put_single_quoted(&again, s->key, strlen(s->key));
        ms_buf_puts(&again, "] = ");
        if (s->type == MS_RC_STRING)
            put_single_quoted(&again, s->value, s->value_len);
        else if (s->type == MS_RC_NULL)
            ms_buf_puts(&again, "null");
        else if (s->type == MS_RC_BOOL)
            ms_buf_puts(&again, s->number ? "true" : "false");
        else
            ms_buf_printf(&again, "%lld", s->number);
        ms_buf_puts(&again, ";\n");
        written++;
    }
    CHECK(!again.failed);
    ms_rc_config cfg2;
    CHECK(ms_rc_config_parse(again.data, again.len, "again", &cfg2) == MS_OK);
    CHECK(cfg2.count == written);
    size_t j = 0;
    for (size_t i = 0; i < cfg->count; i++) {
        const ms_rc_setting *s = &cfg->settings[i];
        if (s->type == MS_RC_ARRAY || s->type == MS_RC_OTHER)
            continue;
        const ms_rc_setting *t = &cfg2.settings[j++];
        CHECK(strcmp(s->key, t->key) == 0);
        CHECK(s->type == t->type && s->number == t->number);
        CHECK(s->value_len == t->value_len && memcmp(s->value, t->value, s->value_len) == 0);
    }
    ms_rc_config_free(&cfg2);
    ms_buf_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ms_rc_config cfg;
    ms_status st = ms_rc_config_parse((const char *)data, size, "config.inc.php", &cfg);
    CHECK(st == MS_OK || st == MS_ERR_LIMIT);
    if (st != MS_OK) {
        CHECK(cfg.count == 0 && cfg.settings == NULL);
        return 0;
    }
    CHECK(cfg.count <= MS_RC_MAX_SETTINGS);
    size_t lines = count_lines(data, size);
    for (size_t i = 0; i < cfg.count; i++)
        check_setting(&cfg, i, lines);
    check_round_trip(&cfg);
    ms_rc_config_free(&cfg);
    return 0;
}
