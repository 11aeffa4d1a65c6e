/* The held-certificate index: what a store back-end learned by parsing each
 * live certificate (serial, fingerprint, issuer, dates, template extensions)
 * and its meta record, kept in one file under state_dir so that a run that
 * changes nothing does not parse every certificate again (docs/stores.md,
 * "The held-certificate index").
 *
 * The index is a cache, never a source of truth: an entry is used only
 * while the identity of the files it came from (device, inode, size, mtime
 * and ctime with nanoseconds) is unchanged, so a changed, replaced or
 * removed file is read again; an index that is missing, unreadable, not
 * ours (owner, mode), of another version or store, or malformed in any line
 * is ignored whole and rebuilt from the files.  It is written atomically
 * (fs_write_atomic) by runs that hold the run lock (store_tidy), never by
 * read-only commands. */
#ifndef ADENROLL_STORE_INDEX_H
#define ADENROLL_STORE_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "store.h"
#include "strmap.h"

/* Who a file is, as stat(2) says (through symlinks: the file a read gets):
 * any rewrite, replacement or chmod changes it. */
struct file_id {
	bool present;
	unsigned long long dev, ino;
	long long size, mtime_s, mtime_ns, ctime_s, ctime_ns;
};

/* 0 with *out filled (present false when path does not exist), -1 for
 * any other error (errno set). */
int file_id_of(const char *path, struct file_id *out);
bool file_id_eq(const struct file_id *a, const struct file_id *b);
/* "dev:ino:size:mtime_s.mtime_ns:ctime_s.ctime_ns", "-" when absent: how
 * the caches write an identity (equal texts, equal identities). */
#define FILE_ID_TEXT_MAX 160
void file_id_text(const struct file_id *id, char *buf, size_t len);
/* The bytes of path (NUL-terminated, *len without it; caller frees) when
 * it is a regular file of this user that group and others cannot write,
 * not a symlink, at most max bytes: caches that decisions trust.  NULL
 * otherwise (logged at debug level naming it what). */
unsigned char *file_read_own(const char *path, size_t max, size_t *len, const char *what);

struct store_index_entry {
	char *key;                    /* back-end's name for the pair: "<name>/<generation>" for PEM */
	struct file_id cert_id, meta_id;
	/* The facts (store_item_set_facts, template and meta fields); cert,
	 * paths and generation are not kept. */
	struct store_item facts;
};

struct store_index {
	struct store_index_entry *v;
	size_t n, cap;
	struct strmap by_key;
};

void store_index_init(struct store_index *ix);
/* Reads path for the store named scope (e.g. the pem_dir).  Never fails: any
 * problem leaves ix empty (logged at debug level: it is only a cache). */
void store_index_load(const char *path, const char *scope, struct store_index *ix);
const struct store_index_entry *store_index_get(const struct store_index *ix, const char *key);
/* Copies the facts of it under key; false (nothing added) when a text field
 * could not be written on one line (control characters): that pair is then
 * parsed on every run, as without an index. */
bool store_index_put(struct store_index *ix, const char *key, const struct file_id *cert_id,
		     const struct file_id *meta_id, const struct store_item *it);
/* Copies an entry's facts into it (strings duplicated). */
void store_index_entry_facts(const struct store_index_entry *e, struct store_item *it);
/* The parser and writer under those two (fuzz/fuzz_store_index.c): buf
 * (len bytes, modified) into ix, 0, or -1 (another version or scope) or the
 * 1-based number of the first bad line, with ix empty; the text of ix
 * (caller frees; NULL when scope holds control characters). */
int store_index_parse(char *buf, size_t len, const char *scope, struct store_index *ix);
char *store_index_text(const char *scope, const struct store_index *ix, size_t *len);
/* Writes ix for scope atomically (mode 0644, the caller's owner), creating
 * the parent directory (0755) if needed.  0 or -1 logged. */
int store_index_save(const char *path, const char *scope, const struct store_index *ix);
void store_index_free(struct store_index *ix);

#endif
