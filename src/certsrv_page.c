/* Classification of /certsrv answers by structure (see certsrv_page.h and
 * docs/web-enrollment.md).  Every scan is bounded by [body, body+len): the
 * body is untrusted and not NUL-terminated. */
#include "certsrv_page.h"

#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hresult.h"

struct span {
	const char *p;
	const char *end;
};

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool is_alpha(char c)
{
	c = lower(c);
	return c >= 'a' && c <= 'z';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_ident(char c)
{
	return is_alpha(c) || is_digit(c) || c == '_';
}

static int hexval(char c)
{
	if (is_digit(c))
		return c - '0';
	c = lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Matches pat at p: letters case-insensitively, a space in pat matches one or
 * more whitespace characters (servers differ in CRLF/LF/tabs/indentation).
 * Returns the position after the match, NULL when it does not match. */
static const char *match_at(const char *p, const char *end, const char *pat)
{
	while (*pat) {
		if (*pat == ' ') {
			if (p >= end || !is_ws(*p))
				return NULL;
			while (p < end && is_ws(*p))
				p++;
			while (*pat == ' ')
				pat++;
			continue;
		}
		if (p >= end || lower(*p) != lower(*pat))
			return NULL;
		p++;
		pat++;
	}
	return p;
}

/* First occurrence of pat in [p, end); *after receives the end of the match.
 * With skip_comments, text inside <!-- --> is ignored: pages (and our
 * samples) carry comments quoting the very markers we look for. */
static const char *find_in(const char *p, const char *end, const char *pat, const char **after,
			   bool skip_comments)
{
	for (; p < end; p++) {
		if (skip_comments && *p == '<') {
			const char *c = match_at(p, end, "<!--");
			if (c) {
				const char *close = find_in(c, end, "-->", &p, false);
				if (!close)
					return NULL;
				p--; /* the loop increment lands right after "-->" */
				continue;
			}
		}
		const char *a = match_at(p, end, pat);
		if (a) {
			if (after)
				*after = a;
			return p;
		}
	}
	return NULL;
}

static const char *find(const char *p, const char *end, const char *pat, const char **after)
{
	return find_in(p, end, pat, after, true);
}

static bool contains(struct span s, const char *pat)
{
	return find(s.p, s.end, pat, NULL) != NULL;
}

/* 1..18 decimal digits at p (ReqIDs are positive 32-bit on real CAs). */
static bool parse_digits(const char *p, const char *end, long *out, const char **after)
{
	long v = 0;
	int n = 0;
	while (p < end && is_digit(*p)) {
		if (++n > 18)
			return false;
		v = v * 10 + (*p - '0');
		p++;
	}
	if (n == 0)
		return false;
	*out = v;
	if (after)
		*after = p;
	return true;
}

/* "0x" and 1..8 hex digits, not glued to a longer word on either side. */
static bool hresult_at(const char *start, const char *q, const char *end, uint32_t *out)
{
	if (end - q < 3 || q[0] != '0' || lower(q[1]) != 'x')
		return false;
	if (q > start && (is_ident(q[-1])))
		return false;
	const char *p = q + 2;
	uint32_t v = 0;
	int n = 0;
	while (p < end && hexval(*p) >= 0) {
		if (++n > 8)
			return false;
		v = (v << 4) | (uint32_t)hexval(*p);
		p++;
	}
	/* a body cut inside the number must not yield a shorter code */
	if (n == 0 || p >= end || is_ident(*p))
		return false;
	*out = v;
	return true;
}

/* Appends the text of [p, end) to out as plain text: tags dropped, the common
 * entities decoded, runs of whitespace collapsed, control bytes dropped. */
static void plain_text(const char *p, const char *end, char *out, size_t outlen)
{
	size_t o = 0;
	bool space = true; /* suppress leading whitespace */
	if (outlen == 0)
		return;
	while (p < end && o + 1 < outlen) {
		char c = *p;
		if (c == '<') {
			while (p < end && *p != '>')
				p++;
			if (p < end)
				p++;
			if (!space) {
				out[o++] = ' ';
				space = true;
			}
			continue;
		}
		if (c == '&') {
			static const struct { const char *name; char ch; } ents[] = {
				{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' }, { "&quot;", '"' },
				{ "&#39;", '\'' }, { "&apos;", '\'' }, { "&nbsp;", ' ' },
			};
			const char *a = NULL;
			for (size_t i = 0; i < sizeof ents / sizeof ents[0]; i++) {
				a = match_at(p, end, ents[i].name);
				if (a) {
					c = ents[i].ch;
					break;
				}
			}
			if (a)
				p = a;
			else
				p++;
		} else {
			p++;
		}
		if (is_ws(c) || c == '\0') {
			if (!space) {
				out[o++] = ' ';
				space = true;
			}
			continue;
		}
		if ((unsigned char)c < 0x20 || c == 0x7f)
			continue;
		out[o++] = c;
		space = false;
	}
	/* never end inside a UTF-8 sequence cut by the buffer size */
	size_t k = o;
	while (k > 0 && ((unsigned char)out[k - 1] & 0xC0) == 0x80)
		k--;
	if (k > 0 && (unsigned char)out[k - 1] >= 0xC0) {
		unsigned char lead = (unsigned char)out[k - 1];
		size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
		if (o - (k - 1) < need)
			o = k - 1;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

/* ------------------------------------------------------------------ charset */

/* Valid UTF-8, except that a sequence cut by the end of the body is allowed. */
static bool utf8_valid(const unsigned char *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned char c = p[i];
		size_t k;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			k = 1;
		else if (c >= 0xE0 && c <= 0xEF)
			k = 2;
		else if (c >= 0xF0 && c <= 0xF4)
			k = 3;
		else
			return false;
		for (size_t j = 1; j <= k; j++) {
			if (i + j >= n)
				return true;
			if ((p[i + j] & 0xC0) != 0x80)
				return false;
		}
		i += k + 1;
	}
	return true;
}

static bool is_sjis_name(const char *v, size_t n)
{
	static const char *const names[] = { "shift_jis", "shift-jis", "sjis", "x-sjis", "ms_kanji",
					     "windows-31j", "cp932", "csshiftjis", "ms932" };
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		size_t l = strlen(names[i]);
		if (n != l)
			continue;
		size_t j = 0;
		while (j < l && lower(v[j]) == names[i][j])
			j++;
		if (j == l)
			return true;
	}
	return false;
}

enum charset { CS_NONE, CS_UTF8, CS_SJIS, CS_OTHER };

/* The charset parameter of a Content-Type (NUL-terminated header value). */
static enum charset header_charset(const char *ct)
{
	if (!ct)
		return CS_NONE;
	const char *end = ct + strlen(ct), *a;
	if (!find_in(ct, end, "charset=", &a, false))
		return CS_NONE;
	if (a < end && (*a == '"' || *a == '\''))
		a++;
	const char *e = a;
	while (e < end && *e != ';' && *e != '"' && *e != '\'' && !is_ws(*e))
		e++;
	if (is_sjis_name(a, (size_t)(e - a)))
		return CS_SJIS;
	if (e - a == 5 && match_at(a, e, "utf-8"))
		return CS_UTF8;
	return e > a ? CS_OTHER : CS_NONE;
}

/* Shift_JIS (as Windows writes it, CP932) to UTF-8 in a new buffer; bytes
 * that do not convert become '?'.  NULL when iconv cannot (then the raw
 * bytes are classified: every structural marker is ASCII in both). */
static char *sjis_to_utf8(const char *body, size_t len, size_t *out_len)
{
	iconv_t cd = iconv_open("UTF-8", "CP932");
	if (cd == (iconv_t)-1)
		cd = iconv_open("UTF-8", "SHIFT_JIS");
	if (cd == (iconv_t)-1)
		return NULL;
	size_t cap = len * 3 + 1; /* a half-width kana byte becomes 3 bytes */
	char *out = malloc(cap);
	if (!out) {
		iconv_close(cd);
		return NULL;
	}
	char *in = (char *)body, *o = out;
	size_t inleft = len, oleft = cap - 1;
	while (inleft > 0) {
		if (iconv(cd, &in, &inleft, &o, &oleft) != (size_t)-1)
			break;
		if (errno == EILSEQ && oleft > 0) {
			*o++ = '?';
			oleft--;
			in++;
			inleft--;
			iconv(cd, NULL, NULL, NULL, NULL);
			continue;
		}
		break; /* EINVAL: cut inside a character at the end; E2BIG cannot happen */
	}
	iconv_close(cd);
	*o = '\0';
	*out_len = (size_t)(o - out);
	return out;
}

/* The body as UTF-8 when it is Shift_JIS (by the header, or because it is
 * not UTF-8 and the header names no other charset); *owned is what to free. */
static struct span normalise(const char *content_type, const char *body, size_t len, char **owned)
{
	struct span b = { body ? body : "", body ? body + len : "" };
	*owned = NULL;
	if (!body || len == 0)
		return b;
	enum charset cs = header_charset(content_type);
	bool sjis = cs == CS_SJIS ||
		    ((cs == CS_NONE || cs == CS_UTF8) && !utf8_valid((const unsigned char *)body, len));
	if (!sjis)
		return b;
	size_t n = 0;
	char *u = sjis_to_utf8(body, len, &n);
	if (!u)
		return b;
	*owned = u;
	b.p = u;
	b.end = u + n;
	return b;
}

/* ------------------------------------------------------------------ certificate bytes */

static bool is_b64(char c)
{
	return is_alpha(c) || is_digit(c) || c == '+' || c == '/' || c == '=';
}

static const char *skip_ws(const char *p, const char *end)
{
	if (end - p >= 3 && (unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB && (unsigned char)p[2] == 0xBF)
		p += 3; /* a UTF-8 byte order mark from a text/plain proxy */
	while (p < end && is_ws(*p))
		p++;
	return p;
}

/* A DER SEQUENCE whose declared length fits the body: its total size. */
static size_t der_size(const unsigned char *p, size_t n)
{
	if (n < 4 || p[0] != 0x30)
		return 0;
	size_t hdr, body;
	if (p[1] == 0x82) {
		hdr = 4;
		body = ((size_t)p[2] << 8) | p[3];
	} else if (p[1] == 0x83 && n >= 5) {
		hdr = 5;
		body = ((size_t)p[2] << 16) | ((size_t)p[3] << 8) | p[4];
	} else {
		return 0;
	}
	/* a certificate: SEQUENCE { tbsCertificate SEQUENCE ... } */
	if (hdr + body > n || body < 2 || p[hdr] != 0x30)
		return 0;
	return hdr + body;
}

static const char *const pem_begin[] = { "-----BEGIN CERTIFICATE-----", "-----BEGIN X509 CERTIFICATE-----" };

enum certsrv_cert_form certsrv_cert_form(const char *body, size_t len)
{
	if (!body || len == 0)
		return CERTSRV_CERT_NONE;
	const char *end = body + len;
	if (der_size((const unsigned char *)body, len))
		return CERTSRV_CERT_DER;
	const char *p = skip_ws(body, end);
	for (size_t i = 0; i < sizeof pem_begin / sizeof pem_begin[0]; i++)
		if (match_at(p, end, pem_begin[i]))
			return CERTSRV_CERT_PEM;
	/* bare base64 of a DER certificate: "MII" is 30 82 / 30 83 */
	if (!match_at(p, end, "MII") || p[0] != 'M' || p[1] != 'I' || p[2] != 'I')
		return CERTSRV_CERT_NONE;
	for (const char *q = p; q < end; q++)
		if (!is_b64(*q) && !is_ws(*q))
			return CERTSRV_CERT_NONE;
	return CERTSRV_CERT_BASE64;
}

static int b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (is_digit(c))
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Base64 of [p, end) up to '=' or '-' (the END line), whitespace skipped. */
static int b64_decode(const char *p, const char *end, unsigned char **der, size_t *der_len)
{
	if (end < p)
		return -1;
	unsigned char *out = malloc((size_t)(end - p) / 4 * 3 + 3);
	if (!out)
		return -1;
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (; p < end && *p != '=' && *p != '-'; p++) {
		if (is_ws(*p))
			continue;
		int v = b64val(*p);
		if (v < 0) {
			free(out);
			return -1;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	*der = out;
	*der_len = o;
	return 0;
}

int certsrv_base64_decode(const char *p, size_t len, unsigned char **out, size_t *out_len)
{
	*out = NULL;
	*out_len = 0;
	return b64_decode(p, p + len, out, out_len);
}

int certsrv_cert_der(const char *body, size_t len, unsigned char **der, size_t *der_len)
{
	*der = NULL;
	*der_len = 0;
	enum certsrv_cert_form f = certsrv_cert_form(body, len);
	const char *end = body + len, *p = skip_ws(body, end), *a = NULL;
	switch (f) {
	case CERTSRV_CERT_NONE:
		return -1;
	case CERTSRV_CERT_DER: {
		size_t n = der_size((const unsigned char *)body, len);
		if (!(*der = malloc(n)))
			return -1;
		memcpy(*der, body, n);
		*der_len = n;
		return 0;
	}
	case CERTSRV_CERT_PEM:
		for (size_t i = 0; i < sizeof pem_begin / sizeof pem_begin[0] && !a; i++)
			a = match_at(p, end, pem_begin[i]);
		p = a;
		break;
	case CERTSRV_CERT_BASE64:
		break;
	}
	if (b64_decode(p, end, der, der_len) < 0)
		return -1;
	size_t n = der_size(*der, *der_len);
	if (n == 0) {
		free(*der);
		*der = NULL;
		*der_len = 0;
		return -1;
	}
	*der_len = n;
	return 0;
}

/* ------------------------------------------------------------------ page structure */

/* An element ID attribute ID=name (quoted or not, any case): position after
 * the name, NULL when absent.  prefix: the name only begins there. */
static const char *find_id(struct span b, const char *name, bool prefix)
{
	const char *p = b.p, *a;
	while (find(p, b.end, "ID=", &a)) {
		const char *start = a - 3;
		p = a;
		if (start > b.p && is_ident(start[-1]))
			continue; /* ReqID= in a link */
		if (a < b.end && (*a == '"' || *a == '\''))
			a++;
		const char *e = match_at(a, b.end, name);
		if (!e)
			continue;
		if (!prefix && e < b.end && is_ident(*e))
			continue;
		return e;
	}
	return NULL;
}

/* The value of a <DT ID=label>...</DT><DD>value</DD> field of the Error page:
 * the label is translated, the ID is not. */
static bool field_by_id(struct span b, const char *id, struct span *val)
{
	const char *a = find_id(b, id, false), *dd;
	if (!a || !find(a, b.end, "<DD", &dd))
		return false;
	const char *dt = find(a, b.end, "<DT", NULL);
	if (dt && dt < dd)
		return false;
	while (dd < b.end && *dd != '>')
		dd++;
	if (dd < b.end)
		dd++;
	const char *e = dd;
	while (e < b.end && !match_at(e, b.end, "</DD") && !match_at(e, b.end, "<DT") && !match_at(e, b.end, "</DL"))
		e++;
	val->p = dd;
	val->end = e;
	return true;
}

/* A `<label>` field found by its English label: the label is followed by
 * closing tags and whitespace, then the value up to the end of its line or
 * the next tag.  For pages without IDs. */
static bool field_by_label(struct span b, const char *label, struct span *val)
{
	const char *a;
	if (!find(b.p, b.end, label, &a))
		return false;
	const char *p = a;
	for (;;) {
		while (p < b.end && is_ws(*p))
			p++;
		if (p < b.end && *p == '<') {
			while (p < b.end && *p != '>')
				p++;
			if (p < b.end)
				p++;
			continue;
		}
		break;
	}
	const char *e = p;
	while (e < b.end && *e != '\r' && *e != '\n' && *e != '<')
		e++;
	val->p = p;
	val->end = e;
	return true;
}

static bool field(struct span b, const char *id, const char *label, struct span *val)
{
	return field_by_id(b, id, val) || field_by_label(b, label, val);
}

/* Skips a comment, a script or a tag starting at p; returns where the text
 * goes on, or p when p starts none of them. */
static const char *skip_markup(const char *p, const char *end)
{
	if (*p != '<')
		return p;
	const char *a;
	if ((a = match_at(p, end, "<!--"))) {
		if (!find_in(a, end, "-->", &a, false))
			return end;
		return a;
	}
	if ((a = match_at(p, end, "<script")) && (a >= end || !is_ident(*a))) {
		if (!find_in(a, end, "</script", &a, false))
			return end;
		p = a;
	} else if (p + 1 < end && !(is_alpha(p[1]) || p[1] == '/' || p[1] == '!' || p[1] == '?')) {
		return p; /* a lone '<' in text */
	}
	while (p < end && *p != '>')
		p++;
	return p < end ? p + 1 : end;
}

/* Every HRESULT in the page text (not in comments, scripts or tags), sorted
 * by hresult_classify: the first of each class and where it stands. */
struct hresult_seen {
	bool seen;
	uint32_t hr;
	const char *at;
};
struct hresults {
	struct hresult_seen by_class[3]; /* indexed by enum hresult_class */
	bool has_property_empty;
};

static void scan_hresults(struct span b, struct hresults *h)
{
	memset(h, 0, sizeof *h);
	const char *p = b.p;
	while (p < b.end) {
		const char *q = skip_markup(p, b.end);
		if (q != p) {
			p = q;
			continue;
		}
		uint32_t v;
		if (*p == '0' && hresult_at(b.p, p, b.end, &v)) {
			if (v == HRESULT_PROPERTY_EMPTY)
				h->has_property_empty = true;
			struct hresult_seen *c = &h->by_class[hresult_classify(v)];
			if (!c->seen) {
				c->seen = true;
				c->hr = v;
				c->at = p;
			}
			p += 3;
			continue;
		}
		p++;
	}
}

/* The run of text around at (between the tags before and after it), as
 * plain text; when at stands between ASCII double quotes, only the quoted
 * part (`... message is "Denied by Policy Module  0x80094012, ..."`). */
static void text_around(struct span b, const char *at, char *out, size_t outlen)
{
	const char *s = at, *e = at;
	while (s > b.p && s[-1] != '>' && at - s < 1024)
		s--;
	while (e < b.end && *e != '<' && e - at < 1024)
		e++;
	const char *q1 = NULL, *q2 = NULL;
	for (const char *p = at; p > s; p--)
		if (p[-1] == '"') {
			q1 = p;
			break;
		}
	for (const char *p = at; p < e; p++)
		if (*p == '"') {
			q2 = p;
			break;
		}
	if (q1 && q2) {
		s = q1;
		e = q2;
	}
	plain_text(s, e, out, outlen);
}

/* The first quoted text of the page outside markup, in ASCII quotes,
 * guillemets, corner brackets or typographic double quotes: the disposition
 * message of a certfnsh.asp page in any language. */
static bool quoted_message(struct span b, char *out, size_t outlen)
{
	static const struct { const char *open, *close; } quotes[] = {
		{ "\"", "\"" }, { "\xC2\xAB", "\xC2\xBB" }, { "\xE3\x80\x8C", "\xE3\x80\x8D" },
		{ "\xE2\x80\x9C", "\xE2\x80\x9D" },
	};
	const char *p = b.p;
	while (p < b.end) {
		const char *q = skip_markup(p, b.end);
		if (q != p) {
			p = q;
			continue;
		}
		for (size_t i = 0; i < sizeof quotes / sizeof quotes[0]; i++) {
			const char *a = match_at(p, b.end, quotes[i].open), *e;
			if (!a)
				continue;
			for (e = a; e < b.end && *e != '<' && !match_at(e, b.end, quotes[i].close); e++)
				;
			if (e < b.end && *e != '<' && e > a) {
				plain_text(a, e, out, outlen);
				if (out[0])
					return true;
			}
		}
		p++;
	}
	return false;
}

/* certnew.cer?ReqID=<digits> followed by & or &amp; anywhere in the page (the
 * links and the location= script lines): the CACert install link that may
 * come first is skipped. */
static bool find_issued_reqid(struct span b, long *id)
{
	const char *p = b.p, *a;
	/* Not comment-blind: old pages wrap their scripts in <!-- -->. */
	while (find_in(p, b.end, "certnew.cer?ReqID=", &a, false)) {
		long v;
		const char *d;
		if (parse_digits(a, b.end, &v, &d) && d < b.end && *d == '&') {
			*id = v;
			return true;
		}
		p = a;
	}
	return false;
}

/* The first digit run in [p, end) that is complete (something follows it)
 * and no HRESULT. */
static bool first_number(const char *p, const char *end, long *id)
{
	for (; p < end && *p != '<'; p++) {
		if (!is_digit(*p))
			continue;
		const char *d;
		if (p + 1 < end && lower(p[1]) == 'x')
			return false;
		return parse_digits(p, end, id, &d) && d < end && !is_ident(*d);
	}
	return false;
}

/* The request id of a certfnsh.asp page: the locReqID element, the English
 * "Request Id is N", or, in any language, the digits after the ASCII "ID" of
 * a sentence ("Anforderungs-ID ist 42", "ID de demande est 42", Japanese "ID ha 42"). */
static bool find_request_id(struct span b, long *id)
{
	const char *a = find_id(b, "locReqID", false);
	if (a) {
		while (a < b.end && *a != '>')
			a++;
		if (a < b.end && first_number(a + 1, b.end, id))
			return true;
	}
	const char *p = b.p;
	while (find(p, b.end, "Request Id is", &a)) {
		if (first_number(a, b.end, id))
			return true;
		p = a;
	}
	p = b.p;
	while (p < b.end) {
		const char *q = skip_markup(p, b.end);
		if (q != p) {
			p = q;
			continue;
		}
		if (p[0] == 'I' && p + 1 < b.end && lower(p[1]) == 'd' && (p == b.p || !is_alpha(p[-1])) &&
		    (p + 2 >= b.end || !is_alpha(p[2]))) {
			/* the digits of the same sentence: no tag, at most 64 bytes on */
			const char *e = p + 2;
			while (e < b.end && e - p < 66 && *e != '<' && !is_digit(*e) && *e != '.')
				e++;
			if (e < b.end && is_digit(*e) && first_number(e, b.end, id))
				return true;
		}
		p++;
	}
	return false;
}

static void excerpt(struct span b, char *out, size_t outlen)
{
	if (b.p == b.end) {
		snprintf(out, outlen, "empty body");
		return;
	}
	/* The title tells an admin most about an unexpected page. */
	const char *a, *e;
	if (find(b.p, b.end, "<title>", &a) && (e = find(a, b.end, "</title>", NULL)) != NULL) {
		plain_text(a, e, out, outlen);
		if (out[0])
			return;
	}
	const char *end = b.end - b.p > 200 ? b.p + 200 : b.end;
	plain_text(b.p, end, out, outlen);
}

static bool content_type_is(const char *ct, const char *want)
{
	if (!ct)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	size_t n = strlen(want);
	for (size_t i = 0; i < n; i++)
		if (lower(ct[i]) != lower(want[i]))
			return false; /* ct[i] == '\0' also ends here */
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t';
}

static void init_result(struct certsrv_result *out, long http_status)
{
	memset(out, 0, sizeof *out);
	out->disposition = CERTSRV_ERROR;
	out->request_id = -1;
	out->http_status = http_status;
}

/* HTTP status and certificate bytes.  True when out is decided. */
static bool classify_transport(long http_status, const char *content_type, struct span raw,
			       struct certsrv_result *out)
{
	if (http_status == 401) {
		out->disposition = CERTSRV_UNAUTHORIZED;
		snprintf(out->message, sizeof out->message,
			 "HTTP 401: the CA web server did not accept our Kerberos credentials");
		return true;
	}
	if (http_status != 200) {
		out->disposition = CERTSRV_ERROR;
		snprintf(out->message, sizeof out->message, "HTTP status %ld", http_status);
		return true;
	}
	if (certsrv_cert_form(raw.p, (size_t)(raw.end - raw.p)) != CERTSRV_CERT_NONE) {
		out->disposition = CERTSRV_ISSUED;
		out->body_is_cert = true;
		return true;
	}
	if (content_type_is(content_type, "application/pkix-cert") ||
	    content_type_is(content_type, "application/x-x509-user-cert") ||
	    content_type_is(content_type, "application/x-x509-ca-cert")) {
		out->disposition = CERTSRV_ERROR;
		snprintf(out->message, sizeof out->message,
			 "the answer is labelled %.100s but is no certificate (%zu bytes)", content_type,
			 (size_t)(raw.end - raw.p));
		return true;
	}
	return false;
}

enum page_kind { PAGE_SUBMIT, PAGE_RETRIEVE };

static void classify(enum page_kind kind, struct span b, struct certsrv_result *out)
{
	const char *what = kind == PAGE_SUBMIT ? "certfnsh.asp" : "certnew.cer";
	long id = -1;

	if (kind == PAGE_SUBMIT && find_issued_reqid(b, &id)) {
		out->disposition = CERTSRV_ISSUED;
		out->request_id = id;
		return;
	}
	if (kind == PAGE_SUBMIT && find_request_id(b, &id))
		out->request_id = id;

	struct hresults h;
	scan_hresults(b, &h);

	/* The CA's own message: the Error page's disposition message field, or
	 * the quoted message of a certfnsh.asp page. */
	struct span f;
	const char *a;
	if (field(b, "locDispMsgLabel", "Disposition message:", &f))
		plain_text(f.p, f.end, out->message, sizeof out->message);
	if (!out->message[0] && find(b.p, b.end, "disposition message is \"", &a)) {
		const char *e = a;
		while (e < b.end && *e != '"' && *e != '<')
			e++;
		plain_text(a, e, out->message, sizeof out->message);
	}
	if (!out->message[0] && kind == PAGE_SUBMIT)
		quoted_message(b, out->message, sizeof out->message);

	long disp = -1;
	if (field(b, "locDispLabel", "Disposition:", &f)) {
		const char *p = f.p;
		while (p < f.end && is_ws(*p))
			p++;
		const char *d;
		if (!parse_digits(p, f.end, &disp, &d) || d >= b.end || is_digit(*d))
			disp = -1;
	}

	if (kind == PAGE_RETRIEVE && h.has_property_empty) {
		out->disposition = CERTSRV_UNKNOWN_REQUEST;
		out->has_hresult = true;
		out->hresult = HRESULT_PROPERTY_EMPTY;
		if (!out->message[0])
			snprintf(out->message, sizeof out->message,
				 "The requested property value is empty (the CA has no such request)");
		return;
	}
	const struct hresult_seen *transient = &h.by_class[HRESULT_TRANSIENT];
	const struct hresult_seen *verdict = &h.by_class[HRESULT_VERDICT];
	const struct hresult_seen *success = &h.by_class[HRESULT_SUCCESS];
	if (transient->seen) {
		/* The CA could not be asked: whatever else the page says, it is no
		 * verdict on this request. */
		out->disposition = CERTSRV_UNAVAILABLE;
		out->has_hresult = true;
		out->hresult = transient->hr;
		char t[400];
		text_around(b, transient->at, t, sizeof t);
		snprintf(out->message, sizeof out->message, "the CA is not answering: %s", t);
		return;
	}
	if (verdict->seen) {
		out->disposition = CERTSRV_DENIED;
		out->has_hresult = true;
		out->hresult = verdict->hr;
		if (!out->message[0])
			text_around(b, verdict->at, out->message, sizeof out->message);
		return;
	}
	if (success->seen) {
		out->has_hresult = true;
		out->hresult = success->hr;
	}
	if (disp == 2 || find_id(b, "locDenied", true)) {
		out->disposition = CERTSRV_DENIED;
		if (!out->message[0])
			snprintf(out->message, sizeof out->message, "the CA denied the request");
		return;
	}
	bool pending_id = disp == 5 || find_id(b, "locInfoNewReq", false) ||
			  find_id(b, "locInfoStillPending", false) || find_id(b, "locPending", true);
	/* English prose may only decide towards keeping a request. */
	bool pending_prose = contains(b, "Taken Under Submission") || contains(b, "Certificate Pending") ||
			     contains(b, "wait for an administrator");
	if (pending_id || pending_prose || (kind == PAGE_SUBMIT && out->request_id >= 0)) {
		out->disposition = CERTSRV_PENDING;
		if (!out->message[0])
			snprintf(out->message, sizeof out->message,
				 "taken under submission: a CA manager must approve the request");
		return;
	}
	if (contains(b, "has not been started") || contains(b, "RPC server is unavailable")) {
		out->disposition = CERTSRV_UNAVAILABLE;
		if (!out->message[0])
			excerpt(b, out->message, sizeof out->message);
		return;
	}
	out->disposition = CERTSRV_ERROR;
	if (!out->message[0]) {
		char ex[200];
		excerpt(b, ex, sizeof ex);
		snprintf(out->message, sizeof out->message, "unrecognised answer from %s%s%s", what,
			 ex[0] ? ": " : "", ex);
	}
}

static int parse(enum page_kind kind, long http_status, const char *content_type, const char *body, size_t len,
		 struct certsrv_result *out)
{
	if (!out)
		return -1;
	init_result(out, http_status);
	struct span raw = { body ? body : "", body ? body + len : "" };
	if (classify_transport(http_status, content_type, raw, out))
		return 0;
	char *owned;
	struct span b = normalise(content_type, body, len, &owned);
	classify(kind, b, out);
	free(owned);
	return 0;
}

int certsrv_parse_submit(long http_status, const char *content_type, const char *body, size_t len,
			 struct certsrv_result *out)
{
	return parse(PAGE_SUBMIT, http_status, content_type, body, len, out);
}

int certsrv_parse_retrieve(long http_status, const char *content_type, const char *body, size_t len,
			   struct certsrv_result *out)
{
	return parse(PAGE_RETRIEVE, http_status, content_type, body, len, out);
}

bool certsrv_disposition_is_transient(enum certsrv_disposition d)
{
	return d == CERTSRV_ERROR || d == CERTSRV_UNAVAILABLE || d == CERTSRV_UNAUTHORIZED;
}

const char *certsrv_disposition_name(enum certsrv_disposition d)
{
	switch (d) {
	case CERTSRV_ISSUED: return "issued";
	case CERTSRV_PENDING: return "pending";
	case CERTSRV_DENIED: return "denied";
	case CERTSRV_ERROR: return "error";
	case CERTSRV_UNAUTHORIZED: return "unauthorized";
	case CERTSRV_UNKNOWN_REQUEST: return "unknown request";
	case CERTSRV_UNAVAILABLE: return "CA not answering";
	}
	return "?";
}
