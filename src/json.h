/* A minimal streaming JSON writer for --json output (RFC 8259 strings). */
#ifndef ADENROLL_JSON_H
#define ADENROLL_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json_writer {
	FILE *f;
	unsigned depth;
	bool has_items[JSON_MAX_DEPTH]; /* a comma is due before the next item */
};

void json_init(struct json_writer *w, FILE *f);
/* key is the member name inside an object, NULL inside an array or at top level. */
void json_begin_object(struct json_writer *w, const char *key);
void json_end_object(struct json_writer *w);
void json_begin_array(struct json_writer *w, const char *key);
void json_end_array(struct json_writer *w);
void json_string(struct json_writer *w, const char *key, const char *val); /* NULL => null */
void json_int(struct json_writer *w, const char *key, int64_t val);
void json_uint(struct json_writer *w, const char *key, uint64_t val);
void json_bool(struct json_writer *w, const char *key, bool val);
void json_null(struct json_writer *w, const char *key);
/* Ends the document with a newline. */
void json_finish(struct json_writer *w);
/* Whether this process finished a document on stdout: main() prints an
 * error object for --json only when the command printed nothing. */
bool json_stdout_written(void);
/* The --json error document: {"error": {"code", "message", "exit_status"}}.
 * code is a stable word (adenroll(8), JSON OUTPUT); message may be NULL. */
void json_print_error(FILE *f, const char *code, const char *message, int exit_status);

/* Writes s as a quoted JSON string (UTF-8 passed through; control
 * characters, quote and backslash escaped; invalid UTF-8 bytes as U+FFFD). */
void json_write_escaped(FILE *f, const char *s);

#endif
