/* The invariants of cert_template_info (cert.h) that fuzz_cert and
 * fuzz_template_ext both check: a 21.7 template OID comes out dotted decimal
 * as the directory holds it (template_check_oid) and matches a template with
 * that OID; a 20.2 name is never empty.  abort() on a violation. */
#ifndef ADENROLL_FUZZ_TEMPLATE_INVARIANTS_H
#define ADENROLL_FUZZ_TEMPLATE_INVARIANTS_H

#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "cert.h"
#include "template.h"

static void check_template_info(X509 *x)
{
	struct cert_template_info info;
	char why[160];

	if (cert_template_info(x, &info) != 0)
		return;
	if (info.oid != NULL) {
		struct template t;

		if (template_check_oid(info.oid, strlen(info.oid), why, sizeof(why)) != 0)
			abort();
		memset(&t, 0, sizeof(t));
		t.oid = info.oid;
		if (!cert_is_from_template(x, &t))
			abort();
	}
	if (info.name != NULL && info.name[0] == '\0')
		abort();
	cert_template_info_free(&info);
}

#endif
