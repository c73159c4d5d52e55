/* index_int.h - what index.c (schema, catch-up, deletion, reconciliation)
 * and search.c (queries, snippets, cursors) share. Not for other modules. */
#ifndef CUSTOS_SEARCH_INDEX_INT_H
#define CUSTOS_SEARCH_INDEX_INT_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>

#include "archiver/record.h"
#include "common/buf.h"
#include "search/index.h"
#include "search/pretok.h"
#include "search/query.h"
#include "search/tokenizer.h"

#define IDX_SCHEMA 4              /* bumped on schema changes: the index is rebuilt */
#define IDX_BATCH 65536           /* records per catch-up transaction */
#define IDX_BUSY_MS 10000         /* wait this long for another writer */
#define IDX_NAME_SLOTS (1u << 16) /* name cache slots (power of two) */
#define IDX_BLOCK_SHIFT 12        /* seqs per time block: 4096 */
#define IDX_PRE_RECS 2048         /* records per chunk tokenized ahead on the worker */
#define IDX_PRE_BYTES (8u << 20)  /* and at most about this many bytes of log entries */

/* Kinds of names in the names table. */
enum idx_name_type { NAME_PLATFORM = 1, NAME_CONVERSATION = 2, NAME_SENDER = 3 };

/* A cached (type, value) -> id of the names table. */
struct name_slot {
	char *val;      /* NULL = empty slot */
	size_t len;
	int type;
	int64_t id;
};

/* A hash set of words (exact form -> stem), growing as needed. */
struct term_set {
	char **slots;      /* each NULL or a malloc'd "term\0stem\0" */
	size_t cap;        /* slots (a power of two) */
	size_t n;          /* used slots */
};

/* Origin-time range of the records in one block of 2^IDX_BLOCK_SHIFT seqs,
 * so newest/oldest-first searches can stop early: once the best hits seen
 * are newer than anything in the blocks still to visit, none can follow. */
struct idx_block {
	int64_t mints;  /* INT64_MAX when empty */
	int64_t maxts;  /* INT64_MIN when empty */
};

/* Log entries read ahead of the inserts, so that their bodies can be
 * tokenized on the worker thread meanwhile (the log iterator's entries
 * do not outlive the next read). */
struct log_chunk {
	struct buf bytes;        /* copies of the records' bytes */
	struct chunk_rec {
		uint64_t seq;
		int stub;
		size_t off, len;         /* the record's bytes in bytes */
		struct rec_view v;       /* decoded (not for stubs) */
	} *recs;
	size_t n, cap;
};

/* The transaction idx_add_open keeps open until idx_add_commit. */
struct idx_add_txn {
	int open;
	uint64_t base;               /* the mark when it began */
	uint64_t next;               /* the mark it commits */
	size_t blo, bhi;             /* the time blocks it changed */
};

struct idx {
	pthread_mutex_t mu;          /* serialises every public call */
	int flags;                   /* IDX_RDONLY */
	char *dir;                   /* DATADIR/index */
	int lockfd;                  /* DATADIR/index/lock, shared flock while open */
	sqlite3 *db;
	struct tok_ctx *tc;          /* folds query words and snippet text */
	struct tok_ctx *tc2;         /* the second thread's, for snippets (made when first needed) */
	struct store_reader *rd[2];  /* the two threads' readers of hits (made when first needed) */
	struct store *rd_st;         /* the store they read */
	struct name_slot *names;     /* IDX_NAME_SLOTS cache of the names table */
	size_t nnames;               /* used slots */
	struct idx_block *blocks;    /* per block of seqs, loaded from the blocks table */
	size_t nblocks;              /* entries in blocks */
	size_t blocks_alloc;
	int64_t *blk_prefmax;        /* max ts of blocks [0, b] (for newest-first) */
	int64_t *blk_sufmin;         /* min ts of blocks [b, nblocks) (for oldest-first) */
	int blk_dirty;               /* prefmax/sufmin need recomputing */
	uint64_t blocks_hwm;         /* the mark the blocks in memory are for */
	int64_t sysw_delta;          /* change of state.sysw in the open transaction */
	struct tok_sink sink;        /* the FTS5 tokenizer reports stemmable words here */
	struct term_set pending;     /* words seen in this transaction, not yet in stems */
	struct term_set known;       /* words known to be in stems (a cache, cleared when full) */
	int sink_failed;             /* the sink ran out of memory: the batch must fail */
	struct pretok *pt;           /* tokenizes the next records (made when first needed) */
	int pt_failed;               /* it could not be started: tokenize inside SQLite */
	struct tok_pre pre[2];       /* the records being inserted, the next ones */
	struct log_chunk ck[2];      /* catch-up: the entries of pre[] */
	sqlite3_stmt *st_meta;       /* INSERT INTO meta */
	sqlite3_stmt *st_fts;        /* INSERT INTO fts */
	sqlite3_stmt *st_name_get;   /* SELECT id FROM names */
	sqlite3_stmt *st_name_put;   /* INSERT INTO names */
	struct idx_add_txn add;      /* idx_add_open's transaction */
	_Atomic uint64_t working;    /* log records a catch-up has processed, committed or
				      * not (idx_working: for pacing ingest, read lock-free) */
};

/* The archive's own kinds (rec_kind_is_archive: audit, hold ...) as an
 * SQL range, built from the one definition in archiver/record.h:
 * searches leave them out unless the query names a kind. */
#define IDX_STR_(x) #x
#define IDX_STR(x) IDX_STR_(x)
#define IDX_SYS_KINDS_SQL "BETWEEN " IDX_STR(REC_KIND_ARCHIVE_MIN) " AND " IDX_STR(REC_KIND_ARCHIVE_MAX)

/* Writes the fts tags of a record (its conversation and sender name ids,
 * its kind) to out, IDX_TAGS_MAX bytes: "C<conv> S<sender>", and for the
 * archive's own kinds "+K", at the sender tag's position (tok_sink in
 * tokenizer.h; Q_TAG_CONV in query.h). */
#define IDX_TAGS_MAX 48
void idx_tags(char *out, int64_t conv, int64_t sender, int kind);

/* Runs SQL without results; CU_EIO with SQLite's message. */
int idx_exec(struct idx *ix, const char *sql, struct cu_err *err);
/* Reads the high-water mark inside the current transaction. */
int idx_read_hwm(struct idx *ix, uint64_t *hwm, struct cu_err *err);
/* Reads state.sysw: how many indexed records of the archive's own kinds
 * have words (when 0, word searches need no kind filter). */
int idx_read_sysw(struct idx *ix, uint64_t *n, struct cu_err *err);
/* Loads the block table into memory (after open or a rolled back batch). */
int idx_load_blocks(struct idx *ix, struct cu_err *err);
/* Recomputes the prefix maxima and suffix minima of the blocks. */
int idx_blocks_prepare(struct idx *ix);
/* Looks up the id of a name without creating it; 0 if unknown. */
int idx_name_find(struct idx *ix, int type, const char *val, size_t len, int64_t *id);

#endif
