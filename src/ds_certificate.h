/* CT_FLAG_AUTO_ENROLLMENT_CHECK_USER_DS_CERTIFICATE (MS-CRTD 2.26): before a
 * user enrolls for such a template, the certificates already published to
 * the user's userCertificate attribute are looked at; a valid one of the
 * template means no new enrollment (so a user logging on to N hosts does not
 * get N certificates). */
#ifndef ADENROLL_DS_CERTIFICATE_H
#define ADENROLL_DS_CERTIFICATE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "directory.h"
#include "template.h"

/* True when dir->account.user_certificates holds a certificate of template
 * t (cert_is_from_template) valid at now and chaining to a CA the directory
 * publishes; why then names it ("serial 61AB.., valid until ...").  False
 * (why says what was looked at) otherwise. */
bool ds_certificate_valid(const struct directory *dir, const struct template *t, time_t now, char *why,
			  size_t whylen);

#endif
