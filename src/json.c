/* A minimal streaming JSON writer (RFC 8259). */
#include "adenroll-build.h"

#include <inttypes.h>
#include <string.h>

#include "json.h"
#include "safetext.h"

/* Length of the valid UTF-8 sequence at s (RFC 3629), 0 when invalid. */
static size_t utf8_len(const unsigned char *s)
{
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (s[0] >= 0xe0 && s[0] <= 0xef) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f))
			return 0; /* overlong, surrogates */
		return 3;
	}
	if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		if ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
			return 0;
		return 4;
	}
	return 0;
}

void json_write_escaped(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	fputc('"', f);
	while (*p) {
		switch (*p) {
		case '"': fputs("\\\"", f); p++; continue;
		case '\\': fputs("\\\\", f); p++; continue;
		case '\n': fputs("\\n", f); p++; continue;
		case '\r': fputs("\\r", f); p++; continue;
		case '\t': fputs("\\t", f); p++; continue;
		case '\b': fputs("\\b", f); p++; continue;
		case '\f': fputs("\\f", f); p++; continue;
		default: break;
		}
		if (*p < 0x20 || *p == 0x7f) {
			fprintf(f, "\\u%04x", *p);
			p++;
			continue;
		}
		size_t n = utf8_len(p);
		if (n == 0) {
			fputs("\\ufffd", f);
			p++;
			continue;
		}
		/* C1 controls, line separators and bidirectional controls are
		 * valid JSON but drive terminals: \u escapes (safetext.h). */
		if (n > 1 && safetext_check(p, n, NULL, 0) != 0) {
			unsigned cp = n == 2 ? ((unsigned)(p[0] & 0x1f) << 6) | (p[1] & 0x3f)
					     : ((unsigned)(p[0] & 0x0f) << 12) | ((unsigned)(p[1] & 0x3f) << 6) |
						       (p[2] & 0x3f);
			fprintf(f, "\\u%04x", cp);
			p += n;
			continue;
		}
		fwrite(p, 1, n, f);
		p += n;
	}
	fputc('"', f);
}

void json_init(struct json_writer *w, FILE *f)
{
	memset(w, 0, sizeof(*w));
	w->f = f;
}

static void item(struct json_writer *w, const char *key)
{
	if (w->has_items[w->depth])
		fputc(',', w->f);
	w->has_items[w->depth] = true;
	if (key) {
		json_write_escaped(w->f, key);
		fputc(':', w->f);
	}
}

static void open_container(struct json_writer *w, const char *key, char c)
{
	item(w, key);
	fputc(c, w->f);
	if (w->depth + 1 < JSON_MAX_DEPTH)
		w->depth++;
	w->has_items[w->depth] = false;
}

static void close_container(struct json_writer *w, char c)
{
	fputc(c, w->f);
	if (w->depth > 0)
		w->depth--;
}

void json_begin_object(struct json_writer *w, const char *key) { open_container(w, key, '{'); }
void json_end_object(struct json_writer *w) { close_container(w, '}'); }
void json_begin_array(struct json_writer *w, const char *key) { open_container(w, key, '['); }
void json_end_array(struct json_writer *w) { close_container(w, ']'); }

void json_string(struct json_writer *w, const char *key, const char *val)
{
	item(w, key);
	if (val)
		json_write_escaped(w->f, val);
	else
		fputs("null", w->f);
}

void json_int(struct json_writer *w, const char *key, int64_t val)
{
	item(w, key);
	fprintf(w->f, "%" PRId64, val);
}

void json_uint(struct json_writer *w, const char *key, uint64_t val)
{
	item(w, key);
	fprintf(w->f, "%" PRIu64, val);
}

void json_bool(struct json_writer *w, const char *key, bool val)
{
	item(w, key);
	fputs(val ? "true" : "false", w->f);
}

void json_null(struct json_writer *w, const char *key)
{
	item(w, key);
	fputs("null", w->f);
}

static bool stdout_written;

void json_finish(struct json_writer *w)
{
	fputc('\n', w->f);
	fflush(w->f);
	if (w->f == stdout)
		stdout_written = true;
}

bool json_stdout_written(void)
{
	return stdout_written;
}

void json_print_error(FILE *f, const char *code, const char *message, int exit_status)
{
	struct json_writer w;

	json_init(&w, f);
	json_begin_object(&w, NULL);
	json_begin_object(&w, "error");
	json_string(&w, "code", code);
	json_string(&w, "message", message && *message ? message : "failed; see the messages on stderr");
	json_int(&w, "exit_status", exit_status);
	json_end_object(&w);
	json_end_object(&w);
	json_finish(&w);
}
