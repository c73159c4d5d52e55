/* test_utf8.c - the strict UTF-8 validator (common/utf8.h): the edges of
 * RFC 3629 one by one, NUL as documented, and every 1-, 2- and 3-byte
 * string plus the 4-byte lead/second-byte grid compared with jansson,
 * whose acceptance the API relies on (a string that passes must always be
 * storable in a JSON audit record). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <string.h>

#include "common/utf8.h"

#define OK(s) assert_int_equal(utf8_check(s, sizeof(s) - 1, 0, NULL), 1)
#define BAD(s, at)                                                          \
	do {                                                                \
		size_t bad_ = 99;                                           \
		assert_int_equal(utf8_check(s, sizeof(s) - 1, 0, &bad_), 0); \
		assert_int_equal(bad_, at);                                 \
	} while (0)

static void test_edges(void **state)
{
	uint32_t cp = 0;

	(void)state;
	OK("");
	OK("plain ascii ~\x7f");
	OK("\xc2\x80");                 /* U+0080, smallest 2-byte */
	OK("\xdf\xbf");                 /* U+07FF */
	OK("\xe0\xa0\x80");             /* U+0800, smallest 3-byte */
	OK("\xed\x9f\xbf");             /* U+D7FF, just below the surrogates */
	OK("\xee\x80\x80");             /* U+E000, just above them */
	OK("\xef\xbf\xbf");             /* U+FFFF */
	OK("\xf0\x90\x80\x80");         /* U+10000, smallest 4-byte */
	OK("\xf4\x8f\xbf\xbf");         /* U+10FFFF, the last scalar value */
	OK("gr\xc3\xbc\xc3\x9f" "e \xe2\x82\xac \xf0\x9f\x98\x80");
	assert_int_equal(utf8_decode("\xf4\x8f\xbf\xbf", 4, &cp), 4);
	assert_int_equal(cp, 0x10ffff);

	BAD("\xf4\x90\x80\x80", 0);     /* U+110000 */
	BAD("\xf5\x80\x80\x80", 0);     /* lead byte beyond U+10FFFF */
	BAD("\xff", 0);
	BAD("word\xed\xa0\x80", 4);     /* U+D800, the case */
	BAD("\xed\xbf\xbf", 0);         /* U+DFFF */
	BAD("\xed\xa0\xbd\xed\xb8\x80", 0); /* a CESU-8 surrogate pair */
	BAD("\xc0\xaf", 0);             /* overlong '/' */
	BAD("\xc1\xbf", 0);             /* overlong U+007F */
	BAD("\xc0\x80", 0);             /* overlong NUL (modified UTF-8) */
	BAD("\xe0\x80\xaf", 0);         /* overlong 3-byte '/' */
	BAD("\xe0\x9f\xbf", 0);         /* overlong U+07FF */
	BAD("\xf0\x80\x80\xaf", 0);     /* overlong 4-byte '/' */
	BAD("\xf0\x8f\xbf\xbf", 0);     /* overlong U+FFFF */
	BAD("ab\xc3", 2);               /* truncated 2-byte */
	BAD("\xe2\x82", 0);             /* truncated 3-byte */
	BAD("\xf0\x9f\x98", 0);         /* truncated 4-byte */
	BAD("\xe2\x82x", 0);            /* continuation missing */
	BAD("a\x80", 1);                /* stray continuation byte */
	BAD("\xc3\xbc\xbf", 2);         /* one continuation too many */
	assert_int_equal(utf8_decode("", 0, &cp), 0);
	/* past the eight-byte ASCII steps */
	OK("0123456789abcdef0123456789abcdef\xc3\xbc" "0123456789");
	BAD("0123456789abcdef\xc0\xaf", 16);
	BAD("0123456789abcdef0123\xed\xa0\x80xyz", 20);
	BAD("0123456789abcdef0123456\xf0\x9f\x98", 23);
}

static void test_nul(void **state)
{
	(void)state;
	/* Refused by default: the inputs are C strings, a NUL would cut them. */
	BAD("a\0b", 1);
	BAD("0123456789\0abcdefgh", 10); /* inside an eight-byte step */
	assert_int_equal(utf8_check("a\0b", 3, UTF8_ALLOW_NUL, NULL), 1);
	assert_int_equal(utf8_valid_str("ok \xc3\xbc"), 1);
	assert_int_equal(utf8_valid_str("bad \xed\xa0\x80"), 0);
	assert_int_equal(utf8_valid_str(NULL), 1);
}

static int jansson_ok(const uint8_t *p, size_t n)
{
	json_t *j = json_stringn((const char *)p, n);
	int ok = j != NULL;

	json_decref(j);
	return ok;
}

/* Every string of 1 to 3 bytes, and all 4-byte leads with every second
 * byte, agree with jansson (NUL allowed, as jansson allows it). */
static void test_agrees_with_jansson(void **state)
{
	uint8_t b[4];
	uint32_t v;
	unsigned a, c;

	(void)state;
	for (v = 0; v < 0x100; v++) {
		b[0] = (uint8_t)v;
		assert_int_equal(utf8_check(b, 1, UTF8_ALLOW_NUL, NULL), jansson_ok(b, 1));
	}
	for (v = 0; v < 0x10000; v++) {
		b[0] = (uint8_t)(v >> 8);
		b[1] = (uint8_t)v;
		assert_int_equal(utf8_check(b, 2, UTF8_ALLOW_NUL, NULL), jansson_ok(b, 2));
	}
	for (v = 0xc00000; v < 0x1000000; v++) { /* 3-byte leads and up (below: covered above) */
		b[0] = (uint8_t)(v >> 16);
		b[1] = (uint8_t)(v >> 8);
		b[2] = (uint8_t)v;
		if (utf8_check(b, 3, UTF8_ALLOW_NUL, NULL) != jansson_ok(b, 3))
			fail_msg("3 bytes %02x %02x %02x disagree", b[0], b[1], b[2]);
	}
	for (a = 0xf0; a <= 0xff; a++)
		for (c = 0; c < 0x100; c++) {
			b[0] = (uint8_t)a;
			b[1] = (uint8_t)c;
			b[2] = 0x80;
			b[3] = 0xbf;
			if (utf8_check(b, 4, UTF8_ALLOW_NUL, NULL) != jansson_ok(b, 4))
				fail_msg("4 bytes %02x %02x 80 bf disagree", b[0], b[1]);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_nul),
		cmocka_unit_test(test_agrees_with_jansson),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
