/* libFuzzer target: Registry.pol bytes come from SYSVOL and are untrusted.
 * Parses them and, when they parse, merges the file twice into one view (the
 * second pass exercises every directive against existing values) and reads
 * the AutoEnrollment values back; any out-of-bounds read, leak or
 * inconsistent result is a bug. */
#include "adenroll-build.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "preg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define AE "Software\\Policies\\Microsoft\\Cryptography\\AutoEnrollment"
#define PS "Software\\Policies\\Microsoft\\Cryptography\\PolicyServers"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct preg_file f;
	struct preg_view v = { 0 };
	char err[256];
	char **names = NULL;
	size_t n;
	uint32_t d;

	err[0] = '\0';
	if (preg_parse(data, size, &f, err, sizeof(err)) != 0) {
		/* a failure always says why and hands out nothing */
		if (f.records != NULL || f.n_records != 0 || err[0] == '\0' ||
		    memchr(err, '\0', sizeof(err)) == NULL)
			abort();
		return 0;
	}
	preg_view_apply(&v, &f, 0);
	preg_view_apply(&v, &f, 1);
	if (v.n_values > f.n_records)
		abort();
	(void)preg_view_get_dword(&v, AE, "AEPolicy", &d, NULL);
	free(preg_value_string(preg_view_get(&v, AE, "OfflineExpirationStoreNames")));
	n = preg_view_subkeys(&v, PS, &names);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	for (size_t i = 0; i < v.n_values; i++)
		free(preg_value_string(&v.values[i]));
	preg_view_free(&v);
	preg_file_free(&f);
	return 0;
}
