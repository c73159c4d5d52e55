/* context.c - a record's neighbours in its conversation from the index
 * (GET /v1/conversations/{id}/messages): the postings of the
 * conversation's tag in fts (idx_tags) read from the anchor outwards in
 * seq order, and the time blocks to know when no record further on can
 * be nearer in (origin time, seq) order, so that a quiet conversation in
 * a busy archive costs a few postings instead of a scan of the log. Only
 * the index is read; records at and beyond the high-water mark are the
 * caller's (it reads them from the log). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search/index_int.h"

/* name_id in index.c keeps at most this many bytes of a name: a longer
 * conversation id cannot be told apart from others with the same prefix. */
#define CTX_NAME_MAX 1023

static const char before_sql[] =
	"SELECT fts.rowid, m.ts FROM fts CROSS JOIN meta m ON m.seq = fts.rowid"
	" WHERE fts MATCH ?1 AND fts.rowid < ?2 ORDER BY fts.rowid DESC";
static const char after_sql[] =
	"SELECT fts.rowid, m.ts FROM fts CROSS JOIN meta m ON m.seq = fts.rowid"
	" WHERE fts MATCH ?1 AND fts.rowid >= ?2 ORDER BY fts.rowid";

static int ctx_fail(struct idx *ix, struct cu_err *err, const char *what)
{
	int code = sqlite3_errcode(ix->db);

	return cu_err_set(err, code == SQLITE_BUSY || code == SQLITE_LOCKED ? CU_ESTATE :
			  code == SQLITE_CORRUPT ? CU_ECORRUPT : CU_EIO,
			  "index: %s: %s", what, sqlite3_errmsg(ix->db));
}

struct near {
	int64_t ts, seq;
};

/* 1 if a is nearer to the anchor than b on its side: after it, the
 * smaller in (ts, seq) order; before it, the greater. */
static int nearer(int after, const struct near *a, const struct near *b)
{
	const struct near *lo = after ? a : b, *hi = after ? b : a;

	return lo->ts < hi->ts || (lo->ts == hi->ts && lo->seq < hi->seq);
}

/* One side: the want nearest records of conv beyond (ts, seq), and
 * whether more follow. Records are archived roughly in time order, so the
 * scan starts at the first block whose times reach the anchor's and ends
 * as soon as the blocks still ahead cannot hold a nearer record. */
static int side(struct idx *ix, int after, int64_t conv, int64_t ts, int64_t seq,
		struct idx_ctx_side *s, struct cu_err *err)
{
	sqlite3_stmt *q = NULL;
	const struct near anchor = {ts, seq};
	struct near *best;
	size_t cap = s->want + 1, n = 0, nb = ix->nblocks, b, i;
	char tag[32];
	int rc = 0, r;

	s->n = 0;
	s->more = 0;
	if (conv == 0)
		return 0; /* no record of conv is indexed */
	best = malloc(cap * sizeof(*best));
	if (!best || idx_blocks_prepare(ix) != 0) {
		free(best);
		return cu_err_set(err, CU_ENOMEM, "index: out of memory");
	}
	snprintf(tag, sizeof(tag), "\"%c%lld\"", Q_TAG_CONV, (long long)conv);
	if (sqlite3_prepare_v2(ix->db, after ? after_sql : before_sql, -1, &q, NULL) != SQLITE_OK) {
		free(best);
		return ctx_fail(ix, err, "preparing the context query");
	}
	sqlite3_bind_text(q, 1, tag, -1, SQLITE_STATIC);
	if (after) {
		for (b = 0; b < nb && ix->blocks[b].maxts < ts; b++)
			;
		sqlite3_bind_int64(q, 2, (sqlite3_int64)b << IDX_BLOCK_SHIFT);
	} else {
		for (b = nb; b > 0 && ix->blocks[b - 1].mints > ts; b--)
			;
		sqlite3_bind_int64(q, 2, (sqlite3_int64)b << IDX_BLOCK_SHIFT);
	}
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		struct near c = {sqlite3_column_int64(q, 1), sqlite3_column_int64(q, 0)};

		/* on this side of the anchor, and nearer than the farthest kept:
		 * insert it in order */
		if (nearer(after, &anchor, &c) && (n < cap || nearer(after, &c, &best[n - 1]))) {
			i = n < cap ? n++ : n - 1;
			for (; i > 0 && nearer(after, &c, &best[i - 1]); i--)
				best[i] = best[i - 1];
			best[i] = c;
		}
		if (n < cap)
			continue;
		/* can a record still to come be nearer than the farthest kept? */
		if (after) {
			b = (size_t)((c.seq + 1) >> IDX_BLOCK_SHIFT);
			if (b >= nb || ix->blk_sufmin[b] >= best[n - 1].ts)
				break;
		} else {
			if (c.seq == 0)
				break;
			b = (size_t)((c.seq - 1) >> IDX_BLOCK_SHIFT);
			if (b < nb && ix->blk_prefmax[b] <= best[n - 1].ts)
				break;
		}
	}
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		rc = ctx_fail(ix, err, "reading the context");
	for (i = 0; i < n && i < s->want; i++) {
		s->seq[i] = (uint64_t)best[i].seq;
		s->ts[i] = best[i].ts;
	}
	s->n = i;
	s->more = n > s->want;
	sqlite3_finalize(q);
	free(best);
	return rc;
}

/* The anchor's origin time and conversation id from its meta row;
 * *found = 0 if it has none. */
static int anchor_row(struct idx *ix, uint64_t seq, int64_t *ts, int64_t *conv, int *found,
		      struct cu_err *err)
{
	sqlite3_stmt *q = NULL;
	int rc = 0, r;

	*found = 0;
	if (sqlite3_prepare_v2(ix->db, "SELECT ts, conv FROM meta WHERE seq = ?", -1, &q, NULL) != SQLITE_OK)
		return ctx_fail(ix, err, "preparing the anchor query");
	sqlite3_bind_int64(q, 1, (sqlite3_int64)seq);
	r = sqlite3_step(q);
	if (r == SQLITE_ROW) {
		*ts = sqlite3_column_int64(q, 0);
		*conv = sqlite3_column_int64(q, 1);
		*found = 1;
	} else if (r != SQLITE_DONE) {
		rc = ctx_fail(ix, err, "reading the anchor");
	}
	sqlite3_finalize(q);
	return rc;
}

int idx_context(struct idx *ix, const char *conv, uint64_t anchor, int64_t *anchor_ts,
		struct idx_ctx_side *before, struct idx_ctx_side *after, uint64_t *hwm,
		struct cu_err *err)
{
	size_t clen = strlen(conv);
	int64_t cid = 0, ats = INT64_MAX, aseq = INT64_MAX, rconv = 0;
	int rc, found, in_txn = 0;

	before->n = after->n = 0;
	before->more = after->more = 0;
	*hwm = 0;
	if (clen > CTX_NAME_MAX)
		return cu_err_set(err, CU_ETOOBIG, "index: conversation ids over %d bytes are not indexed "
				  "apart", CTX_NAME_MAX);
	if (anchor != IDX_CTX_LATEST && anchor > INT64_MAX)
		return cu_err_set(err, CU_EINVAL, "index: anchor out of range");
	pthread_mutex_lock(&ix->mu);
	/* One read transaction: both sides and the mark are of one snapshot,
	 * so the caller's log scan from the mark neither misses nor repeats. */
	rc = idx_exec(ix, "BEGIN", err);
	if (rc)
		goto out;
	in_txn = 1;
	rc = idx_read_hwm(ix, hwm, err);
	if (rc)
		goto out;
	if (ix->blocks_hwm != *hwm || ix->nblocks == 0) {
		rc = idx_load_blocks(ix, err);
		if (rc)
			goto out;
		ix->blocks_hwm = *hwm;
	}
	if (idx_name_find(ix, NAME_CONVERSATION, conv, clen, &cid) != 0) {
		rc = ctx_fail(ix, err, "looking up the conversation");
		goto out;
	}
	if (anchor != IDX_CTX_LATEST) {
		aseq = (int64_t)anchor;
		ats = *anchor_ts;
		if (anchor < *hwm) {
			rc = anchor_row(ix, anchor, &ats, &rconv, &found, err);
			if (rc)
				goto out;
			if (!found || rconv != cid) {
				rc = cu_err_set(err, CU_ENOTFOUND, "index: record %llu is not indexed as a "
						"record of this conversation", (unsigned long long)anchor);
				goto out;
			}
			*anchor_ts = ats;
		}
	}
	rc = side(ix, 0, cid, ats, aseq, before, err);
	/* nothing follows the latest */
	if (rc == 0 && anchor != IDX_CTX_LATEST)
		rc = side(ix, 1, cid, ats, aseq, after, err);
out:
	if (in_txn)
		sqlite3_exec(ix->db, rc ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL);
	pthread_mutex_unlock(&ix->mu);
	return rc;
}
