/* context.c - a record's neighbours in its conversation from the index
 * (GET /v1/conversations/{id}/messages): the meta_conv (conv, ts) index
 * walked from the anchor in (origin time, seq) order, so that a quiet
 * conversation in a busy archive costs a few index pages instead of a
 * scan of the log. Only the index is read; records at and beyond the
 * high-water mark are the caller's (it reads them from the log). */
#include <limits.h>
#include <string.h>

#include "search/index_int.h"

/* name_id in index.c keeps at most this many bytes of a name: a longer
 * conversation id cannot be told apart from others with the same prefix. */
#define CTX_NAME_MAX 1023

/* The row values run along meta_conv (conv, ts, rowid): a seek and a walk
 * with no sort, LIMIT want + 1 to learn whether more follow. */
static const char before_sql[] =
	"SELECT seq, ts FROM meta WHERE conv = ?1 AND (ts, seq) < (?2, ?3)"
	" ORDER BY ts DESC, seq DESC LIMIT ?4";
static const char after_sql[] =
	"SELECT seq, ts FROM meta WHERE conv = ?1 AND (ts, seq) > (?2, ?3)"
	" ORDER BY ts, seq LIMIT ?4";

static int ctx_fail(struct idx *ix, struct cu_err *err, const char *what)
{
	int code = sqlite3_errcode(ix->db);

	return cu_err_set(err, code == SQLITE_BUSY || code == SQLITE_LOCKED ? CU_ESTATE :
			  code == SQLITE_CORRUPT ? CU_ECORRUPT : CU_EIO,
			  "index: %s: %s", what, sqlite3_errmsg(ix->db));
}

/* One side: the want nearest records of conv beyond (ts, seq). */
static int side(struct idx *ix, const char *sql, int64_t conv, int64_t ts, int64_t seq,
		struct idx_ctx_side *s, struct cu_err *err)
{
	sqlite3_stmt *q = NULL;
	int rc = 0, r;

	s->n = 0;
	s->more = 0;
	if (conv == 0)
		return 0; /* no record of conv is indexed */
	if (sqlite3_prepare_v2(ix->db, sql, -1, &q, NULL) != SQLITE_OK)
		return ctx_fail(ix, err, "preparing the context query");
	sqlite3_bind_int64(q, 1, conv);
	sqlite3_bind_int64(q, 2, ts);
	sqlite3_bind_int64(q, 3, seq);
	sqlite3_bind_int64(q, 4, (sqlite3_int64)s->want + 1);
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		if (s->n == s->want) {
			s->more = 1;
			break;
		}
		s->seq[s->n] = (uint64_t)sqlite3_column_int64(q, 0);
		s->ts[s->n] = sqlite3_column_int64(q, 1);
		s->n++;
	}
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		rc = ctx_fail(ix, err, "reading the context");
	sqlite3_finalize(q);
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
	rc = side(ix, before_sql, cid, ats, aseq, before, err);
	/* nothing follows the latest */
	if (rc == 0 && anchor != IDX_CTX_LATEST)
		rc = side(ix, after_sql, cid, ats, aseq, after, err);
out:
	if (in_txn)
		sqlite3_exec(ix->db, rc ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL);
	pthread_mutex_unlock(&ix->mu);
	return rc;
}
