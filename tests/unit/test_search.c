/* test_search.c - the search index over a real archive: catch-up and its
 * high-water mark, the German cases, identifiers, every operator and
 * field, sort orders, cursor paging that stays stable while messages
 * arrive, the JSON shape, rebuild giving identical results, store<->index
 * reconciliation finding missing/extra/mismatched entries, deletion
 * leaving no trace of the words in the index files, version and origin
 * checks, read-only use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "archiver/record.h"
#include "archiver/store.h"
#include "search/index.h"
#include "search/tokenizer.h"
#include "tests/unit/test_util.h"

#define T0 1714564800000LL /* 2024-05-01T12:00:00Z */

static struct tu_archive *F; /* F->dir: the archive, F->ix: its index */

/* Appends one record; returns its seq. */
static uint64_t add(const char *plat, const char *conv, const char *sender, int64_t ts, const char *id,
		    const char *body, unsigned kind, unsigned flags)
{
	struct tu_rec r = {.platform = plat, .conversation = conv, .sender = sender, .event_id = id,
			   .body = body, .ts = ts, .kind = kind, .flags = flags};
	int dup;
	uint64_t seq = tu_append(F->st, &r, &dup);

	assert_false(dup);
	return seq;
}

static uint64_t msg(const char *sender, int64_t ts, const char *body)
{
	static unsigned n;
	char id[32];

	snprintf(id, sizeof(id), "$ev%u", n++);
	return add("matrix", "!bau:stadt.de", sender, ts, id, body, REC_MESSAGE, 0);
}

static void catch_up(void)
{
	tu_catch_up(F);
}

static int setup(void **state)
{
	(void)state;
	F = calloc(1, sizeof(*F));
	assert_non_null(F);
	tu_archive_new(F, "search", "search.test/log", 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	assert_int_equal(tu_archive_free(F), 0);
	free(F);
	return 0;
}

/* Runs q (newest first unless sort) and returns the seqs as "a,b,c". */
static const char *hits_kinds(const char *q, enum idx_sort sort, uint64_t kinds)
{
	static char out[4096];
	struct idx_query iq = {q, sort, 100, NULL, kinds};
	struct idx_result r;
	struct cu_err err;
	size_t i, o = 0;

	cu_err_clear(&err);
	if (idx_search(F->ix, F->st, &iq, &r, &err) != 0)
		fail_msg("search '%s': %s", q, err.msg);
	out[0] = '\0';
	for (i = 0; i < r.nhits; i++)
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%llu", i ? "," : "",
				      (unsigned long long)r.hits[i].seq);
	assert_int_equal(r.total, r.nhits);
	idx_result_release(&r);
	return out;
}

static const char *hits_sorted(const char *q, enum idx_sort sort)
{
	return hits_kinds(q, sort, 0);
}

static const char *hits(const char *q)
{
	return hits_sorted(q, IDX_NEWEST);
}

#define HITS(q, want)                                                                     \
	do {                                                                              \
		const char *got_ = hits(q);                                               \
		if (strcmp(got_, want) != 0)                                              \
			fail_msg("'%s' found [%s], want [%s]", q, got_, want);              \
	} while (0)

static void test_german(void **state)
{
	(void)state;
	msg("@a:x", T0 + 0, "Die Häuser an der Straße werden saniert.");        /* 0 */
	msg("@a:x", T0 + 1, "Das Haus in der Strasse 5 ist alt.");              /* 1 */
	msg("@a:x", T0 + 2, "Herr Müller hat zwei Anträge gestellt.");          /* 2 */
	msg("@a:x", T0 + 3, "Frau Mueller prüft den Antrag.");                  /* 3 */
	msg("@a:x", T0 + 4, "The meetings about running projects are done.");   /* 4 */
	msg("@a:x", T0 + 5, "HAUSMEISTER und Hausordnung");                     /* 5 */
	catch_up();
	HITS("Häuser", "1,0");
	HITS("Haus", "1,0");
	HITS("haeuser", "1,0");
	HITS("Strasse", "1,0");
	HITS("Straße", "1,0");
	HITS("STRASSE", "1,0");
	HITS("Mueller", "3,2");
	HITS("Müller", "3,2");
	HITS("Anträge", "3,2");
	HITS("Antrag", "3,2");
	HITS("\"Häuser\"", "0");        /* an exact phrase stays exact */
	HITS("\"Haus\"", "1");
	HITS("\"Straße werden\"", "0");
	HITS("\"Strasse werden\"", "0");  /* ß and ss are the same letters */
	HITS("meetings", "4");
	HITS("meeting", "4");
	HITS("running", "4");
	HITS("projects", "4");
	HITS("Haus*", "5,1");             /* prefixes are of the exact forms */
	HITS("haus*", "5,1");
}

static void test_identifiers(void **state)
{
	(void)state;
	msg("@a:x", T0, "Aktenzeichen AZ 12-345/2024 vom Amt.");                      /* 0 */
	msg("@a:x", T0 + 1, "Ruf an: +49 30 1234567 oder mail carol@stadt.de!");       /* 1 */
	msg("@a:x", T0 + 2, "Kontakt @bob:matrix.org und !room:srv.de, xmpp bob@srv.de/phone"); /* 2 */
	msg("@a:x", T0 + 3, "siehe https://intranet.stadt.de/wiki?page=1.");           /* 3 */
	msg("@a:x", T0 + 4, "Nummer 12 345 2024 und 49 30");                           /* 4 */
	catch_up();
	HITS("\"AZ 12-345/2024\"", "0");
	HITS("AZ 12-345/2024", "0");
	HITS("12-345/2024", "0");
	HITS("\"AZ 12-345/2024 vom\"", "0");
	HITS("\"12 345 2024\"", "4,0");     /* the words of a compound, one by one */
	HITS("\"+49 30 1234567\"", "1");
	HITS("+49 30 1234567", "1");
	HITS("carol@stadt.de", "1");
	HITS("@bob:matrix.org", "2");
	HITS("!room:srv.de", "2");
	HITS("bob@srv.de/phone", "2");
	HITS("https://intranet.stadt.de/wiki?page=1", "3");
	HITS("intranet", "3");
	HITS("carol@sta*", "1");
}

static void test_operators_and_fields(void **state)
{
	(void)state;
	add("matrix", "!bau:stadt.de", "@alice:stadt.de", T0, "e0", "Antrag Frist Bauamt", REC_MESSAGE, 0);
	add("matrix", "!bau:stadt.de", "@bob:stadt.de", T0 + 86400000, "e1", "Antrag ohne Termin", REC_MESSAGE, 0);
	add("xmpp", "team@muc.stadt.de", "alice@stadt.de/pc", T0 + 2 * 86400000, "x2", "Bescheid Frist", REC_MESSAGE, 0);
	add("threema", "ABCD1234", "EFGH5678", T0 + 3 * 86400000, "t3", "Bescheid korrigiert", REC_EDIT, 0);
	add("custos", "", "officer", T0 + 4 * 86400000, "", "search Antrag by officer", REC_AUDIT, 0);
	add("matrix", "!bau:stadt.de", "@alice:stadt.de", T0 + 5 * 86400000, "e5", "", REC_MESSAGE,
	    REC_F_ENCRYPTED);
	catch_up();
	HITS("Antrag Frist", "0");
	HITS("Antrag AND Frist", "0");
	HITS("Antrag OR Bescheid", "3,2,1,0");
	HITS("Antrag -Frist", "1");
	HITS("Antrag NOT Frist", "1");
	HITS("Frist -(Antrag OR korrigiert)", "2");
	HITS("(Antrag OR Bescheid) Frist", "2,0");
	HITS("Antrag OR Bescheid Frist", "2,0");  /* OR binds tighter than AND */
	HITS("\"Antrag Frist\"", "0");
	HITS("\"Frist Antrag\"", "");
	HITS("Antr*", "1,0");
	HITS("from:@alice:stadt.de", "5,0");       /* exact id */
	HITS("from:ALICE", "5,2,0");                /* local part, any server, any case */
	HITS("from:alice Frist", "2,0");
	HITS("-from:alice Antrag", "1");
	HITS("from:alice OR from:bob", "5,2,1,0");
	HITS("from:nobody", "");
	HITS("from:officer", "");                   /* the audit record has the system tag */
	HITS("from:officer kind:audit", "4");
	HITS("kind:audit Antrag", "4");
	HITS("in:!bau:stadt.de", "5,1,0");
	HITS("in:team@muc.stadt.de", "2");
	HITS("in:abcd1234", "3");
	HITS("platform:xmpp", "2");
	HITS("platform:XMPP Frist", "2");
	HITS("kind:edit", "3");
	HITS("kind:audit", "4");                    /* archive-internal records only on request */
	HITS("Antrag", "1,0");
	HITS("after:2024-05-02", "5,3,2,1");
	HITS("before:2024-05-02", "0");
	HITS("after:2024-05-02T12:00:00Z before:2024-05-03T12:00:00Z", "1");
	HITS("after:2024-05-02T14:00:00+02:00 before:2024-05-02T12:00:00.001Z", "1");
	HITS("-Antrag", "5,3,2");                   /* purely negative */
	HITS("Antrag OR from:bob", "1,0");
	HITS("Frist OR kind:edit", "3,2,0");
}

/* idx_query.kinds: what a caller may see bounds matches and counts
 * whatever the query names (hits_kinds checks total == hits). */
#define HITS_KINDS(q, kinds, want)                                                        \
	do {                                                                              \
		const char *got_ = hits_kinds(q, IDX_NEWEST, kinds);                      \
		if (strcmp(got_, want) != 0)                                              \
			fail_msg("'%s' (kinds %llx) found [%s], want [%s]", q,             \
				 (unsigned long long)(kinds), got_, want);                 \
	} while (0)

static void test_visible_kinds(void **state)
{
	const uint64_t officer = REC_KINDS_ALL & ~REC_KINDS_ARCHIVE, auditor = REC_KIND_BIT(REC_AUDIT);

	(void)state;
	add("matrix", "!bau:stadt.de", "@alice:stadt.de", T0, "e0", "Antrag Frist Bauamt", REC_MESSAGE, 0);
	add("threema", "ABCD1234", "EFGH5678", T0 + 1000, "t1", "Antrag korrigiert", REC_EDIT, 0);
	add("custos", "", "officer", T0 + 2000, "", "search Antrag by officer", REC_AUDIT, 0);
	add("custos", "", "carol", T0 + 3000, "", "hold Antrag placed", REC_HOLD, 0);
	add("custos", "", "carol", T0 + 4000, "", "", REC_AUDIT, 0);
	catch_up();
	HITS("kind:audit", "4,2");                  /* no restriction: on request */
	HITS_KINDS("kind:audit", officer, "");
	HITS_KINDS("kind:audit Antrag", officer, "");
	HITS_KINDS("kind:hold", officer, "");
	HITS_KINDS("from:officer kind:audit", officer, "");
	HITS_KINDS("Antrag OR kind:audit", officer, "1,0");
	HITS_KINDS("kind:edit OR kind:audit", officer, "1");
	HITS_KINDS("-kind:message", officer, "1");
	HITS_KINDS("Antrag", officer, "1,0");
	HITS_KINDS("kind:audit", auditor, "4,2");
	HITS_KINDS("kind:audit Antrag", auditor, "2");
	HITS_KINDS("kind:audit OR kind:hold", auditor, "4,2");
	HITS_KINDS("kind:hold", auditor, "");
	HITS_KINDS("Antrag", auditor, "");          /* the archive's own only on request */
	HITS_KINDS("Antrag OR kind:edit", auditor, "2"); /* names kind: */
	HITS_KINDS("kind:message", REC_KIND_BIT(REC_EDIT), "");
	HITS_KINDS("Antrag", REC_KINDS_ALL, "1,0");
}

static void test_sort_and_paging(void **state)
{
	struct idx_query iq = {"Akte", IDX_NEWEST, 4, NULL, 0};
	struct idx_result r;
	struct cu_err err;
	char seen[64] = {0};
	char *cur = NULL;
	uint64_t total = 0;
	int pages = 0, i;

	(void)state;
	/* times out of seq order, two with the same time */
	msg("@a:x", T0 + 50, "Akte eins");      /* 0 */
	msg("@a:x", T0 + 10, "Akte zwei");      /* 1 */
	msg("@a:x", T0 + 30, "Akte Akte Akte"); /* 2 */
	msg("@a:x", T0 + 30, "Akte vier und noch viele andere Wörter hier"); /* 3 */
	msg("@a:x", T0 + 90, "nichts");         /* 4 */
	catch_up();
	HITS("Akte", "0,3,2,1");
	{
		const char *o = hits_sorted("Akte", IDX_OLDEST);

		assert_string_equal(o, "1,2,3,0");
		o = hits_sorted("Akte", IDX_RELEVANCE);
		assert_int_equal(o[0], '2'); /* three hits in a short message first */
		o = hits_sorted("from:a", IDX_RELEVANCE); /* no words: newest */
		assert_string_equal(o, "4,0,3,2,1");
	}
	for (i = 0; i < 10; i++)
		msg("@a:x", T0 + 100 + i, "Akte neu"); /* 5..14 */
	catch_up();
	/* page through while more messages arrive between the pages */
	for (;;) {
		cu_err_clear(&err);
		iq.cursor = cur;
		if (idx_search(F->ix, F->st, &iq, &r, &err) != 0)
			fail_msg("page %d: %s", pages, err.msg);
		if (pages == 0)
			total = r.total;
		assert_int_equal(r.total, total);  /* the same snapshot on every page */
		for (size_t k = 0; k < r.nhits; k++) {
			assert_true(r.hits[k].seq < 15);
			assert_int_equal(seen[r.hits[k].seq], 0); /* no duplicates */
			seen[r.hits[k].seq] = 1;
		}
		free(cur);
		cur = r.next_cursor ? strdup(r.next_cursor) : NULL;
		idx_result_release(&r);
		pages++;
		msg("@a:x", T0 + 1000 + pages, "Akte während des Blätterns"); /* newer than all */
		catch_up();
		if (!cur)
			break;
	}
	assert_int_equal(total, 14);
	for (i = 0; i < 15; i++)
		if (i != 4)
			assert_int_equal(seen[i], 1); /* nothing skipped */
	assert_int_equal(pages, 4);
	/* a new search sees the new messages */
	iq.cursor = NULL;
	assert_int_equal(idx_search(F->ix, F->st, &iq, &r, &err), 0);
	assert_int_equal(r.total, 14 + 4);
	idx_result_release(&r);
	/* relevance pages the same way */
	memset(seen, 0, sizeof(seen));
	iq.sort = IDX_RELEVANCE;
	iq.limit = 3;
	total = 0;
	cur = NULL;
	do {
		iq.cursor = cur;
		assert_int_equal(idx_search(F->ix, F->st, &iq, &r, &err), 0);
		for (size_t k = 0; k < r.nhits; k++) {
			assert_int_equal(seen[r.hits[k].seq], 0);
			seen[r.hits[k].seq] = 1;
			total++;
		}
		free(cur);
		cur = r.next_cursor ? strdup(r.next_cursor) : NULL;
		idx_result_release(&r);
	} while (cur);
	assert_int_equal(total, 18);
}

static void test_bad_requests(void **state)
{
	struct idx_query iq = {"Akte", IDX_NEWEST, 1, NULL, 0};
	struct idx_result r;
	struct cu_err err;
	char *cur;

	(void)state;
	msg("@a:x", T0, "Akte eins");
	msg("@a:x", T0 + 1, "Akte zwei");
	catch_up();
	cu_err_clear(&err);
	assert_int_equal(idx_search(F->ix, F->st, &iq, &r, &err), 0);
	assert_non_null(r.next_cursor);
	cur = strdup(r.next_cursor);
	idx_result_release(&r);
	iq.cursor = "not a cursor!";
	assert_int_equal(idx_search(F->ix, F->st, &iq, &r, &err), CU_EINVAL);
	assert_non_null(strstr(err.msg, "cursor"));
	iq.cursor = "MXwwfDk5OTl8MHwwMDAwMDAwMDAwMDAwMDAwfDA"; /* well formed, wrong query */
	cu_err_clear(&err);
	assert_int_equal(idx_search(F->ix, F->st, &iq, &r, &err), CU_EINVAL);
	iq.cursor = cur;
	iq.q = "Akte zwei";
	cu_err_clear(&err);
	assert_int_equal(idx_search(F->ix, F->st, &iq, &r, &err), CU_EINVAL);
	assert_non_null(strstr(err.msg, "another query"));
	iq.q = "Akte";
	iq.sort = IDX_OLDEST;
	cu_err_clear(&err);
	assert_int_equal(idx_search(F->ix, F->st, &iq, &r, &err), CU_EINVAL);
	iq.sort = IDX_NEWEST;
	assert_int_equal(idx_search(F->ix, F->st, &iq, &r, &err), 0);
	assert_int_equal(r.nhits, 1);
	assert_int_equal(r.hits[0].seq, 0);
	idx_result_release(&r);
	free(cur);
	iq.cursor = NULL;
	iq.limit = IDX_MAX_LIMIT + 1;
	cu_err_clear(&err);
	assert_int_equal(idx_search(F->ix, F->st, &iq, &r, &err), CU_EINVAL);
	iq.limit = 10;
	iq.q = "(Akte";
	cu_err_clear(&err);
	assert_int_equal(idx_search(F->ix, F->st, &iq, &r, &err), CU_EINVAL);
	assert_non_null(strstr(err.msg, "position 6"));
}

static void test_json(void **state)
{
	struct idx_query iq = {"Antrag", IDX_NEWEST, 1, NULL, 0};
	const char *k;
	json_t *o, *h, *v;
	struct cu_err err;
	uint64_t s0;

	(void)state;
	s0 = add("matrix", "!r:x", "@a:x", T0, "$id0", "Der Antrag\n\tist \"da\" \xff", REC_MESSAGE, 0);
	add("matrix", "!r:x", "@b:x", T0 + 5, "$id1", "Noch ein Antrag", REC_MESSAGE, 0);
	catch_up();
	cu_err_clear(&err);
	assert_int_equal(idx_search_json(F->ix, F->st, &iq, &o, &err), 0);
	assert_int_equal(json_object_size(o), 3);
	assert_int_equal(json_integer_value(json_object_get(o, "total")), 2);
	assert_true(json_is_string(json_object_get(o, "next_cursor")));
	h = json_array_get(json_object_get(o, "results"), 0);
	assert_int_equal(json_object_size(h), 7);
	json_object_foreach(h, k, v)
		assert_non_null(strstr("seq id platform conversation sender ts snippet", k));
	assert_int_equal(json_integer_value(json_object_get(h, "seq")), s0 + 1);
	assert_string_equal(json_string_value(json_object_get(h, "id")), "$id1");
	assert_string_equal(json_string_value(json_object_get(h, "platform")), "matrix");
	assert_string_equal(json_string_value(json_object_get(h, "conversation")), "!r:x");
	assert_string_equal(json_string_value(json_object_get(h, "sender")), "@b:x");
	assert_int_equal(json_integer_value(json_object_get(h, "ts")), T0 + 5);
	assert_string_equal(json_string_value(json_object_get(h, "snippet")), "Noch ein **Antrag**");
	json_decref(o);
	/* the last page: next_cursor null; snippets are valid UTF-8 on one line */
	iq.limit = 5;
	assert_int_equal(idx_search_json(F->ix, F->st, &iq, &o, &err), 0);
	assert_true(json_is_null(json_object_get(o, "next_cursor")));
	h = json_array_get(json_object_get(o, "results"), 1);
	assert_string_equal(json_string_value(json_object_get(h, "snippet")),
			    "Der **Antrag**  ist \"da\" \xef\xbf\xbd");
	json_decref(o);
}

static void test_snippet_window(void **state)
{
	struct idx_query iq = {"Zielwort", IDX_NEWEST, 5, NULL, 0};
	struct idx_result r;
	struct cu_err err;
	char body[3000];
	size_t i;

	(void)state;
	body[0] = '\0';
	for (i = 0; i < 60; i++)
		strcat(body, "Füllwort ");
	strcat(body, "das Zielwort steht hier ");
	for (i = 0; i < 60; i++)
		strcat(body, "Nachwort ");
	msg("@a:x", T0, body);
	catch_up();
	assert_int_equal(idx_search(F->ix, F->st, &iq, &r, &err), 0);
	assert_int_equal(r.nhits, 1);
	assert_non_null(strstr(r.hits[0].snippet, "das **Zielwort** steht"));
	assert_true(strncmp(r.hits[0].snippet, "\xe2\x80\xa6", 3) == 0);       /* cut before */
	assert_true(strlen(r.hits[0].snippet) < IDX_SNIPPET_BYTES + 40);
	assert_non_null(strstr(r.hits[0].snippet + strlen(r.hits[0].snippet) - 3, "\xe2\x80\xa6"));
	idx_result_release(&r);
}

/* Every result of a set of queries, as JSON text. */
static char *all_results(void)
{
	static const char *const qs[] = {"Antrag", "Haus OR Frist", "from:alice", "\"Antrag Frist\"",
					 "Antr*", "-Antrag", "after:2024-05-02"};
	json_t *all = json_array(), *o;
	struct idx_query iq = {NULL, IDX_NEWEST, 50, NULL, 0};
	struct cu_err err;
	char *s;
	size_t i;

	for (i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		iq.q = qs[i];
		assert_int_equal(idx_search_json(F->ix, F->st, &iq, &o, &err), 0);
		json_array_append_new(all, o);
	}
	s = json_dumps(all, JSON_SORT_KEYS);
	json_decref(all);
	return s;
}

static void corpus(void)
{
	int i;
	char body[200];

	for (i = 0; i < 300; i++) {
		snprintf(body, sizeof(body), "%s %d %s", i % 3 ? "Antrag" : "Haus", i,
			 i % 7 ? "Frist" : "Bescheid");
		add("matrix", i % 2 ? "!a:x" : "!b:x", i % 5 ? "@alice:x" : "@bob:x", T0 + (i % 50) * 3600000LL,
		    NULL, body, REC_MESSAGE, 0);
	}
}

static void test_reindex_identical(void **state)
{
	struct cu_err err;
	char *before, *after;
	uint64_t hwm;

	(void)state;
	corpus();
	catch_up();
	before = all_results();
	/* a rebuild needs the index to itself */
	cu_err_clear(&err);
	assert_int_equal(idx_reindex(F->dir, F->st, NULL, NULL, &err), CU_ESTATE);
	idx_close(F->ix);
	F->ix = NULL;
	assert_int_equal(idx_reindex(F->dir, F->st, NULL, NULL, &err), 0);
	assert_int_equal(idx_open(F->dir, 0, &F->ix, &err), 0);
	assert_int_equal(idx_hwm(F->ix, &hwm, &err), 0);
	assert_int_equal(hwm, store_size(F->st));
	after = all_results();
	assert_string_equal(before, after);
	free(before);
	free(after);
}

static int ignore_word(void *arg, const struct tok_word *w)
{
	(void)arg;
	(void)w;
	return 0;
}

static sqlite3 *raw_db(void)
{
	char path[400];
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/index/index.db", F->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(tok_register(db, NULL, NULL), 0);
	return db;
}

static void test_reconcile(void **state)
{
	struct idx_report rep;
	struct cu_err err;
	sqlite3 *db;

	(void)state;
	corpus();
	catch_up();
	cu_err_clear(&err);
	assert_int_equal(idx_reconcile(F->ix, F->st, &rep, NULL, NULL, &err), 0);
	assert_int_equal(rep.store_size, 300);
	assert_int_equal(rep.hwm, 300);
	assert_int_equal(rep.checked, 300);
	assert_int_equal(rep.missing + rep.extra + rep.mismatched, 0);
	assert_int_equal(rep.fts_ok, 1);
	/* records not yet indexed are lag, not errors */
	msg("@a:x", T0, "neu");
	assert_int_equal(idx_reconcile(F->ix, F->st, &rep, NULL, NULL, &err), 0);
	if (rep.missing + rep.extra + rep.mismatched)
		fail_msg("missing %llu (%llu) extra %llu (%llu) mismatched %llu (%llu)", (unsigned long long)rep.missing,
			 (unsigned long long)rep.missing_seq[0], (unsigned long long)rep.extra,
			 (unsigned long long)rep.extra_seq[0], (unsigned long long)rep.mismatched,
			 (unsigned long long)rep.mismatched_seq[0]);
	assert_int_equal(rep.store_size - rep.hwm, 1);
	catch_up();
	/* damage the index behind its back */
	db = raw_db();
	assert_int_equal(sqlite3_exec(db, "DELETE FROM meta WHERE seq = 17;"
				      "INSERT INTO meta VALUES(5000, 0, 1, 1, 1, 1);"
				      "UPDATE meta SET ts = ts + 1 WHERE seq = 42;"
				      "INSERT INTO fts(fts, rowid, body) VALUES('delete', 99, 'Antrag 99 Frist');",
				      NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(idx_reconcile(F->ix, F->st, &rep, NULL, NULL, &err), 0);
	assert_int_equal(rep.missing, 2);      /* 17 (no metadata), 99 (no words) */
	assert_int_equal(rep.missing_seq[0], 17);
	assert_int_equal(rep.missing_seq[1], 99);
	assert_int_equal(rep.extra, 1);
	assert_int_equal(rep.extra_seq[0], 5000);
	assert_int_equal(rep.mismatched, 1);
	assert_int_equal(rep.mismatched_seq[0], 42);
	/* record 120's row with its words but the tags of another sender */
	{
		struct tok_sink sink = {ignore_word, NULL, 0, NULL, NULL, NULL};
		sqlite3_stmt *q;
		char right[64], wrong[64], sql[200];
		int64_t conv, sender;

		db = raw_db();
		assert_int_equal(sqlite3_prepare_v2(db, "SELECT conv, sender FROM meta WHERE seq = 120", -1, &q, NULL),
				 SQLITE_OK);
		assert_int_equal(sqlite3_step(q), SQLITE_ROW);
		conv = sqlite3_column_int64(q, 0);
		sender = sqlite3_column_int64(q, 1);
		sqlite3_finalize(q);
		snprintf(right, sizeof(right), "C%lld S%lld", (long long)conv, (long long)sender);
		snprintf(wrong, sizeof(wrong), "C%lld S%lld", (long long)conv, (long long)sender + 1000);
		assert_int_equal(tok_register(db, &sink, NULL), 0);
		sink.tags = right;
		snprintf(sql, sizeof(sql), "INSERT INTO fts(fts, rowid, body) VALUES('delete', 120, 'Haus 120 Frist')");
		assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
		sink.tags = wrong;
		assert_int_equal(sqlite3_exec(db, "INSERT INTO fts(rowid, body) VALUES(120, 'Haus 120 Frist')", NULL,
					      NULL, NULL), SQLITE_OK);
		sqlite3_close(db);
		assert_int_equal(idx_reconcile(F->ix, F->st, &rep, NULL, NULL, &err), 0);
		assert_int_equal(rep.mismatched, 2);
		assert_int_equal(rep.mismatched_seq[1], 120);
	}
}

/* from: and in: find records by their tags, which every record has and no
 * text can forge or match; the names of deleted records go. */
static void test_tags(void **state)
{
	struct cu_err err;
	uint64_t b1, b2;
	sqlite3 *db;
	sqlite3_stmt *q;
	int i, names;

	(void)state;
	/* the tags of the first names are C1..C9 and S1..S9: a body that
	 * names them all, and typed queries that ask for them */
	add("matrix", "!a:x", "@a:x", T0, "f0", "C1 C2 C3 C4 C5 C6 C7 C8 C9 S1 S2 S3 S4 S5 S6 S7 S8 S9",
		     REC_MESSAGE, 0);
	b1 = add("matrix", "!b:x", "@b:x", T0 + 1, "f1", "Antrag", REC_MESSAGE, 0);
	b2 = add("matrix", "!b:x", "@c:x", T0 + 2, "f2", "", REC_MESSAGE, 0); /* no words */
	add("custos", "!a:x", "officer", T0 + 3, "", "Antrag search by officer", REC_AUDIT, 0);
	catch_up();
	/* every row's tags agree with meta, the system tag with the kind */
	{
		struct idx_report rep;

		cu_err_clear(&err);
		assert_int_equal(idx_reconcile(F->ix, F->st, &rep, NULL, NULL, &err), 0);
		assert_int_equal(rep.checked, 4);
		assert_int_equal(rep.missing + rep.extra + rep.mismatched, 0);
	}
	assert_string_equal(hits("in:!a:x kind:audit"), "3");
	assert_string_equal(hits("in:!b:x"), "2,1");
	assert_string_equal(hits("from:@b:x"), "1");
	assert_string_equal(hits("from:@c:x"), "2");
	assert_string_equal(hits("in:!a:x"), "0");
	for (i = 1; i <= 9; i++) {
		char w[8];

		snprintf(w, sizeof(w), "C%d", i);
		assert_string_equal(hits(w), "0"); /* the word of the body only */
		snprintf(w, sizeof(w), "s%d", i);
		assert_string_equal(hits(w), "0");
	}
	assert_string_equal(hits("\"C1 C2\""), "0");
	/* relevance: the tags neither count as matches nor as length */
	assert_string_equal(hits_sorted("Antrag in:!b:x", IDX_RELEVANCE), "1");
	/* delete conversation !b:x: its name and senders go from the index */
	cu_err_clear(&err);
	assert_int_equal(idx_delete(F->ix, F->st, &b1, 1, &err), 0);
	assert_int_equal(idx_delete(F->ix, F->st, &b2, 1, &err), 0);
	assert_string_equal(hits("in:!b:x"), "");
	assert_string_equal(hits("in:!a:x"), "0");
	db = raw_db();
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM names WHERE val IN ('!b:x', '@b:x', '@c:x')",
					    -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	names = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM names WHERE val IN ('!a:x', '@a:x')", -1,
					    &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(q, 0), 2);
	sqlite3_finalize(q);
	sqlite3_close(db);
	assert_int_equal(names, 0);
}

/* Time ranges over many blocks of seqs with late arrivals, with and
 * without words and filters, both orders and paging: the same records as
 * a plain filter and sort of everything. */
enum { TR_N = 3 * 4096 + 500, TR_BATCH = 1000 };
static int64_t tr_ts[TR_N];
static int tr_conv[TR_N];

static int tr_before(uint64_t a, uint64_t b, enum idx_sort sort)
{
	int lt = tr_ts[a] < tr_ts[b] || (tr_ts[a] == tr_ts[b] && a < b);

	return sort == IDX_OLDEST ? lt : !lt && a != b;
}

static void iso(char *out, size_t n, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Pages through q (limit 40) and checks every page against the plain
 * answer: records with conv (-1: any), word (i % 3 == 0 has "gerade") and
 * ts in [after, before). */
static void tr_check(enum idx_sort sort, int conv, int word, int64_t after, int64_t before)
{
	static uint64_t want[TR_N];
	char q[200], a[40], b[40], *cur = NULL;
	size_t nw = 0, i, j, got = 0;

	iso(a, sizeof(a), after);
	iso(b, sizeof(b), before);
	snprintf(q, sizeof(q), "%s%s after:%s before:%s", word ? "gerade " : "",
		 conv < 0 ? "" : conv ? "in:!tr1" : "in:!tr0", a, b);
	for (i = 0; i < TR_N; i++)
		if ((conv < 0 || tr_conv[i] == conv) && (!word || i % 3 == 0) && tr_ts[i] >= after &&
		    tr_ts[i] < before)
			want[nw++] = i;
	/* insertion sort by the order asked */
	for (i = 1; i < nw; i++)
		for (j = i; j > 0 && tr_before(want[j], want[j - 1], sort); j--) {
			uint64_t t = want[j];

			want[j] = want[j - 1];
			want[j - 1] = t;
		}
	do {
		struct idx_query iq = {q, sort, 40, cur, 0};
		struct idx_result r;
		struct cu_err err;

		cu_err_clear(&err);
		if (idx_search(F->ix, F->st, &iq, &r, &err) != 0)
			fail_msg("search '%s': %s", q, err.msg);
		if (r.total != nw)
			fail_msg("'%s': total %llu, want %zu", q, (unsigned long long)r.total, nw);
		for (i = 0; i < r.nhits; i++, got++)
			if (got >= nw || r.hits[i].seq != want[got])
				fail_msg("'%s' sort %d: hit %zu is %llu, want %llu", q, (int)sort, got,
					 (unsigned long long)r.hits[i].seq,
					 (unsigned long long)(got < nw ? want[got] : 0));
		free(cur);
		cur = r.next_cursor ? strdup(r.next_cursor) : NULL;
		idx_result_release(&r);
	} while (cur);
	assert_int_equal(got, nw);
}

static void test_time_ranges(void **state)
{
	static struct store_input in[TR_BATCH];
	static char id[TR_BATCH][16];
	struct cu_err err;
	size_t i, k;

	(void)state;
	for (i = 0; i < TR_N; i += TR_BATCH) {
		size_t n = TR_N - i < TR_BATCH ? TR_N - i : TR_BATCH;

		memset(in, 0, sizeof(in));
		for (k = 0; k < n; k++) {
			size_t q = i + k;

			/* a minute apart; every 97th arrives late with a time from
			 * far back; pairs share a time */
			tr_ts[q] = q % 97 == 0 ? T0 + (int64_t)(q % 1000) * 60000 : T0 + (int64_t)(q / 2) * 120000;
			tr_conv[q] = (int)(q % 2);
			snprintf(id[k], sizeof(id[k]), "$tr%zu", q);
			in[k].rec.kind = REC_MESSAGE;
			in[k].rec.origin_ts = tr_ts[q];
			rec_set(&in[k].rec, RF_PLATFORM, "matrix");
			rec_set(&in[k].rec, RF_SOURCE, "test");
			rec_set(&in[k].rec, RF_CONVERSATION, q % 2 ? "!tr1" : "!tr0");
			rec_set(&in[k].rec, RF_SENDER, "@a:x");
			rec_set(&in[k].rec, RF_EVENT_ID, id[k]);
			rec_set(&in[k].rec, RF_BODY, q % 3 == 0 ? "gerade Zahl" : "sonst");
		}
		cu_err_clear(&err);
		if (store_append(F->st, in, n, &err) != 0)
			fail_msg("append: %s", err.msg);
	}
	catch_up();
	/* a range in the middle (blocks 1 and 2, and late arrivals from
	 * block 0's times all through), one at the start, one past the end */
	tr_check(IDX_NEWEST, -1, 0, T0 + 5000 * 60000LL, T0 + 9000 * 60000LL);
	tr_check(IDX_OLDEST, -1, 0, T0 + 5000 * 60000LL, T0 + 9000 * 60000LL);
	tr_check(IDX_NEWEST, 1, 0, T0 + 100 * 60000LL, T0 + 600 * 60000LL);
	tr_check(IDX_OLDEST, 0, 1, T0 + 100 * 60000LL, T0 + 20000 * 60000LL);
	tr_check(IDX_NEWEST, -1, 1, T0 + 12000 * 60000LL, T0 + 30000 * 60000LL);
	tr_check(IDX_NEWEST, -1, 0, T0 + 40000 * 60000LL, T0 + 50000 * 60000LL);
}

/* 1 if any file under DATADIR/index contains needle. */
static int index_files_contain(const char *needle)
{
	char path[700], dirp[400];
	struct dirent *de;
	DIR *d;
	int found = 0;

	snprintf(dirp, sizeof(dirp), "%s/index", F->dir);
	d = opendir(dirp);
	assert_non_null(d);
	while ((de = readdir(d)) && !found) {
		FILE *f;
		char *buf;
		size_t n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dirp, de->d_name);
		f = fopen(path, "rb");
		assert_non_null(f);
		buf = malloc(64 << 20);
		n = fread(buf, 1, 64 << 20, f);
		fclose(f);
		found = memmem(buf, n, needle, strlen(needle)) != NULL;
		free(buf);
	}
	closedir(d);
	return found;
}

static void test_delete(void **state)
{
	struct cu_err err;
	uint64_t s1, s2, s3;
	size_t erased;

	(void)state;
	corpus();
	/* words that share no prefix with their neighbours in the vocabulary,
	 * so FTS5 stores them whole */
	s1 = msg("@a:x", T0, "Das Xylophonquartett steht in der Akte Quelltextsatz");
	s2 = msg("@a:x", T0, "Hier nur Zeppelinhangar und Akte");
	s3 = msg("@a:x", T0, "Akte bleibt");
	catch_up();
	assert_string_equal(hits("Xylophonquartett"), "300");
	assert_string_equal(hits("Akte"), "302,301,300");
	assert_true(index_files_contain("xylophonquartett"));
	assert_true(index_files_contain("quelltextsatz"));
	cu_err_clear(&err);
	assert_int_equal(idx_delete(F->ix, F->st, &s1, 1, &err), 0);
	assert_string_equal(hits("Xylophonquartett"), "");
	assert_string_equal(hits("Quelltextsatz"), "");
	assert_string_equal(hits("Akte"), "302,301");
	assert_false(index_files_contain("xylophonquartett"));
	assert_false(index_files_contain("quelltextsatz"));
	/* the record was already stubbed in the log: the words are rebuilt */
	assert_true(index_files_contain("zeppelinhangar"));
	assert_int_equal(store_erase(F->st, &s2, 1, s3, &erased, &err), 0);
	assert_int_equal(erased, 1);
	assert_int_equal(idx_delete(F->ix, F->st, &s2, 1, &err), 0);
	assert_string_equal(hits("Zeppelinhangar"), "");
	assert_false(index_files_contain("zeppelinhangar"));
	assert_string_equal(hits("Akte"), "302");
	assert_string_equal(hits("Antrag 4"), "4");
	/* reconciliation: a record deleted from the index but still whole in
	 * the log is missing; once the retention engine has stubbed it, all
	 * agrees */
	{
		struct idx_report rep;

		assert_int_equal(idx_reconcile(F->ix, F->st, &rep, NULL, NULL, &err), 0);
		assert_int_equal(rep.missing, 1);
		assert_int_equal(rep.missing_seq[0], s1);
		assert_int_equal(store_erase(F->st, &s1, 1, s3, &erased, &err), 0);
		assert_int_equal(idx_reconcile(F->ix, F->st, &rep, NULL, NULL, &err), 0);
		assert_int_equal(rep.missing + rep.extra + rep.mismatched, 0);
	}
	/* deleting what is not there is a no-op */
	assert_int_equal(idx_delete(F->ix, F->st, &s1, 1, &err), 0);
}

static void test_add_and_lag(void **state)
{
	struct store_input in[3];
	struct cu_err err;
	uint64_t lag, hwm;
	int i;

	(void)state;
	msg("@a:x", T0, "eins");
	cu_err_clear(&err);
	assert_int_equal(idx_lag(F->ix, F->st, &lag, &err), 0);
	assert_int_equal(lag, 1);
	memset(in, 0, sizeof(in));
	for (i = 0; i < 3; i++) {
		in[i].rec.kind = REC_MESSAGE;
		in[i].rec.origin_ts = T0 + i;
		rec_set(&in[i].rec, RF_PLATFORM, "matrix");
		rec_set(&in[i].rec, RF_SENDER, "@b:x");
		rec_set(&in[i].rec, RF_BODY, i == 1 ? "zwei Wortneu" : "drei");
	}
	assert_int_equal(store_append(F->st, in, 3, &err), 0);
	/* the index is behind the batch: it reads the log first */
	assert_int_equal(idx_add(F->ix, F->st, in, 3, &err), 0);
	assert_int_equal(idx_lag(F->ix, F->st, &lag, &err), 0);
	assert_int_equal(lag, 0);
	HITS("Wortneu", "2");
	HITS("eins", "0");
	/* adding again changes nothing */
	assert_int_equal(idx_add(F->ix, F->st, in, 3, &err), 0);
	HITS("drei", "3,1");
	/* in step with the log: from memory */
	in[0].rec.origin_ts = T0 + 10;
	rec_set(&in[0].rec, RF_BODY, "vier");
	assert_int_equal(store_append(F->st, in, 1, &err), 0);
	assert_int_equal(idx_add(F->ix, F->st, in, 1, &err), 0);
	assert_int_equal(idx_hwm(F->ix, &hwm, &err), 0);
	assert_int_equal(hwm, 5);
	HITS("vier", "4");
}

/* Appends one message per body (sender @b:x) into in[], returns n. */
static size_t append_bodies(struct store_input *in, const char *const *bodies, size_t n)
{
	struct cu_err err;
	size_t i;

	memset(in, 0, n * sizeof(*in));
	for (i = 0; i < n; i++) {
		in[i].rec.kind = REC_MESSAGE;
		in[i].rec.origin_ts = T0 + 100 + (int64_t)i;
		rec_set(&in[i].rec, RF_PLATFORM, "matrix");
		rec_set(&in[i].rec, RF_SENDER, "@b:x");
		rec_set(&in[i].rec, RF_BODY, bodies[i]);
	}
	cu_err_clear(&err);
	if (store_append(F->st, in, n, &err) != 0)
		fail_msg("append: %s", err.msg);
	return n;
}

/* How many records a read-only handle finds for q, and its lag. */
static void ro_count(struct idx *ro, const char *q, uint64_t *total, uint64_t *lag)
{
	struct idx_query iq = {q, IDX_NEWEST, 10, NULL, 0};
	struct idx_result r;
	struct cu_err err;

	cu_err_clear(&err);
	if (idx_search(ro, F->st, &iq, &r, &err) != 0)
		fail_msg("search '%s': %s", q, err.msg);
	*total = r.total;
	*lag = r.lag;
	idx_result_release(&r);
}

/* idx_add_open/idx_add_commit: several batches, one transaction. */
static void test_add_open_commit(void **state)
{
	static const char *const one[] = {"alpha eins", "alpha zwei"}, *const two[] = {"beta drei", "beta vier"};
	struct store_input a[2], b[2];
	struct idx *ro = NULL;
	struct cu_err err;
	uint64_t total, lag, hwm;

	(void)state;
	cu_err_clear(&err);
	assert_int_equal(idx_add_commit(F->ix, &err), 0); /* nothing open: nothing to do */
	append_bodies(a, one, 2);
	assert_int_equal(idx_add_open(F->ix, F->st, a, 2, &err), 0);
	append_bodies(b, two, 2);
	assert_int_equal(idx_add_open(F->ix, F->st, b, 2, &err), 0);
	assert_int_equal(idx_add_pending(F->ix), 4);
	/* readers see none of it before the commit */
	assert_int_equal(idx_open(F->dir, IDX_RDONLY, &ro, &err), 0);
	ro_count(ro, "alpha OR beta", &total, &lag);
	assert_int_equal(total, 0);
	assert_int_equal(lag, 4);
	assert_int_equal(idx_add_commit(F->ix, &err), 0);
	assert_int_equal(idx_add_pending(F->ix), 0);
	ro_count(ro, "alpha OR beta", &total, &lag);
	assert_int_equal(total, 4);
	assert_int_equal(lag, 0);
	/* a batch that does not continue the open transaction (a record was
	 * archived in between without being handed over): the transaction is
	 * rolled back and the index reads everything from the log instead */
	append_bodies(a, one, 1);
	assert_int_equal(idx_add_open(F->ix, F->st, a, 1, &err), 0);
	msg("@a:x", T0 + 200, "gamma");
	append_bodies(b, two, 1);
	assert_int_equal(idx_add_open(F->ix, F->st, b, 1, &err), 0);
	assert_int_equal(idx_add_pending(F->ix), 0);
	assert_int_equal(idx_hwm(F->ix, &hwm, &err), 0);
	assert_int_equal(hwm, 7);
	HITS("gamma", "5");
	HITS("alpha", "1,4,0"); /* newest first: seq 1 is 1 ms newer than 4 and 0 */
	/* idx_close commits a transaction left open */
	append_bodies(a, two, 1);
	assert_int_equal(idx_add_open(F->ix, F->st, a, 1, &err), 0);
	idx_close(F->ix);
	F->ix = NULL;
	ro_count(ro, "beta", &total, &lag);
	assert_int_equal(total, 4); /* seqs 2, 3, 6 and 7 */
	assert_int_equal(lag, 0);
	idx_close(ro);
	assert_int_equal(idx_open(F->dir, 0, &F->ix, &err), 0);
	assert_int_equal(idx_hwm(F->ix, &hwm, &err), 0);
	assert_int_equal(hwm, 8);
}

static void test_versions_and_readonly(void **state)
{
	struct idx *ro = NULL;
	struct cu_err err;
	sqlite3 *db;
	uint64_t hwm;

	(void)state;
	msg("@a:x", T0, "Wort eins");
	catch_up();
	/* a reader searches but never writes */
	cu_err_clear(&err);
	assert_int_equal(idx_open(F->dir, IDX_RDONLY, &ro, &err), 0);
	msg("@a:x", T0 + 1, "Wort zwei");
	{
		struct idx_query iq = {"Wort", IDX_NEWEST, 10, NULL, 0};
		struct idx_result r;

		assert_int_equal(idx_search(ro, F->st, &iq, &r, &err), 0);
		assert_int_equal(r.total, 1);
		assert_int_equal(r.lag, 1);
		idx_result_release(&r);
	}
	assert_int_equal(idx_catch_up(ro, F->st, NULL, NULL, &err), CU_ESTATE);
	idx_close(ro);
	/* an index of another tokenizer version is rebuilt by a writer */
	catch_up();
	idx_close(F->ix);
	F->ix = NULL;
	db = raw_db();
	assert_int_equal(sqlite3_exec(db, "UPDATE state SET v = 999 WHERE k = 'tokver'", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	cu_err_clear(&err);
	assert_int_equal(idx_open(F->dir, IDX_RDONLY, &ro, &err), CU_ESTATE);
	assert_int_equal(idx_open(F->dir, IDX_NOREBUILD, &ro, &err), CU_ESTATE);
	assert_int_equal(idx_open(F->dir, 0, &F->ix, &err), 0);
	assert_int_equal(idx_hwm(F->ix, &hwm, &err), 0);
	assert_int_equal(hwm, 0);
	catch_up();
	HITS("Wort", "1,0");
	/* an index of another archive is refused */
	db = raw_db();
	assert_int_equal(sqlite3_exec(db, "UPDATE state SET v = 'other/log' WHERE k = 'origin'", NULL, NULL,
				      NULL), SQLITE_OK);
	sqlite3_close(db);
	msg("@a:x", T0 + 2, "Wort drei");
	cu_err_clear(&err);
	assert_int_equal(idx_catch_up(F->ix, F->st, NULL, NULL, &err), CU_ECORRUPT);
	assert_non_null(strstr(err.msg, "reindex"));
	/* an index ahead of the log is refused */
	db = raw_db();
	assert_int_equal(sqlite3_exec(db, "UPDATE state SET v = 'search.test/log' WHERE k = 'origin';"
				      "UPDATE state SET v = 100 WHERE k = 'hwm'", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	cu_err_clear(&err);
	assert_int_equal(idx_catch_up(F->ix, F->st, NULL, NULL, &err), CU_ECORRUPT);
	assert_non_null(strstr(err.msg, "ahead"));
}

/* Expected order for test_order_many. */
struct exp_row {
	uint64_t seq;
	int64_t ts;
};

static int exp_newest(const void *a, const void *b)
{
	const struct exp_row *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts > y->ts ? -1 : 1;
	return x->seq > y->seq ? -1 : x->seq < y->seq ? 1 : 0;
}

/* Pages through q and checks the order against a sort of all matches. */
static void check_order(const char *q, enum idx_sort sort, struct exp_row *exp, size_t nexp)
{
	struct idx_query iq = {q, sort, 37, NULL, 0};
	struct idx_result r;
	struct cu_err err;
	char *cur = NULL;
	size_t k = 0, i;

	for (;;) {
		iq.cursor = cur;
		cu_err_clear(&err);
		if (idx_search(F->ix, F->st, &iq, &r, &err) != 0)
			fail_msg("%s: %s", q, err.msg);
		assert_int_equal(r.total, nexp);
		for (i = 0; i < r.nhits; i++, k++) {
			size_t e = sort == IDX_OLDEST ? nexp - 1 - k : k;

			assert_true(k < nexp);
			if (r.hits[i].seq != exp[e].seq)
				fail_msg("%s: hit %zu is seq %llu, want %llu", q, k,
					 (unsigned long long)r.hits[i].seq, (unsigned long long)exp[e].seq);
		}
		free(cur);
		cur = r.next_cursor ? strdup(r.next_cursor) : NULL;
		idx_result_release(&r);
		if (!cur)
			break;
	}
	assert_int_equal(k, nexp);
}

/* Newest/oldest first across many blocks of seqs, with times out of seq
 * order (jittered, and a backfill of old messages archived late): the
 * early stop of the ordered scan must never drop a better match. */
static void test_order_many(void **state)
{
	enum { N = 3 * 4096 + 500 };
	static struct store_input in[N];
	static char bodies[N][16];
	static struct exp_row exp[N];
	struct cu_err err;
	size_t i, nexp = 0;

	(void)state;
	memset(in, 0, sizeof(in));
	for (i = 0; i < N; i++) {
		int64_t ts = T0 + (int64_t)i * 1000 + (int64_t)((i * 7919) % 50) * 1000; /* jitter */

		if (i >= 9000 && i < 9100)
			ts = T0 - 86400000LL + (int64_t)i; /* a late backfill of old messages */
		if (i % 500 == 0)
			ts = T0 + 5000000LL; /* a few share one time */
		snprintf(bodies[i], sizeof(bodies[i]), "w%zu x", i % 40);
		in[i].rec.kind = REC_MESSAGE;
		in[i].rec.origin_ts = ts;
		rec_set(&in[i].rec, RF_PLATFORM, "matrix");
		rec_set(&in[i].rec, RF_SENDER, "@a:x");
		rec_set(&in[i].rec, RF_BODY, bodies[i]);
		if (i % 40 == 0) {
			exp[nexp].seq = i;
			exp[nexp].ts = ts;
			nexp++;
		}
	}
	cu_err_clear(&err);
	assert_int_equal(store_append(F->st, in, N, &err), 0);
	catch_up();
	qsort(exp, nexp, sizeof(exp[0]), exp_newest);
	check_order("w0", IDX_NEWEST, exp, nexp);
	check_order("w0", IDX_OLDEST, exp, nexp);
	/* and the metadata-only path agrees */
	check_order("w0 from:a", IDX_NEWEST, exp, nexp);
}

/* A read-only view of the log opened before a writer appended and indexed
 * more (custos search while custos ingest runs): catching up is a no-op
 * for it, not "index ahead of the log", and its searches stay within the
 * view, so that every hit can be read. */
static void test_stale_readonly_view(void **state)
{
	struct idx_query iq = {"Wort", IDX_NEWEST, 10, NULL, 0};
	struct idx_result r;
	struct store *view;
	struct cu_err err;

	(void)state;
	msg("@a:x", T0 + 0, "Wort eins");
	msg("@a:x", T0 + 1, "Wort zwei");
	catch_up();
	cu_err_clear(&err);
	assert_int_equal(store_open(F->dir, NULL, STORE_RDONLY, &view, &err), 0);
	msg("@a:x", T0 + 2, "Wort drei");
	msg("@a:x", T0 + 3, "Wort vier");
	catch_up(); /* the index now holds 4 records, the view 2 */
	assert_int_equal(idx_catch_up(F->ix, view, NULL, NULL, &err), 0);
	assert_int_equal(idx_search(F->ix, view, &iq, &r, &err), 0);
	assert_int_equal(r.total, 2);
	assert_int_equal(r.nhits, 2);
	assert_int_equal(r.hits[0].seq, 1);
	assert_int_equal(r.hits[1].seq, 0);
	idx_result_release(&r);
	store_close(view);
	assert_string_equal(hits("Wort"), "3,2,1,0"); /* the writer's view: all */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_stale_readonly_view, setup, teardown),
		cmocka_unit_test_setup_teardown(test_german, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identifiers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_operators_and_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_visible_kinds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sort_and_paging, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snippet_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reindex_identical, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconcile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_time_ranges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_and_lag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_open_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_versions_and_readonly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_order_many, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
