/* Records evaluated messages through the public API, as `mailsec milter`
 * does, for the `report send` tests (send.sh, send-mail.sh):
 *
 *   send-record DB < EVALUATIONS
 *
 * EVALUATIONS: one JSON object per line, the fields of
 * ms_store_evaluation by name ("dkim": [{"domain","selector","result"}],
 * "overrides": [{"type","comment"}]) and "repeat": N to record it N times.
 * Prints "recorded N refused M" (a refusal's reason on stderr) and exits 0
 * unless the store itself failed. */
#include "mailsec/store.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *text(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static ms_status put(ms_store *store, json_t *o)
{
    ms_store_eval_dkim dkim[40];
    ms_store_eval_override overrides[40];
    ms_store_evaluation e = {
        .time = json_integer_value(json_object_get(o, "time")),
        .source_ip = text(o, "source_ip"),
        .header_from = text(o, "header_from"),
        .envelope_from = text(o, "envelope_from"),
        .envelope_to = text(o, "envelope_to"),
        .policy_domain = text(o, "policy_domain"),
        .policy_record = text(o, "policy_record"),
        .disposition = text(o, "disposition"),
        .dkim_aligned = text(o, "dkim_aligned"),
        .spf_aligned = text(o, "spf_aligned"),
        .spf_domain = text(o, "spf_domain"),
        .spf_scope = text(o, "spf_scope"),
        .spf_result = text(o, "spf_result"),
        .dkim = dkim,
        .overrides = overrides,
    };
    json_t *list = json_object_get(o, "dkim"), *item;
    size_t i;
    json_array_foreach(list, i, item) {
        if (i < 40)
            dkim[i] = (ms_store_eval_dkim){text(item, "domain"), text(item, "selector"),
                                           text(item, "result")};
        e.dkim_count = i + 1;
    }
    list = json_object_get(o, "overrides");
    json_array_foreach(list, i, item) {
        if (i < 40)
            overrides[i] = (ms_store_eval_override){text(item, "type"), text(item, "comment")};
        e.override_count = i + 1;
    }
    if (e.dkim_count > 40 || e.override_count > 40)
        return MS_ERR_LIMIT;
    return ms_store_put_evaluation(store, &e);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: send-record DB < EVALUATIONS\n");
        return 2;
    }
    ms_store *store = NULL;
    char *why = NULL;
    if (ms_store_open(argv[1], &store, &why) != MS_OK) {
        fprintf(stderr, "send-record: %s\n", why ? why : "cannot open the store");
        return 2;
    }
    unsigned long recorded = 0, refused = 0;
    char *line = NULL;
    size_t cap = 0;
    int status = 0;
    while (status == 0 && getline(&line, &cap, stdin) > 0) {
        json_error_t error;
        json_t *o = json_loads(line, 0, &error);
        if (o == NULL) {
            fprintf(stderr, "send-record: %s\n", error.text);
            status = 2;
            break;
        }
        json_int_t repeat = json_integer_value(json_object_get(o, "repeat"));
        for (json_int_t n = 0; status == 0 && n < (repeat > 0 ? repeat : 1); n++) {
            ms_status st = put(store, o);
            if (st == MS_OK) {
                recorded++;
            } else if (ms_store_report_fault(st)) {
                fprintf(stderr, "refused: %s\n", ms_store_error(store));
                refused++;
                break;
            } else {
                fprintf(stderr, "send-record: %s\n", ms_store_error(store));
                status = 2;
            }
        }
        json_decref(o);
    }
    free(line);
    ms_store_close(store);
    printf("recorded %lu refused %lu\n", recorded, refused);
    return status;
}
