/* X509 helpers: the AD CS template extensions (docs/protocol.md 2.7), key match,
 * chain verification against the directory's CAs, parsing. */
#include "cert.h"
#include "openssl_loader.h"
#include "sha256.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OID_CERTIFICATE_TEMPLATE "1.3.6.1.4.1.311.21.7"
#define OID_ENROLL_CERTTYPE "1.3.6.1.4.1.311.20.2"

/* One DER TLV with a single-byte tag inside [p, end). */
struct tlv {
	unsigned char tag;
	const unsigned char *val;
	size_t len;
	const unsigned char *next;
};

static int read_tlv(const unsigned char *p, const unsigned char *end, struct tlv *t)
{
	if (end - p < 2)
		return -1;
	t->tag = p[0];
	if ((t->tag & 0x1f) == 0x1f)
		return -1; /* multi-byte tags do not occur in these extensions */
	size_t len = p[1];
	p += 2;
	if (len & 0x80) {
		size_t n = len & 0x7f;
		if (n == 0 || n > 4 || (size_t)(end - p) < n)
			return -1;
		len = 0;
		for (size_t i = 0; i < n; i++)
			len = (len << 8) | p[i];
		p += n;
	}
	if ((size_t)(end - p) < len)
		return -1;
	t->val = p;
	t->len = len;
	t->next = p + len;
	return 0;
}

/* DER INTEGER within 0..4294967295. */
static int der_u32(const struct tlv *t, uint32_t *out)
{
	const unsigned char *p = t->val;
	size_t n = t->len;
	if (n == 0 || (p[0] & 0x80))
		return -1;
	while (n > 1 && p[0] == 0) {
		p++;
		n--;
	}
	if (n > 4)
		return -1;
	uint32_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = (v << 8) | p[i];
	*out = v;
	return 0;
}

/* UTF-16BE (BMPString) to UTF-8; surrogate pairs combined, lone ones refused. */
static char *bmp_to_utf8(const unsigned char *p, size_t len)
{
	if (len % 2)
		return NULL;
	char *out = xmalloc(len / 2 * 4 + 1), *o = out;
	for (size_t i = 0; i < len; i += 2) {
		uint32_t c = (uint32_t)p[i] << 8 | p[i + 1];
		if (c >= 0xD800 && c <= 0xDBFF) {
			if (i + 3 >= len)
				goto bad;
			uint32_t lo = (uint32_t)p[i + 2] << 8 | p[i + 3];
			if (lo < 0xDC00 || lo > 0xDFFF)
				goto bad;
			c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
			i += 2;
		} else if (c >= 0xDC00 && c <= 0xDFFF) {
			goto bad;
		}
		if (c == 0)
			goto bad;
		if (c < 0x80) {
			*o++ = (char)c;
		} else if (c < 0x800) {
			*o++ = (char)(0xC0 | (c >> 6));
			*o++ = (char)(0x80 | (c & 0x3F));
		} else if (c < 0x10000) {
			*o++ = (char)(0xE0 | (c >> 12));
			*o++ = (char)(0x80 | ((c >> 6) & 0x3F));
			*o++ = (char)(0x80 | (c & 0x3F));
		} else {
			*o++ = (char)(0xF0 | (c >> 18));
			*o++ = (char)(0x80 | ((c >> 12) & 0x3F));
			*o++ = (char)(0x80 | ((c >> 6) & 0x3F));
			*o++ = (char)(0x80 | (c & 0x3F));
		}
	}
	*o = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

/* 20.2 value: bare BMPString as real certificates carry it, UTF8String, or
 * the SEQUENCE { Name } that [WCCE] 2.2.2.7.7.1 writes (docs/protocol.md 2.7). */
static char *parse_template_name(const unsigned char *p, size_t len, int depth)
{
	struct tlv t;
	if (read_tlv(p, p + len, &t) < 0 || t.next != p + len)
		return NULL;
	switch (t.tag) {
	case 0x1E: /* BMPString; an empty name names no template (fuzz_template_ext) */
		return t.len ? bmp_to_utf8(t.val, t.len) : NULL;
	case 0x0C: /* UTF8String */
	case 0x13: /* PrintableString */
	case 0x16: /* IA5String */
		if (t.len == 0 || memchr(t.val, '\0', t.len))
			return NULL;
		return xstrndup((const char *)t.val, t.len);
	case 0x30:
		if (depth > 0)
			return NULL;
		{
			struct tlv in;
			if (read_tlv(t.val, t.val + t.len, &in) < 0)
				return NULL;
			return parse_template_name(t.val, (size_t)(in.next - t.val), depth + 1);
		}
	default:
		return NULL;
	}
}

/* 21.7: SEQUENCE { OID, INTEGER major OPTIONAL, INTEGER minor OPTIONAL }. */
static int parse_template_v2(const unsigned char *p, size_t len, struct cert_template_info *out)
{
	struct tlv seq, oid, i1, i2;
	if (read_tlv(p, p + len, &seq) < 0 || seq.tag != 0x30 || seq.next != p + len)
		return -1;
	const unsigned char *end = seq.val + seq.len;
	if (read_tlv(seq.val, end, &oid) < 0 || oid.tag != 0x06 || oid.len == 0)
		return -1;
	const unsigned char *q = seq.val;
	ASN1_OBJECT *obj = d2i_ASN1_OBJECT(NULL, &q, (long)(oid.next - seq.val));
	if (!obj)
		return -1;
	char buf[256];
	int n = OBJ_obj2txt(buf, sizeof buf, obj, 1);
	ASN1_OBJECT_free(obj);
	if (n <= 0 || (size_t)n >= sizeof buf)
		return -1;
	const unsigned char *r = oid.next;
	if (r < end) {
		if (read_tlv(r, end, &i1) < 0 || i1.tag != 0x02 || der_u32(&i1, &out->major) < 0)
			return -1;
		out->has_major = true;
		r = i1.next;
	}
	if (r < end) {
		if (read_tlv(r, end, &i2) < 0 || i2.tag != 0x02 || der_u32(&i2, &out->minor) < 0)
			return -1;
		out->has_minor = true;
		r = i2.next;
	}
	if (r != end)
		return -1;
	out->oid = xstrdup(buf);
	return 0;
}

static const ASN1_OCTET_STRING *find_ext(X509 *cert, const char *oid_text)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid_text, 1);
	if (!obj)
		return NULL;
	int idx = X509_get_ext_by_OBJ(cert, obj, -1);
	ASN1_OBJECT_free(obj);
	if (idx < 0)
		return NULL;
	X509_EXTENSION *ext = X509_get_ext(cert, idx);
	return ext ? X509_EXTENSION_get_data(ext) : NULL;
}

int cert_template_info(X509 *cert, struct cert_template_info *out)
{
	memset(out, 0, sizeof *out);
	if (!cert)
		return -1;
	const ASN1_OCTET_STRING *v2 = find_ext(cert, OID_CERTIFICATE_TEMPLATE);
	if (v2 && parse_template_v2(ASN1_STRING_get0_data(v2), (size_t)ASN1_STRING_length(v2), out) < 0)
		goto bad;
	const ASN1_OCTET_STRING *v1 = find_ext(cert, OID_ENROLL_CERTTYPE);
	if (v1) {
		out->name = parse_template_name(ASN1_STRING_get0_data(v1), (size_t)ASN1_STRING_length(v1), 0);
		if (!out->name)
			goto bad;
	}
	return 0;
bad:
	cert_template_info_free(out);
	return -1;
}

void cert_template_info_free(struct cert_template_info *info)
{
	if (!info)
		return;
	free(info->oid);
	free(info->name);
	memset(info, 0, sizeof *info);
}

bool cert_is_from_template(X509 *cert, const struct template *t)
{
	struct cert_template_info info;
	bool match = false;
	if (!t || cert_template_info(cert, &info) < 0)
		return false;
	if (info.oid)
		match = t->oid && strcmp(info.oid, t->oid) == 0;
	else if (info.name)
		match = t->cn && str_eq_ci(info.name, t->cn);
	cert_template_info_free(&info);
	return match;
}

bool cert_matches_key(X509 *cert, EVP_PKEY *key)
{
	if (!cert || !key)
		return false;
	EVP_PKEY *pub = X509_get0_pubkey(cert);
	return pub && EVP_PKEY_eq(pub, key) == 1;
}

static int add_ders(STACK_OF(X509) *sk, X509_STORE *store, const struct bloblist *l)
{
	for (size_t i = 0; l && i < l->n; i++) {
		X509 *c = cert_from_der(l->v[i].data, l->v[i].len);
		if (!c)
			continue; /* a bad directory value must not hide the good ones */
		if (store) {
			X509_STORE_add_cert(store, c);
			X509_free(c);
		} else if (!sk_X509_push(sk, c)) {
			X509_free(c);
			return -1;
		}
	}
	return 0;
}

int cert_verify_chain(X509 *leaf, const struct bloblist *roots, const struct bloblist *intermediates,
		      STACK_OF(X509) *extra, char *err, size_t errlen)
{
	int ret = -1;
	X509_STORE *store = X509_STORE_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	if (!leaf || !store || !untrusted || !ctx) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (!roots || roots->n == 0) {
		snprintf(err, errlen, "the directory lists no root CA (CN=Certification Authorities) to verify against");
		goto out;
	}
	add_ders(NULL, store, roots);
	if (add_ders(untrusted, NULL, intermediates) < 0)
		goto out;
	for (int i = 0; extra && i < sk_X509_num(extra); i++) {
		X509 *c = sk_X509_value(extra, i);
		if (X509_up_ref(c) != 1 || !sk_X509_push(untrusted, c)) {
			X509_free(c);
			goto out;
		}
	}
	if (X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1) {
		snprintf(err, errlen, "cannot set up certificate verification");
		goto out;
	}
	if (X509_verify_cert(ctx) != 1) {
		int e = X509_STORE_CTX_get_error(ctx);
		X509 *at = X509_STORE_CTX_get_current_cert(ctx);
		char *subj = at ? cert_subject_text(at) : NULL;
		snprintf(err, errlen, "%s (at depth %d%s%s)", X509_verify_cert_error_string(e),
			 X509_STORE_CTX_get_error_depth(ctx), subj ? ", " : "", subj ? subj : "");
		free(subj);
		goto out;
	}
	ret = 0;
out:
	X509_STORE_CTX_free(ctx);
	sk_X509_pop_free(untrusted, X509_free);
	X509_STORE_free(store);
	ERR_clear_error();
	return ret;
}

static unsigned long parse_count;

unsigned long cert_parse_count(void)
{
	return parse_count;
}

X509 *cert_from_der(const unsigned char *der, size_t len)
{
	if (!der || len == 0 || len > LONG_MAX)
		return NULL;
	parse_count++;
	const unsigned char *p = der;
	X509 *c = d2i_X509(NULL, &p, (long)len);
	if (c && p != der + len) {
		X509_free(c);
		c = NULL;
	}
	ERR_clear_error();
	return c;
}

static bool looks_pem(const void *data, size_t len)
{
	const char *p = data;
	for (size_t i = 0; i + 10 <= len; i++)
		if (memcmp(p + i, "-----BEGIN", 10) == 0)
			return true;
	return false;
}

X509 *cert_from_buffer(const void *data, size_t len)
{
	if (!data || len == 0 || len > INT_MAX)
		return NULL;
	if (!looks_pem(data, len))
		return cert_from_der(data, len);
	BIO *b = BIO_new_mem_buf(data, (int)len);
	parse_count++;
	X509 *c = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	ERR_clear_error();
	return c;
}

X509 *cert_load_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len == cap) {
			if (cap >= 4 * 1024 * 1024)
				break; /* no certificate is this big */
			cap = cap ? cap * 2 : 8192;
			buf = xrealloc(buf, cap);
		}
		size_t n = fread(buf + len, 1, cap - len, f);
		if (n == 0)
			break;
		len += n;
	}
	fclose(f);
	X509 *c = cert_from_buffer(buf, len);
	free(buf);
	return c;
}

/* PKCS#7 DER from a PEM block of any label (certsrv has been seen to label a
 * base64 p7b "CERTIFICATE"), plain base64, or DER. */
static PKCS7 *pkcs7_from(const void *data, size_t len)
{
	PKCS7 *p7 = NULL;
	if (looks_pem(data, len)) {
		BIO *b = BIO_new_mem_buf(data, (int)len);
		char *name = NULL, *header = NULL;
		unsigned char *der = NULL;
		long derlen = 0;
		if (b && PEM_read_bio(b, &name, &header, &der, &derlen) == 1) {
			const unsigned char *p = der;
			p7 = d2i_PKCS7(NULL, &p, derlen);
		}
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(der);
		BIO_free(b);
		return p7;
	}
	const unsigned char *p = data;
	p7 = d2i_PKCS7(NULL, &p, (long)len);
	if (p7)
		return p7;
	/* Bare base64 (Enc=b64 without armour). */
	BIO *b64 = BIO_new(BIO_f_base64());
	BIO *mem = BIO_new_mem_buf(data, (int)len);
	if (b64 && mem) {
		BIO *chain = BIO_push(b64, mem);
		p7 = d2i_PKCS7_bio(chain, NULL);
		BIO_free_all(chain);
	} else {
		BIO_free(b64);
		BIO_free(mem);
	}
	return p7;
}

STACK_OF(X509) *cert_stack_from_pkcs7(const void *data, size_t len)
{
	if (!data || len == 0 || len > INT_MAX)
		return NULL;
	STACK_OF(X509) *out = NULL;
	PKCS7 *p7 = pkcs7_from(data, len);
	if (!p7 || !PKCS7_type_is_signed(p7) || !p7->d.sign || !p7->d.sign->cert)
		goto out;
	out = sk_X509_new_null();
	if (!out)
		goto out;
	STACK_OF(X509) *in = p7->d.sign->cert;
	for (int i = 0; i < sk_X509_num(in); i++) {
		X509 *c = sk_X509_value(in, i);
		if (X509_up_ref(c) != 1 || !sk_X509_push(out, c)) {
			X509_free(c);
			sk_X509_pop_free(out, X509_free);
			out = NULL;
			goto out;
		}
	}
out:
	PKCS7_free(p7);
	ERR_clear_error();
	return out;
}

char *cert_to_pem(X509 *cert)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *out = NULL;
	if (b && PEM_write_bio_X509(b, cert) == 1) {
		char *p;
		long n = BIO_get_mem_data(b, &p);
		if (n > 0)
			out = xstrndup(p, (size_t)n);
	}
	BIO_free(b);
	return out;
}

int cert_to_der(X509 *cert, struct blob *out)
{
	unsigned char *der = NULL;
	int n = i2d_X509(cert, &der);
	if (n <= 0)
		return -1;
	out->data = xmalloc((size_t)n);
	memcpy(out->data, der, (size_t)n);
	out->len = (size_t)n;
	OPENSSL_free(der);
	return 0;
}

int cert_serial_hex(X509 *cert, char *out, size_t outlen)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	int ret = -1;
	if (hex && strlen(hex) < outlen) {
		memcpy(out, hex, strlen(hex) + 1);
		ret = 0;
	}
	OPENSSL_free(hex);
	BN_free(bn);
	return ret;
}

/* Seconds since the epoch without timegm(): the difference to 1970-01-01. */
static time_t asn1_time_to_time_t(const ASN1_TIME *t)
{
	int days, secs;
	ASN1_TIME *epoch = ASN1_TIME_set(NULL, 0);
	time_t r = (time_t)-1;
	if (epoch && t && ASN1_TIME_diff(&days, &secs, epoch, t) == 1)
		r = (time_t)days * 86400 + secs;
	ASN1_TIME_free(epoch);
	return r;
}

time_t cert_not_before(X509 *cert)
{
	return asn1_time_to_time_t(X509_get0_notBefore(cert));
}

time_t cert_not_after(X509 *cert)
{
	return asn1_time_to_time_t(X509_get0_notAfter(cert));
}

int cert_sha256_hex(X509 *cert, char *out, size_t outlen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (outlen < 65 || X509_digest(cert, EVP_sha256(), md, &n) != 1)
		return -1;
	for (unsigned i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

int cert_der_sha256_hex(const unsigned char *der, size_t len, char *out, size_t outlen)
{
	unsigned char md[SHA256_LEN];
	if (outlen < 65)
		return -1;
	sha256(der, len, md);
	sha256_hex(md, SHA256_LEN, out);
	return 0;
}

static char *name_text(const X509_NAME *name)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *out = NULL;
	if (b && X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) >= 0) {
		char *p;
		long n = BIO_get_mem_data(b, &p);
		out = xstrndup(n > 0 ? p : "", n > 0 ? (size_t)n : 0);
	}
	BIO_free(b);
	return out;
}

char *cert_subject_text(X509 *cert)
{
	return name_text(X509_get_subject_name(cert));
}

char *cert_issuer_text(X509 *cert)
{
	return name_text(X509_get_issuer_name(cert));
}
