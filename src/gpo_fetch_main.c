/* adenroll-gpo-fetch: reads Registry.pol files from a DC's SYSVOL share with
 * libsmbclient, Kerberos only, SMB3 with signing and encryption required.
 *
 * It is a separate program so that adenroll itself never loads Samba's ~24
 * libraries: adenroll runs it only when a GPO's version changed (gpo_policy.c).
 *
 *   adenroll-gpo-fetch SERVER ACCOUNT PATH OUTFILE [PATH OUTFILE ...]
 *
 * PATH is relative to the sysvol share ("example.test/Policies/{GUID}/Machine/Registry.pol").
 * OUTFILE is created (O_EXCL, 0600).  KRB5CCNAME must name a FILE: ccache:
 * Samba's Heimdal cannot read an MIT MEMORY: one.  One line per PATH on
 * stdout: "ok PATH BYTES", "absent PATH" or "error PATH MESSAGE".  Exit 0 when
 * no line is an error, 1 otherwise, 2 on bad usage. */
#include "adenroll-build.h"

#include <errno.h>
#include <fcntl.h>
#include <libsmbclient.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "preg.h"

static const char *account;

#if defined(__SANITIZE_ADDRESS__)
/* libsmbclient keeps talloc memory until exit; LeakSanitizer would turn
 * that into a failing exit status of every fetch in a sanitizer build. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}
#endif

/* Kerberos does the authentication; libsmbclient still asks for a user name
 * and goes anonymous when it is empty.  The password stays empty. */
static void auth_fn(SMBCCTX *c, const char *srv, const char *shr, char *wg, int wglen, char *un, int unlen,
		    char *pw, int pwlen)
{
	(void)c;
	(void)srv;
	(void)shr;
	(void)wg;
	(void)wglen;
	snprintf(un, (size_t)unlen, "%s", account);
	if (pwlen > 0)
		pw[0] = '\0';
}

static int safe_path(const char *p)
{
	if (*p == '\0' || *p == '/')
		return 0;
	for (const char *c = p; *c;) {
		const char *e = strchr(c, '/');
		size_t n = e ? (size_t)(e - c) : strlen(c);

		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)c[i] < 0x20 || c[i] == '\\' || c[i] == '%')
				return 0;
		c += n;
		if (*c == '/')
			c++;
	}
	return 1;
}

/* Returns 0 ok, 1 absent, -1 error (message in err). */
static int fetch(SMBCCTX *ctx, const char *server, const char *path, const char *outfile, size_t *bytes,
		 char *err, size_t errlen)
{
	char *url = NULL;
	SMBCFILE *f;
	int fd = -1, ret = -1;
	size_t total = 0;
	char buf[16384];

	if (asprintf(&url, "smb://%s/sysvol/%s", server, path) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	errno = 0;
	f = smbc_getFunctionOpen(ctx)(ctx, url, O_RDONLY, 0);
	if (!f) {
		if (errno == ENOENT || errno == ENOTDIR) {
			ret = 1;
		} else {
			snprintf(err, errlen, "cannot open %s: %s", url, strerror(errno ? errno : EIO));
		}
		goto out;
	}
	fd = open(outfile, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create %s: %s", outfile, strerror(errno));
		smbc_getFunctionClose(ctx)(ctx, f);
		goto out;
	}
	for (;;) {
		ssize_t n = smbc_getFunctionRead(ctx)(ctx, f, buf, sizeof(buf));

		if (n < 0) {
			snprintf(err, errlen, "reading %s failed: %s", url, strerror(errno));
			break;
		}
		if (n == 0) {
			ret = 0;
			break;
		}
		total += (size_t)n;
		if (total > PREG_MAX_FILE) {
			snprintf(err, errlen, "%s is larger than %u bytes: not a policy file", url, PREG_MAX_FILE);
			break;
		}
		if (write(fd, buf, (size_t)n) != n) {
			snprintf(err, errlen, "writing %s failed: %s", outfile, strerror(errno));
			break;
		}
	}
	smbc_getFunctionClose(ctx)(ctx, f);
	if (ret == 0 && fsync(fd) != 0) {
		snprintf(err, errlen, "writing %s failed: %s", outfile, strerror(errno));
		ret = -1;
	}
	*bytes = total;
out:
	if (fd >= 0)
		close(fd);
	if (ret < 0 && fd >= 0)
		unlink(outfile);
	free(url);
	return ret;
}

int main(int argc, char **argv)
{
	SMBCCTX *ctx;
	const char *cc = getenv("KRB5CCNAME");
	int failed = 0;

	if (argc < 5 || (argc - 3) % 2 != 0) {
		fprintf(stderr, "usage: %s SERVER ACCOUNT PATH OUTFILE [PATH OUTFILE ...]\n", argv[0]);
		return 2;
	}
	if (!cc || strncmp(cc, "FILE:", 5) != 0) {
		fprintf(stderr, "%s: KRB5CCNAME must name a FILE: credential cache\n", argv[0]);
		return 2;
	}
	account = argv[2];
	if (!*account || strchr(argv[1], '/') || strchr(argv[1], '@')) {
		fprintf(stderr, "%s: bad server or account name\n", argv[0]);
		return 2;
	}
	ctx = smbc_new_context();
	if (!ctx) {
		printf("error - cannot create an SMB client context: %s\n", strerror(errno));
		return 1;
	}
	smbc_setDebug(ctx, 0);
	/* SMB3 is on 445 only; a DC that accepts the connection and then
	 * says nothing must not hold the run: 15 s per operation */
	smbc_setPort(ctx, 445);
	smbc_setTimeout(ctx, 15000);
	smbc_setOptionUseKerberos(ctx, 1);
	smbc_setOptionFallbackAfterKerberos(ctx, 0);
	smbc_setOptionNoAutoAnonymousLogin(ctx, 1);
	/* requiring encryption also requires signing; SMB3 is what encrypts */
	smbc_setOptionSmbEncryptionLevel(ctx, SMBC_ENCRYPTLEVEL_REQUIRE);
	smbc_setOptionProtocols(ctx, "SMB3", "SMB3");
	smbc_setFunctionAuthDataWithContext(ctx, auth_fn);
	if (!smbc_init_context(ctx)) {
		printf("error - cannot initialise the SMB client: %s\n", strerror(errno));
		smbc_free_context(ctx, 1);
		return 1;
	}
	for (int i = 3; i + 1 < argc; i += 2) {
		char err[512] = "";
		size_t bytes = 0;
		int r;

		if (!safe_path(argv[i])) {
			printf("error %s refused: not a plain relative path\n", argv[i]);
			failed = 1;
			continue;
		}
		r = fetch(ctx, argv[1], argv[i], argv[i + 1], &bytes, err, sizeof(err));
		if (r == 0)
			printf("ok %s %zu\n", argv[i], bytes);
		else if (r == 1)
			printf("absent %s\n", argv[i]);
		else {
			printf("error %s %s\n", argv[i], err);
			failed = 1;
		}
		fflush(stdout);
	}
	smbc_free_context(ctx, 1);
	return failed;
}
