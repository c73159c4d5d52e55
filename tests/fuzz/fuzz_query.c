/* fuzz_query.c - the search query parser and compiler (search/query.h)
 * and the tokenizer (search/tokenizer.h) on arbitrary bytes.
 *
 * Invariants checked:
 * - a query either parses or fails with CU_EINVAL/CU_ETOOBIG and a
 *   message; a parsed query either compiles or fails the same way;
 * - whatever compiles runs in SQLite without an error: the FTS5 MATCH
 *   expression and the SQL condition, with their bound parameters,
 *   against a small contentless FTS5 table using the custos tokenizer
 *   (nothing typed may reach SQL or FTS5 as syntax);
 * - the tokenizer reports words within the text, at most TOK_MAX_WORD
 *   bytes each, in order.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search/query.h"
#include "search/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tok_ctx *tc;
static sqlite3 *db;

static void setup(void)
{
	if (tc)
		return;
	if (tok_ctx_new(&tc, NULL) != 0 || sqlite3_open(":memory:", &db) != SQLITE_OK ||
	    tok_register(db, NULL, NULL) != 0 ||
	    sqlite3_exec(db, "CREATE VIRTUAL TABLE fts USING fts5(body, content='', tokenize='custos');"
			 "CREATE TABLE meta(seq INTEGER PRIMARY KEY, ts, kind, plat, conv, sender);"
			 "INSERT INTO fts(rowid, body) VALUES(1, 'Antrag AZ 12-345/2024 near body Häuser');"
			 "INSERT INTO fts(rowid, body) VALUES(2, 'alice@example.org https://x.org/a?b=1');"
			 "INSERT INTO meta VALUES(1, 0, 1, 1, 1, 7);"
			 "INSERT INTO meta VALUES(2, 5, 1, 1, 2, 8);", NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "fuzz_query: setup failed\n");
		abort();
	}
}

static int resolve(void *arg, enum q_field f, const char *v, int64_t *ids, size_t max, size_t *n)
{
	(void)arg;
	(void)f;
	*n = 0;
	if (max >= 2 && strlen(v) % 3 == 1) {
		ids[(*n)++] = 7;
		ids[(*n)++] = 8;
	} else if (strlen(v) % 3 == 2) {
		ids[(*n)++] = 7;
	}
	return 0;
}

static int expand(void *arg, const char *stem, char **terms, size_t max, size_t *n)
{
	(void)arg;
	*n = 0;
	if (max > 0 && (terms[0] = malloc(strlen(stem) + 3)) != NULL) {
		sprintf(terms[0], "%s\"x", stem); /* a quote inside a form must stay quoted */
		*n = 1;
	}
	return 0;
}

/* Words must lie inside the text, in order, within the caps. */
struct tok_check {
	size_t len;
	size_t last_start;
};

static int check_word(void *arg, const struct tok_word *w)
{
	struct tok_check *c = arg;

	if (w->exact_len == 0 || w->exact_len > TOK_MAX_WORD || strlen(w->exact) != w->exact_len ||
	    w->start >= w->end || w->end > c->len || w->start < c->last_start ||
	    (w->compound && (w->compound_len > TOK_MAX_COMPOUND || w->cstart > w->start || w->cend > c->len)))
		abort();
	c->last_start = w->start;
	return 0;
}

static void run_sql(const struct q_plan *p)
{
	char sql[300000];
	sqlite3_stmt *st = NULL;
	size_t j;
	int k = 1;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE %s%s(%s)",
		 p->fts ? "fts JOIN meta m ON m.seq = fts.rowid" : "meta m", p->fts ? "fts MATCH ?" : "",
		 p->fts ? " AND " : "", (const char *)p->where.data);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "fuzz_query: prepare: %s\n%s\n", sqlite3_errmsg(db), sql);
		abort();
	}
	if (p->fts)
		sqlite3_bind_text(st, k++, p->fts, -1, SQLITE_STATIC);
	for (j = 0; j < p->nparams; j++, k++) {
		if (p->params[j].type == QP_INT)
			sqlite3_bind_int64(st, k, p->params[j].i);
		else
			sqlite3_bind_text(st, k, p->params[j].s, -1, SQLITE_STATIC);
	}
	if (sqlite3_step(st) != SQLITE_ROW) {
		fprintf(stderr, "fuzz_query: step: %s\nfts: %s\nwhere: %s\n", sqlite3_errmsg(db),
			p->fts ? p->fts : "", (const char *)p->where.data);
		abort();
	}
	sqlite3_finalize(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct q_env env;
	struct tok_check tcheck = {size, 0};
	struct q_node *n = NULL;
	struct q_plan p;
	struct cu_err err;
	struct buf dump;
	char *q;
	int rc;

	setup();
	tok_run(tc, (const char *)data, size, check_word, &tcheck);
	if (size > Q_MAX_LEN + 16)
		return 0;
	q = malloc(size + 1);
	if (!q)
		return 0;
	memcpy(q, data, size);
	q[size] = '\0';
	cu_err_clear(&err);
	rc = q_parse(q, &n, &err);
	if (rc != 0) {
		if ((rc != CU_EINVAL && rc != CU_ETOOBIG) || !err.msg[0] || n)
			abort();
		free(q);
		return 0;
	}
	buf_init(&dump, 1 << 20);
	if (q_dump(n, &dump) != 0)
		abort();
	buf_release(&dump);
	env.tc = tc;
	env.resolve = resolve;
	env.expand = expand;
	env.arg = NULL;
	cu_err_clear(&err);
	rc = q_compile(n, &env, &p, &err);
	if (rc == 0) {
		run_sql(&p);
		q_plan_release(&p);
	} else if ((rc != CU_EINVAL && rc != CU_ETOOBIG) || !err.msg[0]) {
		abort();
	}
	q_free(n);
	free(q);
	return 0;
}
