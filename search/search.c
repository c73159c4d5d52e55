/* search.c - running queries against the index: SQL from the compiled
 * query, keyset paging with opaque cursors, snippets built from the
 * segments, and the JSON shape shared by the CLI and the API (index.h). */
#include "search/index_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archiver/record.h"
#include "common/encode.h"
#include "common/utf8.h"
#include "search/query.h"

#define CURSOR_VERSION 1
#define SNIPPET_LEAD 60            /* bytes of text kept before the first match */
#define DEFAULT_KINDS "(+m.kind NOT " IDX_SYS_KINDS_SQL ")" /* archive-internal records */

/* A decoded cursor: where the previous page ended. */
struct cursor {
	unsigned sort;        /* enum idx_sort it was made for */
	uint64_t snap;        /* high-water mark of the first page: later records are left out */
	uint64_t seq;         /* last hit's seq */
	int64_t ts;           /* last hit's time (newest/oldest) */
	double rank;          /* last hit's rank (relevance) */
	uint64_t qhash;       /* hash of the query text */
};

/* A row of the result before the record is read. */
struct row {
	uint64_t seq;
	int64_t ts;
	double rank;
};

static uint64_t qhash_of(const char *q)
{
	uint64_t h = 14695981039346656037ull;

	for (; *q; q++) {
		h ^= (unsigned char)*q;
		h *= 1099511628211ull;
	}
	return h;
}

/* ---- cursors: base64url of "1|sort|snap|seq|qhash|key" --------------- */

static char *cursor_encode(const struct cursor *c)
{
	char text[160];
	char *b, *p;
	size_t n;

	if (c->sort == IDX_RELEVANCE)
		snprintf(text, sizeof(text), "%d|%u|%" PRIu64 "|%" PRIu64 "|%016" PRIx64 "|%a",
			 CURSOR_VERSION, c->sort, c->snap, c->seq, c->qhash, c->rank);
	else
		snprintf(text, sizeof(text), "%d|%u|%" PRIu64 "|%" PRIu64 "|%016" PRIx64 "|%" PRId64,
			 CURSOR_VERSION, c->sort, c->snap, c->seq, c->qhash, c->ts);
	b = b64_encode((const uint8_t *)text, strlen(text));
	if (!b)
		return NULL;
	for (p = b; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	n = strlen(b);
	while (n > 0 && b[n - 1] == '=')
		b[--n] = '\0';
	return b;
}

static int cursor_decode(const char *s, struct cursor *c, struct cu_err *err)
{
	char b64[IDX_MAX_CURSOR + 4];
	uint8_t *raw = NULL;
	size_t n = strlen(s), rawlen = 0, i;
	char text[200], *end;
	unsigned ver;
	int used = 0, rc = 0;

	if (n == 0 || n > IDX_MAX_CURSOR)
		goto bad;
	for (i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		      ch == '-' || ch == '_'))
			goto bad;
		b64[i] = ch == '-' ? '+' : ch == '_' ? '/' : ch;
	}
	while (n % 4)
		b64[n++] = '=';
	b64[n] = '\0';
	if (b64_decode(b64, n, sizeof(text) - 1, &raw, &rawlen) != 0)
		goto bad;
	memcpy(text, raw, rawlen);
	text[rawlen] = '\0';
	free(raw);
	if (strlen(text) != rawlen)
		goto bad;
	if (sscanf(text, "%u|%u|%" SCNu64 "|%" SCNu64 "|%16" SCNx64 "|%n", &ver, &c->sort, &c->snap,
		   &c->seq, &c->qhash, &used) != 5 || used == 0 || ver != CURSOR_VERSION ||
	    c->sort > IDX_RELEVANCE)
		goto bad;
	if (c->sort == IDX_RELEVANCE) {
		c->rank = strtod(text + used, &end);
		c->ts = 0;
	} else {
		c->ts = strtoll(text + used, &end, 10);
		c->rank = 0;
	}
	if (end == text + used || *end)
		goto bad;
	return 0;
bad:
	rc = cu_err_set(err, CU_EINVAL, "invalid cursor: pass next_cursor of the previous page unchanged");
	return rc;
}

/* ---- name resolution for from:/in:/platform: ------------------------ */

static int resolve_names(void *arg, enum q_field field, const char *value, int64_t *ids, size_t max,
			 size_t *n)
{
	struct idx *ix = arg;
	static const char *const sql[2] = {
		"SELECT id FROM names WHERE ty = ? AND key = ? LIMIT ?",
		"SELECT id FROM names WHERE ty = ? AND local = ? LIMIT ?",
	};
	char key[1024];
	size_t i;
	int type, pass, s;

	*n = 0;
	type = field == QF_FROM ? NAME_SENDER : field == QF_IN ? NAME_CONVERSATION : NAME_PLATFORM;
	for (i = 0; value[i] && i + 1 < sizeof(key); i++)
		key[i] = (value[i] >= 'A' && value[i] <= 'Z') ? (char)(value[i] + 32) : value[i];
	key[i] = '\0';
	/* The exact name first; else every name with that local part
	 * ("alice" finds @alice:example.org and alice@example.org). */
	for (pass = 0; pass < (type == NAME_PLATFORM ? 1 : 2) && *n == 0; pass++) {
		sqlite3_stmt *q = NULL;

		if (sqlite3_prepare_v2(ix->db, sql[pass], -1, &q, NULL) != SQLITE_OK)
			return CU_EIO;
		sqlite3_bind_int(q, 1, type);
		sqlite3_bind_text(q, 2, key, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 3, (sqlite3_int64)max);
		while ((s = sqlite3_step(q)) == SQLITE_ROW && *n < max)
			ids[(*n)++] = sqlite3_column_int64(q, 0);
		sqlite3_finalize(q);
		if (s != SQLITE_ROW && s != SQLITE_DONE)
			return CU_EIO;
	}
	return 0;
}

static int expand_stem(void *arg, const char *stem, char **terms, size_t max, size_t *n)
{
	struct idx *ix = arg;
	sqlite3_stmt *q = NULL;
	int s;

	*n = 0;
	if (sqlite3_prepare_v2(ix->db, "SELECT term FROM stems WHERE stem = ? LIMIT ?", -1, &q, NULL) !=
	    SQLITE_OK)
		return CU_EIO;
	sqlite3_bind_text(q, 1, stem, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)max);
	while ((s = sqlite3_step(q)) == SQLITE_ROW && *n < max) {
		terms[*n] = strdup((const char *)sqlite3_column_text(q, 0));
		if (!terms[*n])
			break;
		(*n)++;
	}
	sqlite3_finalize(q);
	return s == SQLITE_ROW || s == SQLITE_DONE ? 0 : CU_EIO;
}

/* ---- SQL ------------------------------------------------------------ */

/* How one query runs, decided from its plan and the index's state. */
struct exec {
	const struct q_plan *p;
	uint64_t lo, snap;  /* only records in [lo, snap): the snapshot, narrowed by the
			     * blocks that hold the query's after:/before: times */
	int kind_filter;    /* leave out the archive's own kinds */
	int join;           /* words and metadata both needed (fts plans) */
};

/* Narrows the seqs [*lo, *hi) to the blocks that can hold records with
 * times in [after, before): from the start, the blocks whose times all
 * lie before after; from the end, those whose times all lie at or past
 * before (the blocks' times are not in order: late arrivals). */
static void narrow_by_time(const struct idx *ix, int64_t after, int64_t before, uint64_t *lo, uint64_t *hi)
{
	size_t b, nb = ix->nblocks;

	if (after != INT64_MIN) {
		for (b = 0; b < nb && ix->blocks[b].maxts < after; b++)
			;
		if (((uint64_t)b << IDX_BLOCK_SHIFT) > *lo)
			*lo = (uint64_t)b << IDX_BLOCK_SHIFT;
	}
	if (before != INT64_MAX) {
		for (b = nb; b > 0 && ix->blocks[b - 1].mints >= before; b--)
			;
		if (((uint64_t)b << IDX_BLOCK_SHIFT) < *hi)
			*hi = (uint64_t)b << IDX_BLOCK_SHIFT;
	}
}

/* Binds the compiled query's parameters from position *pos on. */
static void bind_params(sqlite3_stmt *st, const struct q_plan *p, int *pos)
{
	size_t i;

	for (i = 0; i < p->nparams; i++) {
		if (p->params[i].type == QP_INT)
			sqlite3_bind_int64(st, (*pos)++, p->params[i].i);
		else
			sqlite3_bind_text(st, (*pos)++, p->params[i].s, -1, SQLITE_STATIC);
	}
}

/* FROM ... WHERE ... of a word query. The words drive it (CROSS JOIN
 * keeps SQLite from scanning a filter's index and asking FTS5 row by row,
 * which costs a full-text query per row). */
static int sql_fts_base(struct buf *b, const struct exec *x)
{
	int rc;

	if (!x->join)
		return buf_append_str(b, " FROM fts WHERE fts MATCH ? AND fts.rowid >= ? AND fts.rowid < ?");
	rc = buf_append_str(b, " FROM fts CROSS JOIN meta m ON m.seq = fts.rowid"
			    " WHERE fts MATCH ? AND fts.rowid >= ? AND fts.rowid < ?");
	if (rc == 0 && strcmp((const char *)x->p->where.data, "1") != 0)
		rc = buf_printf(b, " AND (%s)", (const char *)x->p->where.data);
	if (rc == 0 && x->kind_filter)
		rc = buf_append_str(b, " AND " DEFAULT_KINDS);
	return rc;
}

static void bind_fts_base(sqlite3_stmt *st, const struct exec *x, int *pos)
{
	sqlite3_bind_text(st, (*pos)++, x->p->fts, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, (*pos)++, (sqlite3_int64)x->lo);
	sqlite3_bind_int64(st, (*pos)++, (sqlite3_int64)x->snap);
	if (x->join)
		bind_params(st, x->p, pos);
}

/* FROM ... WHERE ... of a query without words: meta by seq. */
static int sql_meta_base(struct buf *b, const struct exec *x)
{
	int rc = buf_printf(b, " FROM meta m WHERE m.seq >= ? AND m.seq < ? AND (%s)",
			    (const char *)x->p->where.data);

	if (rc == 0 && x->kind_filter)
		rc = buf_append_str(b, " AND " DEFAULT_KINDS);
	return rc;
}

static void bind_meta_base(sqlite3_stmt *st, const struct exec *x, int *pos)
{
	sqlite3_bind_int64(st, (*pos)++, (sqlite3_int64)x->lo);
	sqlite3_bind_int64(st, (*pos)++, (sqlite3_int64)x->snap);
	bind_params(st, x->p, pos);
}

/* Prepares sql; a failure here is a bug in the compiler, never the user's. */
static int prepare(struct idx *ix, struct buf *sql, int built, sqlite3_stmt **st, struct cu_err *err)
{
	if (built != 0)
		return cu_err_set(err, CU_ETOOBIG, "query is too complex");
	if (sqlite3_prepare_v2(ix->db, (const char *)sql->data, -1, st, NULL) != SQLITE_OK)
		return cu_err_set(err, CU_EIO, "index: %s", sqlite3_errmsg(ix->db));
	return 0;
}

static int step_count(struct idx *ix, sqlite3_stmt *st, uint64_t *n, struct cu_err *err)
{
	if (sqlite3_step(st) != SQLITE_ROW)
		return cu_err_set(err, CU_EIO, "index: counting: %s", sqlite3_errmsg(ix->db));
	*n = (uint64_t)sqlite3_column_int64(st, 0);
	return 0;
}

static int count_rows(struct idx *ix, const struct exec *x, uint64_t *total, struct cu_err *err)
{
	struct exec xa = *x; /* all kinds: the archive's own are subtracted */
	sqlite3_stmt *st = NULL;
	struct buf sql;
	uint64_t sys = 0;
	int rc, pos = 1;

	buf_init(&sql, 512 * 1024);
	if (x->p->fts) {
		rc = buf_append_str(&sql, "SELECT count(*)");
		rc = prepare(ix, &sql, rc ? rc : sql_fts_base(&sql, x), &st, err);
		if (rc == 0) {
			bind_fts_base(st, x, &pos);
			rc = step_count(ix, st, total, err);
		}
		goto out;
	}
	/* Metadata only: what the condition selects in the seq range, less
	 * the archive's own records among them, counted from their small
	 * partial index. */
	xa.kind_filter = 0;
	rc = buf_append_str(&sql, "SELECT count(*)");
	rc = prepare(ix, &sql, rc ? rc : sql_meta_base(&sql, &xa), &st, err);
	if (rc)
		goto out;
	bind_meta_base(st, &xa, &pos);
	rc = step_count(ix, st, total, err);
	if (rc || !x->kind_filter)
		goto out;
	sqlite3_finalize(st);
	st = NULL;
	buf_reset(&sql);
	rc = buf_printf(&sql, "SELECT count(*) FROM (SELECT seq FROM meta INDEXED BY meta_sys WHERE"
			" kind " IDX_SYS_KINDS_SQL " AND seq >= ? AND seq < ?) s CROSS JOIN meta m ON m.seq = s.seq"
			" WHERE (%s)", (const char *)x->p->where.data);
	rc = prepare(ix, &sql, rc, &st, err);
	if (rc)
		goto out;
	pos = 1;
	sqlite3_bind_int64(st, pos++, (sqlite3_int64)x->lo);
	sqlite3_bind_int64(st, pos++, (sqlite3_int64)x->snap);
	bind_params(st, x->p, &pos);
	rc = step_count(ix, st, &sys, err);
	if (rc == 0)
		*total = *total >= sys ? *total - sys : 0;
out:
	sqlite3_finalize(st);
	buf_release(&sql);
	return rc;
}

/* The caller's kinds (idx_query.kinds) on top of the query. Sets
 * without any of the archive's own kinds but with every other one (what
 * an officer sees) go through the system tag, as for a query without
 * kind: (*hide_sys: FTS5 or the metadata leave them out); any other set
 * becomes a condition on the metadata, ANDed to the query's. Either way
 * the count sees exactly what the pages may show. */
static int restrict_kinds(struct q_plan *p, uint64_t kinds, int *hide_sys)
{
	struct buf w;
	unsigned k;
	int rc = 0, first = 1;

	*hide_sys = 0;
	if (!kinds || kinds == REC_KINDS_ALL)
		return 0;
	if (!(kinds & REC_KINDS_ARCHIVE) && (kinds | REC_KINDS_ARCHIVE) == REC_KINDS_ALL) {
		*hide_sys = 1;
		return 0;
	}
	buf_init(&w, p->where.max + 512);
	if (strcmp((const char *)p->where.data, "1") != 0)
		rc = buf_printf(&w, "(%s) AND ", (const char *)p->where.data);
	if (rc == 0)
		rc = buf_append_str(&w, "+m.kind IN (");
	for (k = 0; rc == 0 && k < 64; k++)
		if (kinds & REC_KIND_BIT(k)) {
			rc = buf_printf(&w, "%s%u", first ? "" : ",", k);
			first = 0;
		}
	if (rc == 0)
		rc = buf_append_str(&w, ")");
	if (rc) {
		buf_release(&w);
		return rc;
	}
	buf_release(&p->where);
	p->where = w;
	return 0;
}

/* 1 if row a comes before row b in the sort order. */
static int row_before(const struct row *a, const struct row *b, enum idx_sort sort)
{
	if (sort == IDX_OLDEST)
		return a->ts < b->ts || (a->ts == b->ts && a->seq < b->seq);
	if (sort == IDX_RELEVANCE)
		return a->rank > b->rank || (a->rank == b->rank && a->seq > b->seq);
	return a->ts > b->ts || (a->ts == b->ts && a->seq > b->seq);
}

/* A bounded heap of the best rows so far; heap[0] is the worst of them. */
struct top {
	struct row *heap;
	size_t n, cap;
	enum idx_sort sort;
};

static void top_sift_down(struct top *t, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, w = i;
		struct row tmp;

		if (l < t->n && row_before(&t->heap[w], &t->heap[l], t->sort))
			w = l;
		if (r < t->n && row_before(&t->heap[w], &t->heap[r], t->sort))
			w = r;
		if (w == i)
			return;
		tmp = t->heap[i];
		t->heap[i] = t->heap[w];
		t->heap[w] = tmp;
		i = w;
	}
}

static void top_add(struct top *t, const struct row *r)
{
	size_t i;

	if (t->n < t->cap) {
		i = t->n++;
		t->heap[i] = *r;
		while (i > 0 && row_before(&t->heap[(i - 1) / 2], &t->heap[i], t->sort)) {
			struct row tmp = t->heap[i];

			t->heap[i] = t->heap[(i - 1) / 2];
			t->heap[(i - 1) / 2] = tmp;
			i = (i - 1) / 2;
		}
	} else if (row_before(r, &t->heap[0], t->sort)) {
		t->heap[0] = *r;
		top_sift_down(t, 0);
	}
}

/* Best first. */
static int cmp_newest(const void *a, const void *b)
{
	return row_before(a, b, IDX_NEWEST) ? -1 : row_before(b, a, IDX_NEWEST) ? 1 : 0;
}

static int cmp_oldest(const void *a, const void *b)
{
	return row_before(a, b, IDX_OLDEST) ? -1 : row_before(b, a, IDX_OLDEST) ? 1 : 0;
}

/* Newest/oldest first: the matches (of the words, or of the metadata
 * condition when there are none) stream in seq order (no sort of all of
 * them), the best want are kept, and the scan stops as soon as the time
 * ranges of the blocks still ahead show that no record there can be
 * better than the worst kept (records are archived roughly in time order,
 * so this is usually right after the first page). */
static int fetch_ordered(struct idx *ix, const struct exec *x, enum idx_sort sort, const struct cursor *cur,
			 unsigned want, struct row *rows, size_t *nrows, uint64_t *total, struct cu_err *err)
{
	struct exec xj = *x;
	sqlite3_stmt *st = NULL;
	struct top t = {rows, 0, want, sort};
	struct buf sql;
	const char *col = x->p->fts ? "fts.rowid" : "m.seq";
	int rc, pos = 1, s;

	xj.join = 1; /* the time is in meta */
	buf_init(&sql, 512 * 1024);
	if (idx_blocks_prepare(ix) != 0) {
		rc = cu_err_set(err, CU_ENOMEM, "search: out of memory");
		goto out;
	}
	if (cur) {
		/* Later pages: skip the blocks that hold only records on earlier
		 * pages' side of the cursor's time (a page costs about one page
		 * of reading, not everything before it). */
		size_t b, nb = ix->nblocks;

		if (sort == IDX_OLDEST) {
			for (b = 0; b < nb && ix->blocks[b].maxts < cur->ts; b++)
				;
			if (((uint64_t)b << IDX_BLOCK_SHIFT) > xj.lo)
				xj.lo = (uint64_t)b << IDX_BLOCK_SHIFT;
		} else {
			for (b = nb; b > 0 && ix->blocks[b - 1].mints > cur->ts; b--)
				;
			if (((uint64_t)b << IDX_BLOCK_SHIFT) < xj.snap)
				xj.snap = (uint64_t)b << IDX_BLOCK_SHIFT;
		}
	}
	rc = buf_printf(&sql, "SELECT %s, m.ts", col);
	if (rc == 0)
		rc = x->p->fts ? sql_fts_base(&sql, &xj) : sql_meta_base(&sql, &xj);
	if (rc == 0)
		rc = buf_printf(&sql, " ORDER BY %s %s", col, sort == IDX_OLDEST ? "ASC" : "DESC");
	rc = prepare(ix, &sql, rc, &st, err);
	if (rc)
		goto out;
	if (x->p->fts)
		bind_fts_base(st, &xj, &pos);
	else
		bind_meta_base(st, &xj, &pos);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		struct row r;
		size_t b;

		r.seq = (uint64_t)sqlite3_column_int64(st, 0);
		r.ts = sqlite3_column_int64(st, 1);
		r.rank = 0;
		if (!cur || row_before((const struct row *)&(struct row){cur->seq, cur->ts, 0}, &r, sort))
			top_add(&t, &r);
		if (total) {
			(*total)++; /* counting: every match is read */
			continue;
		}
		if (t.n < t.cap)
			continue;
		/* can anything still to come beat the worst row kept? */
		if (sort == IDX_OLDEST) {
			b = (size_t)((r.seq + 1) >> IDX_BLOCK_SHIFT);
			if (b >= ix->nblocks || ix->blk_sufmin[b] >= t.heap[0].ts)
				break;
		} else {
			if (r.seq == 0)
				break;
			b = (size_t)((r.seq - 1) >> IDX_BLOCK_SHIFT);
			if (b < ix->nblocks && ix->blk_prefmax[b] <= t.heap[0].ts)
				break;
		}
	}
	if (s != SQLITE_ROW && s != SQLITE_DONE)
		rc = cu_err_set(err, CU_EIO, "index: searching: %s", sqlite3_errmsg(ix->db));
	qsort(rows, t.n, sizeof(*rows), sort == IDX_OLDEST ? cmp_oldest : cmp_newest);
	*nrows = t.n;
out:
	sqlite3_finalize(st);
	buf_release(&sql);
	return rc;
}

/* The page: newest/oldest first streamed (fetch_ordered), or by
 * relevance (a query with words: every match ranked, then sorted). */
static int fetch_rows(struct idx *ix, const struct exec *x, enum idx_sort sort, const struct cursor *cur,
		      unsigned want, struct row *rows, size_t *nrows, struct cu_err *err)
{
	sqlite3_stmt *st = NULL;
	struct exec xj = *x;
	struct buf sql;
	int rc = 0, pos = 1, s;

	*nrows = 0;
	if (sort != IDX_RELEVANCE)
		return fetch_ordered(ix, x, sort, cur, want, rows, nrows, NULL, err);
	buf_init(&sql, 512 * 1024);
	xj.join = 1;
	rc = buf_append_str(&sql, "SELECT seq, ts, r FROM (SELECT m.seq AS seq, m.ts AS ts,"
			    " custos_rank(fts) AS r");
	if (rc == 0)
		rc = sql_fts_base(&sql, &xj);
	if (rc == 0)
		rc = buf_append_str(&sql, ")");
	if (rc == 0 && cur)
		rc = buf_append_str(&sql, " WHERE (r < ? OR (r = ? AND seq < ?))");
	if (rc == 0)
		rc = buf_append_str(&sql, " ORDER BY r DESC, seq DESC LIMIT ?");
	rc = prepare(ix, &sql, rc, &st, err);
	if (rc)
		goto out;
	bind_fts_base(st, &xj, &pos);
	if (cur) {
		sqlite3_bind_double(st, pos++, cur->rank);
		sqlite3_bind_double(st, pos++, cur->rank);
		sqlite3_bind_int64(st, pos++, (sqlite3_int64)cur->seq);
	}
	sqlite3_bind_int(st, pos++, (int)want);
	while ((s = sqlite3_step(st)) == SQLITE_ROW && *nrows < want) {
		rows[*nrows].seq = (uint64_t)sqlite3_column_int64(st, 0);
		rows[*nrows].ts = sqlite3_column_int64(st, 1);
		rows[*nrows].rank = sqlite3_column_double(st, 2);
		(*nrows)++;
	}
	if (s != SQLITE_ROW && s != SQLITE_DONE)
		rc = cu_err_set(err, CU_EIO, "index: searching: %s", sqlite3_errmsg(ix->db));
out:
	sqlite3_finalize(st);
	buf_release(&sql);
	return rc;
}

/* ---- text for people and JSON ---------------------------------------- */

/* Appends p[0..n) as valid UTF-8 (bad bytes become U+FFFD); with flat,
 * control characters become spaces. */
static int append_clean(struct buf *b, const char *p, size_t n, int flat)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t i = 0, len;
	uint32_t cp;
	int rc = 0;

	while (i < n && rc == 0) {
		unsigned char c = s[i];

		if (c < 0x80) {
			rc = buf_append_byte(b, flat && (c < 0x20 || c == 0x7F) ? ' ' : c);
			i++;
			continue;
		}
		len = utf8_decode(s + i, n - i, &cp);
		if (len == 0) {
			rc = buf_append_str(b, "\xef\xbf\xbd");
			i++;
		} else {
			rc = buf_append(b, s + i, len);
			i += len;
		}
	}
	return rc;
}

static char *clean_dup(const struct rec_str *v)
{
	struct buf b;
	char *out;

	buf_init(&b, REC_MAX_BYTES * 4);
	if (append_clean(&b, v->ptr ? v->ptr : "", v->len, 1) != 0 || buf_append_str(&b, "") != 0) {
		buf_release(&b);
		return NULL;
	}
	out = (char *)buf_take(&b, NULL);
	return out ? out : strdup("");
}

/* Finding what to mark in a body. */
struct snip_scan {
	const struct q_marks *marks;
	size_t base;           /* offset of the scanned text in the body */
	size_t first_s, first_e; /* first match (SIZE_MAX when none) */
	int stop_at_first;
	size_t (*spans)[2];    /* marked spans, relative to the body */
	size_t nspans, cap;
};

static int snip_word(void *arg, const struct tok_word *w)
{
	struct snip_scan *sc = arg;
	size_t s, e;

	if (q_marks_match(sc->marks, w->exact, w->stem, w->compound)) {
		int by_compound = w->compound && !q_marks_match(sc->marks, w->exact, w->stem, NULL);

		s = sc->base + (by_compound ? w->cstart : w->start);
		e = sc->base + (by_compound ? w->cend : w->end);
		if (sc->stop_at_first) {
			sc->first_s = s;
			sc->first_e = e;
			return 1;
		}
		if (sc->nspans > 0 && s < sc->spans[sc->nspans - 1][1])
			return 0; /* inside a compound already marked */
		if (sc->nspans < sc->cap) {
			sc->spans[sc->nspans][0] = s;
			sc->spans[sc->nspans][1] = e;
			sc->nspans++;
		}
	}
	return 0;
}

static int is_ws(char c)
{
	return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

/* Builds the snippet of body: up to IDX_SNIPPET_BYTES of text from a
 * little before the first match, matched words marked. */
static char *make_snippet(struct tok_ctx *tc, const struct q_marks *marks, const char *body, size_t len)
{
	size_t spans[64][2];
	struct snip_scan sc;
	size_t ws = 0, we, i, last;
	struct buf b;
	int rc = 0;

	memset(&sc, 0, sizeof(sc));
	sc.marks = marks;
	sc.first_s = SIZE_MAX;
	sc.stop_at_first = 1;
	if (len > IDX_SNIPPET_BYTES) {
		tok_run(tc, body, len, snip_word, &sc);
		if (sc.first_s != SIZE_MAX && sc.first_s > SNIPPET_LEAD) {
			ws = sc.first_s - SNIPPET_LEAD;
			while (ws < sc.first_s && !is_ws(body[ws]))
				ws++; /* start at a word */
			while (ws < sc.first_s && is_ws(body[ws]))
				ws++;
		}
	}
	we = len - ws > IDX_SNIPPET_BYTES ? ws + IDX_SNIPPET_BYTES : len;
	if (sc.first_s != SIZE_MAX && sc.first_e > we)
		we = sc.first_e < len ? sc.first_e : len; /* keep the whole first match */
	if (we < len) {
		size_t w2 = we;

		while (w2 > ws && !is_ws(body[w2]))
			w2--; /* end at a word */
		if (w2 > ws && w2 > sc.first_s)
			we = w2;
		while (we < len && ((unsigned char)body[we] & 0xC0) == 0x80)
			we++; /* never split a character */
	}
	while (ws > 0 && ws < len && ((unsigned char)body[ws] & 0xC0) == 0x80)
		ws--;
	sc.stop_at_first = 0;
	sc.base = ws;
	sc.spans = spans;
	sc.cap = 64;
	tok_run(tc, body + ws, we - ws, snip_word, &sc);
	buf_init(&b, 4 * IDX_SNIPPET_BYTES + 64 * 8 + 16);
	if (ws > 0)
		rc = buf_append_str(&b, "\xe2\x80\xa6");
	last = ws;
	for (i = 0; rc == 0 && i < sc.nspans; i++) {
		rc = append_clean(&b, body + last, sc.spans[i][0] - last, 1);
		if (rc == 0)
			rc = buf_append_str(&b, IDX_MARK_OPEN);
		if (rc == 0)
			rc = append_clean(&b, body + sc.spans[i][0], sc.spans[i][1] - sc.spans[i][0], 1);
		if (rc == 0)
			rc = buf_append_str(&b, IDX_MARK_CLOSE);
		last = sc.spans[i][1];
	}
	if (rc == 0)
		rc = append_clean(&b, body + last, we - last, 1);
	if (rc == 0 && we < len)
		rc = buf_append_str(&b, "\xe2\x80\xa6");
	if (rc == 0)
		rc = buf_append_str(&b, "");
	if (rc) {
		buf_release(&b);
		return NULL;
	}
	return b.data ? (char *)buf_take(&b, NULL) : strdup("");
}

/* Fills a hit from the record in the log. */
static int fill_hit(struct tok_ctx *tc, struct store_reader *rd, const struct q_marks *marks, const struct row *r,
		    struct buf *rb, struct idx_hit *h, struct cu_err *err)
{
	static const struct rec_str empty = {"", 0};
	struct store_entry e;
	struct rec_view v;
	int rc;

	memset(&v, 0, sizeof(v));
	h->seq = r->seq;
	h->ts = r->ts;
	buf_reset(rb);
	rc = store_reader_get(rd, r->seq, rb, &e, err);
	if (rc)
		return rc;
	if (!e.is_stub) {
		rc = rec_decode(e.bytes, e.len, &v, err);
		if (rc)
			return rc;
	}
	h->kind = v.kind;
	h->duplicate_keys = !!(v.flags & REC_F_DUP_KEYS);
	h->id = clean_dup(v.f[RF_EVENT_ID].len ? &v.f[RF_EVENT_ID] : &empty);
	h->platform = clean_dup(&v.f[RF_PLATFORM]);
	h->conversation = clean_dup(&v.f[RF_CONVERSATION]);
	h->sender = clean_dup(&v.f[RF_SENDER]);
	if (!e.is_stub && v.f[RF_BODY].len && !(v.flags & REC_F_ENCRYPTED))
		h->snippet = make_snippet(tc, marks, v.f[RF_BODY].ptr, v.f[RF_BODY].len);
	else
		h->snippet = strdup("");
	if (!h->id || !h->platform || !h->conversation || !h->sender || !h->snippet)
		return cu_err_set(err, CU_ENOMEM, "search: out of memory");
	return 0;
}

/* One thread's share of the hits of a page. */
struct fill_job {
	struct tok_ctx *tc;          /* this thread's tokenizer */
	struct store_reader *rd;     /* this thread's reader of the log */
	const struct q_marks *marks;
	const struct row *rows;
	struct idx_hit *hits;
	const size_t *order;         /* hit numbers in seq order */
	size_t from, to;             /* order[from, to) */
	int rc;
	struct cu_err err;
};

static void *fill_run(void *arg)
{
	struct fill_job *j = arg;
	struct buf rb;
	size_t i, k;

	buf_init(&rb, REC_MAX_BYTES + 1024);
	cu_err_clear(&j->err);
	j->rc = 0;
	for (i = j->from; i < j->to && j->rc == 0; i++) {
		k = j->order[i];
		j->rc = fill_hit(j->tc, j->rd, j->marks, &j->rows[k], &rb, &j->hits[k], &j->err);
	}
	store_reader_drop(j->rd);
	buf_release(&rb);
	return NULL;
}

/* The page's hits, as hit numbers sorted by seq. The rows come in as the
 * qsort_r context: two index handles search at once, so no file-scope
 * pointer. */
static int cmp_order(const void *a, const void *b, void *ctx)
{
	const struct row *rows = ctx;
	uint64_t x = rows[*(const size_t *)a].seq, y = rows[*(const size_t *)b].seq;

	return x < y ? -1 : x > y;
}

/* The thread's reader of st (made when first needed, again for another
 * store). */
static int reader_for(struct idx *ix, int k, struct store *st, struct cu_err *err)
{
	if (ix->rd[k] && ix->rd_st == st)
		return 0;
	store_reader_free(ix->rd[k]);
	ix->rd[k] = NULL;
	return store_reader_new(st, &ix->rd[k], err);
}

/* Reads the page's records from the log. A record costs its frame read up
 * to it, so the hits are read in seq order (the frame of several hits is
 * read once, as far as the last of them), the first half by this thread
 * and the second by another. */
static int fill_hits(struct idx *ix, struct store *st, const struct q_marks *marks, const struct row *rows,
		     struct idx_hit *hits, size_t n, struct cu_err *err)
{
	struct fill_job a, b;
	size_t *order = NULL, i;
	pthread_t th;
	int threaded = 0, rc;

	if (n == 0)
		return 0;
	order = malloc(n * sizeof(*order));
	if (!order)
		return cu_err_set(err, CU_ENOMEM, "search: out of memory");
	for (i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof(*order), cmp_order, (void *)rows);
	rc = reader_for(ix, 0, st, err);
	if (rc == 0 && n >= 8)
		rc = reader_for(ix, 1, st, err);
	if (rc)
		goto out;
	ix->rd_st = st;
	memset(&a, 0, sizeof(a));
	a.tc = ix->tc;
	a.rd = ix->rd[0];
	a.marks = marks;
	a.rows = rows;
	a.hits = hits;
	a.order = order;
	a.to = n;
	b = a;
	if (n >= 8 && !ix->tc2 && tok_ctx_new(&ix->tc2, NULL) != 0)
		ix->tc2 = NULL;
	if (n >= 8 && ix->tc2) {
		a.to = b.from = n / 2;
		b.tc = ix->tc2;
		b.rd = ix->rd[1];
		threaded = pthread_create(&th, NULL, fill_run, &b) == 0;
	}
	fill_run(&a);
	if (threaded)
		pthread_join(th, NULL);
	else if (b.from > 0)
		fill_run(&b);
	if (a.rc || b.rc) {
		const struct fill_job *f = a.rc ? &a : &b;

		rc = cu_err_set(err, f->rc, "%s", f->err.msg[0] ? f->err.msg : "reading a hit failed");
	}
out:
	free(order);
	return rc;
}

void idx_result_release(struct idx_result *r)
{
	size_t i;

	for (i = 0; i < r->nhits; i++) {
		free(r->hits[i].id);
		free(r->hits[i].platform);
		free(r->hits[i].conversation);
		free(r->hits[i].sender);
		free(r->hits[i].snippet);
	}
	free(r->hits);
	free(r->next_cursor);
	memset(r, 0, sizeof(*r));
}

int idx_search(struct idx *ix, struct store *st, const struct idx_query *q, struct idx_result *out,
	       struct cu_err *err)
{
	struct q_node *root = NULL;
	struct q_plan plan;
	struct q_env env;
	struct exec x;
	uint64_t sysw = 0;
	struct cursor cur, *curp = NULL;
	struct row *rows = NULL;
	uint64_t hwm = 0, snap, size;
	unsigned limit = q->limit ? q->limit : IDX_DEFAULT_LIMIT;
	enum idx_sort sort = q->sort;
	size_t nrows = 0;
	int rc, in_txn = 0, locked = 0, hide_sys = 0;

	memset(out, 0, sizeof(*out));
	memset(&plan, 0, sizeof(plan));
	buf_init(&plan.where, 1);
	if (limit > IDX_MAX_LIMIT) {
		rc = cu_err_set(err, CU_EINVAL, "limit must be between 1 and %d", IDX_MAX_LIMIT);
		goto out;
	}
	if (sort > IDX_RELEVANCE) {
		rc = cu_err_set(err, CU_EINVAL, "unknown sort order");
		goto out;
	}
	rc = q_parse(q->q ? q->q : "", &root, err);
	if (rc)
		goto out;
	if (q->cursor && *q->cursor) {
		rc = cursor_decode(q->cursor, &cur, err);
		if (rc)
			goto out;
		if (cur.qhash != qhash_of(q->q) || cur.sort != (unsigned)sort) {
			rc = cu_err_set(err, CU_EINVAL, "cursor belongs to another query or sort order");
			goto out;
		}
		curp = &cur;
	}
	rows = calloc(limit + 1, sizeof(*rows));
	if (!rows) {
		rc = cu_err_set(err, CU_ENOMEM, "search: out of memory");
		goto out;
	}
	pthread_mutex_lock(&ix->mu);
	locked = 1;
	rc = idx_exec(ix, "BEGIN", err);
	if (rc)
		goto out;
	in_txn = 1;
	rc = idx_read_hwm(ix, &hwm, err);
	if (rc)
		goto out;
	/* A first page sees what is indexed, but never past the log as this
	 * store sees it: a read-only view opened before a writer appended
	 * (and indexed) more could not read those records. */
	snap = curp ? curp->snap : hwm < store_size(st) ? hwm : store_size(st);
	if (snap > hwm) {
		rc = cu_err_set(err, CU_EINVAL, "cursor is from a newer index than this one");
		goto out;
	}
	buf_release(&plan.where);
	env.tc = ix->tc;
	env.resolve = resolve_names;
	env.expand = expand_stem;
	env.arg = ix;
	rc = q_compile(root, &env, &plan, err);
	if (rc)
		goto out;
	if (sort == IDX_RELEVANCE && !plan.has_words)
		sort = IDX_NEWEST; /* no words to rank by */
	if (curp && curp->sort != (unsigned)sort) {
		rc = cu_err_set(err, CU_EINVAL, "cursor belongs to another sort order");
		goto out;
	}
	if (restrict_kinds(&plan, q->kinds, &hide_sys) != 0) {
		rc = cu_err_set(err, CU_ETOOBIG, "query is too complex");
		goto out;
	}
	rc = idx_read_sysw(ix, &sysw, err);
	if (rc)
		goto out;
	if (ix->blocks_hwm != hwm || ix->nblocks == 0) {
		rc = idx_load_blocks(ix, err);
		if (rc)
			goto out;
		ix->blocks_hwm = hwm;
	}
	if (plan.fts && (!plan.has_kind || hide_sys) && sysw > 0) {
		/* the archive's own records have the system tag: FTS5 leaves
		 * them out, so counting needs no metadata */
		char *e = NULL;

		if (asprintf(&e, "(%s) NOT \"%c\"", plan.fts, Q_TAG_SYSTEM) < 0) {
			rc = cu_err_set(err, CU_ENOMEM, "search: out of memory");
			goto out;
		}
		free(plan.fts);
		plan.fts = e;
	}
	x.p = &plan;
	x.lo = 0;
	x.snap = snap;
	narrow_by_time(ix, plan.after, plan.before, &x.lo, &x.snap);
	x.kind_filter = (!plan.has_kind || hide_sys) && !plan.fts;
	x.join = x.kind_filter || strcmp((const char *)plan.where.data, "1") != 0;
	if (plan.fts && sort != IDX_RELEVANCE && !curp && x.join) {
		/* The count reads every match joined with its metadata anyway:
		 * the first page is kept while counting (one pass, not two). */
		out->total = 0;
		rc = fetch_ordered(ix, &x, sort, NULL, limit + 1, rows, &nrows, &out->total, err);
	} else {
		rc = count_rows(ix, &x, &out->total, err);
		if (rc == 0)
			rc = fetch_rows(ix, &x, sort, curp, limit + 1, rows, &nrows, err);
	}
	if (rc)
		goto out;
	sqlite3_exec(ix->db, "COMMIT", NULL, NULL, NULL);
	in_txn = 0;
	out->hits = calloc(nrows ? nrows : 1, sizeof(*out->hits));
	if (!out->hits) {
		rc = cu_err_set(err, CU_ENOMEM, "search: out of memory");
		goto out;
	}
	out->nhits = nrows < limit ? nrows : limit;
	rc = fill_hits(ix, st, &plan.marks, rows, out->hits, out->nhits, err);
	if (rc)
		goto out;
	if (nrows > limit) {
		struct cursor nc;

		nc.sort = (unsigned)sort;
		nc.snap = snap;
		nc.seq = rows[limit - 1].seq;
		nc.ts = rows[limit - 1].ts;
		nc.rank = rows[limit - 1].rank;
		nc.qhash = qhash_of(q->q);
		out->next_cursor = cursor_encode(&nc);
		if (!out->next_cursor) {
			rc = cu_err_set(err, CU_ENOMEM, "search: out of memory");
			goto out;
		}
	}
	size = store_size(st);
	out->lag = size > hwm ? size - hwm : 0;
out:
	if (in_txn)
		sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
	if (locked)
		pthread_mutex_unlock(&ix->mu);
	if (rc)
		idx_result_release(out);
	q_plan_release(&plan);
	q_free(root);
	free(rows);
	return rc;
}

json_t *idx_result_json(const struct idx_result *r)
{
	json_t *o, *arr, *h;
	size_t i;

	o = json_object();
	arr = json_array();
	if (!o || !arr)
		goto fail;
	for (i = 0; i < r->nhits; i++) {
		const struct idx_hit *x = &r->hits[i];

		h = json_object();
		if (!h || json_array_append_new(arr, h) != 0)
			goto fail;
		if (json_object_set_new(h, "seq", json_integer((json_int_t)x->seq)) ||
		    json_object_set_new(h, "id", json_string(x->id)) ||
		    json_object_set_new(h, "platform", json_string(x->platform)) ||
		    json_object_set_new(h, "conversation", json_string(x->conversation)) ||
		    json_object_set_new(h, "sender", json_string(x->sender)) ||
		    json_object_set_new(h, "ts", json_integer((json_int_t)x->ts)) ||
		    json_object_set_new(h, "snippet", json_string(x->snippet)) ||
		    (x->duplicate_keys && json_object_set_new(h, "duplicate_keys", json_true())))
			goto fail;
	}
	if (json_object_set_new(o, "total", json_integer((json_int_t)r->total)))
		goto fail;
	/* json_object_set_new takes arr even when it fails */
	if (json_object_set_new(o, "results", arr)) {
		arr = NULL;
		goto fail;
	}
	arr = NULL;
	if (json_object_set_new(o, "next_cursor", r->next_cursor ? json_string(r->next_cursor) : json_null()))
		goto fail;
	return o;
fail:
	json_decref(arr);
	json_decref(o);
	return NULL;
}

int idx_search_json(struct idx *ix, struct store *st, const struct idx_query *q, json_t **out,
		    struct cu_err *err)
{
	struct idx_result r;
	int rc;

	*out = NULL;
	rc = idx_search(ix, st, q, &r, err);
	if (rc)
		return rc;
	*out = idx_result_json(&r);
	idx_result_release(&r);
	if (!*out)
		return cu_err_set(err, CU_ENOMEM, "search: out of memory");
	return 0;
}
