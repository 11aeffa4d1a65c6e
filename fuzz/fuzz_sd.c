/* libFuzzer target: nTSecurityDescriptor bytes from the directory are
 * untrusted.  Parses them and, when they parse, runs both access checks with
 * a fixed machine token; any out-of-bounds read, leak or inconsistent verdict
 * is a bug. */
#include "adenroll-build.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sd.h"
#include "sid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const token_text[] = {
	"S-1-5-21-1047456448-2337630968-2720937775-1105",
	"S-1-5-21-1047456448-2337630968-2720937775-515",
	"S-1-5-11", "S-1-1-0", "S-1-5-2", "S-1-5-15",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sid token[sizeof(token_text) / sizeof(token_text[0])];
	static size_t n_token;
	struct sd *sd = NULL;
	char err[256];

	if (n_token == 0) {
		for (size_t i = 0; i < sizeof(token_text) / sizeof(token_text[0]); i++)
			if (sid_from_string(token_text[i], &token[n_token]) == 0)
				n_token++;
	}
	err[0] = '\0';
	if (sd_parse(data, size, &sd, err, sizeof(err)) != 0) {
		/* a failure always says why and never hands out a descriptor */
		if (sd != NULL || err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL)
			abort();
		return 0;
	}
	for (int r = SD_RIGHT_ENROLL; r <= SD_RIGHT_APPLY_GROUP_POLICY + 1; r++) {
		struct sd_verdict v;

		/* one past the rights: the Read check of GPO security filtering */
		if (r > SD_RIGHT_APPLY_GROUP_POLICY)
			sd_check_read(sd, token, n_token, &v);
		else
			sd_check_right(sd, token, n_token, (enum sd_right)r, &v);
		if (memchr(v.reason, '\0', sizeof(v.reason)) == NULL || v.reason[0] == '\0')
			abort();
		if (v.ace_index >= (int)sd_ace_count(sd) || (v.by_deny && v.granted))
			abort();
		/* a NULL DACL grants everything */
		if (!sd_has_dacl(sd) && !v.granted)
			abort();
	}
	sd_free(sd);
	return 0;
}
