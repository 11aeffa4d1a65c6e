/* libFuzzer target for the decoders of template attribute values as LDAP
 * returns them: periods (8-byte octet strings), INTEGER text, SIDs (binary and
 * text), and the provider / RA-policy strings that pick the key algorithm.
 * Besides memory errors it checks round trips. */
#include "adenroll-build.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sid.h"
#include "template.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_period(const uint8_t *data, size_t size)
{
	int64_t secs = -1;
	char err[256], text[64];

	if (template_parse_period(data, size, &secs, err, sizeof(err)) == 0) {
		if (secs <= 0)
			abort();
		template_format_period(secs, text, sizeof(text));
	}
}

static void fuzz_u32(const uint8_t *data, size_t size)
{
	uint32_t v, again;
	char err[256], text[32];
	int n;

	if (template_parse_u32((const char *)data, size, &v, err, sizeof(err)) != 0)
		return;
	/* AD's signed spelling of the same bits parses back to them */
	n = snprintf(text, sizeof(text), "%d", (int)(int32_t)v);
	if (template_parse_u32(text, (size_t)n, &again, err, sizeof(err)) != 0 || again != v)
		abort();
	template_format_enrollment_flag(v, text, sizeof(text));
	template_format_name_flag(v, text, sizeof(text));
}

static void check_sid_roundtrip(const struct sid *sid)
{
	char text[SID_STRING_MAX];
	struct sid back;

	sid_to_string(sid, text, sizeof(text));
	if (sid_from_string(text, &back) != 0 || !sid_equal(sid, &back))
		abort();
	(void)sid_wellknown_name(sid);
}

static void fuzz_sid(const uint8_t *data, size_t size, const char *text)
{
	struct sid sid;
	size_t used = 0;

	if (sid_from_bytes(data, size, &sid, &used) == 0) {
		if (used > size)
			abort();
		check_sid_roundtrip(&sid);
	}
	if (sid_from_string(text, &sid) == 0)
		check_sid_roundtrip(&sid);
}

/* Lines before the first empty line are pKIDefaultCSPs values; the rest is
 * msPKI-RA-Application-Policies. */
static void fuzz_key_alg(char *text)
{
	struct strlist csps = { 0 };
	char *ra = strstr(text, "\n\n");
	char *line, *save = NULL;

	if (ra != NULL) {
		*ra = '\0';
		ra += 2;
	}
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
		strlist_add(&csps, line);
	switch (template_key_alg_from(&csps, ra)) {
	case TEMPLATE_KEY_RSA:
	case TEMPLATE_KEY_EC_P256:
	case TEMPLATE_KEY_EC_P384:
	case TEMPLATE_KEY_EC_P521:
	case TEMPLATE_KEY_UNSUPPORTED:
		break;
	default:
		abort();
	}
	strlist_free(&csps);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	fuzz_period(data, size);
	fuzz_u32(data, size);
	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	fuzz_sid(data, size, text);
	fuzz_key_alg(text);
	free(text);
	return 0;
}
