/* ldns, loaded on first use (core/lazy.h): the names lib/dns/update.c
 * (dynamic updates) uses. Include this instead of the library's header, and
 * call ms_lazy_load(&ms_ldns_lib) before the first of them. */
#ifndef MAILSEC_LAZY_LDNS_H
#define MAILSEC_LAZY_LDNS_H

#include <ldns/ldns.h>

#include "core/lazy.h"

#define MS_LDNS_NAMES(X) \
    X(ldns_dname_compare) \
    X(ldns_dname_new_frm_str) \
    X(ldns_lookup_by_id) \
    X(ldns_pkt2wire) \
    X(ldns_pkt_aa) \
    X(ldns_pkt_answer) \
    X(ldns_pkt_free) \
    X(ldns_pkt_get_rcode) \
    X(ldns_pkt_id) \
    X(ldns_pkt_qr) \
    X(ldns_pkt_query_new) \
    X(ldns_pkt_set_random_id) \
    X(ldns_pkt_set_rd) \
    X(ldns_pkt_tsig) \
    X(ldns_pkt_tsig_sign) \
    X(ldns_pkt_tsig_verify) \
    X(ldns_rcodes) \
    X(ldns_rdf2native_int16) \
    X(ldns_rdf2str) \
    X(ldns_rdf_clone) \
    X(ldns_rdf_data) \
    X(ldns_rdf_deep_free) \
    X(ldns_rdf_get_type) \
    X(ldns_rdf_new_frm_data) \
    X(ldns_rdf_size) \
    X(ldns_rr_clone) \
    X(ldns_rr_free) \
    X(ldns_rr_get_type) \
    X(ldns_rr_list_deep_free) \
    X(ldns_rr_list_new) \
    X(ldns_rr_list_push_rr) \
    X(ldns_rr_list_rr) \
    X(ldns_rr_list_rr_count) \
    X(ldns_rr_new) \
    X(ldns_rr_owner) \
    X(ldns_rr_push_rdf) \
    X(ldns_rr_rd_count) \
    X(ldns_rr_rdf) \
    X(ldns_rr_set_class) \
    X(ldns_rr_set_owner) \
    X(ldns_rr_set_ttl) \
    X(ldns_rr_set_type) \
    X(ldns_rr_ttl) \
    X(ldns_update_pkt_new) \
    X(ldns_wire2pkt)

#define MS_LDNS_INDEX(name) ms_ldns_##name,
enum { MS_LDNS_NAMES(MS_LDNS_INDEX) ms_ldns_count };

extern ms_lazy_lib ms_ldns_lib;
extern void *ms_ldns_slots[ms_ldns_count];

#define ldns_dname_compare MS_LAZY(ms_ldns, ldns_dname_compare)
#define ldns_dname_new_frm_str MS_LAZY(ms_ldns, ldns_dname_new_frm_str)
#define ldns_lookup_by_id MS_LAZY(ms_ldns, ldns_lookup_by_id)
#define ldns_pkt2wire MS_LAZY(ms_ldns, ldns_pkt2wire)
#define ldns_pkt_aa MS_LAZY(ms_ldns, ldns_pkt_aa)
#define ldns_pkt_answer MS_LAZY(ms_ldns, ldns_pkt_answer)
#define ldns_pkt_free MS_LAZY(ms_ldns, ldns_pkt_free)
#define ldns_pkt_get_rcode MS_LAZY(ms_ldns, ldns_pkt_get_rcode)
#define ldns_pkt_id MS_LAZY(ms_ldns, ldns_pkt_id)
#define ldns_pkt_qr MS_LAZY(ms_ldns, ldns_pkt_qr)
#define ldns_pkt_query_new MS_LAZY(ms_ldns, ldns_pkt_query_new)
#define ldns_pkt_set_random_id MS_LAZY(ms_ldns, ldns_pkt_set_random_id)
#define ldns_pkt_set_rd MS_LAZY(ms_ldns, ldns_pkt_set_rd)
#define ldns_pkt_tsig MS_LAZY(ms_ldns, ldns_pkt_tsig)
#define ldns_pkt_tsig_sign MS_LAZY(ms_ldns, ldns_pkt_tsig_sign)
#define ldns_pkt_tsig_verify MS_LAZY(ms_ldns, ldns_pkt_tsig_verify)
#define ldns_rcodes MS_LAZY(ms_ldns, ldns_rcodes)
#define ldns_rdf2native_int16 MS_LAZY(ms_ldns, ldns_rdf2native_int16)
#define ldns_rdf2str MS_LAZY(ms_ldns, ldns_rdf2str)
#define ldns_rdf_clone MS_LAZY(ms_ldns, ldns_rdf_clone)
#define ldns_rdf_data MS_LAZY(ms_ldns, ldns_rdf_data)
#define ldns_rdf_deep_free MS_LAZY(ms_ldns, ldns_rdf_deep_free)
#define ldns_rdf_get_type MS_LAZY(ms_ldns, ldns_rdf_get_type)
#define ldns_rdf_new_frm_data MS_LAZY(ms_ldns, ldns_rdf_new_frm_data)
#define ldns_rdf_size MS_LAZY(ms_ldns, ldns_rdf_size)
#define ldns_rr_clone MS_LAZY(ms_ldns, ldns_rr_clone)
#define ldns_rr_free MS_LAZY(ms_ldns, ldns_rr_free)
#define ldns_rr_get_type MS_LAZY(ms_ldns, ldns_rr_get_type)
#define ldns_rr_list_deep_free MS_LAZY(ms_ldns, ldns_rr_list_deep_free)
#define ldns_rr_list_new MS_LAZY(ms_ldns, ldns_rr_list_new)
#define ldns_rr_list_push_rr MS_LAZY(ms_ldns, ldns_rr_list_push_rr)
#define ldns_rr_list_rr MS_LAZY(ms_ldns, ldns_rr_list_rr)
#define ldns_rr_list_rr_count MS_LAZY(ms_ldns, ldns_rr_list_rr_count)
#define ldns_rr_new MS_LAZY(ms_ldns, ldns_rr_new)
#define ldns_rr_owner MS_LAZY(ms_ldns, ldns_rr_owner)
#define ldns_rr_push_rdf MS_LAZY(ms_ldns, ldns_rr_push_rdf)
#define ldns_rr_rd_count MS_LAZY(ms_ldns, ldns_rr_rd_count)
#define ldns_rr_rdf MS_LAZY(ms_ldns, ldns_rr_rdf)
#define ldns_rr_set_class MS_LAZY(ms_ldns, ldns_rr_set_class)
#define ldns_rr_set_owner MS_LAZY(ms_ldns, ldns_rr_set_owner)
#define ldns_rr_set_ttl MS_LAZY(ms_ldns, ldns_rr_set_ttl)
#define ldns_rr_set_type MS_LAZY(ms_ldns, ldns_rr_set_type)
#define ldns_rr_ttl MS_LAZY(ms_ldns, ldns_rr_ttl)
#define ldns_update_pkt_new MS_LAZY(ms_ldns, ldns_update_pkt_new)
#define ldns_wire2pkt MS_LAZY(ms_ldns, ldns_wire2pkt)

#endif
