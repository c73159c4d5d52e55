/* index.h - the search index: SQLite FTS5 beside the segments, following
 * the log in seq order (docs/SEARCH.md "The index never falls out of step").
 *
 * The index lives in DATADIR/index/index.db (WAL). It holds a contentless
 * FTS5 table of the record bodies (tokenizer "custos", search/tokenizer.h),
 * a metadata row per record (seq, origin time, kind, platform,
 * conversation, sender) and its high-water mark: every record below it is
 * indexed. The mark is written in the same transaction as the rows it
 * covers, so index and log can never silently disagree; idx_catch_up()
 * brings the index up to the log. Snippets, event ids and names in results
 * are read back from the segments (store_get), which keeps the index small.
 *
 * Several processes may open one index (a running daemon and the custos
 * command); writers take SQLite's write lock (BEGIN IMMEDIATE) for each
 * batch. idx_reindex needs the index to itself. All functions on one
 * struct idx are serialised by a mutex inside, so threads may share it.
 */
#ifndef CUSTOS_SEARCH_INDEX_H
#define CUSTOS_SEARCH_INDEX_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "archiver/store.h"
#include "common/error.h"

#define IDX_RDONLY 0x1            /* search only: never create, catch up or change */
#define IDX_NOREBUILD 0x2         /* a writer that refuses an index of another version
				     (CU_ESTATE) instead of rebuilding it (for verify) */

#define IDX_DEFAULT_LIMIT 50
#define IDX_MAX_LIMIT 1000
#define IDX_MAX_CURSOR 256        /* bytes of a cursor string */
#define IDX_SNIPPET_BYTES 240     /* text around the first match in a snippet */
#define IDX_MARK_OPEN "**"        /* snippet markers around matched words */
#define IDX_MARK_CLOSE "**"

enum idx_sort {
	IDX_NEWEST = 0,     /* origin time descending, then seq descending (default) */
	IDX_OLDEST = 1,     /* origin time ascending, then seq ascending */
	IDX_RELEVANCE = 2,  /* custos_rank descending, then seq descending */
};

/* One search hit. Strings are owned by the result. */
struct idx_hit {
	uint64_t seq;
	char *id;             /* the platform's event id ("" if the record has none) */
	char *platform;
	char *conversation;
	char *sender;
	int64_t ts;           /* origin time, ms since the epoch */
	unsigned kind;        /* enum rec_kind */
	int duplicate_keys;   /* the record is flagged REC_F_DUP_KEYS */
	char *snippet;        /* text around the matches, words marked IDX_MARK_OPEN/CLOSE */
};

struct idx_result {
	uint64_t total;       /* matches in the snapshot the first page was taken at */
	struct idx_hit *hits;
	size_t nhits;
	char *next_cursor;    /* NULL on the last page */
	uint64_t lag;         /* records in the log not yet in the index when searched */
};

/* What the caller asks. */
struct idx_query {
	const char *q;        /* the query text (docs/SEARCH.md) */
	enum idx_sort sort;
	unsigned limit;       /* 1..IDX_MAX_LIMIT; 0 = IDX_DEFAULT_LIMIT */
	const char *cursor;   /* next_cursor of the previous page, or NULL */
	/* Which kinds the caller may see (REC_KIND_BIT set; 0: all). Records
	 * of other kinds are never matched, counted or paged, whatever the
	 * query says (kind: included): the HTTP API passes the role's
	 * visible kinds (api/visibility.c). Within them, the archive's own
	 * kinds are found only by a query that names kind:. */
	uint64_t kinds;
};

/* Store and index compared by idx_reconcile. */
#define IDX_REPORT_LIST 16
struct idx_report {
	uint64_t store_size;       /* records in the log */
	uint64_t hwm;              /* the index's high-water mark */
	uint64_t checked;          /* records compared */
	uint64_t missing;          /* records (not deleted) below the mark absent from the index */
	uint64_t extra;            /* index entries with no live record behind them */
	uint64_t mismatched;       /* index entries whose metadata or words differ from the record */
	uint64_t missing_seq[IDX_REPORT_LIST];    /* the first few of each */
	uint64_t extra_seq[IDX_REPORT_LIST];
	uint64_t mismatched_seq[IDX_REPORT_LIST];
	int fts_ok;                /* FTS5 integrity-check: 1 passed, 0 failed, -1 not run (read-only) */
};

typedef void (*idx_progress_fn)(void *arg, uint64_t done, uint64_t total);

struct idx;

/* Opens (a writer also creates) DATADIR/index. A writer rebuilds an index
 * made by another tokenizer or schema version from scratch; a reader
 * refuses it with CU_ESTATE. */
int idx_open(const char *datadir, int flags, struct idx **out, struct cu_err *err) CU_MUST_CHECK;
void idx_close(struct idx *ix);

/* Indexes the records from the high-water mark to store_size(st) in seq
 * order, in transactions that each move the mark with their rows.
 * CU_ECORRUPT if the index is ahead of the log or belongs to another
 * archive (custos reindex). progress may be NULL. */
int idx_catch_up(struct idx *ix, struct store *st, idx_progress_fn progress, void *arg,
		 struct cu_err *err) CU_MUST_CHECK;
/* How far the catch-up running now (or the last one) has got through the
 * log, counting records of its open transaction: a pacing hint, not a
 * promise (the transaction may still fail). Lock-free: for another thread. */
uint64_t idx_working(struct idx *ix);
/* The same in transactions of at most batch records (progress after each). */
int idx_catch_up_n(struct idx *ix, struct store *st, size_t batch, idx_progress_fn progress,
		   void *arg, struct cu_err *err) CU_MUST_CHECK;
/* Indexes records just appended (store_append filled in[i].seq and
 * in[i].duplicate) from memory, without reading them back from the
 * segments: the ingest path calls it after each group commit, so whatever
 * is acknowledged is searchable right away. Records the index has already
 * are skipped; if the index is behind the batch, it catches up from the
 * log instead. */
int idx_add(struct idx *ix, struct store *st, const struct store_input *in, size_t n,
	    struct cu_err *err) CU_MUST_CHECK;
/* idx_add in parts, for a writer that adds batch after batch (custos
 * ingest): idx_add_open adds the records to a transaction it leaves open
 * (beginning one if none is), idx_add_commit commits it. One transaction
 * over many batches writes FTS5's words out once and each touched B-tree
 * page once instead of once per batch. Until the commit, readers do not see the
 * records; a failure rolls back the whole transaction (the records stay
 * in the log for the next catch-up). Meanwhile the handle is for these
 * calls only; idx_close commits a transaction left open. */
int idx_add_open(struct idx *ix, struct store *st, const struct store_input *in, size_t n,
		 struct cu_err *err) CU_MUST_CHECK;
int idx_add_commit(struct idx *ix, struct cu_err *err) CU_MUST_CHECK;
/* Records in the open transaction (0 if none). */
uint64_t idx_add_pending(struct idx *ix);
/* The high-water mark, and store_size(st) minus it. */
int idx_hwm(struct idx *ix, uint64_t *hwm, struct cu_err *err) CU_MUST_CHECK;
int idx_lag(struct idx *ix, struct store *st, uint64_t *lag, struct cu_err *err) CU_MUST_CHECK;

/* Runs a query. CU_EINVAL (a message with the position) for bad syntax, a
 * bad cursor or limit: a client error (CLI exit 2, HTTP 400). */
int idx_search(struct idx *ix, struct store *st, const struct idx_query *q, struct idx_result *out,
	       struct cu_err *err) CU_MUST_CHECK;
void idx_result_release(struct idx_result *r);
/* {"total": N, "results": [{"seq","id","platform","conversation","sender",
 * "ts","snippet"}...], "next_cursor": "..." | null}: the shape of both
 * `custos search --json` and GET /v1/search. */
json_t *idx_result_json(const struct idx_result *r);
/* idx_search + idx_result_json. */
int idx_search_json(struct idx *ix, struct store *st, const struct idx_query *q, json_t **out,
		    struct cu_err *err) CU_MUST_CHECK;

/* One side of a conversation context (idx_context). */
struct idx_ctx_side {
	size_t want;          /* in: neighbours wanted (0: only whether there are any) */
	uint64_t *seq;        /* in: room for want seqs; out: nearest first */
	int64_t *ts;          /* in: room for want; out: their origin times */
	size_t n;             /* out: how many were found */
	int more;             /* out: 1 if the index holds more beyond them */
};

#define IDX_CTX_LATEST UINT64_MAX /* anchor: after the conversation's last record */

/* The records of conversation conv nearest to record anchor in (origin
 * time, seq) order, from the index alone (search/context.c): before, the
 * nearest with (ts, seq) < the anchor's, after, the nearest with (ts, seq)
 * greater. Both sides come from one snapshot, whose high-water mark is
 * *hwm: records at or beyond it are not in the index, and the caller reads
 * them from the log. The anchor's origin time is read from the index when
 * anchor < *hwm (into *anchor_ts); otherwise *anchor_ts, given by the
 * caller, is used. With anchor IDX_CTX_LATEST, before is the conversation's
 * latest records and after stays empty. CU_ENOTFOUND if the anchor is below
 * the mark but not indexed as a record of conv; CU_ETOOBIG for an id longer
 * than the index keeps names apart. */
int idx_context(struct idx *ix, const char *conv, uint64_t anchor, int64_t *anchor_ts,
		struct idx_ctx_side *before, struct idx_ctx_side *after, uint64_t *hwm,
		struct cu_err *err) CU_MUST_CHECK;

/* Rebuilds DATADIR/index from the segments alone. Refuses (CU_ESTATE)
 * while another process has the index open. */
int idx_reindex(const char *datadir, struct store *st, idx_progress_fn progress, void *arg,
		struct cu_err *err) CU_MUST_CHECK;

/* Compares the log and the index record by record (read only). */
int idx_reconcile(struct idx *ix, struct store *st, struct idx_report *rep, idx_progress_fn progress,
		  void *arg, struct cu_err *err) CU_MUST_CHECK;

/* For the retention engine: removes records from the index and leaves no
 * trace of their words in the index files (FTS5 'delete' with the
 * original text, 'optimize', secure_delete, VACUUM, WAL checkpoint
 * TRUNCATE). Must run while the records' content is still in the
 * segments, i.e. before they are replaced by stubs; seqs not in the index
 * are ignored. */
int idx_delete(struct idx *ix, struct store *st, const uint64_t *seqs, size_t n,
	       struct cu_err *err) CU_MUST_CHECK;

#endif
