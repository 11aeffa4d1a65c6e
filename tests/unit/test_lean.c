/* What a no-op run keeps out of the process (issue 15): libcurl is opened
 * only when a request is sent (curl_loader.h), with a clear error when it
 * cannot be; journal records go over journald's native protocol without
 * libsystemd (log.h).  tests/unit/lean_link.test checks the binary's
 * dynamic section. */
#include "adenroll-build.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <sasl/sasl.h>
#include <sasl/saslplug.h>

#include "curl_loader.h"
#include "log.h"
#ifdef HAVE_NSS
/* NSS's cert.h through pkcs12t.h (src/cert.h shadows <cert.h>) */
#include <pkcs12t.h>
#include <nss.h>
#include <pk11pub.h>
#include <prerror.h>
#include <prtime.h>
#include <secerr.h>
#include <secport.h>

#include "nss_loader.h"
#endif
#include "sasl_plugins.h"

static size_t discard(char *p, size_t size, size_t n, void *u)
{
	(void)p;
	(void)u;
	return size * n;
}

/* Every option type class and info type goes through the forwarding. */
static void test_curl_forwarding(void **state)
{
	char err[256];
	(void)state;
	curl_loader_reset(NULL);
	assert_true(curl_loader_ready(err, sizeof err));
	assert_string_equal(err, "");
	assert_int_equal(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	assert_non_null(v);
	assert_non_null(strstr(curl_version(), v->version));
	assert_true(v->features & CURL_VERSION_GSSAPI);

	CURL *h = curl_easy_init();
	assert_non_null(h);
	assert_int_equal(curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L), CURLE_OK);                  /* long */
	assert_int_equal(curl_easy_setopt(h, CURLOPT_URL, "https://localhost./"), CURLE_OK);    /* pointer */
	assert_int_equal(curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard), CURLE_OK);      /* function */
	assert_int_equal(curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)1 << 40), CURLE_OK); /* off_t */
	/* a bad long value is refused by libcurl itself: the value arrived */
	assert_int_equal(curl_easy_setopt(h, CURLOPT_TIMEOUT, -1L), CURLE_BAD_FUNCTION_ARGUMENT);
	long code = -1;
	assert_int_equal(curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code), CURLE_OK);
	assert_int_equal(code, 0);
	char *url = NULL;
	assert_int_equal(curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &url), CURLE_OK);
	assert_string_equal(url, "https://localhost./");
	char *esc = curl_easy_escape(h, "a b/c", 0);
	assert_string_equal(esc, "a%20b%2Fc");
	curl_free(esc);
	struct curl_slist *l = curl_slist_append(NULL, "Accept: */*");
	assert_non_null(l);
	curl_slist_free_all(l);
	assert_string_equal(curl_easy_strerror(CURLE_OK), "No error");
	curl_easy_cleanup(h);
	curl_global_cleanup();
}

/* No libcurl: every call fails cleanly and the message says what to install. */
static void test_curl_missing(void **state)
{
	char err[256];
	(void)state;
	curl_loader_reset("libadenroll-test-no-such-curl.so.4");
	assert_false(curl_loader_ready(err, sizeof err));
	assert_non_null(strstr(err, "libadenroll-test-no-such-curl.so.4"));
	assert_non_null(strstr(log_last_error(), "install libcurl4"));
	assert_null(curl_easy_init());
	assert_int_equal(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_FAILED_INIT);
	assert_int_equal(curl_easy_setopt(NULL, CURLOPT_NOSIGNAL, 1L), CURLE_FAILED_INIT);
	assert_int_equal(curl_easy_perform(NULL), CURLE_FAILED_INIT);
	assert_null(curl_slist_append(NULL, "x"));
	assert_null(curl_easy_escape(NULL, "x", 0));
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	assert_non_null(v);
	assert_non_null(strstr(v->version, "could not be loaded"));
	assert_int_equal(v->features & (CURL_VERSION_GSSAPI | CURL_VERSION_SPNEGO), 0);
	assert_null(v->ssl_version);
	curl_easy_cleanup(NULL);
	curl_slist_free_all(NULL);
	curl_free(NULL);
	curl_loader_reset(NULL);
}

static void test_journal_field_forms(void **state)
{
	char buf[64];
	(void)state;
	assert_int_equal(log_journal_field(buf, sizeof buf, "TEMPLATE", "Machine"), 17);
	assert_memory_equal(buf, "TEMPLATE=Machine\n", 17);
	/* a value with a newline: NAME\n, 64-bit LE length, value, \n */
	assert_int_equal(log_journal_field(buf, sizeof buf, "MESSAGE", "a\nb"), 8 + 8 + 3 + 1);
	assert_memory_equal(buf, "MESSAGE\n\3\0\0\0\0\0\0\0a\nb\n", 20);
	assert_int_equal(log_journal_field(buf, 10, "MESSAGE", "too long for ten"), 0);
}

static int has_field(const char *rec, size_t len, const char *field)
{
	size_t fl = strlen(field);
	for (size_t i = 0; i + fl <= len; i++)
		if ((i == 0 || rec[i - 1] == '\n') && memcmp(rec + i, field, fl) == 0 && rec[i + fl - 1] == '\n')
			return 1;
	return 0;
}

/* One datagram per record, the fields and MESSAGE_ID of adenroll(8). */
static void test_journal_record(void **state)
{
	char dir[] = "/tmp/adenroll-journal.XXXXXX", path[64], rec[8192];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/socket", dir);
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	int s = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
	log_journal_socket(path);
	log_init(LOG_LVL_ERROR, true);
	struct log_event_facts f = { .ca = "Test CA", .serial = "01AB", .request_id = 42, .not_after = 86400 };
	log_event_facts(LOG_EV_ENROLLED, "Machine", &f, "enrolled %s", "Machine");
	ssize_t n = recv(s, rec, sizeof rec, MSG_DONTWAIT);
	assert_true(n > 0);
	assert_true(has_field(rec, (size_t)n, "MESSAGE=enrolled Machine\n"));
	assert_true(has_field(rec, (size_t)n, "PRIORITY=5\n"));
	assert_true(has_field(rec, (size_t)n, "SYSLOG_IDENTIFIER=adenroll\n"));
	assert_true(has_field(rec, (size_t)n, "MESSAGE_ID=d60fe92ebd694f3e9003a6d6b1b1c576\n"));
	assert_true(has_field(rec, (size_t)n, "ADENROLL_EVENT=enrolled\n"));
	assert_true(has_field(rec, (size_t)n, "TEMPLATE=Machine\n"));
	assert_true(has_field(rec, (size_t)n, "ADENROLL_CA=Test CA\n"));
	assert_true(has_field(rec, (size_t)n, "ADENROLL_SERIAL=01AB\n"));
	assert_true(has_field(rec, (size_t)n, "ADENROLL_REQUEST_ID=42\n"));
	assert_true(has_field(rec, (size_t)n, "ADENROLL_NOT_AFTER=1970-01-02T00:00:00Z\n"));
	assert_int_equal(rec[n - 1], '\n');
	/* a plain error: no event fields */
	log_error("cannot do %s", "it");
	n = recv(s, rec, sizeof rec, MSG_DONTWAIT);
	assert_true(n > 0);
	assert_true(has_field(rec, (size_t)n, "MESSAGE=cannot do it\n"));
	assert_true(has_field(rec, (size_t)n, "PRIORITY=3\n"));
	assert_false(has_field(rec, (size_t)n, "ADENROLL_EVENT=enrolled\n"));
	close(s);
	unlink(path);
	rmdir(dir);
	/* nobody listening: syslog takes it, nothing breaks */
	log_error("after journald went away");
	log_journal_socket(NULL);
	log_init(LOG_LVL_ERROR, false);
}

struct mechs {
	char names[512];
};

static void collect_mech(client_sasl_mechanism_t *m, sasl_info_callback_stage_t stage, void *rock)
{
	struct mechs *x = rock;
	size_t n = strlen(x->names);
	if (stage == SASL_INFO_LIST_MECH && m && m->plug && m->plug->mech_name)
		snprintf(x->names + n, sizeof x->names - n, "%s ", m->plug->mech_name);
}

/* libsasl2 started by us has GSSAPI and none of the plugins in its
 * directory, and stays usable for libldap's own sasl_client_init. */
static void test_sasl_gssapi_only(void **state)
{
	struct mechs x = { "" };
	(void)state;
	unsetenv("SASL_PATH");
	assert_true(sasl_plugins_gssapi_only());
	assert_true(sasl_plugins_gssapi_only());  /* idempotent */
	assert_int_equal(sasl_client_init(NULL), SASL_OK);
	assert_int_equal(sasl_client_plugin_info(NULL, collect_mech, &x), SASL_OK);
	/* the GSSAPI plugin brings GSS-SPNEGO too; EXTERNAL is built into libsasl2 */
	assert_non_null(strstr(x.names, "GSSAPI "));
	assert_null(strstr(x.names, "PLAIN"));
	assert_null(strstr(x.names, "SCRAM"));
	assert_null(strstr(x.names, "DIGEST-MD5"));
	assert_null(strstr(x.names, "NTLM"));
	sasl_client_done();
}

#ifdef HAVE_NSS
/* Whether this process has mapped a file whose name holds `name`. */
static bool maps_has(const char *name)
{
	char line[4096];
	bool found = false;
	FILE *f = fopen("/proc/self/maps", "r");

	assert_non_null(f);
	while (!found && fgets(line, sizeof line, f))
		found = strstr(line, name) != NULL;
	fclose(f);
	return found;
}

/* No NSS: nothing is mapped, every call fails cleanly and the message says
 * what to install.  Runs before anything loads the real one. */
static void test_nss_missing(void **state)
{
	char err[256];
	(void)state;
	/* this test program is linked like adenroll: NSS only through the loader */
	assert_false(maps_has("libnss3"));
	assert_false(maps_has("libnspr4"));
	nss_loader_reset("libadenroll-test-no-such-nss3.so");
	assert_false(nss_loader_ready(err, sizeof err));
	assert_false(nss_loader_loaded());
	assert_non_null(strstr(err, "libadenroll-test-no-such-nss3.so"));
	assert_non_null(strstr(log_last_error(), "install libnss3"));
	assert_null(NSS_InitContext("sql:/nonexistent", "", "", "", NULL, NSS_INIT_READONLY));
	assert_null(PK11_GetInternalKeySlot());
	assert_int_equal(PK11_NeedLogin(NULL), PR_FALSE);
	assert_int_equal(PK11_InitPin(NULL, NULL, ""), SECFailure);
	assert_int_equal(PORT_GetError(), SEC_ERROR_LIBRARY_FAILURE);
	assert_non_null(strstr(PR_ErrorToString(PORT_GetError(), PR_LANGUAGE_I_DEFAULT), "could not be loaded"));
	assert_non_null(strstr(NSS_GetVersion(), "could not be loaded"));
	/* objects cannot exist without the library: their destroyers touch nothing */
	PK11_FreeSlot((PK11SlotInfo *)(uintptr_t)1);
	CERT_DestroyCertificate((CERTCertificate *)(uintptr_t)1);
	PORT_Free((void *)(uintptr_t)1);
	/* the clock still works, in NSPR's unit */
	PRTime now = PR_Now();
	assert_true(now / PR_USEC_PER_SEC >= time(NULL) - 5 && now / PR_USEC_PER_SEC <= time(NULL) + 5);
	assert_false(maps_has("libnspr4"));
	nss_loader_reset(NULL);
}

/* The real library: loaded on the first call, NSPR found through it, a
 * database created, opened, its errors reported. */
static void test_nss_forwarding(void **state)
{
	char err[256], dir[] = "/tmp/adenroll-nss-loader.XXXXXX", db[64], path[96];
	(void)state;
	nss_loader_reset(NULL);
	assert_false(maps_has("libnss3"));
	const char *v = NSS_GetVersion();
	assert_true(nss_loader_loaded());
	assert_true(maps_has("libnss3"));
	assert_true(nss_loader_ready(err, sizeof err));
	assert_string_equal(err, "");
	assert_true(v[0] >= '3' && v[0] <= '9' && v[1] == '.');
	PRTime now = PR_Now();
	assert_true(now / PR_USEC_PER_SEC >= time(NULL) - 5 && now / PR_USEC_PER_SEC <= time(NULL) + 5);

	/* a database that is not there, read-only: NSS's error, by name */
	assert_non_null(mkdtemp(dir));
	snprintf(db, sizeof db, "sql:%s/none", dir);
	assert_null(NSS_InitContext(db, "", "", "", NULL, NSS_INIT_READONLY | NSS_INIT_NOROOTINIT));
	assert_int_not_equal(PORT_GetError(), 0);
	assert_non_null(PR_ErrorToName(PORT_GetError()));

	/* an empty one, created and given an empty password as store_nss.c does */
	snprintf(db, sizeof db, "sql:%s", dir);
	NSSInitContext *ctx = NSS_InitContext(db, "", "", "", NULL, NSS_INIT_NOROOTINIT);
	assert_non_null(ctx);
	PK11SlotInfo *slot = PK11_GetInternalKeySlot();
	assert_non_null(slot);
	assert_true(PK11_NeedUserInit(slot));
	assert_int_equal(PK11_InitPin(slot, NULL, ""), SECSuccess);
	CERTCertList *certs = PK11_ListCertsInSlot(slot);
	if (certs)
		assert_true(CERT_LIST_EMPTY(certs));
	CERT_DestroyCertList(certs);
	assert_non_null(NSS_Get_SECKEY_EncryptedPrivateKeyInfoTemplate(NULL, PR_FALSE));
	PK11_FreeSlot(slot);
	assert_int_equal(NSS_ShutdownContext(ctx), SECSuccess);
	snprintf(path, sizeof path, "%s/cert9.db", dir);
	assert_int_equal(access(path, F_OK), 0);
	unlink(path);
	snprintf(path, sizeof path, "%s/key4.db", dir);
	assert_int_equal(access(path, F_OK), 0);
	unlink(path);
	snprintf(path, sizeof path, "%s/pkcs11.txt", dir);
	unlink(path);
	assert_int_equal(rmdir(dir), 0);
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* first: libcurl's start-up starts libsasl2 (through libldap) */
		cmocka_unit_test(test_sasl_gssapi_only),
#ifdef HAVE_NSS
		/* before anything could have loaded NSS */
		cmocka_unit_test(test_nss_missing),
		cmocka_unit_test(test_nss_forwarding),
#endif
		cmocka_unit_test(test_curl_forwarding),
		cmocka_unit_test(test_curl_missing),
		cmocka_unit_test(test_journal_field_forms),
		cmocka_unit_test(test_journal_record),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
