/* Registry.pol files (MS-GPREG 2.2.1 "Registry Policy File Format") and the
 * policy registry view they build when merged in precedence order.  Pure: no
 * I/O.  Input comes from SYSVOL and is untrusted: every read is bounded. */
#ifndef ADENROLL_PREG_H
#define ADENROLL_PREG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Registry value types (MS-RRP 2.2.5) that policy values use. */
#define PREG_REG_SZ 1u
#define PREG_REG_EXPAND_SZ 2u
#define PREG_REG_BINARY 3u
#define PREG_REG_DWORD 4u
#define PREG_REG_MULTI_SZ 7u
#define PREG_REG_QWORD 11u

/* Limits: a Registry.pol of policy values is kilobytes; these only keep a
 * hostile file from costing more than a few megabytes. */
#define PREG_MAX_FILE (4u * 1024u * 1024u)
#define PREG_MAX_NAME 1024u      /* UTF-16 code units in a key or value name */

/* One record: [key;value;type;size;data] with names converted to UTF-8. */
struct preg_record {
	char *key;
	char *value;          /* "" for the key's default value; "**del.X" etc. are directives */
	uint32_t type;
	uint8_t *data;        /* size bytes, as stored (REG_SZ: UTF-16LE) */
	uint32_t size;
};

struct preg_file {
	struct preg_record *records;
	size_t n_records;
};

/* Parses a whole Registry.pol.  An empty buffer is not a file (a missing file
 * is the caller's "no settings").  -1 with "offset N: what is wrong" in err. */
int preg_parse(const uint8_t *buf, size_t len, struct preg_file *out, char *err, size_t errlen);
void preg_file_free(struct preg_file *f);

/* The merged view: what a client's policy registry holds after applying
 * several Registry.pol files, lowest precedence first. */
struct preg_value {
	char *key;
	char *value;
	uint32_t type;
	uint8_t *data;
	uint32_t size;
	int source;           /* the caller's index of the file that set it */
};

struct preg_view {
	struct preg_value *values;
	size_t n_values;
};

/* Applies f on top of v (MS-GPREG 2.2.1.1/2.2.1.2): a plain record sets the
 * value; "**del.X" deletes value X; "**delvals." deletes every value of the
 * key; "**DeleteValues" (REG_SZ "a;b") and "**DeleteKeys" (REG_SZ "k1;k2",
 * subkeys included) delete lists; "**soft.X" sets X only when it is not set;
 * "**SecureKey" (key ACLs) changes no value.  Other "**" names are ignored.
 * Key and value names compare case-insensitively, as the registry does. */
void preg_view_apply(struct preg_view *v, const struct preg_file *f, int source);
void preg_view_free(struct preg_view *v);

const struct preg_value *preg_view_get(const struct preg_view *v, const char *key, const char *value);
/* A REG_DWORD (4 bytes) value: 0 and *out set, -1 when absent or of another type. */
int preg_view_get_dword(const struct preg_view *v, const char *key, const char *value,
			uint32_t *out, int *source);
/* A REG_SZ/REG_EXPAND_SZ value as UTF-8 (owned), NULL when absent, of another
 * type or not valid UTF-16. */
char *preg_value_string(const struct preg_value *pv);
/* Names of the subkeys directly under key that hold at least one value
 * (the PolicyServers\<id> lists), in first-set order; caller frees each and the array. */
size_t preg_view_subkeys(const struct preg_view *v, const char *key, char ***out);

#endif
