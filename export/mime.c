/* mime.c - writing RFC 5322 / MIME text for RSMF files: header fields
 * (folded, RFC 2047 encoded-words for anything that is not printable
 * ASCII), addresses with display names only, dates, base64 bodies. Only
 * writing: custos never parses MIME. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/encode.h"
#include "export/mime.h"

#define LINE_SOFT 76     /* fold header lines and base64 bodies at this width */
#define EW_CHUNK 45      /* bytes of text per encoded-word: base64 of 45 = 60 chars */

static int is_plain(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7E)
			return 0;
	return 1;
}

/* Length of the UTF-8 character starting at s (1 for a stray byte). */
static size_t u8len(const unsigned char *s)
{
	if (*s >= 0xF0)
		return 4;
	if (*s >= 0xE0)
		return 3;
	if (*s >= 0xC0)
		return 2;
	return 1;
}

/* Writes s as RFC 2047 "B" encoded-words of at most EW_CHUNK bytes each,
 * split on character boundaries, separated by CRLF SP (folding). */
static void encoded_words(struct exp_file *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0;

	while (i < n) {
		size_t k = 0, c;
		char *b;

		while (i + k < n) {
			c = u8len(p + i + k);
			if (i + k + c > n)
				c = n - i - k;
			if (k + c > EW_CHUNK)
				break;
			k += c;
		}
		if (k == 0) /* cannot happen with EW_CHUNK >= 4; keeps the loop finite */
			k = n - i < EW_CHUNK ? n - i : EW_CHUNK;
		b = b64_encode(p + i, k);
		if (!b) {
			if (!f->rc)
				f->rc = cu_err_set(f->err, CU_ENOMEM, "out of memory");
			return;
		}
		exp_file_printf(f, "%s=?UTF-8?B?%s?=", i ? "\r\n " : "", b);
		free(b);
		i += k;
	}
}

/* 1 if some space-separated word of s is longer than max. */
static int has_long_word(const char *s, size_t max)
{
	size_t w = 0;

	for (; *s; s++) {
		w = *s == ' ' ? 0 : w + 1;
		if (w > max)
			return 1;
	}
	return 0;
}

void mime_header(struct exp_file *f, const char *name, const char *value)
{
	size_t col = strlen(name) + 2;
	const char *p, *q;

	exp_file_printf(f, "%s: ", name);
	if (!is_plain(value) || has_long_word(value, 900)) {
		encoded_words(f, value);
		exp_file_puts(f, "\r\n");
		return;
	}
	/* Printable ASCII: fold before the spaces that precede a word that
	 * would pass the soft limit (RFC 5322 section 2.2.3). */
	for (p = value; *p; p = q) {
		for (q = p; *q == ' '; q++)
			;
		while (*q && *q != ' ')
			q++;
		if (p != value && *p == ' ' && col + (size_t)(q - p) > LINE_SOFT) {
			exp_file_puts(f, "\r\n");
			col = 0;
		}
		exp_file_put(f, p, (size_t)(q - p));
		col += (size_t)(q - p);
	}
	exp_file_puts(f, "\r\n");
}

void mime_address(struct exp_file *f, const char *display)
{
	const char *p;

	if (!is_plain(display)) {
		encoded_words(f, display);
	} else {
		exp_file_puts(f, "\"");
		for (p = display; *p; p++) {
			if (*p == '"' || *p == '\\')
				exp_file_puts(f, "\\");
			exp_file_put(f, p, 1);
		}
		exp_file_puts(f, "\"");
	}
	exp_file_puts(f, " <>");
}

void mime_date(int64_t ms, char out[40])
{
	static const char *const wd[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const mo[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	struct tm tm;

	if (!gmtime_r(&t, &tm)) {
		snprintf(out, 40, "Thu, 01 Jan 1970 00:00:00 +0000");
		return;
	}
	snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d +0000", wd[tm.tm_wday], tm.tm_mday,
		 mo[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void mime_base64_body(struct exp_file *f, const uint8_t *p, size_t n)
{
	/* 57 input bytes = one 76-character line. Encoded per line so that a
	 * large attachment never needs one huge string. */
	char *b;
	size_t i;

	for (i = 0; i < n && !f->rc; i += 57) {
		size_t k = n - i < 57 ? n - i : 57;

		b = b64_encode(p + i, k);
		if (!b) {
			f->rc = cu_err_set(f->err, CU_ENOMEM, "out of memory");
			return;
		}
		exp_file_puts(f, b);
		exp_file_puts(f, "\r\n");
		free(b);
	}
}
