/* Text from the directory, a CA or a certificate that reaches a terminal, a
 * log line, a file name or a request: the check that refuses it at the door
 * (template names and OIDs) and the escaping that makes any such string
 * harmless to print.  Pure: no I/O.
 *
 * Unsafe: bytes that are not UTF-8 (overlong forms and surrogates included),
 * NUL and the other C0 controls (CR, LF, ESC ...), DEL, the C1 controls
 * U+0080..U+009F (CSI and OSC in some terminals), the line and paragraph
 * separators U+2028/U+2029 and the bidirectional overrides and isolates
 * (U+061C, U+200E, U+200F, U+202A..U+202E, U+2066..U+2069) that reorder what
 * a reader sees. */
#ifndef ADENROLL_SAFETEXT_H
#define ADENROLL_SAFETEXT_H

#include <stdbool.h>
#include <stddef.h>

/* 0 when the len bytes at s are all safe; -1 otherwise, with why saying
 * what and where ("control character U+000D (CR) at byte 5"). */
int safetext_check(const void *s, size_t len, char *why, size_t whylen);
bool safetext_is_clean(const char *s);

/* Copies the len bytes at s into out with every unsafe byte written as
 * \xHH and every unsafe character as \u{HHHH}; out is always terminated
 * and ends in "..." when it was too small.  Returns out. */
char *safetext_escape(const void *s, size_t len, char *out, size_t outlen);
/* The escaped copy of s, allocated (caller frees); NULL for NULL. */
char *safetext_dup(const char *s);

/* For printf arguments of text output: the escaped copy of s in one of
 * SAFETEXT_SLOTS static buffers used in turn (valid until that many later
 * calls; at most SAFETEXT_SLOT_SIZE - 1 bytes, then "...").  NULL for NULL.
 * Not thread-safe; adenroll is single-threaded. */
#define SAFETEXT_SLOTS 16
#define SAFETEXT_SLOT_SIZE 1024
const char *safetext(const char *s);

/* Escapes the NUL-terminated text in buf (of capacity cap) in place,
 * cutting it with "..." when the escapes do not fit: for a message that was
 * formatted from untrusted pieces, just before it is written out. */
void safetext_sanitize(char *buf, size_t cap);

#endif
