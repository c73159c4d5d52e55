/* test_query.c - the query language: parse trees for every operator and
 * field and their precedence, syntax errors naming the position and what
 * was expected, caps, and the compiler's output: every word quoted as an
 * FTS5 string, every field value a bound parameter, so that FTS5 and SQL
 * syntax typed by a user (NEAR(, column filters, ^, quotes, SQL) is
 * searched literally and never fails in SQLite. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search/query.h"

static struct tok_ctx *tc;

static int setup(void **state)
{
	(void)state;
	return tok_ctx_new(&tc, NULL);
}

static int teardown(void **state)
{
	(void)state;
	tok_ctx_free(tc);
	return 0;
}

/* Parses q and compares the dump. */
static void parses_to(const char *q, const char *want)
{
	struct q_node *n = NULL;
	struct cu_err err;
	struct buf b;

	cu_err_clear(&err);
	if (q_parse(q, &n, &err) != 0)
		fail_msg("'%s' did not parse: %s", q, err.msg);
	buf_init(&b, 1 << 16);
	assert_int_equal(q_dump(n, &b), 0);
	if (strcmp((const char *)b.data, want) != 0)
		fail_msg("'%s' parsed to %s, want %s", q, (const char *)b.data, want);
	buf_release(&b);
	q_free(n);
}

static void test_parse(void **state)
{
	(void)state;
	parses_to("Antrag", "W(Antrag)");
	parses_to("Antrag Frist", "AND(W(Antrag), W(Frist))");
	parses_to("Antrag AND Frist", "AND(W(Antrag), W(Frist))");
	parses_to("a OR b", "OR(W(a), W(b))");
	parses_to("a b OR c", "AND(W(a), OR(W(b), W(c)))"); /* OR binds tighter */
	parses_to("a OR b c OR d", "AND(OR(W(a), W(b)), OR(W(c), W(d)))");
	parses_to("(a b) OR c", "OR(AND(W(a), W(b)), W(c))");
	parses_to("-a", "NOT(W(a))");
	parses_to("NOT a", "NOT(W(a))");
	parses_to("a -b", "AND(W(a), NOT(W(b)))");
	parses_to("a -(b OR c)", "AND(W(a), NOT(OR(W(b), W(c))))");
	parses_to("a -\"b c\"", "AND(W(a), NOT(P(\"b c\")))");
	parses_to("\"exact phrase\"", "P(\"exact phrase\")");
	parses_to("\"exact phr\"*", "P(\"exact phr\"*)");
	parses_to("Antr*", "W(Antr*)");
	parses_to("a or b and c not d", "AND(W(a), W(or), W(b), W(and), W(c), W(not), W(d))");
	parses_to("12-345/2024", "W(12-345/2024)");
	parses_to("a-b", "W(a-b)");
	parses_to("a - b", "AND(W(a), W(-), W(b))");
	parses_to("--x", "W(--x)");
	parses_to("from:@alice:example.org", "F(from=@alice:example.org)");
	parses_to("FROM:alice", "F(from=alice)");
	parses_to("in:!room:srv", "F(in=!room:srv)");
	parses_to("in:\"Bau Amt\"", "F(in=Bau Amt)");
	parses_to("platform:Matrix", "F(platform=matrix)");
	parses_to("kind:edit", "F(kind=edit)");
	parses_to("after:2024-05-01 before:2024-06-01T00:00:00Z",
		  "AND(F(after=2024-05-01), F(before=2024-06-01T00:00:00Z))");
	parses_to("https://example.org/x", "W(https://example.org/x)"); /* not a field */
	parses_to("from:alice OR from:bob Antrag", "AND(OR(F(from=alice), F(from=bob)), W(Antrag))");
	parses_to("  a\t\n b  ", "AND(W(a), W(b))");
	parses_to("a\"b\"", "AND(W(a), P(\"b\"))");
}

/* Parsing q fails with a message containing want. */
static void fails_with(const char *q, int code, const char *want)
{
	struct q_node *n = NULL;
	struct cu_err err;

	cu_err_clear(&err);
	assert_int_equal(q_parse(q, &n, &err), code);
	assert_null(n);
	if (!strstr(err.msg, want))
		fail_msg("'%s': message '%s' lacks '%s'", q, err.msg, want);
}

static void test_errors(void **state)
{
	char big[Q_MAX_LEN + 10];
	char deep[200];
	size_t i;

	(void)state;
	fails_with("", CU_EINVAL, "empty query");
	fails_with("   ", CU_EINVAL, "empty query");
	fails_with("(a", CU_EINVAL, "position 3: expected ')' to close the '(' at position 1, found end of query");
	fails_with("a)", CU_EINVAL, "position 2: unexpected ')'");
	fails_with("()", CU_EINVAL, "position 2: expected a term after '(', found ')'");
	fails_with("a OR", CU_EINVAL, "position 5: expected a term after 'OR', found end of query");
	fails_with("OR a", CU_EINVAL, "position 1: expected a term, found 'OR'");
	fails_with("a OR OR b", CU_EINVAL, "position 6: expected a term after 'OR', found 'OR'");
	fails_with("a AND", CU_EINVAL, "position 6: expected a term after 'AND'");
	fails_with("NOT", CU_EINVAL, "position 4: expected a term after 'NOT', found end of query");
	fails_with("a -)", CU_EINVAL, "position 4: unexpected ')'");
	fails_with("\"open", CU_EINVAL, "position 1: expected '\"' to close the phrase");
	fails_with("Müller \"x", CU_EINVAL, "position 8: expected '\"'"); /* characters, not bytes */
	fails_with("from:", CU_EINVAL, "position 6: expected a value after 'from:'");
	fails_with("in: x", CU_EINVAL, "expected a value after 'in:'");
	fails_with("from:\"\"", CU_EINVAL, "expected a value");
	fails_with("from:\"x", CU_EINVAL, "expected '\"' to close the value");
	fails_with("kind:bogus", CU_EINVAL, "position 6: unknown kind 'bogus', expected one of: message, edit");
	fails_with("after:yesterday", CU_EINVAL, "position 7: invalid time 'yesterday'");
	fails_with("before:2024-13-01", CU_EINVAL, "invalid time");
	fails_with("a \xff", CU_EINVAL, "position 3: invalid UTF-8");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	fails_with(big, CU_ETOOBIG, "too long");
	big[0] = '\0';
	for (i = 0; i < Q_MAX_TERMS + 1; i++)
		strcat(big, "w ");
	fails_with(big, CU_ETOOBIG, "too many terms");
	deep[0] = '\0';
	for (i = 0; i < Q_MAX_DEPTH + 1; i++)
		strcat(deep, "(");
	strcat(deep, "a");
	fails_with(deep, CU_EINVAL, "too deeply nested");
	deep[0] = '\0';
	for (i = 0; i < Q_MAX_DEPTH + 1; i++)
		strcat(deep, "-");
	fails_with("NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT "
		   "NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT a", CU_EINVAL, "too deeply nested");
}

/* A fake index: senders alice=7, bob=8; every stem has one extra form. */
static int fake_resolve(void *arg, enum q_field f, const char *v, int64_t *ids, size_t max, size_t *n)
{
	(void)arg;
	(void)max;
	*n = 0;
	if (f == QF_FROM && !strcmp(v, "alice"))
		ids[(*n)++] = 7;
	if (f == QF_FROM && !strcmp(v, "both")) {
		ids[(*n)++] = 7;
		ids[(*n)++] = 8;
	}
	if (f == QF_PLATFORM && !strcmp(v, "matrix"))
		ids[(*n)++] = 1;
	if (f == QF_FROM && !strcmp(v, "many"))
		for (; *n < max && *n < Q_MAX_TAGS + 1; (*n)++)
			ids[*n] = 100 + (int64_t)*n;
	return 0;
}

static int fake_expand(void *arg, const char *stem, char **terms, size_t max, size_t *n)
{
	(void)arg;
	(void)max;
	terms[0] = malloc(strlen(stem) + 4);
	sprintf(terms[0], "%sxyz", stem);
	*n = 1;
	return 0;
}

static struct q_env env(void)
{
	struct q_env e = {tc, fake_resolve, fake_expand, NULL};

	return e;
}

/* Compiles q and checks the FTS5 expression and the SQL condition. */
static void compiles_to(const char *q, const char *fts, const char *where)
{
	struct q_node *n = NULL;
	struct q_plan p;
	struct q_env e = env();
	struct cu_err err;

	cu_err_clear(&err);
	assert_int_equal(q_parse(q, &n, &err), 0);
	if (q_compile(n, &e, &p, &err) != 0)
		fail_msg("'%s' did not compile: %s", q, err.msg);
	if (fts ? !p.fts || strcmp(p.fts, fts) != 0 : p.fts != NULL)
		fail_msg("'%s': fts %s, want %s", q, p.fts ? p.fts : "NULL", fts ? fts : "NULL");
	if (strcmp((const char *)p.where.data, where) != 0)
		fail_msg("'%s': where %s, want %s", q, (const char *)p.where.data, where);
	q_plan_release(&p);
	q_free(n);
}

static void test_compile(void **state)
{
	char many_where[1024] = "m.sender IN (?";
	int i;

	(void)state;
	for (i = 1; i < Q_MAX_TAGS + 1; i++)
		strcat(many_where, ",?");
	strcat(many_where, ")");
	compiles_to("Häuser", "(\"hausxyz\" OR \"haeuser\" OR \"haus\")", "1");
	compiles_to("Haus Häuser", "((\"hausxyz\" OR \"haus\") AND (\"hausxyz\" OR \"haeuser\" OR \"haus\"))", "1");
	compiles_to("2024", "\"2024\"", "1");
	compiles_to("\"Häuser am See\"", "\"haeuser am see\"", "1");
	compiles_to("\"AZ 12-345/2024 vom\"", "\"az 12-345/2024 345 2024 vom\"", "1");
	compiles_to("\"AZ 12-345/20\"*", "\"az 12 345 20\" *", "1");
	compiles_to("12-345/2024", "\"12-345/2024\"", "1");
	compiles_to("alice@example.org", "\"alice@example.org\"", "1");
	compiles_to("Antr*", "\"antr\" *", "1");
	compiles_to("a,b", "\"a b\"", "1");
	compiles_to("12 OR 13", "(\"12\" OR \"13\")", "1");
	compiles_to("12 -13", "(\"12\" NOT \"13\")", "1");
	compiles_to("12 -13 -\"14 15\"", "((\"12\" NOT \"13\") NOT \"14 15\")", "1");
	compiles_to("12 (13 OR -14)", "\"12\"", "(m.seq IN (SELECT rowid FROM fts WHERE fts MATCH ?) OR "
		    "m.seq NOT IN (SELECT rowid FROM fts WHERE fts MATCH ?))");
	/* from:/in: are the tags of the names' ids (query.h) */
	compiles_to("from:alice", "\"S7\"", "1");
	compiles_to("from:both 12", "((\"S7\" OR \"S8\") AND \"12\")", "1");
	compiles_to("from:nobody", NULL, "0");
	compiles_to("-from:alice 12", "(\"12\" NOT \"S7\")", "1");
	compiles_to("-from:alice", NULL, "m.seq NOT IN (SELECT rowid FROM fts WHERE fts MATCH ?)");
	/* more names than Q_MAX_TAGS: a condition on meta */
	compiles_to("from:many 12", "\"12\"", many_where);
	compiles_to("-12", NULL, "m.seq NOT IN (SELECT rowid FROM fts WHERE fts MATCH ?)");
	compiles_to("platform:matrix kind:edit after:2024-01-01 before:2024-02-01", NULL,
		    "m.plat = ? AND m.kind = ? AND m.ts >= ? AND m.ts < ?");
	compiles_to("12 OR from:alice", "(\"12\" OR \"S7\")", "1");
	compiles_to("12 ... !!!", "\"12\"", "1"); /* words without letters or digits drop out */
}

/* Compiles q; returns the code and fills fts/where/params for checks. */
static int compile_code(const char *q, struct cu_err *err)
{
	struct q_node *n = NULL;
	struct q_plan p;
	struct q_env e = env();
	int rc;

	cu_err_clear(err);
	rc = q_parse(q, &n, err);
	if (rc == 0) {
		rc = q_compile(n, &e, &p, err);
		if (rc == 0)
			q_plan_release(&p);
	}
	q_free(n);
	return rc;
}

static void test_compile_errors(void **state)
{
	struct cu_err err;

	(void)state;
	assert_int_equal(compile_code("... --- !!", &err), CU_EINVAL);
	assert_non_null(strstr(err.msg, "nothing to search for"));
	assert_int_equal(compile_code("a*", &err), CU_EINVAL);
	assert_non_null(strstr(err.msg, "position 1"));
	assert_non_null(strstr(err.msg, "prefix"));
	assert_int_equal(compile_code("xx a*", &err), CU_EINVAL);
	assert_non_null(strstr(err.msg, "position 4"));
	assert_int_equal(compile_code("ab*", &err), 0);
	assert_int_equal(compile_code("\"a b c d e f g h i j k l m n o p q r s t u v w x y z a b c d e f g h\"",
				      &err), CU_ETOOBIG);
}

static void test_marks(void **state)
{
	struct q_node *n = NULL;
	struct q_plan p;
	struct q_env e = env();

	(void)state;
	assert_int_equal(q_parse("Häuser \"rote Tür\" Antr* alice@x.org -geheim", &n, NULL), 0);
	assert_int_equal(q_compile(n, &e, &p, NULL), 0);
	assert_true(q_marks_match(&p.marks, "haeuser", "haus", NULL));
	assert_true(q_marks_match(&p.marks, "hauses", "haus", NULL)); /* by stem */
	assert_true(q_marks_match(&p.marks, "tuer", "tur", NULL));
	assert_true(q_marks_match(&p.marks, "antraege", "antrag", NULL));
	assert_true(q_marks_match(&p.marks, "alice", NULL, "alice@x.org"));
	assert_false(q_marks_match(&p.marks, "geheim", "geheim", NULL)); /* negated words are not marked */
	assert_false(q_marks_match(&p.marks, "auto", "auto", NULL));
	q_plan_release(&p);
	q_free(n);
}

/* Everything a user may type is searched literally: the compiled query
 * must run in SQLite without an error, and user text appears in the FTS5
 * expression only inside double-quoted strings. */
static void test_injection(void **state)
{
	static const char *const evil[] = {
		"NEAR(a b)", "NEAR(a b, 2)", "body:geheim", "body : geheim", "{body}: x", "^anfang",
		"a + b", "\"a\" + \"b\"", "'; DROP TABLE meta; --", "x' OR '1'='1", "1; SELECT * FROM names",
		"a\" OR \"b", "\"\"\"\"", "*", "**", "a AND", "col:x", "\\\"", "rank:x", "fts:x",
		"AND OR NOT", "(((a)))", "x*y*", "NEAR/3", "-\"-\"", "from:\"a' OR 1=1 --\"",
		"in:\"); DROP TABLE meta; --\"", "platform:\"x\\\" OR 1\"", "\"a\" NEAR \"b\"",
		"a:b:c", "@alice:x.org", "%_%", "a\x01b", "ab\x7f", "😀 ab",
	};
	struct q_node *n;
	struct q_plan p;
	struct q_env e = env();
	struct cu_err err;
	sqlite3 *db;
	sqlite3_stmt *st;
	size_t i, k;
	int rc;

	(void)state;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(tok_register(db, NULL, NULL), 0);
	assert_int_equal(sqlite3_exec(db, "CREATE VIRTUAL TABLE fts USING fts5(body, content='', tokenize='custos');"
				      "CREATE TABLE meta(seq INTEGER PRIMARY KEY, ts, kind, plat, conv, sender);"
				      "INSERT INTO fts(rowid, body) VALUES(1, 'near body geheim anfang drop table');"
				      "INSERT INTO meta VALUES(1, 0, 1, 1, 1, 7);", NULL, NULL, NULL), SQLITE_OK);
	for (i = 0; i < sizeof(evil) / sizeof(evil[0]); i++) {
		char sql[70000];

		n = NULL;
		cu_err_clear(&err);
		rc = q_parse(evil[i], &n, &err);
		if (rc == 0) {
			rc = q_compile(n, &e, &p, &err);
			q_free(n);
		}
		if (rc != 0) {
			/* refused as a user error, never anything else */
			if (rc != CU_EINVAL)
				fail_msg("'%s': code %d: %s", evil[i], rc, err.msg);
			continue;
		}
		if (p.fts) {
			/* outside quotes only ( ) AND OR NOT * and spaces */
			int inq = 0;
			const char *c;

			for (c = p.fts; *c;) {
				size_t wl;

				if (*c == '"') {
					/* a quoted string: "" is an escaped quote */
					for (c++; *c && !(c[0] == '"' && c[1] != '"'); c += c[0] == '"' ? 2 : 1)
						;
					assert_int_equal(*c, '"');
					c++;
					continue;
				}
				if (strchr("() *", *c)) {
					c++;
					continue;
				}
				wl = strcspn(c, "() *\"");
				if (!((wl == 3 && !strncmp(c, "AND", 3)) || (wl == 2 && !strncmp(c, "OR", 2)) ||
				      (wl == 3 && !strncmp(c, "NOT", 3))))
					fail_msg("'%s': unquoted '%.*s' in %s", evil[i], (int)wl, c, p.fts);
				c += wl;
			}
			(void)inq;
		}
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE %s%s(%s)",
			 p.fts ? "fts JOIN meta m ON m.seq = fts.rowid" : "meta m", p.fts ? "fts MATCH ?" : "",
			 p.fts ? " AND " : "", (const char *)p.where.data);
		if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
			fail_msg("'%s': %s: %s", evil[i], sql, sqlite3_errmsg(db));
		k = 1;
		if (p.fts)
			sqlite3_bind_text(st, (int)k++, p.fts, -1, SQLITE_STATIC);
		for (size_t j = 0; j < p.nparams; j++, k++) {
			if (p.params[j].type == QP_INT)
				sqlite3_bind_int64(st, (int)k, p.params[j].i);
			else
				sqlite3_bind_text(st, (int)k, p.params[j].s, -1, SQLITE_STATIC);
		}
		if (sqlite3_step(st) != SQLITE_ROW)
			fail_msg("'%s': %s -> %s", evil[i], p.fts ? p.fts : "", sqlite3_errmsg(db));
		sqlite3_finalize(st);
		q_plan_release(&p);
	}
	/* the meta table is still there */
	assert_int_equal(sqlite3_exec(db, "SELECT * FROM meta", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_compile),
		cmocka_unit_test(test_compile_errors),
		cmocka_unit_test(test_marks),
		cmocka_unit_test(test_injection),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
