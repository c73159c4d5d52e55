/* render_util.c - small helpers every renderer uses: chunked file output,
 * UTF-8 cleaning, XML/HTML escaping, dates, safe file names. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/encode.h"
#include "common/timeutil.h"
#include "common/utf8.h"
#include "export/export_int.h"

#define FILE_FLUSH (256u << 10)  /* flush a rendered file to its sink in chunks this size */
#define FILE_CAP (64u << 20)     /* cap on one printf/put before a flush */

int exp_file_open(struct exp_file *f, struct exp_sink *s, const char *path, struct cu_err *err)
{
	memset(f, 0, sizeof(*f));
	f->sink = s;
	f->err = err;
	buf_init(&f->b, FILE_CAP);
	f->rc = s->begin(s, path, err);
	return f->rc;
}

static void file_flush(struct exp_file *f)
{
	if (f->rc || !f->b.len)
		return;
	f->rc = f->sink->write(f->sink, f->b.data, f->b.len, f->err);
	buf_reset(&f->b);
}

void exp_file_put(struct exp_file *f, const void *p, size_t n)
{
	if (f->rc)
		return;
	if (buf_append(&f->b, p, n) != 0) {
		f->rc = cu_err_set(f->err, CU_ENOMEM, "out of memory rendering a file");
		return;
	}
	if (f->b.len >= FILE_FLUSH)
		file_flush(f);
}

void exp_file_puts(struct exp_file *f, const char *s)
{
	exp_file_put(f, s, strlen(s));
}

void exp_file_printf(struct exp_file *f, const char *fmt, ...)
{
	va_list ap;
	char small[512], *big = NULL;
	int n;

	if (f->rc)
		return;
	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		f->rc = cu_err_set(f->err, CU_EINVAL, "formatting failed");
		return;
	}
	if ((size_t)n < sizeof(small)) {
		exp_file_put(f, small, (size_t)n);
		return;
	}
	big = malloc((size_t)n + 1);
	if (!big) {
		f->rc = cu_err_set(f->err, CU_ENOMEM, "out of memory rendering a file");
		return;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	exp_file_put(f, big, (size_t)n);
	free(big);
}

int exp_file_close(struct exp_file *f)
{
	file_flush(f);
	if (!f->rc)
		f->rc = f->sink->end(f->sink, f->err);
	buf_release(&f->b);
	return f->rc;
}

void exp_file_abort(struct exp_file *f)
{
	buf_release(&f->b);
}

int exp_utf8_clean(struct buf *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k;
	uint32_t cp;
	int rc = 0;

	while (i < n && !rc) {
		k = utf8_decode(p + i, n - i, &cp);
		if (k && cp == 0)
			k = 0; /* NUL would end C strings downstream */
		if (k) {
			rc = buf_append(out, p + i, k);
			i += k;
		} else {
			rc = buf_append(out, "\xEF\xBF\xBD", 3);
			i++;
		}
	}
	return rc;
}

char *exp_file_str(struct exp_file *f, const struct rec_str *s)
{
	char *v = exp_str(s);

	if (!v && !f->rc)
		f->rc = cu_err_set(f->err, CU_ENOMEM, "out of memory");
	return v;
}

char *exp_str(const struct rec_str *s)
{
	struct buf b;

	buf_init(&b, REC_MAX_BYTES * 3 + 16);
	if (exp_utf8_clean(&b, s->ptr ? s->ptr : "", s->len) != 0 || buf_append(&b, "", 0) != 0) {
		buf_release(&b);
		return NULL;
	}
	if (!b.data) {
		buf_release(&b);
		return strdup("");
	}
	return (char *)buf_take(&b, NULL);
}

void exp_file_xml(struct exp_file *f, const char *s, int attribute)
{
	const char *run = s;

	for (; *s; s++) {
		const char *rep = NULL;
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		case '\t': rep = attribute ? "&#9;" : NULL; break;
		case '\n': rep = attribute ? "&#10;" : NULL; break;
		case '\r': rep = attribute ? "&#13;" : NULL; break;
		default:
			if (c < 0x20 || c == 0x7F)
				rep = "\xEF\xBF\xBD"; /* not representable in XML 1.0 */
		}
		if (rep) {
			exp_file_put(f, run, (size_t)(s - run));
			exp_file_puts(f, rep);
			run = s + 1;
		}
	}
	exp_file_put(f, run, (size_t)(s - run));
}

void exp_time_iso(int64_t ms, char out[32])
{
	time_format_rfc3339(ms, out, 32);
}

void exp_time_day(int64_t ms, char out[16])
{
	char iso[32];

	time_format_rfc3339(ms, iso, sizeof(iso));
	memcpy(out, iso, 10);
	out[10] = '\0';
}

int exp_slug(const char *platform, const char *conversation, char out[80])
{
	uint8_t h[HASH_LEN];
	char hex[2 * HASH_LEN + 1];
	struct buf key;
	size_t i, o = 0;
	int rc;

	buf_init(&key, 2 * REC_MAX_BYTES);
	rc = buf_append_str(&key, platform ? platform : "");
	if (!rc)
		rc = buf_append_byte(&key, 0);
	if (!rc)
		rc = buf_append_str(&key, conversation ? conversation : "");
	if (!rc)
		rc = hash_sha256(key.data, key.len, h);
	buf_release(&key);
	if (rc)
		return rc;
	hex_encode(h, HASH_LEN, hex);
	for (i = 0; conversation && conversation[i] && o < 48; i++) {
		char c = conversation[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || (c == '.' && o > 0))
			out[o++] = c;
		else if (o > 0 && out[o - 1] != '_')
			out[o++] = '_';
	}
	while (o > 0 && (out[o - 1] == '_' || out[o - 1] == '.'))
		o--;
	if (o == 0)
		out[o++] = 'c';
	out[o++] = '-';
	memcpy(out + o, hex, 8);
	out[o + 8] = '\0';
	return 0;
}

void exp_ctl(uint32_t ctl, char out[32])
{
	snprintf(out, 32, "%s%0*u", EXP_CTL_PREFIX, EXP_CTL_DIGITS, ctl);
}

void exp_base_dir(const struct exp_meta *m, char out[96])
{
	snprintf(out, 96, "custos-export-%s", m->export_id);
}

void exp_payload_path(enum exp_format f, const char *rel, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s%s", f == EXP_BAGIT ? EXP_BAG_DATA : "", rel);
}

/* The recipients (a JSON array of strings) joined with "; ". */
char *exp_recipients_text(const struct rec_str *s)
{
	struct buf b;
	json_t *a;
	size_t i;
	int rc = 0;

	buf_init(&b, REC_MAX_BYTES * 3 + 16);
	a = s->len ? json_loadb(s->ptr, s->len, 0, NULL) : NULL;
	if (json_is_array(a)) {
		for (i = 0; i < json_array_size(a) && !rc; i++) {
			json_t *e = json_array_get(a, i);

			if (!json_is_string(e))
				continue;
			if (b.len)
				rc = buf_append_str(&b, "; ");
			if (!rc)
				rc = buf_append_str(&b, json_string_value(e));
		}
	} else if (s->len) {
		rc = exp_utf8_clean(&b, s->ptr, s->len);
	}
	json_decref(a);
	if (!rc)
		rc = buf_append(&b, "", 1);
	if (rc) {
		buf_release(&b);
		return NULL;
	}
	return (char *)buf_take(&b, NULL);
}
