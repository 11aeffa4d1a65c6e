/* OpenSSL loaded at run time.  A no-op pulse never calls OpenSSL (the
 * held-certificate index, sha256.c and the revocation caches answer it), yet
 * mapping and relocating libcrypto at exec cost it more CPU than all of its
 * own work.  So the binary is not linked with libcrypto or libssl: every
 * OpenSSL function adenroll calls goes through a table filled from
 * libssl.so.<OPENSSL_SHLIB_VERSION> (libcrypto comes with it), opened with
 * dlopen(3) by the first call.
 *
 * How a module uses it: include this header in place of OpenSSL's (it
 * includes every one adenroll uses, so a later #include <openssl/...> is a
 * no-op) and call OpenSSL as usual.  Below, each function's name is a macro
 * for "the pointer in the table, of that function's own type", so calls,
 * prototypes and function-pointer arguments stay type-checked by the
 * compiler.  A function not listed here fails the link of adenroll
 * (undefined reference: the binary has no libcrypto to find it in); list it
 * in OPENSSL_LOADER_FUNCTIONS and give it its #define.
 *
 * An OpenSSL object exists only after some OpenSSL call made it, so a path
 * that only frees NULL should not call a *_free at all: the call would load
 * the library (tests/integration/t_openssl_loaded_only_when_used checks the
 * no-op pulse).
 *
 * When the library cannot be loaded (libssl3 / openssl-libs removed from
 * under an installed adenroll), the first call logs why and what to install
 * and the process exits with ADENROLL_EXIT_FAILURE: OpenSSL's functions have
 * no failure value a caller could be handed for every one of them.  The
 * state on disk is then that of a run stopped at that point, which every
 * write already survives (temporary file + rename). */
#ifndef ADENROLL_OPENSSL_LOADER_H
#define ADENROLL_OPENSSL_LOADER_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/opensslv.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "dl_loader.h"

#define OPENSSL_LOADER_STR_(x) #x
#define OPENSSL_LOADER_STR(x) OPENSSL_LOADER_STR_(x)
/* libssl of the OpenSSL adenroll was built with (libssl.so.3 for every 3.x,
 * Debian's libssl3 and RHEL's openssl-libs); dlsym finds libcrypto's
 * functions through it. */
#define OPENSSL_LOADER_SONAME "libssl.so." OPENSSL_LOADER_STR(OPENSSL_SHLIB_VERSION)

/* Load the library now (the first call loads it anyway).  true when it is
 * usable; false with why in err (also logged, once). */
bool openssl_loader_ready(char *err, size_t errlen);

/* Whether this process has loaded it (tests: a no-op pulse must not). */
bool openssl_loader_loaded(void);

/* Tests: forget the outcome of the last load and try `soname` on the next
 * call (NULL: the default).  A loaded OpenSSL is never unloaded (it is
 * NODELETE and keeps atexit handlers).  Not for the product. */
void openssl_loader_reset(const char *soname);

/* Every OpenSSL function adenroll calls. */
#define OPENSSL_LOADER_FUNCTIONS(F) \
	F(ASN1_ENUMERATED_free) \
	F(ASN1_ENUMERATED_get) \
	F(ASN1_IA5STRING_free) \
	F(ASN1_IA5STRING_new) \
	F(ASN1_INTEGER_to_BN) \
	F(ASN1_OBJECT_free) \
	F(ASN1_STRING_get0_data) \
	F(ASN1_STRING_length) \
	F(ASN1_STRING_set) \
	F(ASN1_STRING_to_UTF8) \
	F(ASN1_TIME_diff) \
	F(ASN1_TIME_free) \
	F(ASN1_TIME_set) \
	F(ASN1_TYPE_free) \
	F(ASN1_TYPE_new) \
	F(ASN1_TYPE_set) \
	F(ASN1_UTF8STRING_free) \
	F(ASN1_UTF8STRING_new) \
	F(BIO_ctrl) \
	F(BIO_f_base64) \
	F(BIO_free) \
	F(BIO_free_all) \
	F(BIO_new) \
	F(BIO_new_file) \
	F(BIO_new_mem_buf) \
	F(BIO_pop) \
	F(BIO_push) \
	F(BIO_s_mem) \
	F(BIO_s_secmem) \
	F(BN_bn2hex) \
	F(BN_free) \
	F(CMS_ContentInfo_free) \
	F(CMS_add1_signer) \
	F(CMS_final) \
	F(CMS_sign) \
	F(CRYPTO_clear_free) \
	F(CRYPTO_free) \
	F(DIST_POINT_free) \
	F(ERR_clear_error) \
	F(ERR_error_string_n) \
	F(ERR_get_error) \
	F(EVP_Digest) \
	F(EVP_PKCS82PKEY) \
	F(EVP_PKEY2PKCS8) \
	F(EVP_PKEY_Q_keygen) \
	F(EVP_PKEY_eq) \
	F(EVP_PKEY_free) \
	F(EVP_PKEY_up_ref) \
	F(EVP_get_digestbyname) \
	F(EVP_sha1) \
	F(EVP_sha256) \
	F(EVP_sha384) \
	F(EVP_sha512) \
	F(GENERAL_NAMES_free) \
	F(GENERAL_NAME_free) \
	F(GENERAL_NAME_new) \
	F(GENERAL_NAME_set0_othername) \
	F(GENERAL_NAME_set0_value) \
	F(ISSUING_DIST_POINT_free) \
	F(OBJ_nid2sn) \
	F(OBJ_obj2nid) \
	F(OBJ_obj2txt) \
	F(OBJ_txt2nid) \
	F(OBJ_txt2obj) \
	F(OPENSSL_cleanse) \
	F(OPENSSL_sk_deep_copy) \
	F(OPENSSL_sk_dup) \
	F(OPENSSL_sk_free) \
	F(OPENSSL_sk_new_null) \
	F(OPENSSL_sk_num) \
	F(OPENSSL_sk_pop_free) \
	F(OPENSSL_sk_push) \
	F(OPENSSL_sk_value) \
	F(OpenSSL_version) \
	F(PEM_read_bio) \
	F(PEM_read_bio_PrivateKey) \
	F(PEM_read_bio_X509) \
	F(PEM_read_bio_X509_REQ) \
	F(PEM_write_bio_PrivateKey) \
	F(PEM_write_bio_X509) \
	F(PEM_write_bio_X509_REQ) \
	F(PKCS7_free) \
	F(PKCS8_PRIV_KEY_INFO_free) \
	F(PKCS8_decrypt) \
	F(RAND_bytes) \
	F(SSL_CTX_get0_param) \
	F(SSL_CTX_set_cert_store) \
	F(SSL_CTX_set_cert_verify_callback) \
	F(SSL_get1_peer_certificate) \
	F(X509V3_EXT_i2d) \
	F(X509_ALGOR_get0) \
	F(X509_CRL_free) \
	F(X509_CRL_get0_lastUpdate) \
	F(X509_CRL_get0_nextUpdate) \
	F(X509_CRL_get_REVOKED) \
	F(X509_CRL_get_ext) \
	F(X509_CRL_get_ext_by_NID) \
	F(X509_CRL_get_ext_count) \
	F(X509_CRL_get_ext_d2i) \
	F(X509_CRL_get_issuer) \
	F(X509_CRL_verify) \
	F(X509_EXTENSION_free) \
	F(X509_EXTENSION_get_critical) \
	F(X509_EXTENSION_get_data) \
	F(X509_EXTENSION_get_object) \
	F(X509_NAME_ENTRY_get_data) \
	F(X509_NAME_add_entry_by_NID) \
	F(X509_NAME_cmp) \
	F(X509_NAME_free) \
	F(X509_NAME_get_entry) \
	F(X509_NAME_get_index_by_NID) \
	F(X509_NAME_new) \
	F(X509_NAME_oneline) \
	F(X509_NAME_print_ex) \
	F(X509_REQ_add1_attr_by_OBJ) \
	F(X509_REQ_add_extensions) \
	F(X509_REQ_free) \
	F(X509_REQ_new) \
	F(X509_REQ_set_pubkey) \
	F(X509_REQ_set_subject_name) \
	F(X509_REQ_set_version) \
	F(X509_REQ_sign) \
	F(X509_REVOKED_get0_revocationDate) \
	F(X509_REVOKED_get0_serialNumber) \
	F(X509_REVOKED_get_ext_d2i) \
	F(X509_SIG_free) \
	F(X509_STORE_CTX_free) \
	F(X509_STORE_CTX_get0_param) \
	F(X509_STORE_CTX_get0_untrusted) \
	F(X509_STORE_CTX_get_current_cert) \
	F(X509_STORE_CTX_get_error) \
	F(X509_STORE_CTX_get_error_depth) \
	F(X509_STORE_CTX_init) \
	F(X509_STORE_CTX_new) \
	F(X509_STORE_CTX_set0_untrusted) \
	F(X509_STORE_add_cert) \
	F(X509_STORE_free) \
	F(X509_STORE_get0_param) \
	F(X509_STORE_new) \
	F(X509_VERIFY_PARAM_clear_flags) \
	F(X509_check_ca) \
	F(X509_check_issued) \
	F(X509_check_private_key) \
	F(X509_cmp) \
	F(X509_cmp_time) \
	F(X509_digest) \
	F(X509_dup) \
	F(X509_free) \
	F(X509_get0_notAfter) \
	F(X509_get0_notBefore) \
	F(X509_get0_pubkey) \
	F(X509_get0_serialNumber) \
	F(X509_get0_signature) \
	F(X509_get_X509_PUBKEY) \
	F(X509_get_ext) \
	F(X509_get_ext_by_OBJ) \
	F(X509_get_ext_d2i) \
	F(X509_get_issuer_name) \
	F(X509_get_signature_info) \
	F(X509_get_subject_name) \
	F(X509_up_ref) \
	F(X509_verify) \
	F(X509_verify_cert) \
	F(X509_verify_cert_error_string) \
	F(d2i_ASN1_OBJECT) \
	F(d2i_PKCS7) \
	F(d2i_PKCS7_bio) \
	F(d2i_X509) \
	F(d2i_X509_CRL) \
	F(d2i_X509_SIG) \
	F(i2d_CMS_bio) \
	F(i2d_PKCS8_PRIV_KEY_INFO) \
	F(i2d_PUBKEY) \
	F(i2d_X509) \
	F(i2d_X509_PUBKEY) \
	F(i2d_X509_REQ)

enum openssl_loader_fn {
#define OPENSSL_LOADER_ID(name) OPENSSL_FN_##name,
	OPENSSL_LOADER_FUNCTIONS(OPENSSL_LOADER_ID)
#undef OPENSSL_LOADER_ID
	OPENSSL_FN_COUNT
};

/* The function in the table, the library loaded first if it is not yet (or
 * the process ended, see above). */
dl_any_fn openssl_loader_fn(enum openssl_loader_fn id);

/* Within its own expansion a macro's name is not expanded again, so
 * __typeof__ sees OpenSSL's declaration of the function. */
#define OPENSSL_LAZY(name) (*(__typeof__(&name))openssl_loader_fn(OPENSSL_FN_##name))

#define ASN1_ENUMERATED_free OPENSSL_LAZY(ASN1_ENUMERATED_free)
#define ASN1_ENUMERATED_get OPENSSL_LAZY(ASN1_ENUMERATED_get)
#define ASN1_IA5STRING_free OPENSSL_LAZY(ASN1_IA5STRING_free)
#define ASN1_IA5STRING_new OPENSSL_LAZY(ASN1_IA5STRING_new)
#define ASN1_INTEGER_to_BN OPENSSL_LAZY(ASN1_INTEGER_to_BN)
#define ASN1_OBJECT_free OPENSSL_LAZY(ASN1_OBJECT_free)
#define ASN1_STRING_get0_data OPENSSL_LAZY(ASN1_STRING_get0_data)
#define ASN1_STRING_length OPENSSL_LAZY(ASN1_STRING_length)
#define ASN1_STRING_set OPENSSL_LAZY(ASN1_STRING_set)
#define ASN1_STRING_to_UTF8 OPENSSL_LAZY(ASN1_STRING_to_UTF8)
#define ASN1_TIME_diff OPENSSL_LAZY(ASN1_TIME_diff)
#define ASN1_TIME_free OPENSSL_LAZY(ASN1_TIME_free)
#define ASN1_TIME_set OPENSSL_LAZY(ASN1_TIME_set)
#define ASN1_TYPE_free OPENSSL_LAZY(ASN1_TYPE_free)
#define ASN1_TYPE_new OPENSSL_LAZY(ASN1_TYPE_new)
#define ASN1_TYPE_set OPENSSL_LAZY(ASN1_TYPE_set)
#define ASN1_UTF8STRING_free OPENSSL_LAZY(ASN1_UTF8STRING_free)
#define ASN1_UTF8STRING_new OPENSSL_LAZY(ASN1_UTF8STRING_new)
#define BIO_ctrl OPENSSL_LAZY(BIO_ctrl)
#define BIO_f_base64 OPENSSL_LAZY(BIO_f_base64)
#define BIO_free OPENSSL_LAZY(BIO_free)
#define BIO_free_all OPENSSL_LAZY(BIO_free_all)
#define BIO_new OPENSSL_LAZY(BIO_new)
#define BIO_new_file OPENSSL_LAZY(BIO_new_file)
#define BIO_new_mem_buf OPENSSL_LAZY(BIO_new_mem_buf)
#define BIO_pop OPENSSL_LAZY(BIO_pop)
#define BIO_push OPENSSL_LAZY(BIO_push)
#define BIO_s_mem OPENSSL_LAZY(BIO_s_mem)
#define BIO_s_secmem OPENSSL_LAZY(BIO_s_secmem)
#define BN_bn2hex OPENSSL_LAZY(BN_bn2hex)
#define BN_free OPENSSL_LAZY(BN_free)
#define CMS_ContentInfo_free OPENSSL_LAZY(CMS_ContentInfo_free)
#define CMS_add1_signer OPENSSL_LAZY(CMS_add1_signer)
#define CMS_final OPENSSL_LAZY(CMS_final)
#define CMS_sign OPENSSL_LAZY(CMS_sign)
#define CRYPTO_clear_free OPENSSL_LAZY(CRYPTO_clear_free)
#define CRYPTO_free OPENSSL_LAZY(CRYPTO_free)
#define DIST_POINT_free OPENSSL_LAZY(DIST_POINT_free)
#define ERR_clear_error OPENSSL_LAZY(ERR_clear_error)
#define ERR_error_string_n OPENSSL_LAZY(ERR_error_string_n)
#define ERR_get_error OPENSSL_LAZY(ERR_get_error)
#define EVP_Digest OPENSSL_LAZY(EVP_Digest)
#define EVP_PKCS82PKEY OPENSSL_LAZY(EVP_PKCS82PKEY)
#define EVP_PKEY2PKCS8 OPENSSL_LAZY(EVP_PKEY2PKCS8)
#define EVP_PKEY_Q_keygen OPENSSL_LAZY(EVP_PKEY_Q_keygen)
#define EVP_PKEY_eq OPENSSL_LAZY(EVP_PKEY_eq)
#define EVP_PKEY_free OPENSSL_LAZY(EVP_PKEY_free)
#define EVP_PKEY_up_ref OPENSSL_LAZY(EVP_PKEY_up_ref)
#define EVP_get_digestbyname OPENSSL_LAZY(EVP_get_digestbyname)
#define EVP_sha1 OPENSSL_LAZY(EVP_sha1)
#define EVP_sha256 OPENSSL_LAZY(EVP_sha256)
#define EVP_sha384 OPENSSL_LAZY(EVP_sha384)
#define EVP_sha512 OPENSSL_LAZY(EVP_sha512)
#define GENERAL_NAMES_free OPENSSL_LAZY(GENERAL_NAMES_free)
#define GENERAL_NAME_free OPENSSL_LAZY(GENERAL_NAME_free)
#define GENERAL_NAME_new OPENSSL_LAZY(GENERAL_NAME_new)
#define GENERAL_NAME_set0_othername OPENSSL_LAZY(GENERAL_NAME_set0_othername)
#define GENERAL_NAME_set0_value OPENSSL_LAZY(GENERAL_NAME_set0_value)
#define ISSUING_DIST_POINT_free OPENSSL_LAZY(ISSUING_DIST_POINT_free)
#define OBJ_nid2sn OPENSSL_LAZY(OBJ_nid2sn)
#define OBJ_obj2nid OPENSSL_LAZY(OBJ_obj2nid)
#define OBJ_obj2txt OPENSSL_LAZY(OBJ_obj2txt)
#define OBJ_txt2nid OPENSSL_LAZY(OBJ_txt2nid)
#define OBJ_txt2obj OPENSSL_LAZY(OBJ_txt2obj)
#define OPENSSL_cleanse OPENSSL_LAZY(OPENSSL_cleanse)
#define OPENSSL_sk_deep_copy OPENSSL_LAZY(OPENSSL_sk_deep_copy)
#define OPENSSL_sk_dup OPENSSL_LAZY(OPENSSL_sk_dup)
#define OPENSSL_sk_free OPENSSL_LAZY(OPENSSL_sk_free)
#define OPENSSL_sk_new_null OPENSSL_LAZY(OPENSSL_sk_new_null)
#define OPENSSL_sk_num OPENSSL_LAZY(OPENSSL_sk_num)
#define OPENSSL_sk_pop_free OPENSSL_LAZY(OPENSSL_sk_pop_free)
#define OPENSSL_sk_push OPENSSL_LAZY(OPENSSL_sk_push)
#define OPENSSL_sk_value OPENSSL_LAZY(OPENSSL_sk_value)
#define OpenSSL_version OPENSSL_LAZY(OpenSSL_version)
#define PEM_read_bio OPENSSL_LAZY(PEM_read_bio)
#define PEM_read_bio_PrivateKey OPENSSL_LAZY(PEM_read_bio_PrivateKey)
#define PEM_read_bio_X509 OPENSSL_LAZY(PEM_read_bio_X509)
#define PEM_read_bio_X509_REQ OPENSSL_LAZY(PEM_read_bio_X509_REQ)
#define PEM_write_bio_PrivateKey OPENSSL_LAZY(PEM_write_bio_PrivateKey)
#define PEM_write_bio_X509 OPENSSL_LAZY(PEM_write_bio_X509)
#define PEM_write_bio_X509_REQ OPENSSL_LAZY(PEM_write_bio_X509_REQ)
#define PKCS7_free OPENSSL_LAZY(PKCS7_free)
#define PKCS8_PRIV_KEY_INFO_free OPENSSL_LAZY(PKCS8_PRIV_KEY_INFO_free)
#define PKCS8_decrypt OPENSSL_LAZY(PKCS8_decrypt)
#define RAND_bytes OPENSSL_LAZY(RAND_bytes)
#define SSL_CTX_get0_param OPENSSL_LAZY(SSL_CTX_get0_param)
#define SSL_CTX_set_cert_store OPENSSL_LAZY(SSL_CTX_set_cert_store)
#define SSL_CTX_set_cert_verify_callback OPENSSL_LAZY(SSL_CTX_set_cert_verify_callback)
#define SSL_get1_peer_certificate OPENSSL_LAZY(SSL_get1_peer_certificate)
#define X509V3_EXT_i2d OPENSSL_LAZY(X509V3_EXT_i2d)
#define X509_ALGOR_get0 OPENSSL_LAZY(X509_ALGOR_get0)
#define X509_CRL_free OPENSSL_LAZY(X509_CRL_free)
#define X509_CRL_get0_lastUpdate OPENSSL_LAZY(X509_CRL_get0_lastUpdate)
#define X509_CRL_get0_nextUpdate OPENSSL_LAZY(X509_CRL_get0_nextUpdate)
#define X509_CRL_get_REVOKED OPENSSL_LAZY(X509_CRL_get_REVOKED)
#define X509_CRL_get_ext OPENSSL_LAZY(X509_CRL_get_ext)
#define X509_CRL_get_ext_by_NID OPENSSL_LAZY(X509_CRL_get_ext_by_NID)
#define X509_CRL_get_ext_count OPENSSL_LAZY(X509_CRL_get_ext_count)
#define X509_CRL_get_ext_d2i OPENSSL_LAZY(X509_CRL_get_ext_d2i)
#define X509_CRL_get_issuer OPENSSL_LAZY(X509_CRL_get_issuer)
#define X509_CRL_verify OPENSSL_LAZY(X509_CRL_verify)
#define X509_EXTENSION_free OPENSSL_LAZY(X509_EXTENSION_free)
#define X509_EXTENSION_get_critical OPENSSL_LAZY(X509_EXTENSION_get_critical)
#define X509_EXTENSION_get_data OPENSSL_LAZY(X509_EXTENSION_get_data)
#define X509_EXTENSION_get_object OPENSSL_LAZY(X509_EXTENSION_get_object)
#define X509_NAME_ENTRY_get_data OPENSSL_LAZY(X509_NAME_ENTRY_get_data)
#define X509_NAME_add_entry_by_NID OPENSSL_LAZY(X509_NAME_add_entry_by_NID)
#define X509_NAME_cmp OPENSSL_LAZY(X509_NAME_cmp)
#define X509_NAME_free OPENSSL_LAZY(X509_NAME_free)
#define X509_NAME_get_entry OPENSSL_LAZY(X509_NAME_get_entry)
#define X509_NAME_get_index_by_NID OPENSSL_LAZY(X509_NAME_get_index_by_NID)
#define X509_NAME_new OPENSSL_LAZY(X509_NAME_new)
#define X509_NAME_oneline OPENSSL_LAZY(X509_NAME_oneline)
#define X509_NAME_print_ex OPENSSL_LAZY(X509_NAME_print_ex)
#define X509_REQ_add1_attr_by_OBJ OPENSSL_LAZY(X509_REQ_add1_attr_by_OBJ)
#define X509_REQ_add_extensions OPENSSL_LAZY(X509_REQ_add_extensions)
#define X509_REQ_free OPENSSL_LAZY(X509_REQ_free)
#define X509_REQ_new OPENSSL_LAZY(X509_REQ_new)
#define X509_REQ_set_pubkey OPENSSL_LAZY(X509_REQ_set_pubkey)
#define X509_REQ_set_subject_name OPENSSL_LAZY(X509_REQ_set_subject_name)
#define X509_REQ_set_version OPENSSL_LAZY(X509_REQ_set_version)
#define X509_REQ_sign OPENSSL_LAZY(X509_REQ_sign)
#define X509_REVOKED_get0_revocationDate OPENSSL_LAZY(X509_REVOKED_get0_revocationDate)
#define X509_REVOKED_get0_serialNumber OPENSSL_LAZY(X509_REVOKED_get0_serialNumber)
#define X509_REVOKED_get_ext_d2i OPENSSL_LAZY(X509_REVOKED_get_ext_d2i)
#define X509_SIG_free OPENSSL_LAZY(X509_SIG_free)
#define X509_STORE_CTX_free OPENSSL_LAZY(X509_STORE_CTX_free)
#define X509_STORE_CTX_get0_param OPENSSL_LAZY(X509_STORE_CTX_get0_param)
#define X509_STORE_CTX_get0_untrusted OPENSSL_LAZY(X509_STORE_CTX_get0_untrusted)
#define X509_STORE_CTX_get_current_cert OPENSSL_LAZY(X509_STORE_CTX_get_current_cert)
#define X509_STORE_CTX_get_error OPENSSL_LAZY(X509_STORE_CTX_get_error)
#define X509_STORE_CTX_get_error_depth OPENSSL_LAZY(X509_STORE_CTX_get_error_depth)
#define X509_STORE_CTX_init OPENSSL_LAZY(X509_STORE_CTX_init)
#define X509_STORE_CTX_new OPENSSL_LAZY(X509_STORE_CTX_new)
#define X509_STORE_CTX_set0_untrusted OPENSSL_LAZY(X509_STORE_CTX_set0_untrusted)
#define X509_STORE_add_cert OPENSSL_LAZY(X509_STORE_add_cert)
#define X509_STORE_free OPENSSL_LAZY(X509_STORE_free)
#define X509_STORE_get0_param OPENSSL_LAZY(X509_STORE_get0_param)
#define X509_STORE_new OPENSSL_LAZY(X509_STORE_new)
#define X509_VERIFY_PARAM_clear_flags OPENSSL_LAZY(X509_VERIFY_PARAM_clear_flags)
#define X509_check_ca OPENSSL_LAZY(X509_check_ca)
#define X509_check_issued OPENSSL_LAZY(X509_check_issued)
#define X509_check_private_key OPENSSL_LAZY(X509_check_private_key)
#define X509_cmp OPENSSL_LAZY(X509_cmp)
#define X509_cmp_time OPENSSL_LAZY(X509_cmp_time)
#define X509_digest OPENSSL_LAZY(X509_digest)
#define X509_dup OPENSSL_LAZY(X509_dup)
#define X509_free OPENSSL_LAZY(X509_free)
#define X509_get0_notAfter OPENSSL_LAZY(X509_get0_notAfter)
#define X509_get0_notBefore OPENSSL_LAZY(X509_get0_notBefore)
#define X509_get0_pubkey OPENSSL_LAZY(X509_get0_pubkey)
#define X509_get0_serialNumber OPENSSL_LAZY(X509_get0_serialNumber)
#define X509_get0_signature OPENSSL_LAZY(X509_get0_signature)
#define X509_get_X509_PUBKEY OPENSSL_LAZY(X509_get_X509_PUBKEY)
#define X509_get_ext OPENSSL_LAZY(X509_get_ext)
#define X509_get_ext_by_OBJ OPENSSL_LAZY(X509_get_ext_by_OBJ)
#define X509_get_ext_d2i OPENSSL_LAZY(X509_get_ext_d2i)
#define X509_get_issuer_name OPENSSL_LAZY(X509_get_issuer_name)
#define X509_get_signature_info OPENSSL_LAZY(X509_get_signature_info)
#define X509_get_subject_name OPENSSL_LAZY(X509_get_subject_name)
#define X509_up_ref OPENSSL_LAZY(X509_up_ref)
#define X509_verify OPENSSL_LAZY(X509_verify)
#define X509_verify_cert OPENSSL_LAZY(X509_verify_cert)
#define X509_verify_cert_error_string OPENSSL_LAZY(X509_verify_cert_error_string)
#define d2i_ASN1_OBJECT OPENSSL_LAZY(d2i_ASN1_OBJECT)
#define d2i_PKCS7 OPENSSL_LAZY(d2i_PKCS7)
#define d2i_PKCS7_bio OPENSSL_LAZY(d2i_PKCS7_bio)
#define d2i_X509 OPENSSL_LAZY(d2i_X509)
#define d2i_X509_CRL OPENSSL_LAZY(d2i_X509_CRL)
#define d2i_X509_SIG OPENSSL_LAZY(d2i_X509_SIG)
#define i2d_CMS_bio OPENSSL_LAZY(i2d_CMS_bio)
#define i2d_PKCS8_PRIV_KEY_INFO OPENSSL_LAZY(i2d_PKCS8_PRIV_KEY_INFO)
#define i2d_PUBKEY OPENSSL_LAZY(i2d_PUBKEY)
#define i2d_X509 OPENSSL_LAZY(i2d_X509)
#define i2d_X509_PUBKEY OPENSSL_LAZY(i2d_X509_PUBKEY)
#define i2d_X509_REQ OPENSSL_LAZY(i2d_X509_REQ)

#endif
