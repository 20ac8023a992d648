/* OpenSSL's libcrypto and libssl, loaded on first use (core/lazy.h): the
 * names libmailsec calls (DKIM, certificates, TLS checks, digests). Include
 * this instead of OpenSSL's headers: it includes those the code uses. A
 * call loads the library it needs the first time (libssl brings
 * libcrypto); without it the process ends with status 2 and the package to
 * install (ms_lazy_require). Macros such as OPENSSL_free (CRYPTO_free),
 * sk_X509_num (OPENSSL_sk_num) or SSL_CTX_set_min_proto_version
 * (SSL_CTX_ctrl) expand where they are used, to the names below. */
#ifndef MAILSEC_LAZY_OPENSSL_H
#define MAILSEC_LAZY_OPENSSL_H

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "core/lazy.h"

/* libcrypto */
#define MS_CRYPTO_NAMES(X) \
    X(ASN1_OCTET_STRING_free) \
    X(ASN1_STRING_get0_data) \
    X(ASN1_STRING_length) \
    X(ASN1_TIME_diff) \
    X(ASN1_TIME_free) \
    X(ASN1_TIME_set) \
    X(ASN1_TIME_to_tm) \
    X(BIO_ctrl) \
    X(BIO_free) \
    X(BIO_get_callback_arg) \
    X(BIO_new) \
    X(BIO_new_file) \
    X(BIO_new_mem_buf) \
    X(BIO_new_socket) \
    X(BIO_read) \
    X(BIO_s_mem) \
    X(BIO_set_callback_arg) \
    X(BIO_set_callback_ex) \
    X(BIO_write) \
    X(CRYPTO_free) \
    X(ERR_clear_error) \
    X(ERR_error_string_n) \
    X(ERR_peek_error) \
    X(EVP_DecodeFinal) \
    X(EVP_DecodeInit) \
    X(EVP_DecodeUpdate) \
    X(EVP_Digest) \
    X(EVP_DigestFinal_ex) \
    X(EVP_DigestInit_ex) \
    X(EVP_DigestSign) \
    X(EVP_DigestSignInit) \
    X(EVP_DigestUpdate) \
    X(EVP_DigestVerify) \
    X(EVP_DigestVerifyInit) \
    X(EVP_ENCODE_CTX_free) \
    X(EVP_ENCODE_CTX_new) \
    X(EVP_EncodeBlock) \
    X(EVP_MD_CTX_copy_ex) \
    X(EVP_MD_CTX_free) \
    X(EVP_MD_CTX_new) \
    X(EVP_PKEY_Q_keygen) \
    X(EVP_PKEY_eq) \
    X(EVP_PKEY_free) \
    X(EVP_PKEY_get0_type_name) \
    X(EVP_PKEY_get_base_id) \
    X(EVP_PKEY_get_bits) \
    X(EVP_PKEY_get_raw_public_key) \
    X(EVP_PKEY_new_raw_public_key) \
    X(EVP_PKEY_up_ref) \
    X(EVP_sha1) \
    X(EVP_sha256) \
    X(EVP_sha512) \
    X(GENERAL_NAMES_free) \
    X(OBJ_nid2ln) \
    X(OBJ_nid2sn) \
    X(OPENSSL_cleanse) \
    X(OPENSSL_sk_free) \
    X(OPENSSL_sk_new_null) \
    X(OPENSSL_sk_num) \
    X(OPENSSL_sk_pop_free) \
    X(OPENSSL_sk_push) \
    X(OPENSSL_sk_value) \
    X(OpenSSL_version) \
    X(PEM_read_bio_PrivateKey) \
    X(PEM_write_bio_PrivateKey) \
    X(PEM_write_bio_X509) \
    X(X509_NAME_print_ex) \
    X(X509_SIG_free) \
    X(X509_STORE_CTX_free) \
    X(X509_STORE_CTX_get0_param) \
    X(X509_STORE_CTX_get1_issuer) \
    X(X509_STORE_CTX_get_current_cert) \
    X(X509_STORE_CTX_get_error) \
    X(X509_STORE_CTX_get_error_depth) \
    X(X509_STORE_CTX_init) \
    X(X509_STORE_CTX_new) \
    X(X509_STORE_add_cert) \
    X(X509_STORE_free) \
    X(X509_STORE_load_file) \
    X(X509_STORE_new) \
    X(X509_STORE_set_default_paths) \
    X(X509_STORE_up_ref) \
    X(X509_VERIFY_PARAM_set1_host) \
    X(X509_VERIFY_PARAM_set_flags) \
    X(X509_VERIFY_PARAM_set_purpose) \
    X(X509_check_ca) \
    X(X509_check_host) \
    X(X509_check_ip_asc) \
    X(X509_check_issued) \
    X(X509_cmp) \
    X(X509_cmp_time) \
    X(X509_digest) \
    X(X509_free) \
    X(X509_get0_notAfter) \
    X(X509_get0_notBefore) \
    X(X509_get0_pubkey) \
    X(X509_get_X509_PUBKEY) \
    X(X509_get_ext_d2i) \
    X(X509_get_issuer_name) \
    X(X509_get_signature_info) \
    X(X509_get_signature_nid) \
    X(X509_get_subject_name) \
    X(X509_self_signed) \
    X(X509_up_ref) \
    X(X509_verify_cert) \
    X(X509_verify_cert_error_string) \
    X(a2i_IPADDRESS) \
    X(d2i_AutoPrivateKey) \
    X(d2i_PUBKEY) \
    X(d2i_X509) \
    X(d2i_X509_AUX) \
    X(d2i_X509_SIG) \
    X(i2d_PUBKEY) \
    X(i2d_X509) \
    X(i2d_X509_PUBKEY)

#define MS_CRYPTO_INDEX(name) ms_crypto_##name,
enum { MS_CRYPTO_NAMES(MS_CRYPTO_INDEX) ms_crypto_count };

extern ms_lazy_lib ms_crypto_lib;
extern void *ms_crypto_slots[ms_crypto_count];

#define ASN1_OCTET_STRING_free MS_LAZY(ms_crypto, ASN1_OCTET_STRING_free)
#define ASN1_STRING_get0_data MS_LAZY(ms_crypto, ASN1_STRING_get0_data)
#define ASN1_STRING_length MS_LAZY(ms_crypto, ASN1_STRING_length)
#define ASN1_TIME_diff MS_LAZY(ms_crypto, ASN1_TIME_diff)
#define ASN1_TIME_free MS_LAZY(ms_crypto, ASN1_TIME_free)
#define ASN1_TIME_set MS_LAZY(ms_crypto, ASN1_TIME_set)
#define ASN1_TIME_to_tm MS_LAZY(ms_crypto, ASN1_TIME_to_tm)
#define BIO_ctrl MS_LAZY(ms_crypto, BIO_ctrl)
#define BIO_free MS_LAZY(ms_crypto, BIO_free)
#define BIO_get_callback_arg MS_LAZY(ms_crypto, BIO_get_callback_arg)
#define BIO_new MS_LAZY(ms_crypto, BIO_new)
#define BIO_new_file MS_LAZY(ms_crypto, BIO_new_file)
#define BIO_new_mem_buf MS_LAZY(ms_crypto, BIO_new_mem_buf)
#define BIO_new_socket MS_LAZY(ms_crypto, BIO_new_socket)
#define BIO_read MS_LAZY(ms_crypto, BIO_read)
#define BIO_s_mem MS_LAZY(ms_crypto, BIO_s_mem)
#define BIO_set_callback_arg MS_LAZY(ms_crypto, BIO_set_callback_arg)
#define BIO_set_callback_ex MS_LAZY(ms_crypto, BIO_set_callback_ex)
#define BIO_write MS_LAZY(ms_crypto, BIO_write)
#define CRYPTO_free MS_LAZY(ms_crypto, CRYPTO_free)
#define ERR_clear_error MS_LAZY(ms_crypto, ERR_clear_error)
#define ERR_error_string_n MS_LAZY(ms_crypto, ERR_error_string_n)
#define ERR_peek_error MS_LAZY(ms_crypto, ERR_peek_error)
#define EVP_DecodeFinal MS_LAZY(ms_crypto, EVP_DecodeFinal)
#define EVP_DecodeInit MS_LAZY(ms_crypto, EVP_DecodeInit)
#define EVP_DecodeUpdate MS_LAZY(ms_crypto, EVP_DecodeUpdate)
#define EVP_Digest MS_LAZY(ms_crypto, EVP_Digest)
#define EVP_DigestFinal_ex MS_LAZY(ms_crypto, EVP_DigestFinal_ex)
#define EVP_DigestInit_ex MS_LAZY(ms_crypto, EVP_DigestInit_ex)
#define EVP_DigestSign MS_LAZY(ms_crypto, EVP_DigestSign)
#define EVP_DigestSignInit MS_LAZY(ms_crypto, EVP_DigestSignInit)
#define EVP_DigestUpdate MS_LAZY(ms_crypto, EVP_DigestUpdate)
#define EVP_DigestVerify MS_LAZY(ms_crypto, EVP_DigestVerify)
#define EVP_DigestVerifyInit MS_LAZY(ms_crypto, EVP_DigestVerifyInit)
#define EVP_ENCODE_CTX_free MS_LAZY(ms_crypto, EVP_ENCODE_CTX_free)
#define EVP_ENCODE_CTX_new MS_LAZY(ms_crypto, EVP_ENCODE_CTX_new)
#define EVP_EncodeBlock MS_LAZY(ms_crypto, EVP_EncodeBlock)
#define EVP_MD_CTX_copy_ex MS_LAZY(ms_crypto, EVP_MD_CTX_copy_ex)
#define EVP_MD_CTX_free MS_LAZY(ms_crypto, EVP_MD_CTX_free)
#define EVP_MD_CTX_new MS_LAZY(ms_crypto, EVP_MD_CTX_new)
#define EVP_PKEY_Q_keygen MS_LAZY(ms_crypto, EVP_PKEY_Q_keygen)
#define EVP_PKEY_eq MS_LAZY(ms_crypto, EVP_PKEY_eq)
#define EVP_PKEY_free MS_LAZY(ms_crypto, EVP_PKEY_free)
#define EVP_PKEY_get0_type_name MS_LAZY(ms_crypto, EVP_PKEY_get0_type_name)
#define EVP_PKEY_get_base_id MS_LAZY(ms_crypto, EVP_PKEY_get_base_id)
#define EVP_PKEY_get_bits MS_LAZY(ms_crypto, EVP_PKEY_get_bits)
#define EVP_PKEY_get_raw_public_key MS_LAZY(ms_crypto, EVP_PKEY_get_raw_public_key)
#define EVP_PKEY_new_raw_public_key MS_LAZY(ms_crypto, EVP_PKEY_new_raw_public_key)
#define EVP_PKEY_up_ref MS_LAZY(ms_crypto, EVP_PKEY_up_ref)
#define EVP_sha1 MS_LAZY(ms_crypto, EVP_sha1)
#define EVP_sha256 MS_LAZY(ms_crypto, EVP_sha256)
#define EVP_sha512 MS_LAZY(ms_crypto, EVP_sha512)
#define GENERAL_NAMES_free MS_LAZY(ms_crypto, GENERAL_NAMES_free)
#define OBJ_nid2ln MS_LAZY(ms_crypto, OBJ_nid2ln)
#define OBJ_nid2sn MS_LAZY(ms_crypto, OBJ_nid2sn)
#define OPENSSL_cleanse MS_LAZY(ms_crypto, OPENSSL_cleanse)
#define OPENSSL_sk_free MS_LAZY(ms_crypto, OPENSSL_sk_free)
#define OPENSSL_sk_new_null MS_LAZY(ms_crypto, OPENSSL_sk_new_null)
#define OPENSSL_sk_num MS_LAZY(ms_crypto, OPENSSL_sk_num)
#define OPENSSL_sk_pop_free MS_LAZY(ms_crypto, OPENSSL_sk_pop_free)
#define OPENSSL_sk_push MS_LAZY(ms_crypto, OPENSSL_sk_push)
#define OPENSSL_sk_value MS_LAZY(ms_crypto, OPENSSL_sk_value)
#define OpenSSL_version MS_LAZY(ms_crypto, OpenSSL_version)
#define PEM_read_bio_PrivateKey MS_LAZY(ms_crypto, PEM_read_bio_PrivateKey)
#define PEM_write_bio_PrivateKey MS_LAZY(ms_crypto, PEM_write_bio_PrivateKey)
#define PEM_write_bio_X509 MS_LAZY(ms_crypto, PEM_write_bio_X509)
#define X509_NAME_print_ex MS_LAZY(ms_crypto, X509_NAME_print_ex)
#define X509_SIG_free MS_LAZY(ms_crypto, X509_SIG_free)
#define X509_STORE_CTX_free MS_LAZY(ms_crypto, X509_STORE_CTX_free)
#define X509_STORE_CTX_get0_param MS_LAZY(ms_crypto, X509_STORE_CTX_get0_param)
#define X509_STORE_CTX_get1_issuer MS_LAZY(ms_crypto, X509_STORE_CTX_get1_issuer)
#define X509_STORE_CTX_get_current_cert MS_LAZY(ms_crypto, X509_STORE_CTX_get_current_cert)
#define X509_STORE_CTX_get_error MS_LAZY(ms_crypto, X509_STORE_CTX_get_error)
#define X509_STORE_CTX_get_error_depth MS_LAZY(ms_crypto, X509_STORE_CTX_get_error_depth)
#define X509_STORE_CTX_init MS_LAZY(ms_crypto, X509_STORE_CTX_init)
#define X509_STORE_CTX_new MS_LAZY(ms_crypto, X509_STORE_CTX_new)
#define X509_STORE_add_cert MS_LAZY(ms_crypto, X509_STORE_add_cert)
#define X509_STORE_free MS_LAZY(ms_crypto, X509_STORE_free)
#define X509_STORE_load_file MS_LAZY(ms_crypto, X509_STORE_load_file)
#define X509_STORE_new MS_LAZY(ms_crypto, X509_STORE_new)
#define X509_STORE_set_default_paths MS_LAZY(ms_crypto, X509_STORE_set_default_paths)
#define X509_STORE_up_ref MS_LAZY(ms_crypto, X509_STORE_up_ref)
#define X509_VERIFY_PARAM_set1_host MS_LAZY(ms_crypto, X509_VERIFY_PARAM_set1_host)
#define X509_VERIFY_PARAM_set_flags MS_LAZY(ms_crypto, X509_VERIFY_PARAM_set_flags)
#define X509_VERIFY_PARAM_set_purpose MS_LAZY(ms_crypto, X509_VERIFY_PARAM_set_purpose)
#define X509_check_ca MS_LAZY(ms_crypto, X509_check_ca)
#define X509_check_host MS_LAZY(ms_crypto, X509_check_host)
#define X509_check_ip_asc MS_LAZY(ms_crypto, X509_check_ip_asc)
#define X509_check_issued MS_LAZY(ms_crypto, X509_check_issued)
#define X509_cmp MS_LAZY(ms_crypto, X509_cmp)
#define X509_cmp_time MS_LAZY(ms_crypto, X509_cmp_time)
#define X509_digest MS_LAZY(ms_crypto, X509_digest)
#define X509_free MS_LAZY(ms_crypto, X509_free)
#define X509_get0_notAfter MS_LAZY(ms_crypto, X509_get0_notAfter)
#define X509_get0_notBefore MS_LAZY(ms_crypto, X509_get0_notBefore)
#define X509_get0_pubkey MS_LAZY(ms_crypto, X509_get0_pubkey)
#define X509_get_X509_PUBKEY MS_LAZY(ms_crypto, X509_get_X509_PUBKEY)
#define X509_get_ext_d2i MS_LAZY(ms_crypto, X509_get_ext_d2i)
#define X509_get_issuer_name MS_LAZY(ms_crypto, X509_get_issuer_name)
#define X509_get_signature_info MS_LAZY(ms_crypto, X509_get_signature_info)
#define X509_get_signature_nid MS_LAZY(ms_crypto, X509_get_signature_nid)
#define X509_get_subject_name MS_LAZY(ms_crypto, X509_get_subject_name)
#define X509_self_signed MS_LAZY(ms_crypto, X509_self_signed)
#define X509_up_ref MS_LAZY(ms_crypto, X509_up_ref)
#define X509_verify_cert MS_LAZY(ms_crypto, X509_verify_cert)
#define X509_verify_cert_error_string MS_LAZY(ms_crypto, X509_verify_cert_error_string)
#define a2i_IPADDRESS MS_LAZY(ms_crypto, a2i_IPADDRESS)
#define d2i_AutoPrivateKey MS_LAZY(ms_crypto, d2i_AutoPrivateKey)
#define d2i_PUBKEY MS_LAZY(ms_crypto, d2i_PUBKEY)
#define d2i_X509 MS_LAZY(ms_crypto, d2i_X509)
#define d2i_X509_AUX MS_LAZY(ms_crypto, d2i_X509_AUX)
#define d2i_X509_SIG MS_LAZY(ms_crypto, d2i_X509_SIG)
#define i2d_PUBKEY MS_LAZY(ms_crypto, i2d_PUBKEY)
#define i2d_X509 MS_LAZY(ms_crypto, i2d_X509)
#define i2d_X509_PUBKEY MS_LAZY(ms_crypto, i2d_X509_PUBKEY)


/* libssl */
#define MS_SSL_NAMES(X) \
    X(SSL_CIPHER_get_auth_nid) \
    X(SSL_CIPHER_get_bits) \
    X(SSL_CIPHER_get_cipher_nid) \
    X(SSL_CIPHER_get_digest_nid) \
    X(SSL_CIPHER_get_id) \
    X(SSL_CIPHER_get_kx_nid) \
    X(SSL_CIPHER_get_name) \
    X(SSL_CIPHER_get_protocol_id) \
    X(SSL_CIPHER_is_aead) \
    X(SSL_CIPHER_standard_name) \
    X(SSL_CTX_ctrl) \
    X(SSL_CTX_free) \
    X(SSL_CTX_get_ciphers) \
    X(SSL_CTX_new) \
    X(SSL_CTX_set_cert_verify_callback) \
    X(SSL_CTX_set_cipher_list) \
    X(SSL_CTX_set_options) \
    X(SSL_CTX_set_security_level) \
    X(SSL_CTX_set_verify) \
    X(SSL_connect) \
    X(SSL_ctrl) \
    X(SSL_free) \
    X(SSL_get1_supported_ciphers) \
    X(SSL_get_current_cipher) \
    X(SSL_get_error) \
    X(SSL_get_peer_cert_chain) \
    X(SSL_get_peer_signature_type_nid) \
    X(SSL_get_pending_cipher) \
    X(SSL_get_rbio) \
    X(SSL_get_version) \
    X(SSL_group_to_name) \
    X(SSL_new) \
    X(SSL_read) \
    X(SSL_set_bio) \
    X(SSL_set_cipher_list) \
    X(SSL_set_ciphersuites) \
    X(SSL_set_fd) \
    X(SSL_set_msg_callback) \
    X(SSL_version) \
    X(SSL_write) \
    X(TLS_client_method) \
    X(TLS_server_method)

#define MS_SSL_INDEX(name) ms_ssl_##name,
enum { MS_SSL_NAMES(MS_SSL_INDEX) ms_ssl_count };

extern ms_lazy_lib ms_ssl_lib;
extern void *ms_ssl_slots[ms_ssl_count];

#define SSL_CIPHER_get_auth_nid MS_LAZY(ms_ssl, SSL_CIPHER_get_auth_nid)
#define SSL_CIPHER_get_bits MS_LAZY(ms_ssl, SSL_CIPHER_get_bits)
#define SSL_CIPHER_get_cipher_nid MS_LAZY(ms_ssl, SSL_CIPHER_get_cipher_nid)
#define SSL_CIPHER_get_digest_nid MS_LAZY(ms_ssl, SSL_CIPHER_get_digest_nid)
#define SSL_CIPHER_get_id MS_LAZY(ms_ssl, SSL_CIPHER_get_id)
#define SSL_CIPHER_get_kx_nid MS_LAZY(ms_ssl, SSL_CIPHER_get_kx_nid)
#define SSL_CIPHER_get_name MS_LAZY(ms_ssl, SSL_CIPHER_get_name)
#define SSL_CIPHER_get_protocol_id MS_LAZY(ms_ssl, SSL_CIPHER_get_protocol_id)
#define SSL_CIPHER_is_aead MS_LAZY(ms_ssl, SSL_CIPHER_is_aead)
#define SSL_CIPHER_standard_name MS_LAZY(ms_ssl, SSL_CIPHER_standard_name)
#define SSL_CTX_ctrl MS_LAZY(ms_ssl, SSL_CTX_ctrl)
#define SSL_CTX_free MS_LAZY(ms_ssl, SSL_CTX_free)
#define SSL_CTX_get_ciphers MS_LAZY(ms_ssl, SSL_CTX_get_ciphers)
#define SSL_CTX_new MS_LAZY(ms_ssl, SSL_CTX_new)
#define SSL_CTX_set_cert_verify_callback MS_LAZY(ms_ssl, SSL_CTX_set_cert_verify_callback)
#define SSL_CTX_set_cipher_list MS_LAZY(ms_ssl, SSL_CTX_set_cipher_list)
#define SSL_CTX_set_options MS_LAZY(ms_ssl, SSL_CTX_set_options)
#define SSL_CTX_set_security_level MS_LAZY(ms_ssl, SSL_CTX_set_security_level)
#define SSL_CTX_set_verify MS_LAZY(ms_ssl, SSL_CTX_set_verify)
#define SSL_connect MS_LAZY(ms_ssl, SSL_connect)
#define SSL_ctrl MS_LAZY(ms_ssl, SSL_ctrl)
#define SSL_free MS_LAZY(ms_ssl, SSL_free)
#define SSL_get1_supported_ciphers MS_LAZY(ms_ssl, SSL_get1_supported_ciphers)
#define SSL_get_current_cipher MS_LAZY(ms_ssl, SSL_get_current_cipher)
#define SSL_get_error MS_LAZY(ms_ssl, SSL_get_error)
#define SSL_get_peer_cert_chain MS_LAZY(ms_ssl, SSL_get_peer_cert_chain)
#define SSL_get_peer_signature_type_nid MS_LAZY(ms_ssl, SSL_get_peer_signature_type_nid)
#define SSL_get_pending_cipher MS_LAZY(ms_ssl, SSL_get_pending_cipher)
#define SSL_get_rbio MS_LAZY(ms_ssl, SSL_get_rbio)
#define SSL_get_version MS_LAZY(ms_ssl, SSL_get_version)
#define SSL_group_to_name MS_LAZY(ms_ssl, SSL_group_to_name)
#define SSL_new MS_LAZY(ms_ssl, SSL_new)
#define SSL_read MS_LAZY(ms_ssl, SSL_read)
#define SSL_set_bio MS_LAZY(ms_ssl, SSL_set_bio)
#define SSL_set_cipher_list MS_LAZY(ms_ssl, SSL_set_cipher_list)
#define SSL_set_ciphersuites MS_LAZY(ms_ssl, SSL_set_ciphersuites)
#define SSL_set_fd MS_LAZY(ms_ssl, SSL_set_fd)
#define SSL_set_msg_callback MS_LAZY(ms_ssl, SSL_set_msg_callback)
#define SSL_version MS_LAZY(ms_ssl, SSL_version)
#define SSL_write MS_LAZY(ms_ssl, SSL_write)
#define TLS_client_method MS_LAZY(ms_ssl, TLS_client_method)
#define TLS_server_method MS_LAZY(ms_ssl, TLS_server_method)


#endif
