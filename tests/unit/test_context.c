/* test_context.c - a record's neighbours in its conversation from the
 * index (idx_context, search/context.c): (origin time, seq) order across
 * late arrivals and equal times, the more flags, the latest records, an
 * anchor beyond the high-water mark, many blocks of seqs with late
 * arrivals against a plain sort, the errors, and query plans that read
 * the conversation's tag without sorting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archiver/record.h"
#include "archiver/store.h"
#include "search/index_int.h"
#include "tests/unit/test_util.h"

#define T0 1714564800000LL

static struct tu_archive *F; /* F->dir: the archive, F->ix: its index */

static uint64_t add(const char *conv, int64_t ts)
{
	static unsigned n;
	char id[32];
	struct tu_rec r = {.platform = "matrix", .conversation = conv, .sender = "@a:x", .event_id = id,
			   .body = "hallo", .ts = ts, .kind = REC_MESSAGE};

	snprintf(id, sizeof(id), "$c%u", n++);
	return tu_append(F->st, &r, NULL);
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
	tu_archive_new(F, "ctx", "context.test/log", 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	assert_int_equal(tu_archive_free(F), 0);
	free(F);
	return 0;
}

/* Runs idx_context and renders "b1,b2|a1,a2 more_before more_after"
 * (each side nearest first). */
static const char *ctx(const char *conv, uint64_t anchor, int64_t ts, size_t nb, size_t na, int expect_rc)
{
	static char out[512];
	uint64_t sb[16], sa[16], hwm;
	int64_t tb[16], ta[16];
	struct idx_ctx_side b = {nb, sb, tb, 0, 0}, a = {na, sa, ta, 0, 0};
	struct cu_err err;
	size_t i, o = 0;
	int rc;

	cu_err_clear(&err);
	rc = idx_context(F->ix, conv, anchor, &ts, &b, &a, &hwm, &err);
	assert_int_equal(rc, expect_rc);
	if (rc) {
		snprintf(out, sizeof(out), "%s", err.msg);
		return out;
	}
	for (i = 0; i < b.n; i++)
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%llu", i ? "," : "", (unsigned long long)sb[i]);
	o += (size_t)snprintf(out + o, sizeof(out) - o, "|");
	for (i = 0; i < a.n; i++)
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%llu", i ? "," : "", (unsigned long long)sa[i]);
	snprintf(out + o, sizeof(out) - o, " %d %d", b.more, a.more);
	return out;
}

static void test_order_and_flags(void **state)
{
	(void)state;
	/* seq: 0 r@30 1 x@10 2 r@10 3 r@20 4 x@20 5 r@20 6 r@40 7 r@5 */
	add("!r", T0 + 30);
	add("!x", T0 + 10);
	add("!r", T0 + 10);
	add("!r", T0 + 20);
	add("!x", T0 + 20);
	add("!r", T0 + 20);
	add("!r", T0 + 40);
	add("!r", T0 + 5);
	catch_up();
	/* by time: 7(5) 2(10) 3(20) 5(20) 0(30) 6(40) */
	assert_string_equal(ctx("!r", 3, 0, 10, 10, 0), "2,7|5,0,6 0 0");
	assert_string_equal(ctx("!r", 3, 0, 1, 1, 0), "2|5 1 1");
	assert_string_equal(ctx("!r", 5, 0, 1, 1, 0), "3|0 1 1");
	assert_string_equal(ctx("!r", 7, 0, 3, 2, 0), "|2,3 0 1");
	assert_string_equal(ctx("!r", 6, 0, 0, 0, 0), "| 1 0");
	assert_string_equal(ctx("!r", IDX_CTX_LATEST, 0, 2, 5, 0), "6,0| 1 0");
	assert_string_equal(ctx("!r", IDX_CTX_LATEST, 0, 10, 0, 0), "6,0,5,3,2,7| 0 0");
	assert_string_equal(ctx("!x", 4, 0, 5, 5, 0), "1| 0 0");
	/* a conversation the index does not know */
	assert_string_equal(ctx("!none", IDX_CTX_LATEST, 0, 5, 0, 0), "| 0 0");
}

static void test_anchor_beyond_mark(void **state)
{
	uint64_t s;

	(void)state;
	add("!r", T0 + 10);
	add("!r", T0 + 30);
	catch_up();
	s = add("!r", T0 + 20); /* seq 2, not indexed yet */
	assert_int_equal(s, 2);
	/* the caller gives the anchor's time; the index has only 0 and 1 */
	assert_string_equal(ctx("!r", 2, T0 + 20, 5, 5, 0), "0|1 0 0");
	assert_string_equal(ctx("!r", 2, T0 + 5, 5, 5, 0), "|0,1 0 0");
	/* below the mark the index's time wins over the caller's */
	assert_string_equal(ctx("!r", 1, T0 + 1, 5, 5, 0), "0| 0 0");
}

/* Brute force: the want nearest of conv on one side of (ts, seq). */
struct brec {
	int conv;
	int64_t ts;
};

static int before_of(const struct brec *r, size_t a, size_t b)
{
	return r[a].ts < r[b].ts || (r[a].ts == r[b].ts && a < b);
}

static void test_many_blocks(void **state)
{
	enum { N = 3 * 4096 + 700, BATCH = 1000 };
	static struct brec r[N];
	static struct store_input in[BATCH];
	static const char *const convs[3] = {"!a", "!b", "!c"};
	static const size_t anchors[] = {5, 4095, 4096, 6000, 8191, 9000, 12000, N - 1};
	struct cu_err err;
	char id[BATCH][16];
	size_t i, k, j;

	(void)state;
	for (i = 0; i < N; i += BATCH) {
		size_t n = N - i < BATCH ? N - i : BATCH;

		memset(in, 0, sizeof(in));
		for (k = 0; k < n; k++) {
			size_t q = i + k;

			/* !c is quiet (every 50th); every 97th is a late arrival
			 * with a time from far back; some times repeat */
			r[q].conv = q % 50 == 0 ? 2 : (int)(q % 2);
			r[q].ts = q % 97 == 0 ? T0 + (int64_t)(q % 1000) * 7 : T0 + (int64_t)(q / 3) * 10;
			snprintf(id[k], sizeof(id[k]), "$m%zu", q);
			in[k].rec.kind = REC_MESSAGE;
			in[k].rec.origin_ts = r[q].ts;
			rec_set(&in[k].rec, RF_PLATFORM, "matrix");
			rec_set(&in[k].rec, RF_SOURCE, "test");
			rec_set(&in[k].rec, RF_CONVERSATION, convs[r[q].conv]);
			rec_set(&in[k].rec, RF_SENDER, "@a:x");
			rec_set(&in[k].rec, RF_EVENT_ID, id[k]);
			rec_set(&in[k].rec, RF_BODY, "hallo");
		}
		cu_err_clear(&err);
		if (store_append(F->st, in, n, &err) != 0)
			fail_msg("append: %s", err.msg);
	}
	catch_up();
	for (k = 0; k < sizeof(anchors) / sizeof(anchors[0]); k++) {
		size_t a = anchors[k], want = 7;
		char expect[512], *got;
		size_t o = 0, nb = 0, na = 0, pick[2][8];
		int more[2] = {0, 0};

		/* nearest first on each side, by repeated selection */
		for (j = 0; j < N; j++) {
			int side, pos;
			size_t *p;
			size_t *n;

			if (r[j].conv != r[a].conv || j == a)
				continue;
			side = before_of(r, j, a) ? 0 : 1;
			p = pick[side];
			n = side ? &na : &nb;
			/* insert j in order of nearness, keep want + 1 */
			for (pos = (int)*n; pos > 0 && (side ? before_of(r, j, p[pos - 1]) : before_of(r, p[pos - 1], j));
			     pos--)
				if ((size_t)pos < want + 1)
					p[pos] = p[pos - 1];
			if ((size_t)pos < want + 1) {
				p[pos] = j;
				if (*n < want + 1)
					(*n)++;
			}
		}
		more[0] = nb > want;
		more[1] = na > want;
		for (j = 0; j < nb && j < want; j++)
			o += (size_t)snprintf(expect + o, sizeof(expect) - o, "%s%zu", j ? "," : "", pick[0][j]);
		o += (size_t)snprintf(expect + o, sizeof(expect) - o, "|");
		for (j = 0; j < na && j < want; j++)
			o += (size_t)snprintf(expect + o, sizeof(expect) - o, "%s%zu", j ? "," : "", pick[1][j]);
		snprintf(expect + o, sizeof(expect) - o, " %d %d", more[0], more[1]);
		got = (char *)ctx(convs[r[a].conv], a, 0, want, want, 0);
		if (strcmp(got, expect) != 0)
			fail_msg("anchor %zu: got %s, want %s", a, got, expect);
	}
}

static void test_errors(void **state)
{
	char longconv[1100];

	(void)state;
	add("!r", T0 + 10);
	add("!x", T0 + 10);
	catch_up();
	/* indexed, but of another conversation */
	ctx("!r", 1, 0, 1, 1, CU_ENOTFOUND);
	ctx("!none", 0, 0, 1, 1, CU_ENOTFOUND);
	memset(longconv, 'a', sizeof(longconv) - 1);
	longconv[sizeof(longconv) - 1] = '\0';
	ctx(longconv, IDX_CTX_LATEST, 0, 1, 0, CU_ETOOBIG);
}

/* The statements of search/context.c: the conversation's tag postings in
 * seq order joined to meta by seq, with no sort. */
static void test_plans(void **state)
{
	static const char *const sqls[] = {
		"SELECT fts.rowid, m.ts FROM fts CROSS JOIN meta m ON m.seq = fts.rowid"
		" WHERE fts MATCH ?1 AND fts.rowid < ?2 ORDER BY fts.rowid DESC",
		"SELECT fts.rowid, m.ts FROM fts CROSS JOIN meta m ON m.seq = fts.rowid"
		" WHERE fts MATCH ?1 AND fts.rowid >= ?2 ORDER BY fts.rowid",
	};
	char plan[1024];
	sqlite3_stmt *q;
	size_t i, o;

	(void)state;
	add("!r", T0);
	catch_up();
	for (i = 0; i < sizeof(sqls) / sizeof(sqls[0]); i++) {
		char sql[512];

		snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN %s", sqls[i]);
		/* the index's own connection: the custom tokenizer is registered */
		assert_int_equal(sqlite3_prepare_v2(F->ix->db, sql, -1, &q, NULL), SQLITE_OK);
		o = 0;
		plan[0] = '\0';
		while (sqlite3_step(q) == SQLITE_ROW)
			o += (size_t)snprintf(plan + o, sizeof(plan) - o, "%s;",
					      (const char *)sqlite3_column_text(q, 3));
		sqlite3_finalize(q);
		if (!strstr(plan, "SCAN fts VIRTUAL TABLE") || !strstr(plan, "SEARCH m USING INTEGER PRIMARY KEY") ||
		    strstr(plan, "TEMP B-TREE"))
			fail_msg("plan of %s: %s", sqls[i], plan);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_order_and_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_anchor_beyond_mark, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_blocks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plans, setup, teardown),
	};

	return cmocka_run_group_tests_name("context", tests, NULL, NULL);
}
