/* test_tokenizer.c - the search tokenizer: case and diacritic folding
 * (including decomposed umlauts), German stemming with ß/ss and
 * ä/ae equivalence, identifiers kept whole as compounds with their words
 * still separate, spans, caps on long words and compounds, invalid UTF-8,
 * and the FTS5 glue (registration, query pass-through, compound
 * positions inside phrases); the ASCII fast path gives what the general
 * path gives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search/tokenizer.h"

#define MAXW 64

/* The words of one text, copied out of the callback. */
struct words {
	size_t n;
	char exact[MAXW][TOK_MAX_WORD + 1];
	char stem[MAXW][TOK_MAX_WORD + 1];
	char compound[MAXW][TOK_MAX_COMPOUND + 1];
	size_t start[MAXW], end[MAXW], cstart[MAXW], cend[MAXW];
	unsigned part[MAXW], nparts[MAXW];
};

static int collect(void *arg, const struct tok_word *w)
{
	struct words *ws = arg;
	size_t i = ws->n;

	assert_true(i < MAXW);
	assert_true(w->exact_len > 0 && w->exact_len <= TOK_MAX_WORD);
	assert_int_equal(strlen(w->exact), w->exact_len);
	memcpy(ws->exact[i], w->exact, w->exact_len + 1);
	if (w->stem)
		memcpy(ws->stem[i], w->stem, w->stem_len + 1);
	if (w->compound) {
		assert_true(w->compound_len <= TOK_MAX_COMPOUND);
		memcpy(ws->compound[i], w->compound, w->compound_len + 1);
	}
	ws->start[i] = w->start;
	ws->end[i] = w->end;
	ws->cstart[i] = w->cstart;
	ws->cend[i] = w->cend;
	ws->part[i] = w->part;
	ws->nparts[i] = w->nparts;
	ws->n++;
	return 0;
}

static struct words *run(void **state, const char *text)
{
	static struct words ws;

	memset(&ws, 0, sizeof(ws));
	assert_int_equal(tok_run(*state, text, strlen(text), collect, &ws), 0);
	return &ws;
}

static int setup(void **state)
{
	struct tok_ctx *tc;

	assert_int_equal(tok_ctx_new(&tc, NULL), 0);
	*state = tc;
	return 0;
}

static int teardown(void **state)
{
	tok_ctx_free(*state);
	return 0;
}

static const char *exact_of(void **state, const char *word)
{
	struct words *ws = run(state, word);

	assert_int_equal(ws->n, 1);
	return ws->exact[0];
}

static void stem_of(void **state, const char *word, char *out)
{
	struct words *ws = run(state, word);

	assert_int_equal(ws->n, 1);
	strcpy(out, ws->stem[0]);
}

static void test_folding(void **state)
{
	assert_string_equal(exact_of(state, "Straße"), "strasse");
	assert_string_equal(exact_of(state, "STRASSE"), "strasse");
	assert_string_equal(exact_of(state, "Müller"), "mueller");
	assert_string_equal(exact_of(state, "MÜLLER"), "mueller");
	assert_string_equal(exact_of(state, "Mueller"), "mueller");
	assert_string_equal(exact_of(state, "Mu\xcc\x88ller"), "mueller"); /* u + U+0308 */
	assert_string_equal(exact_of(state, "Ärger"), "aerger");
	assert_string_equal(exact_of(state, "Öl"), "oel");
	assert_string_equal(exact_of(state, "café"), "cafe");
	assert_string_equal(exact_of(state, "Łódź"), "lodz");
	assert_string_equal(exact_of(state, "ĲSSEL"), "ijssel");
	assert_string_equal(exact_of(state, "Œuvre"), "oeuvre");
	assert_string_equal(exact_of(state, "\xef\xac\x81le"), "file"); /* fi ligature */
	assert_string_equal(exact_of(state, "GROẞ"), "gross");       /* capital sharp s */
	assert_string_equal(exact_of(state, "ПРИВЕТ"), "привет");
	assert_string_equal(exact_of(state, "Ωmega"), "ωmega");
	assert_string_equal(exact_of(state, "ＡＢＣ"), "abc");        /* fullwidth */
}

static void test_german_stems(void **state)
{
	static const char *const same[][2] = {
		{"Häuser", "Haus"}, {"Anträge", "Antrag"}, {"Mueller", "Müller"},
		{"Strasse", "Straße"}, {"Haeuser", "Häuser"}, {"Anträgen", "Antrags"},
		{"Bescheide", "Bescheid"},
	};
	char a[TOK_MAX_WORD + 1], b[TOK_MAX_WORD + 1];
	size_t i;

	for (i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		stem_of(state, same[i][0], a);
		stem_of(state, same[i][1], b);
		assert_true(a[0] != '\0');
		if (strcmp(a, b) != 0)
			fail_msg("%s -> %s but %s -> %s", same[i][0], a, same[i][1], b);
	}
	/* English words keep a stem of their own that matches as typed */
	stem_of(state, "meetings", a);
	stem_of(state, "meeting", b);
	assert_string_equal(a, b);
	/* numbers and codes are not stemmed */
	assert_int_equal(run(state, "2024")->stem[0][0], '\0');
	assert_int_equal(run(state, "abc123")->stem[0][0], '\0');
}

static void test_words_and_spans(void **state)
{
	const char *t = "Hallo, Welt! (Antrag) \"zitiert\" end.";
	struct words *ws = run(state, t);

	assert_int_equal(ws->n, 5);
	assert_string_equal(ws->exact[0], "hallo");
	assert_int_equal(ws->start[0], 0);
	assert_int_equal(ws->end[0], 5);
	assert_string_equal(ws->exact[2], "antrag");
	assert_memory_equal(t + ws->start[2], "Antrag", 6);
	assert_string_equal(ws->exact[3], "zitiert");
	assert_string_equal(ws->exact[4], "end");
	assert_string_equal(ws->compound[4], ""); /* a trailing '.' is not part of a word */
	/* emoji, punctuation and spaces separate */
	ws = run(state, "a👍b\xe2\x80\x94" "c\xc2\xa0" "d");
	assert_int_equal(ws->n, 4);
}

static void test_identifiers(void **state)
{
	struct words *ws;

	ws = run(state, "AZ 12-345/2024.");
	assert_int_equal(ws->n, 4);
	assert_string_equal(ws->exact[0], "az");
	assert_string_equal(ws->exact[1], "12");
	assert_string_equal(ws->compound[1], "12-345/2024");
	assert_int_equal(ws->nparts[1], 3);
	assert_string_equal(ws->exact[2], "345");
	assert_string_equal(ws->compound[2], "");
	assert_int_equal(ws->part[3], 2);
	assert_int_equal(ws->cstart[1], 3);
	assert_int_equal(ws->cend[1], 14);

	ws = run(state, "Tel. +49 30 1234567");
	assert_int_equal(ws->n, 4);
	assert_string_equal(ws->compound[1], "+49");
	assert_string_equal(ws->exact[1], "49");

	ws = run(state, "an Alice@Example.org, bitte");
	assert_string_equal(ws->compound[1], "alice@example.org");
	assert_string_equal(ws->exact[2], "example");

	ws = run(state, "@bob:matrix.org und !room:srv.de und #ops:srv.de");
	assert_string_equal(ws->compound[0], "@bob:matrix.org");
	assert_string_equal(ws->compound[4], "!room:srv.de");
	assert_string_equal(ws->compound[8], "#ops:srv.de");

	ws = run(state, "carol@stadt.de/phone");
	assert_string_equal(ws->compound[0], "carol@stadt.de/phone");

	ws = run(state, "siehe (https://example.org/a?b=1&c=2).");
	assert_string_equal(ws->compound[1], "https://example.org/a?b=1&c=2");

	ws = run(state, "1.234,56 EUR");
	assert_string_equal(ws->compound[0], "1.234,56");
	ws = run(state, "a,b");          /* a comma between letters separates */
	assert_int_equal(ws->n, 2);
	assert_string_equal(ws->compound[0], "");

	ws = run(state, "Baden-Württemberg");
	assert_string_equal(ws->compound[0], "baden-wuerttemberg");
	assert_string_equal(ws->exact[1], "wuerttemberg");

	ws = run(state, "don’t"); /* typographic apostrophe */
	assert_string_equal(ws->compound[0], "don't");
}

static void test_caps(void **state)
{
	char text[4096];
	struct words *ws;
	size_t i;

	/* 40 x "ä" folds to 80 bytes: cut at 64 on a character boundary */
	text[0] = '\0';
	for (i = 0; i < 40; i++)
		strcat(text, "ä");
	ws = run(state, text);
	assert_int_equal(ws->n, 1);
	assert_int_equal(strlen(ws->exact[0]), 64);
	/* 3-byte characters: never split */
	text[0] = '\0';
	for (i = 0; i < 30; i++)
		strcat(text, "\xe4\xb8\xad");
	ws = run(state, text);
	assert_int_equal(strlen(ws->exact[0]) % 3, 0);
	/* a compound longer than TOK_MAX_COMPOUND keeps only its words */
	text[0] = '\0';
	for (i = 0; i < 30; i++)
		strcat(text, "abcde-");
	strcat(text, "x");
	ws = run(state, text);
	assert_int_equal(ws->n, 31);
	assert_string_equal(ws->compound[0], "");
}

static void test_invalid_utf8(void **state)
{
	static const char bad[] = "a\xff" "b\xc3" "c\xe2\x82" "d\xed\xa0\x80" "e\xc0\xaf" "f\xc3";
	struct words *ws = run(state, bad);
	size_t i;

	assert_int_equal(ws->n, 6);
	for (i = 0; i < ws->n; i++)
		assert_int_equal(strlen(ws->exact[i]), 1);
	/* only marks: no word at all */
	ws = run(state, "\xcc\x88\xcc\x81 -- ...");
	assert_int_equal(ws->n, 0);
}

static int stop_at_two(void *arg, const struct tok_word *w)
{
	int *n = arg;

	(void)w;
	return ++*n == 2 ? 42 : 0;
}

static void test_stop(void **state)
{
	int n = 0;

	assert_int_equal(tok_run(*state, "a b c d", 7, stop_at_two, &n), 42);
	assert_int_equal(n, 2);
}

/* ---- FTS5 ---- */

static int sink_calls;
static int count_sink(void *arg, const struct tok_word *w)
{
	(void)arg;
	assert_non_null(w->stem);
	sink_calls++;
	return 0;
}

static int matches(sqlite3 *db, const char *q)
{
	sqlite3_stmt *st;
	int n = 0, s;

	assert_int_equal(sqlite3_prepare_v2(db, "SELECT rowid FROM t WHERE t MATCH ?", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, q, -1, SQLITE_STATIC);
	while ((s = sqlite3_step(st)) == SQLITE_ROW)
		n++;
	assert_int_equal(s, SQLITE_DONE);
	sqlite3_finalize(st);
	return n;
}

/* Plain ASCII chunks take a fast path; a chunk ended by a non-ASCII
 * separator (U+00A0) takes the general one. Both must give the same words
 * (spans aside: the separator is two bytes instead of one). */
static void test_ascii_path(void **state)
{
	static const char *const texts[] = {
		"Frist. (siehe https://x.org/a.) -- @bob:matrix.org !room:m.org #tag +49 $x",
		"AZ 12-345/2024 vom 1.234,56 EUR, 3,5 und a,b 1, 2 ,3 x,9 9,x",
		"Alice@Example.ORG/Phone O'Brien q&a 50% ~home ?x=1&y=2 ::a:: @@ ++1",
		"Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa9 Bbbb",
		"ab-cd-ef-gh-ij-kl-mn-op-qr-st-uv-wx-yz-ab-cd-ef-gh-ij-kl-mn-op-qr-st-uv-wx-yz-"
		"ab-cd-ef-gh-ij-kl-mn-op-qr-st-uv-wx-yz-ab-cd-ef-gh-ij-kl-mn-op-qr-st-uv-wx-yz end",
		"Haeuser Mueller Quelle STRASSE Antraege x1 1x 007 ...  -- !",
	};
	struct words a, *b;
	char alt[512];
	size_t t, i, o;

	for (t = 0; t < sizeof(texts) / sizeof(texts[0]); t++) {
		a = *run(state, texts[t]);
		for (i = 0, o = 0; texts[t][i]; i++) {
			if (texts[t][i] == ' ') {
				alt[o++] = '\xc2';
				alt[o++] = '\xa0';
			} else {
				alt[o++] = texts[t][i];
			}
		}
		alt[o] = '\0';
		b = run(state, alt);
		assert_int_equal(a.n, b->n);
		for (i = 0; i < a.n; i++) {
			assert_string_equal(a.exact[i], b->exact[i]);
			assert_string_equal(a.stem[i], b->stem[i]);
			assert_string_equal(a.compound[i], b->compound[i]);
			assert_int_equal(a.part[i], b->part[i]);
			assert_int_equal(a.nparts[i], b->nparts[i]);
			assert_int_equal(a.end[i] - a.start[i], b->end[i] - b->start[i]);
		}
	}
}

static void test_fts5(void **state)
{
	static const struct tok_sink sink = {.fn = count_sink, .arg = NULL, .gen = 0};
	sqlite3 *db;
	char *msg = NULL;

	(void)state;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(tok_register(db, &sink, NULL), 0);
	assert_int_equal(sqlite3_exec(db, "CREATE VIRTUAL TABLE t USING fts5(body, content='', tokenize='custos');"
				      "INSERT INTO t(rowid, body) VALUES(1, 'Akte AZ 12-345/2024 vom Amt');"
				      "INSERT INTO t(rowid, body) VALUES(2, 'Die Häuser, Straße');",
				      NULL, NULL, &msg), SQLITE_OK);
	assert_true(sink_calls >= 4); /* akte, az, vom, amt, die, haeuser, strasse */
	/* query text is taken as folded tokens, one per space */
	assert_int_equal(matches(db, "\"strasse\""), 1);
	assert_int_equal(matches(db, "\"Straße\""), 0);
	assert_int_equal(matches(db, "\"12-345/2024\""), 1);
	assert_int_equal(matches(db, "\"345\""), 1);
	/* a compound stands at its first word's position: a phrase goes on
	 * with the compound's other words */
	assert_int_equal(matches(db, "\"az 12-345/2024 345 2024 vom\""), 1);
	assert_int_equal(matches(db, "\"az 12 345 2024 vom\""), 1);
	assert_int_equal(matches(db, "\"az 12-345/2024 vom\""), 0);
	/* ranking function */
	assert_int_equal(sqlite3_exec(db, "SELECT custos_rank(t) FROM t WHERE t MATCH '\"amt\"'", NULL, NULL,
				      &msg), SQLITE_OK);
	sqlite3_close(db);
}

/* The sink's words as "exact/stem " lines, to compare two runs. */
struct sink_log {
	char buf[8192];
	size_t n;
};

static int log_sink(void *arg, const struct tok_word *w)
{
	struct sink_log *l = arg;
	int k = snprintf(l->buf + l->n, sizeof(l->buf) - l->n, "%s/%s ", w->exact, w->stem);

	if (k > 0 && (size_t)k < sizeof(l->buf) - l->n)
		l->n += (size_t)k;
	return 0;
}

/* Every (term, doc, offset) of an fts5vocab 'instance' table, one string. */
static void vocab(sqlite3 *db, char *out, size_t cap)
{
	sqlite3_stmt *st;
	size_t n = 0;

	assert_int_equal(sqlite3_prepare_v2(db, "SELECT term, doc, offset FROM v ORDER BY 1, 2, 3", -1,
					    &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int k = snprintf(out + n, cap - n, "%s:%lld:%lld ", sqlite3_column_text(st, 0),
				 sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2));

		assert_true(k > 0 && (size_t)k < cap - n);
		n += (size_t)k;
	}
	sqlite3_finalize(st);
}

/* Tokens computed ahead on another context and replayed into FTS5 give
 * the index and the sink exactly what tokenizing inside FTS5 gives; a
 * text other than the one prepared is tokenized as usual. */
static void test_replay(void **state)
{
	static const char *const texts[] = {
		"Akte AZ 12-345/2024 vom Amt, die Häuser der Müller-Lüdenscheidt",
		"Die Häuser, Straße; Haeuser Mueller Quelle STRASSE Antraege x1 1x 007",
		"@bob:matrix.org schrieb: café naïve Ｆｕｌｌ ﬁx Ĳssel 1.234,56 €",
		"Die Häuser, Straße",
		"",
		"\xff\xfe broken \xc3 utf8 a\xcc\x88rger Ärger",
	};
	static const char schema[] =
		"CREATE VIRTUAL TABLE t USING fts5(body, content='', tokenize='custos');"
		"CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance');";
	struct sink_log la, lb;
	struct tok_sink sa = {.fn = log_sink, .arg = &la, .gen = 1};
	struct tok_sink sb = {.fn = log_sink, .arg = &lb, .gen = 1};
	struct tok_pre pre;
	struct tok_ctx *worker;
	sqlite3 *a, *b;
	sqlite3_stmt *ia, *ib;
	char *va = malloc(65536), *vb = malloc(65536);
	size_t i, nt = sizeof(texts) / sizeof(texts[0]);

	(void)state;
	memset(&la, 0, sizeof(la));
	memset(&lb, 0, sizeof(lb));
	memset(&pre, 0, sizeof(pre));
	assert_int_equal(tok_ctx_new(&worker, NULL), 0);
	assert_int_equal(sqlite3_open(":memory:", &a), SQLITE_OK);
	assert_int_equal(sqlite3_open(":memory:", &b), SQLITE_OK);
	assert_int_equal(tok_register(a, &sa, NULL), 0);
	assert_int_equal(tok_register(b, &sb, NULL), 0);
	assert_int_equal(sqlite3_exec(a, schema, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(b, schema, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(a, "INSERT INTO t(rowid, body) VALUES(?, ?)", -1, &ia, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(b, "INSERT INTO t(rowid, body) VALUES(?, ?)", -1, &ib, NULL),
			 SQLITE_OK);
	tok_pre_clear(&pre, sb.gen);
	for (i = 0; i < nt; i++)
		assert_int_equal(tok_pre_text(&pre, texts[i], strlen(texts[i])), 0);
	assert_int_equal(tok_pre_text(&pre, "Ein anderer Text", 16), 0);
	tok_pre_run(worker, &pre);
	assert_true(pre.ready && !pre.failed);
	for (i = 0; i < nt; i++) {
		sqlite3_bind_int64(ia, 1, (sqlite3_int64)i + 1);
		sqlite3_bind_text(ia, 2, texts[i], -1, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(ia), SQLITE_DONE);
		sqlite3_reset(ia);
		sb.pre = &pre;
		sb.doc = &pre.docs[i];
		sqlite3_bind_int64(ib, 1, (sqlite3_int64)i + 1);
		sqlite3_bind_text(ib, 2, texts[i], -1, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(ib), SQLITE_DONE);
		sqlite3_reset(ib);
		if (texts[i][0])
			assert_true(pre.docs[i].used);
		sb.pre = NULL;
		sb.doc = NULL;
	}
	la.buf[la.n] = lb.buf[lb.n] = '\0';
	assert_true(la.n > 50);
	assert_string_equal(la.buf, lb.buf);
	/* offered the tokens of another text: tokenized as usual */
	sqlite3_bind_int64(ia, 1, 100);
	sqlite3_bind_text(ia, 2, texts[0], -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(ia), SQLITE_DONE);
	sb.pre = &pre;
	sb.doc = &pre.docs[nt];
	sqlite3_bind_int64(ib, 1, 100);
	sqlite3_bind_text(ib, 2, texts[0], -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(ib), SQLITE_DONE);
	assert_false(pre.docs[nt].used);
	vocab(a, va, 65536);
	vocab(b, vb, 65536);
	assert_true(strlen(va) > 100);
	assert_string_equal(va, vb);
	sqlite3_finalize(ia);
	sqlite3_finalize(ib);
	sqlite3_close(a);
	sqlite3_close(b);
	tok_pre_free(&pre);
	tok_ctx_free(worker);
	free(va);
	free(vb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_folding, setup, teardown),
		cmocka_unit_test_setup_teardown(test_german_stems, setup, teardown),
		cmocka_unit_test_setup_teardown(test_words_and_spans, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identifiers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_caps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_utf8, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ascii_path, setup, teardown),
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_fts5),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
