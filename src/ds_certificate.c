/* A valid certificate of the template in the user's userCertificate (MS-CRTD 2.26). */
#include "adenroll-build.h"

#include "ds_certificate.h"

#include <stdio.h>

#include "cert.h"
#include "openssl_loader.h"
#include "policy.h"

bool ds_certificate_valid(const struct directory *dir, const struct template *t, time_t now, char *why,
			  size_t whylen)
{
	const struct bloblist *l = &dir->account.user_certificates;
	size_t of_template = 0;
	struct bloblist inter = { NULL, 0 };

	for (size_t i = 0; i < dir->aia_cas.n; i++)
		bloblist_add(&inter, dir->aia_cas.v[i].data, dir->aia_cas.v[i].len);
	for (size_t i = 0; i < dir->n_cas; i++)
		for (size_t k = 0; k < dir->cas[i].ca_certs.n; k++)
			bloblist_add(&inter, dir->cas[i].ca_certs.v[k].data, dir->cas[i].ca_certs.v[k].len);
	for (size_t i = 0; i < l->n; i++) {
		X509 *c = cert_from_der(l->v[i].data, l->v[i].len);
		char err[256], serial[80], until[32];
		if (!c)
			continue;
		if (!cert_is_from_template(c, t)) {
			X509_free(c);
			continue;
		}
		of_template++;
		time_t nb = cert_not_before(c), na = cert_not_after(c);
		if (nb != (time_t)-1 && na != (time_t)-1 && nb <= now && now < na &&
		    cert_verify_chain(c, &dir->root_cas, &inter, NULL, err, sizeof err) == 0) {
			if (cert_serial_hex(c, serial, sizeof serial) < 0)
				snprintf(serial, sizeof serial, "?");
			policy_format_time(na, until, sizeof until);
			snprintf(why, whylen, "serial %s, valid until %s", serial, until);
			X509_free(c);
			bloblist_free(&inter);
			return true;
		}
		X509_free(c);
	}
	bloblist_free(&inter);
	snprintf(why, whylen, "%zu certificate%s in userCertificate, %zu of template %s, none valid", l->n,
		 l->n == 1 ? "" : "s", of_template, t->cn);
	return false;
}
