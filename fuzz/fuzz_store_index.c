/* libFuzzer target: the held-certificate index (state_dir/pem-index) is read
 * back from disk, where a bad disk or an editor may have changed it.  Parses
 * the bytes; a failure must leave the index empty; what parses must write
 * back to text that parses to the same text again (nothing lost or
 * invented).  Any out-of-bounds read, leak or difference is a bug. */
#include "adenroll-build.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store_index.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SCOPE "/var/lib/adenroll/certs"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct store_index ix, again;
	char *buf = xmalloc(size + 1), *text, *text2;
	size_t len = 0, len2 = 0;

	memcpy(buf, data, size);
	buf[size] = '\0';
	if (store_index_parse(buf, size, SCOPE, &ix) != 0) {
		if (ix.n != 0 || ix.v != NULL)
			abort();
		free(buf);
		return 0;
	}
	for (size_t i = 0; i < ix.n; i++)
		if (store_index_get(&ix, ix.v[i].key) != &ix.v[i] || !ix.v[i].facts.has_facts)
			abort();
	text = store_index_text(SCOPE, &ix, &len);
	if (text == NULL || store_index_parse(text, len, SCOPE, &again) != 0 || again.n != ix.n)
		abort();
	free(text);
	text = store_index_text(SCOPE, &ix, &len);
	text2 = store_index_text(SCOPE, &again, &len2);
	if (text2 == NULL || len != len2 || memcmp(text, text2, len) != 0)
		abort();
	free(text);
	free(text2);
	store_index_free(&again);
	store_index_free(&ix);
	free(buf);
	return 0;
}
