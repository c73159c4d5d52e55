/* utf8.c - the strict UTF-8 validator (utf8.h). */
#include "common/utf8.h"

#include <string.h>

#define ASCII_ONES 0x0101010101010101ull
#define ASCII_HIGH 0x8080808080808080ull

size_t utf8_decode(const void *p, size_t n, uint32_t *cp)
{
	const uint8_t *s = p;
	uint32_t c, min;
	size_t len, i;

	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) { /* C0, C1 would be overlong */
		len = 2;
		c = s[0] & 0x1f;
		min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		c = s[0] & 0x0f;
		min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) { /* F5.. would exceed U+10FFFF */
		len = 4;
		c = s[0] & 0x07;
		min = 0x10000;
	} else {
		return 0; /* a continuation byte, C0, C1, F5..FF */
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

int utf8_check(const void *p, size_t n, unsigned flags, size_t *bad_at)
{
	const uint8_t *s = p;
	size_t i = 0, k;
	uint32_t c;

	while (i < n) {
		/* The common case, ASCII without NUL, eight bytes at a time. */
		while (n - i >= 8) {
			uint64_t w;

			memcpy(&w, s + i, 8);
			if ((w & ASCII_HIGH) || ((w - ASCII_ONES) & ~w & ASCII_HIGH))
				break; /* a byte >= 0x80, or a zero byte */
			i += 8;
		}
		if (i == n)
			break;
		if (s[i] >= 0x01 && s[i] < 0x80) {
			i++;
			continue;
		}
		k = utf8_decode(s + i, n - i, &c);
		if (k == 0 || (c == 0 && !(flags & UTF8_ALLOW_NUL))) {
			if (bad_at)
				*bad_at = i;
			return 0;
		}
		i += k;
	}
	return 1;
}

int utf8_valid_str(const char *s)
{
	return !s || utf8_check(s, strlen(s), 0, NULL);
}
