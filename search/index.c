/* index.c - the search index's schema, catch-up from the log, rebuild,
 * deletion for retention and reconciliation with the log (index.h). */
#include "search/index_int.h"

#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "archiver/record.h"
#include "common/fileio.h"
#include "common/layout.h"

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS state(k TEXT PRIMARY KEY, v) WITHOUT ROWID;"
	/* platform, conversation and sender strings, stored once */
	"CREATE TABLE IF NOT EXISTS names(id INTEGER PRIMARY KEY, ty INTEGER NOT NULL,"
	" val TEXT NOT NULL, key TEXT NOT NULL, local TEXT NOT NULL, UNIQUE(ty, val));"
	"CREATE INDEX IF NOT EXISTS names_key ON names(ty, key);"
	"CREATE INDEX IF NOT EXISTS names_local ON names(ty, local);"
	/* one row per indexed record; rowid = seq */
	"CREATE TABLE IF NOT EXISTS meta(seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL,"
	" kind INTEGER NOT NULL, plat INTEGER NOT NULL, conv INTEGER NOT NULL,"
	" sender INTEGER NOT NULL);"
	/* the archive's own records (few): to leave them out of counts */
	"CREATE INDEX IF NOT EXISTS meta_sys ON meta(kind) WHERE kind " IDX_SYS_KINDS_SQL ";"
	"CREATE TABLE IF NOT EXISTS blocks(blk INTEGER PRIMARY KEY, mints INTEGER NOT NULL,"
	" maxts INTEGER NOT NULL);"
	/* the words of the bodies, exact forms only (contentless), and on
	 * every record's row the tags of its conversation and sender (an FTS5
	 * posting costs less to add than an entry in a B-tree index of meta
	 * in the record's conversation, and in:/from: read them the same way;
	 * idx_tags) */
	"CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(body, content='', tokenize='custos');"
	"CREATE VIRTUAL TABLE IF NOT EXISTS fts_vocab USING fts5vocab(fts, 'row');"
	/* stem -> the exact forms in fts with that stem */
	"CREATE TABLE IF NOT EXISTS stems(stem TEXT NOT NULL, term TEXT NOT NULL,"
	" PRIMARY KEY(stem, term)) WITHOUT ROWID;";

/* FTS5 collects a transaction's words in memory and writes them out as a
 * new segment whenever they exceed its hash size (1 MiB by default), and
 * merges segments as they pile up. 8 MiB writes an eighth as many level-0
 * segments, so there is less merging to do on insert and fewer segments
 * for a search to read (measured, 1M messages with 64k-record
 * transactions: ingest with the index 8.8 s -> 8.1 s). A setting kept in
 * the table's own config. */
static const char fts_config_sql[] =
	"INSERT INTO fts(fts, rank) VALUES('hashsize', 8388608);";

static const char drop_sql[] =
	"DROP TABLE IF EXISTS fts_vocab; DROP TABLE IF EXISTS fts; DROP TABLE IF EXISTS meta;"
	"DROP TABLE IF EXISTS names; DROP TABLE IF EXISTS blocks; DROP TABLE IF EXISTS stems;"
	"DROP TABLE IF EXISTS state;";

static int add_commit_locked(struct idx *ix, struct cu_err *err);

int idx_exec(struct idx *ix, const char *sql, struct cu_err *err)
{
	char *msg = NULL;
	int rc;

	rc = sqlite3_exec(ix->db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		rc = cu_err_set(err, rc == SQLITE_BUSY ? CU_ESTATE : rc == SQLITE_FULL ? CU_ENOSPC : CU_EIO,
				"index: %s", msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return rc;
	}
	return 0;
}

static int db_fail(struct idx *ix, struct cu_err *err, const char *what)
{
	int code = sqlite3_errcode(ix->db);

	return cu_err_set(err, code == SQLITE_BUSY || code == SQLITE_LOCKED ? CU_ESTATE :
			  code == SQLITE_FULL ? CU_ENOSPC : code == SQLITE_CORRUPT ? CU_ECORRUPT : CU_EIO,
			  "index: %s: %s", what, sqlite3_errmsg(ix->db));
}

static int state_get(struct idx *ix, const char *k, sqlite3_int64 *v, int *found, struct cu_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = 0, s;

	*found = 0;
	if (sqlite3_prepare_v2(ix->db, "SELECT v FROM state WHERE k = ?", -1, &st, NULL) != SQLITE_OK)
		return db_fail(ix, err, "reading state");
	sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
	s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		*v = sqlite3_column_int64(st, 0);
		*found = 1;
	} else if (s != SQLITE_DONE) {
		rc = db_fail(ix, err, "reading state");
	}
	sqlite3_finalize(st);
	return rc;
}

static int state_put(struct idx *ix, const char *k, sqlite3_int64 v, const char *text, struct cu_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;

	if (sqlite3_prepare_v2(ix->db, "INSERT OR REPLACE INTO state(k, v) VALUES(?, ?)", -1, &st,
			       NULL) != SQLITE_OK)
		return db_fail(ix, err, "writing state");
	sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
	if (text)
		sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(st, 2, v);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = db_fail(ix, err, "writing state");
	sqlite3_finalize(st);
	return rc;
}

int idx_read_sysw(struct idx *ix, uint64_t *n, struct cu_err *err)
{
	sqlite3_int64 v = 0;
	int found, rc;

	rc = state_get(ix, "sysw", &v, &found, err);
	*n = rc == 0 && found && v > 0 ? (uint64_t)v : 0;
	return rc;
}

/* Adds the open transaction's change to state.sysw. */
static int sysw_commit(struct idx *ix, struct cu_err *err)
{
	uint64_t n = 0;
	int rc;

	if (ix->sysw_delta == 0)
		return 0;
	rc = idx_read_sysw(ix, &n, err);
	if (rc == 0)
		rc = state_put(ix, "sysw", (sqlite3_int64)n + ix->sysw_delta, NULL, err);
	ix->sysw_delta = 0;
	return rc;
}

int idx_read_hwm(struct idx *ix, uint64_t *hwm, struct cu_err *err)
{
	sqlite3_int64 v = 0;
	int found, rc;

	rc = state_get(ix, "hwm", &v, &found, err);
	*hwm = rc == 0 && found && v > 0 ? (uint64_t)v : 0;
	return rc;
}

/* ---- names ---------------------------------------------------------- */

static uint32_t name_hash(int type, const char *p, size_t n)
{
	uint32_t h = 2166136261u ^ (uint32_t)type;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 16777619u;
	}
	return h;
}

static void names_clear(struct idx *ix)
{
	size_t i;

	if (!ix->names)
		return;
	for (i = 0; i < IDX_NAME_SLOTS; i++) {
		free(ix->names[i].val);
		ix->names[i].val = NULL;
	}
	ix->nnames = 0;
}

static struct name_slot *name_slot(struct idx *ix, int type, const char *val, size_t len)
{
	uint32_t h = name_hash(type, val, len) & (IDX_NAME_SLOTS - 1);

	for (;;) {
		struct name_slot *s = &ix->names[h];

		if (!s->val || (s->type == type && s->len == len && !memcmp(s->val, val, len)))
			return s;
		h = (h + 1) & (IDX_NAME_SLOTS - 1);
	}
}

/* The key (ASCII lower case) and local part (without sigil, up to ':' or
 * '@') under which from:/in: values find a name. */
static void name_keys(const char *val, size_t len, char *key, char *local, size_t cap)
{
	size_t i, o = 0, s = 0;

	for (i = 0; i < len && i + 1 < cap; i++) {
		char c = val[i];

		key[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
	}
	key[i] = '\0';
	if (len > 0 && (key[0] == '@' || key[0] == '!' || key[0] == '#' || key[0] == '+'))
		s = 1;
	for (i = s; key[i] && key[i] != ':' && key[i] != '@' && key[i] != '/'; i++)
		local[o++] = key[i];
	local[o] = '\0';
}

int idx_name_find(struct idx *ix, int type, const char *val, size_t len, int64_t *id)
{
	struct name_slot *s = name_slot(ix, type, val, len);
	int rc = 0, r;

	*id = 0;
	if (s->val) {
		*id = s->id;
		return 0;
	}
	sqlite3_reset(ix->st_name_get);
	sqlite3_bind_int(ix->st_name_get, 1, type);
	sqlite3_bind_text(ix->st_name_get, 2, val, (int)len, SQLITE_STATIC);
	r = sqlite3_step(ix->st_name_get);
	if (r == SQLITE_ROW)
		*id = sqlite3_column_int64(ix->st_name_get, 0);
	else if (r != SQLITE_DONE)
		rc = CU_EIO;
	sqlite3_reset(ix->st_name_get);
	return rc;
}

/* The id of a name, created if new. */
static int name_id(struct idx *ix, int type, const struct rec_str *v, int64_t *id, struct cu_err *err)
{
	const char *val = v->ptr ? v->ptr : "";
	size_t len = v->len;
	struct name_slot *s;
	char key[1024], local[1024];
	int rc;

	if (len > sizeof(key) - 1)
		len = sizeof(key) - 1; /* names are short; a cap keeps the table small */
	if (ix->nnames >= IDX_NAME_SLOTS / 2)
		names_clear(ix);
	s = name_slot(ix, type, val, len);
	if (s->val) {
		*id = s->id;
		return 0;
	}
	rc = idx_name_find(ix, type, val, len, id);
	if (rc)
		return db_fail(ix, err, "looking up a name");
	if (*id == 0) {
		name_keys(val, len, key, local, sizeof(key));
		sqlite3_reset(ix->st_name_put);
		sqlite3_bind_int(ix->st_name_put, 1, type);
		sqlite3_bind_text(ix->st_name_put, 2, val, (int)len, SQLITE_STATIC);
		sqlite3_bind_text(ix->st_name_put, 3, key, -1, SQLITE_STATIC);
		sqlite3_bind_text(ix->st_name_put, 4, local, -1, SQLITE_STATIC);
		if (sqlite3_step(ix->st_name_put) != SQLITE_DONE) {
			sqlite3_reset(ix->st_name_put);
			return db_fail(ix, err, "adding a name");
		}
		sqlite3_reset(ix->st_name_put);
		*id = sqlite3_last_insert_rowid(ix->db);
	}
	s = name_slot(ix, type, val, len);
	s->val = malloc(len + 1);
	if (!s->val)
		return cu_err_set(err, CU_ENOMEM, "index: out of memory");
	memcpy(s->val, val, len);
	s->val[len] = '\0';
	s->len = len;
	s->type = type;
	s->id = *id;
	ix->nnames++;
	return 0;
}

/* ---- stems ---------------------------------------------------------- */

static void tset_clear(struct term_set *ts)
{
	size_t i;

	for (i = 0; i < ts->cap; i++) {
		free(ts->slots[i]);
		ts->slots[i] = NULL;
	}
	ts->n = 0;
}

static void tset_free(struct term_set *ts)
{
	if (ts->slots)
		tset_clear(ts);
	free(ts->slots);
	ts->slots = NULL;
	ts->cap = 0;
}

static char **tset_slot(char **slots, size_t cap, const char *term, size_t len)
{
	size_t h = name_hash(0, term, len) & (cap - 1);

	while (slots[h] && (strncmp(slots[h], term, len) != 0 || slots[h][len] != '\0'))
		h = (h + 1) & (cap - 1);
	return &slots[h];
}

static int tset_has(const struct term_set *ts, const char *term, size_t len)
{
	return ts->cap && *tset_slot(ts->slots, ts->cap, term, len) != NULL;
}

/* Adds term -> stem (if new); grows the table at half load. */
static int tset_add(struct term_set *ts, const char *term, size_t tl, const char *stem, size_t sl)
{
	char **slot, *e;
	size_t i;

	if (ts->n + 1 > ts->cap / 2) {
		size_t nc = ts->cap ? ts->cap * 2 : 4096;
		char **ns = calloc(nc, sizeof(*ns));

		if (!ns)
			return CU_ENOMEM;
		for (i = 0; i < ts->cap; i++)
			if (ts->slots[i])
				*tset_slot(ns, nc, ts->slots[i], strlen(ts->slots[i])) = ts->slots[i];
		free(ts->slots);
		ts->slots = ns;
		ts->cap = nc;
	}
	slot = tset_slot(ts->slots, ts->cap, term, tl);
	if (*slot)
		return 0;
	e = malloc(tl + sl + 2);
	if (!e)
		return CU_ENOMEM;
	memcpy(e, term, tl);
	e[tl] = '\0';
	memcpy(e + tl + 1, stem, sl);
	e[tl + 1 + sl] = '\0';
	*slot = e;
	ts->n++;
	return 0;
}

/* The tokenizer's sink: called inside SQLite for every stemmable word of
 * a body being indexed; only remembers it (no SQL from here). */
static int sink_word(void *arg, const struct tok_word *w)
{
	struct idx *ix = arg;

	if (tset_has(&ix->known, w->exact, w->exact_len) || tset_has(&ix->pending, w->exact, w->exact_len))
		return 0;
	if (tset_add(&ix->pending, w->exact, w->exact_len, w->stem, w->stem_len) != 0)
		ix->sink_failed = 1;
	return 0;
}

/* Writes the pending words to the stems table (inside the transaction). */
static int stems_flush(struct idx *ix, struct cu_err *err)
{
	sqlite3_stmt *st = NULL;
	size_t i;
	int rc = 0;

	if (ix->sink_failed)
		return cu_err_set(err, CU_ENOMEM, "index: out of memory collecting words");
	if (ix->pending.n == 0)
		return 0;
	if (sqlite3_prepare_v2(ix->db, "INSERT OR IGNORE INTO stems(stem, term) VALUES(?, ?)", -1, &st,
			       NULL) != SQLITE_OK)
		return db_fail(ix, err, "adding stems");
	for (i = 0; i < ix->pending.cap && rc == 0; i++) {
		char *e = ix->pending.slots[i];
		size_t tl;

		if (!e)
			continue;
		tl = strlen(e);
		sqlite3_bind_text(st, 1, e + tl + 1, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, e, (int)tl, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = db_fail(ix, err, "adding stems");
		sqlite3_reset(st);
		if (rc == 0) {
			if (ix->known.n >= (1u << 17))
				tset_clear(&ix->known); /* a cache: start over when large */
			if (tset_add(&ix->known, e, tl, "", 0) != 0)
				tset_clear(&ix->known);
		}
	}
	sqlite3_finalize(st);
	tset_clear(&ix->pending);
	return rc;
}

/* ---- time blocks ---------------------------------------------------- */

static int blocks_reserve(struct idx *ix, size_t n)
{
	struct idx_block *nb;
	size_t na, i;

	if (n <= ix->blocks_alloc)
		return 0;
	na = ix->blocks_alloc ? ix->blocks_alloc : 64;
	while (na < n)
		na *= 2;
	nb = realloc(ix->blocks, na * sizeof(*nb));
	if (!nb)
		return CU_ENOMEM;
	for (i = ix->blocks_alloc; i < na; i++) {
		nb[i].mints = INT64_MAX;
		nb[i].maxts = INT64_MIN;
	}
	ix->blocks = nb;
	ix->blocks_alloc = na;
	return 0;
}

int idx_load_blocks(struct idx *ix, struct cu_err *err)
{
	sqlite3_stmt *st = NULL;
	size_t i;
	int rc = 0, s;

	for (i = 0; i < ix->blocks_alloc; i++) {
		ix->blocks[i].mints = INT64_MAX;
		ix->blocks[i].maxts = INT64_MIN;
	}
	ix->nblocks = 0;
	ix->blk_dirty = 1;
	if (sqlite3_prepare_v2(ix->db, "SELECT blk, mints, maxts FROM blocks ORDER BY blk", -1, &st,
			       NULL) != SQLITE_OK)
		return db_fail(ix, err, "reading time blocks");
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		sqlite3_int64 b = sqlite3_column_int64(st, 0);

		if (b < 0 || b > (1 << 28)) {
			rc = cu_err_set(err, CU_ECORRUPT, "index: bad time block %lld", (long long)b);
			break;
		}
		if (blocks_reserve(ix, (size_t)b + 1) != 0) {
			rc = cu_err_set(err, CU_ENOMEM, "index: out of memory");
			break;
		}
		ix->blocks[b].mints = sqlite3_column_int64(st, 1);
		ix->blocks[b].maxts = sqlite3_column_int64(st, 2);
		if ((size_t)b + 1 > ix->nblocks)
			ix->nblocks = (size_t)b + 1;
	}
	if (rc == 0 && s != SQLITE_DONE)
		rc = db_fail(ix, err, "reading time blocks");
	sqlite3_finalize(st);
	return rc;
}

int idx_blocks_prepare(struct idx *ix)
{
	int64_t *pm, *sm;
	size_t b, n = ix->nblocks;

	if (!ix->blk_dirty)
		return 0;
	pm = realloc(ix->blk_prefmax, (n + 1) * sizeof(*pm));
	if (!pm)
		return CU_ENOMEM;
	ix->blk_prefmax = pm;
	sm = realloc(ix->blk_sufmin, (n + 1) * sizeof(*sm));
	if (!sm)
		return CU_ENOMEM;
	ix->blk_sufmin = sm;
	for (b = 0; b < n; b++)
		pm[b] = b == 0 ? ix->blocks[0].maxts :
			(ix->blocks[b].maxts > pm[b - 1] ? ix->blocks[b].maxts : pm[b - 1]);
	for (b = n; b-- > 0;)
		sm[b] = b + 1 == n ? ix->blocks[b].mints :
			(ix->blocks[b].mints < sm[b + 1] ? ix->blocks[b].mints : sm[b + 1]);
	ix->blk_dirty = 0;
	return 0;
}

static int blocks_save(struct idx *ix, size_t from, size_t to, struct cu_err *err)
{
	sqlite3_stmt *st = NULL;
	size_t b;
	int rc = 0;

	if (sqlite3_prepare_v2(ix->db, "INSERT OR REPLACE INTO blocks(blk, mints, maxts) VALUES(?,?,?)",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(ix, err, "writing time blocks");
	for (b = from; b <= to && b < ix->nblocks && rc == 0; b++) {
		if (ix->blocks[b].mints > ix->blocks[b].maxts)
			continue;
		sqlite3_bind_int64(st, 1, (sqlite3_int64)b);
		sqlite3_bind_int64(st, 2, ix->blocks[b].mints);
		sqlite3_bind_int64(st, 3, ix->blocks[b].maxts);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = db_fail(ix, err, "writing time blocks");
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return rc;
}

/* ---- open/close ----------------------------------------------------- */

static void stmts_finalize(struct idx *ix)
{
	sqlite3_finalize(ix->st_meta);
	sqlite3_finalize(ix->st_fts);
	sqlite3_finalize(ix->st_name_get);
	sqlite3_finalize(ix->st_name_put);
	ix->st_meta = ix->st_fts = ix->st_name_get = ix->st_name_put = NULL;
}

void idx_close(struct idx *ix)
{
	int i;

	if (!ix)
		return;
	if (ix->add.open) {
		/* the records are in the log: keeping them saves the next catch-up */
		struct cu_err ignore;

		cu_err_clear(&ignore);
		(void)add_commit_locked(ix, &ignore);
	}
	stmts_finalize(ix);
	if (ix->db)
		sqlite3_close_v2(ix->db);
	pretok_free(ix->pt);
	for (i = 0; i < 2; i++) {
		tok_pre_free(&ix->pre[i]);
		buf_release(&ix->ck[i].bytes);
		free(ix->ck[i].recs);
	}
	tok_ctx_free(ix->tc);
	tok_ctx_free(ix->tc2);
	store_reader_free(ix->rd[0]);
	store_reader_free(ix->rd[1]);
	names_clear(ix);
	free(ix->names);
	tset_free(&ix->pending);
	tset_free(&ix->known);
	free(ix->blocks);
	free(ix->blk_prefmax);
	free(ix->blk_sufmin);
	if (ix->lockfd >= 0)
		close(ix->lockfd);
	free(ix->dir);
	pthread_mutex_destroy(&ix->mu);
	free(ix);
}

/* Creates or checks the schema; a writer rebuilds an index of another
 * version from scratch. */
static int schema_setup(struct idx *ix, struct cu_err *err)
{
	sqlite3_int64 schema = 0, tokver = 0;
	int fs = 0, ft = 0, rc, exists;
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(ix->db, "SELECT 1 FROM sqlite_master WHERE name = 'state'", -1, &st,
			       NULL) != SQLITE_OK)
		return db_fail(ix, err, "reading the schema");
	exists = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	if (exists) {
		rc = state_get(ix, "schema", &schema, &fs, err);
		if (rc == 0)
			rc = state_get(ix, "tokver", &tokver, &ft, err);
		if (rc)
			return rc;
		if (fs && ft && schema == IDX_SCHEMA && tokver == TOK_VERSION)
			return 0;
		if (ix->flags & (IDX_RDONLY | IDX_NOREBUILD))
			return cu_err_set(err, CU_ESTATE, "index: built by another version (schema %lld, "
					  "tokenizer %lld); run custos reindex", (long long)schema,
					  (long long)tokver);
		rc = idx_exec(ix, drop_sql, err);
		if (rc)
			return rc;
	} else if (ix->flags & (IDX_RDONLY | IDX_NOREBUILD)) {
		return cu_err_set(err, CU_ENOTFOUND, "index: no index yet (run custos search or reindex)");
	}
	rc = idx_exec(ix, "BEGIN IMMEDIATE", err);
	if (rc)
		return rc;
	rc = idx_exec(ix, schema_sql, err);
	if (rc == 0)
		rc = idx_exec(ix, fts_config_sql, err);
	if (rc == 0)
		rc = state_put(ix, "schema", IDX_SCHEMA, NULL, err);
	if (rc == 0)
		rc = state_put(ix, "tokver", TOK_VERSION, NULL, err);
	if (rc == 0)
		rc = state_put(ix, "hwm", 0, NULL, err);
	if (rc == 0)
		rc = state_put(ix, "sysw", 0, NULL, err);
	if (rc == 0)
		rc = idx_exec(ix, "COMMIT", err);
	if (rc)
		sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* Opens the database with the lock file already held (closed on failure).
 * *damaged (if not NULL) is set when SQLite found the file not to be a
 * database or corrupt. */
static int open_locked(const char *dir, int flags, int lockfd, struct idx **out, int *damaged,
		       struct cu_err *err)
{
	struct idx *ix;
	char path[PATH_MAX];
	int rc = 0, oflags;

	*out = NULL;
	ix = calloc(1, sizeof(*ix));
	if (!ix) {
		close(lockfd);
		return cu_err_set(err, CU_ENOMEM, "index: out of memory");
	}
	pthread_mutex_init(&ix->mu, NULL);
	buf_init(&ix->ck[0].bytes, IDX_PRE_BYTES + REC_MAX_BYTES);
	buf_init(&ix->ck[1].bytes, IDX_PRE_BYTES + REC_MAX_BYTES);
	ix->flags = flags;
	ix->lockfd = lockfd;
	ix->dir = strdup(dir);
	ix->names = calloc(IDX_NAME_SLOTS, sizeof(*ix->names));
	if (!ix->dir || !ix->names) {
		rc = cu_err_set(err, CU_ENOMEM, "index: out of memory");
		goto out;
	}
	rc = tok_ctx_new(&ix->tc, err);
	if (rc)
		goto out;
	snprintf(path, sizeof(path), "%s/" LAYOUT_INDEX_DB, dir);
	oflags = (flags & IDX_RDONLY) ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(path, &ix->db, oflags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		rc = cu_err_set(err, CU_EIO, "index: cannot open %s: %s", path,
				ix->db ? sqlite3_errmsg(ix->db) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(ix->db, IDX_BUSY_MS);
	sqlite3_extended_result_codes(ix->db, 0);
	if (!(flags & IDX_RDONLY))
		rc = idx_exec(ix, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", err);
	/* Pages are read through a mapping of up to 2 GiB (SQLite's cap in
	 * Debian's build) instead of read() copies: with 256 MiB, an index
	 * of some million records spent a third of its catch-up in the kernel
	 * copying pages (measured: ingest over HTTP 29.8k -> 33.2k msgs/s
	 * over 4 minutes). Mapped pages are page cache, not heap. */
	if (rc == 0)
		rc = idx_exec(ix, "PRAGMA cache_size=-32768; PRAGMA temp_store=MEMORY;"
			      "PRAGMA mmap_size=2147418112;", err);
	ix->sink.fn = sink_word;
	ix->sink.arg = ix;
	ix->sink.gen = 1;
	if (rc == 0)
		rc = tok_register(ix->db, (flags & IDX_RDONLY) ? NULL : &ix->sink, err);
	if (rc == 0)
		rc = schema_setup(ix, err);
	if (rc == 0 && !(flags & IDX_RDONLY)) {
		if (sqlite3_prepare_v3(ix->db, "INSERT INTO meta(seq, ts, kind, plat, conv, sender) "
				       "VALUES(?,?,?,?,?,?)", -1, SQLITE_PREPARE_PERSISTENT,
				       &ix->st_meta, NULL) != SQLITE_OK ||
		    sqlite3_prepare_v3(ix->db, "INSERT INTO fts(rowid, body) VALUES(?, ?)", -1,
				       SQLITE_PREPARE_PERSISTENT, &ix->st_fts, NULL) != SQLITE_OK ||
		    sqlite3_prepare_v3(ix->db, "INSERT INTO names(ty, val, key, local) VALUES(?,?,?,?)",
				       -1, SQLITE_PREPARE_PERSISTENT, &ix->st_name_put, NULL) != SQLITE_OK)
			rc = db_fail(ix, err, "preparing statements");
	}
	if (rc == 0 && sqlite3_prepare_v3(ix->db, "SELECT id FROM names WHERE ty = ? AND val = ?", -1,
					  SQLITE_PREPARE_PERSISTENT, &ix->st_name_get, NULL) != SQLITE_OK)
		rc = db_fail(ix, err, "preparing statements");
	if (rc == 0)
		rc = idx_load_blocks(ix, err);
out:
	if (rc) {
		if (damaged && ix->db) {
			int code = sqlite3_errcode(ix->db);

			*damaged = code == SQLITE_NOTADB || code == SQLITE_CORRUPT;
		}
		idx_close(ix);
		return rc;
	}
	*out = ix;
	return 0;
}

static int lock_index(const char *dir, int flags, int exclusive, int *fd_out, struct cu_err *err)
{
	char path[PATH_MAX];
	int fd, rc = 0;

	*fd_out = -1;
	if (!(flags & IDX_RDONLY)) {
		rc = fio_mkdir(dir, 0700, err);
		if (rc)
			return rc;
	}
	snprintf(path, sizeof(path), "%s/" LAYOUT_INDEX_LOCK, dir);
	fd = open(path, (flags & IDX_RDONLY) ? O_RDONLY | O_CLOEXEC : O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == ENOENT)
			return cu_err_set(err, CU_ENOTFOUND, "index: no index yet in %s", dir);
		return cu_err_errno(err, errno, "index: cannot open %s", path);
	}
	if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0) {
		rc = errno == EWOULDBLOCK ?
			cu_err_set(err, CU_ESTATE, exclusive ?
				   "index: in use by another process (stop custos serve first)" :
				   "index: being rebuilt by custos reindex; try again when it is done") :
			cu_err_errno(err, errno, "index: cannot lock %s", path);
		close(fd);
		return rc;
	}
	*fd_out = fd;
	return 0;
}

/* Takes the index lock exclusively (no reader may have the files open)
 * and removes the database files; the lock stays in *fd, exclusive, or
 * shared again with shared_after. */
static int remove_db_locked(const char *dir, int shared_after, int *fd, struct cu_err *err)
{
	static const char *const files[] = {LAYOUT_INDEX_DB, LAYOUT_INDEX_DB "-wal", LAYOUT_INDEX_DB "-shm"};
	char path[PATH_MAX + 32];
	size_t i;
	int rc;

	rc = lock_index(dir, 0, 1, fd, err);
	for (i = 0; rc == 0 && i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		if (unlink(path) != 0 && errno != ENOENT)
			rc = cu_err_errno(err, errno, "index: cannot remove %s", path);
	}
	if (rc == 0 && shared_after && flock(*fd, LOCK_SH | LOCK_NB) != 0)
		rc = cu_err_errno(err, errno, "index: cannot lock %s", dir);
	if (rc && *fd >= 0) {
		close(*fd);
		*fd = -1;
	}
	return rc;
}

int idx_open(const char *datadir, int flags, struct idx **out, struct cu_err *err)
{
	char dir[PATH_MAX];
	int fd, rc, damaged = 0;

	*out = NULL;
	if ((size_t)snprintf(dir, sizeof(dir), "%s/" LAYOUT_INDEX_DIR, datadir) >= sizeof(dir))
		return cu_err_set(err, CU_EINVAL, "index: path too long");
	rc = lock_index(dir, flags, 0, &fd, err);
	if (rc)
		return rc;
	rc = open_locked(dir, flags, fd, out, &damaged, err);
	if (rc == 0 || !damaged || (flags & (IDX_RDONLY | IDX_NOREBUILD)))
		return rc;
	/* Derived data SQLite finds damaged: a writer starts it again, and
	 * the catch-up rebuilds it from the segments (as custos reindex). */
	fprintf(stderr, "custos: warning: %s; the search index is rebuilt from the segments\n",
		err->msg);
	cu_err_clear(err);
	rc = remove_db_locked(dir, 1, &fd, err);
	if (rc)
		return rc;
	return open_locked(dir, flags, fd, out, NULL, err);
}

/* ---- catch-up ------------------------------------------------------- */

/* 1 if the record's body words go into fts. */
static int has_words(const struct rec_view *v)
{
	return v->f[RF_BODY].len > 0 && !(v->flags & REC_F_ENCRYPTED);
}

void idx_tags(char *out, int64_t conv, int64_t sender, int kind)
{
	int sys = rec_kind_is_archive((unsigned)kind);

	snprintf(out, IDX_TAGS_MAX, "%c%lld %c%lld%s%c", Q_TAG_CONV, (long long)conv, Q_TAG_SENDER,
		 (long long)sender, sys ? " +" : "", sys ? Q_TAG_SYSTEM : '\0');
}

/* Adds (st: INSERT INTO fts) or removes (st: the 'delete' command) the fts
 * row of record seq: the words of v's body (v NULL or without words: none)
 * and the tags of conv, sender and kind. 0, or -1 with SQLite's error. */
static int fts_row(struct idx *ix, sqlite3_stmt *st, uint64_t seq, const struct rec_view *v,
		   int64_t conv, int64_t sender, int kind)
{
	char tags[IDX_TAGS_MAX];
	int s;

	idx_tags(tags, conv, sender, kind);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
	/* "" rather than NULL: FTS5 does not tokenize a NULL, and the tags
	 * come from the tokenizer */
	if (v && has_words(v))
		sqlite3_bind_text(st, 2, v->f[RF_BODY].ptr, (int)v->f[RF_BODY].len, SQLITE_STATIC);
	else
		sqlite3_bind_text(st, 2, "", 0, SQLITE_STATIC);
	ix->sink.tags = tags;
	s = sqlite3_step(st);
	ix->sink.tags = NULL;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return s == SQLITE_DONE ? 0 : -1;
}

/* Adds the rows of the record at seq. */
static int index_rec(struct idx *ix, uint64_t seq, const struct rec_view *v, size_t *blk_lo,
		     size_t *blk_hi, struct cu_err *err)
{
	int64_t plat, conv, sender;
	size_t b;
	int rc;

	rc = name_id(ix, NAME_PLATFORM, &v->f[RF_PLATFORM], &plat, err);
	if (rc == 0)
		rc = name_id(ix, NAME_CONVERSATION, &v->f[RF_CONVERSATION], &conv, err);
	if (rc == 0)
		rc = name_id(ix, NAME_SENDER, &v->f[RF_SENDER], &sender, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(ix->st_meta, 1, (sqlite3_int64)seq);
	sqlite3_bind_int64(ix->st_meta, 2, v->origin_ts);
	sqlite3_bind_int(ix->st_meta, 3, v->kind);
	sqlite3_bind_int64(ix->st_meta, 4, plat);
	sqlite3_bind_int64(ix->st_meta, 5, conv);
	sqlite3_bind_int64(ix->st_meta, 6, sender);
	if (sqlite3_step(ix->st_meta) != SQLITE_DONE) {
		sqlite3_reset(ix->st_meta);
		return db_fail(ix, err, "adding metadata");
	}
	sqlite3_reset(ix->st_meta);
	if (fts_row(ix, ix->st_fts, seq, v, conv, sender, v->kind) != 0)
		return db_fail(ix, err, "adding words");
	if (rec_kind_is_archive(v->kind))
		ix->sysw_delta++;
	if (ix->pending.n > 20000) {
		rc = stems_flush(ix, err);
		if (rc)
			return rc;
	}
	b = (size_t)(seq >> IDX_BLOCK_SHIFT);
	if (blocks_reserve(ix, b + 1) != 0)
		return cu_err_set(err, CU_ENOMEM, "index: out of memory");
	if (v->origin_ts < ix->blocks[b].mints)
		ix->blocks[b].mints = v->origin_ts;
	if (v->origin_ts > ix->blocks[b].maxts)
		ix->blocks[b].maxts = v->origin_ts;
	if (b + 1 > ix->nblocks)
		ix->nblocks = b + 1;
	if (b < *blk_lo)
		*blk_lo = b;
	if (b > *blk_hi)
		*blk_hi = b;
	ix->blk_dirty = 1;
	return 0;
}

/* ---- tokenizing ahead ------------------------------------------------
 * The bodies of the next records are tokenized on a worker thread while
 * SQLite inserts the current ones; FTS5's tokenizer then replays those
 * tokens (tok_pre in tokenizer.h), so the index gets the same words. */

/* The worker, started when first needed; NULL if it cannot be (then the
 * tokenizer runs inside SQLite, as it always can). */
static struct pretok *pretok_get(struct idx *ix)
{
	if (!ix->pt && !ix->pt_failed && pretok_new(&ix->pt, NULL) != 0)
		ix->pt_failed = 1;
	return ix->pt;
}

/* index_rec with the body's tokens from pre's next text (pre NULL: none). */
static int index_rec_pre(struct idx *ix, struct tok_pre *pre, size_t *d, uint64_t seq,
			 const struct rec_view *v, size_t *blk_lo, size_t *blk_hi, struct cu_err *err)
{
	int rc;

	ix->sink.pre = pre;
	ix->sink.doc = pre && has_words(v) && *d < pre->ndocs ? &pre->docs[(*d)++] : NULL;
	rc = index_rec(ix, seq, v, blk_lo, blk_hi, err);
	if (ix->sink.doc && !ix->sink.doc->used)
		ix->sink.gen++; /* the worker marked its words as reported: report them anew */
	ix->sink.pre = NULL;
	ix->sink.doc = NULL;
	return rc;
}

/* The bodies of in[a, b) that idx_add indexes, for the worker. */
static void add_fill(struct idx *ix, struct tok_pre *pre, const struct store_input *in, size_t a,
		     size_t b, uint64_t hwm)
{
	size_t i;

	tok_pre_clear(pre, ix->sink.gen);
	for (i = a; i < b; i++)
		if (!in[i].duplicate && in[i].seq >= hwm && has_words(&in[i].rec) &&
		    tok_pre_text(pre, in[i].rec.f[RF_BODY].ptr, in[i].rec.f[RF_BODY].len) != 0)
			pre->failed = 1;
}

/* idx_add's records from hwm on, chunk k + 1 tokenized while k is inserted. */
static int add_inputs(struct idx *ix, const struct store_input *in, size_t n, uint64_t hwm,
		      size_t *blo, size_t *bhi, struct cu_err *err)
{
	struct pretok *pt = pretok_get(ix);
	size_t a, b, i, d;
	int cur = 0, rc = 0;

	if (!pt) {
		for (i = 0; i < n && rc == 0; i++)
			if (!in[i].duplicate && in[i].seq >= hwm)
				rc = index_rec(ix, in[i].seq, &in[i].rec, blo, bhi, err);
		return rc;
	}
	add_fill(ix, &ix->pre[0], in, 0, n < IDX_PRE_RECS ? n : IDX_PRE_RECS, hwm);
	pretok_start(pt, &ix->pre[0]);
	for (a = 0; a < n && rc == 0; a = b, cur ^= 1) {
		b = n - a < IDX_PRE_RECS ? n : a + IDX_PRE_RECS;
		pretok_wait(pt);
		if (b < n) {
			add_fill(ix, &ix->pre[cur ^ 1], in, b, n - b < IDX_PRE_RECS ? n : b + IDX_PRE_RECS,
				 hwm);
			pretok_start(pt, &ix->pre[cur ^ 1]);
		}
		for (i = a, d = 0; i < b && rc == 0; i++)
			if (!in[i].duplicate && in[i].seq >= hwm)
				rc = index_rec_pre(ix, &ix->pre[cur], &d, in[i].seq, &in[i].rec, blo, bhi,
						   err);
	}
	pretok_wait(pt);
	return rc;
}

/* A log iterator kept across the batches of one catch-up: the store's
 * iterator reads a segment from its start up to the seq asked for, so
 * opening one per batch would read the log over and over. */
struct log_cursor {
	struct store_iter *it;   /* NULL until needed */
	uint64_t next;           /* seq it returns next */
};

/* Reads the next entries (seq *next up to end) into ck, their bodies
 * into pre. */
static int chunk_fill(struct idx *ix, struct log_cursor *lc, struct log_chunk *ck,
		      struct tok_pre *pre, uint64_t *next, uint64_t end, struct cu_err *err)
{
	static const uint8_t none[1];
	struct store_entry e;
	struct chunk_rec *cr;
	size_t i;
	int r, rc;

	ck->n = 0;
	buf_reset(&ck->bytes);
	tok_pre_clear(pre, ix->sink.gen);
	while (*next < end && ck->n < IDX_PRE_RECS && ck->bytes.len < IDX_PRE_BYTES) {
		r = store_iter_next(lc->it, &e, err);
		if (r < 0)
			return r;
		if (r == 0 || e.seq != *next)
			return cu_err_set(err, CU_ECORRUPT, "index: the log ended or skipped at seq %llu",
					  (unsigned long long)*next);
		if (ck->n == ck->cap) {
			size_t nc = ck->cap ? ck->cap * 2 : 64;
			struct chunk_rec *nr = realloc(ck->recs, nc * sizeof(*nr));

			if (!nr)
				return cu_err_set(err, CU_ENOMEM, "index: out of memory");
			ck->recs = nr;
			ck->cap = nc;
		}
		cr = &ck->recs[ck->n++];
		cr->seq = e.seq;
		cr->stub = e.is_stub;
		cr->off = ck->bytes.len;
		cr->len = e.is_stub ? 0 : e.len;
		if (cr->len && buf_append(&ck->bytes, e.bytes, e.len) != 0)
			return cu_err_set(err, CU_ENOMEM, "index: out of memory");
		lc->next = ++*next;
	}
	/* decoded once every copy is made: the views point into bytes */
	for (i = 0; i < ck->n; i++) {
		cr = &ck->recs[i];
		if (cr->stub)
			continue;
		rc = rec_decode(cr->len ? ck->bytes.data + cr->off : none, cr->len, &cr->v, err);
		if (rc)
			return rc;
		if (has_words(&cr->v) &&
		    tok_pre_text(pre, cr->v.f[RF_BODY].ptr, cr->v.f[RF_BODY].len) != 0)
			pre->failed = 1;
	}
	return 0;
}

/* Inserts the records of ck (pre: their tokens, or NULL). */
static int chunk_index(struct idx *ix, struct log_chunk *ck, struct tok_pre *pre, size_t *blo,
		       size_t *bhi, struct cu_err *err)
{
	size_t i, d = 0;
	int rc = 0;

	for (i = 0; i < ck->n && rc == 0; i++) {
		if (!ck->recs[i].stub)
			rc = index_rec_pre(ix, pre, &d, ck->recs[i].seq, &ck->recs[i].v, blo, bhi, err);
		atomic_store_explicit(&ix->working, ck->recs[i].seq + 1, memory_order_relaxed);
	}
	return rc;
}

/* The records [from, end) of the log, chunk k + 1 read and tokenized
 * while k is inserted. */
static int catch_up_records(struct idx *ix, struct log_cursor *lc, uint64_t from, uint64_t end,
			    size_t *blo, size_t *bhi, struct cu_err *err)
{
	struct pretok *pt = pretok_get(ix);
	uint64_t next = from;
	int cur = 0, rc;

	ix->ck[1].n = 0;
	rc = chunk_fill(ix, lc, &ix->ck[0], &ix->pre[0], &next, end, err);
	if (rc == 0 && pt)
		pretok_start(pt, &ix->pre[0]);
	while (rc == 0 && ix->ck[cur].n > 0) {
		struct log_chunk *nk = &ix->ck[cur ^ 1];

		nk->n = 0;
		if (next < end)
			rc = chunk_fill(ix, lc, nk, &ix->pre[cur ^ 1], &next, end, err);
		if (pt)
			pretok_wait(pt);
		if (rc)
			break;
		if (pt && nk->n)
			pretok_start(pt, &ix->pre[cur ^ 1]);
		rc = chunk_index(ix, &ix->ck[cur], pt ? &ix->pre[cur] : NULL, blo, bhi, err);
		cur ^= 1;
	}
	if (pt)
		pretok_wait(pt);
	return rc;
}

static void rollback(struct idx *ix);

/* Checks that the index belongs to this archive (by origin). */
static int check_origin(struct idx *ix, struct store *st, struct cu_err *err)
{
	const char *origin = store_origin(st);
	sqlite3_stmt *q = NULL;
	int rc = 0, s;

	if (!origin)
		return 0;
	if (sqlite3_prepare_v2(ix->db, "SELECT v FROM state WHERE k = 'origin'", -1, &q, NULL) != SQLITE_OK)
		return db_fail(ix, err, "reading state");
	s = sqlite3_step(q);
	if (s == SQLITE_ROW) {
		const char *have = (const char *)sqlite3_column_text(q, 0);

		if (!have || strcmp(have, origin) != 0)
			rc = cu_err_set(err, CU_ECORRUPT, "index: belongs to archive '%s', not '%s'; run "
					"custos reindex", have ? have : "?", origin);
	} else if (s == SQLITE_DONE) {
		rc = state_put(ix, "origin", 0, origin, err);
	} else {
		rc = db_fail(ix, err, "reading state");
	}
	sqlite3_finalize(q);
	return rc;
}

/* One transaction: up to batch records from the mark on. *done = 1 when
 * the index has reached size. */
static int catch_up_batch(struct idx *ix, struct store *st, struct log_cursor *lc, uint64_t size,
			  size_t batch, uint64_t *hwm_out, int *done, struct cu_err *err)
{
	uint64_t hwm = 0, end = 0, start = 0;
	size_t blo = SIZE_MAX, bhi = 0;
	int rc;

	*done = 0;
	rc = idx_exec(ix, "BEGIN IMMEDIATE", err);
	if (rc)
		return rc;
	rc = check_origin(ix, st, err);
	if (rc == 0)
		rc = idx_read_hwm(ix, &hwm, err);
	if (rc)
		goto out;
	if (hwm > size && store_rdonly(st)) {
		/* A writer appended (and indexed) after this read-only view was
		 * opened: nothing for it to add; its searches stay within the
		 * view (idx_search). A writer's view is the whole log, so there
		 * the check below stands. */
		*done = 1;
		goto out;
	}
	if (hwm > size) {
		rc = cu_err_set(err, CU_ECORRUPT, "index: ahead of the log (indexed %llu records, the log "
				"has %llu); run custos reindex", (unsigned long long)hwm,
				(unsigned long long)size);
		goto out;
	}
	if (atomic_load_explicit(&ix->working, memory_order_relaxed) < hwm)
		atomic_store_explicit(&ix->working, hwm, memory_order_relaxed);
	if (hwm == size) {
		*done = 1;
		goto out;
	}
	start = hwm;
	end = size - hwm > batch ? hwm + batch : size;
	if (lc->it && lc->next != hwm) {
		/* another writer moved the mark: start reading where it is */
		store_iter_close(lc->it);
		lc->it = NULL;
	}
	if (!lc->it) {
		rc = store_iter_open(st, hwm, &lc->it, err);
		lc->next = hwm;
	}
	if (rc == 0)
		rc = catch_up_records(ix, lc, hwm, end, &blo, &bhi, err);
	if (rc == 0)
		rc = stems_flush(ix, err);
	if (rc == 0 && blo != SIZE_MAX)
		rc = blocks_save(ix, blo, bhi, err);
	if (rc == 0)
		rc = sysw_commit(ix, err);
	if (rc == 0)
		rc = state_put(ix, "hwm", (sqlite3_int64)end, NULL, err);
	if (rc == 0) {
		hwm = end;
		*done = end == size;
	}
out:
	if (rc == 0)
		rc = idx_exec(ix, "COMMIT", err);
	if (rc) {
		rollback(ix); /* ids made in the rolled back transaction are gone */
		store_iter_close(lc->it);
		lc->it = NULL;
	} else if (end > start && ix->blocks_hwm == start) {
		ix->blocks_hwm = end; /* the blocks in memory were current and now cover the batch */
	}
	*hwm_out = hwm;
	return rc;
}

static int catch_up_locked(struct idx *ix, struct store *st, size_t batch, idx_progress_fn progress,
			   void *arg, struct cu_err *err)
{
	uint64_t size = store_size(st), hwm = 0;
	struct log_cursor lc = {NULL, 0};
	int done = 0, rc = 0;

	if (ix->flags & IDX_RDONLY)
		return cu_err_set(err, CU_ESTATE, "index: opened read-only");
	while (!done && rc == 0) {
		rc = catch_up_batch(ix, st, &lc, size, batch, &hwm, &done, err);
		if (rc == 0 && progress)
			progress(arg, hwm, size);
	}
	store_iter_close(lc.it);
	return rc;
}

int idx_catch_up_n(struct idx *ix, struct store *st, size_t batch, idx_progress_fn progress,
		   void *arg, struct cu_err *err)
{
	int rc;

	pthread_mutex_lock(&ix->mu);
	rc = catch_up_locked(ix, st, batch ? batch : IDX_BATCH, progress, arg, err);
	pthread_mutex_unlock(&ix->mu);
	return rc;
}

uint64_t idx_working(struct idx *ix)
{
	return atomic_load_explicit(&ix->working, memory_order_relaxed);
}

int idx_catch_up(struct idx *ix, struct store *st, idx_progress_fn progress, void *arg,
		 struct cu_err *err)
{
	return idx_catch_up_n(ix, st, IDX_BATCH, progress, arg, err);
}

/* Rolls back the open transaction and forgets what it cached. */
static void rollback(struct idx *ix)
{
	struct cu_err ignore;

	sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
	names_clear(ix);
	tset_clear(&ix->pending);
	tset_clear(&ix->known);
	ix->sink.gen++; /* the words reported in the transaction are gone */
	ix->sink_failed = 0;
	ix->sysw_delta = 0;
	cu_err_clear(&ignore);
	(void)idx_load_blocks(ix, &ignore);
}

/* Ends idx_add_open's transaction (ix->mu held). */
static int add_commit_locked(struct idx *ix, struct cu_err *err)
{
	struct idx_add_txn *t = &ix->add;
	int rc;

	if (!t->open)
		return 0;
	t->open = 0;
	rc = stems_flush(ix, err);
	if (rc == 0 && t->blo != SIZE_MAX)
		rc = blocks_save(ix, t->blo, t->bhi, err);
	if (rc == 0)
		rc = sysw_commit(ix, err);
	if (rc == 0 && t->next > t->base)
		rc = state_put(ix, "hwm", (sqlite3_int64)t->next, NULL, err);
	if (rc == 0)
		rc = idx_exec(ix, "COMMIT", err);
	if (rc) {
		rollback(ix);
		return rc;
	}
	if (ix->blocks_hwm == t->base)
		ix->blocks_hwm = t->next;
	return 0;
}

int idx_add_open(struct idx *ix, struct store *st, const struct store_input *in, size_t n,
		 struct cu_err *err)
{
	struct idx_add_txn *t = &ix->add;
	uint64_t first = UINT64_MAX, next;
	size_t i;
	int rc = 0, contiguous = 1;

	for (i = 0; i < n; i++)
		if (!in[i].duplicate && in[i].seq < first)
			first = in[i].seq;
	if (first == UINT64_MAX)
		return 0; /* nothing new */
	pthread_mutex_lock(&ix->mu);
	if (ix->flags & IDX_RDONLY) {
		rc = cu_err_set(err, CU_ESTATE, "index: opened read-only");
		goto out;
	}
	if (!t->open) {
		rc = idx_exec(ix, "BEGIN IMMEDIATE", err);
		if (rc)
			goto out;
		t->open = 1;
		t->blo = SIZE_MAX;
		t->bhi = 0;
		rc = check_origin(ix, st, err);
		if (rc == 0)
			rc = idx_read_hwm(ix, &t->base, err);
		if (rc)
			goto fail;
		t->next = t->base;
	}
	/* The batch must continue the index exactly; else read the log. */
	next = t->next;
	for (i = 0; i < n && contiguous; i++) {
		if (in[i].duplicate || in[i].seq < t->next)
			continue;
		if (in[i].seq != next)
			contiguous = 0;
		else
			next++;
	}
	if (t->next < first || !contiguous) {
		/* what the transaction holds so far is in the log too */
		t->open = 0;
		rollback(ix);
		rc = catch_up_locked(ix, st, IDX_BATCH, NULL, NULL, err);
		goto out;
	}
	rc = add_inputs(ix, in, n, t->next, &t->blo, &t->bhi, err);
	if (rc == 0)
		t->next = next;
fail:
	if (rc) {
		t->open = 0;
		rollback(ix);
	}
out:
	pthread_mutex_unlock(&ix->mu);
	return rc;
}

int idx_add_commit(struct idx *ix, struct cu_err *err)
{
	int rc;

	pthread_mutex_lock(&ix->mu);
	rc = add_commit_locked(ix, err);
	pthread_mutex_unlock(&ix->mu);
	return rc;
}

uint64_t idx_add_pending(struct idx *ix)
{
	uint64_t n;

	pthread_mutex_lock(&ix->mu);
	n = ix->add.open ? ix->add.next - ix->add.base : 0;
	pthread_mutex_unlock(&ix->mu);
	return n;
}

int idx_add(struct idx *ix, struct store *st, const struct store_input *in, size_t n, struct cu_err *err)
{
	int rc = idx_add_open(ix, st, in, n, err);

	return rc ? rc : idx_add_commit(ix, err);
}

int idx_hwm(struct idx *ix, uint64_t *hwm, struct cu_err *err)
{
	int rc;

	pthread_mutex_lock(&ix->mu);
	rc = idx_read_hwm(ix, hwm, err);
	pthread_mutex_unlock(&ix->mu);
	return rc;
}

int idx_lag(struct idx *ix, struct store *st, uint64_t *lag, struct cu_err *err)
{
	uint64_t hwm = 0, size;
	int rc;

	rc = idx_hwm(ix, &hwm, err);
	size = store_size(st);
	*lag = rc == 0 && size > hwm ? size - hwm : 0;
	return rc;
}

/* ---- rebuild -------------------------------------------------------- */

int idx_reindex(const char *datadir, struct store *st, idx_progress_fn progress, void *arg,
		struct cu_err *err)
{
	char dir[PATH_MAX];
	struct idx *ix = NULL;
	int fd, rc;

	if ((size_t)snprintf(dir, sizeof(dir), "%s/" LAYOUT_INDEX_DIR, datadir) >= sizeof(dir))
		return cu_err_set(err, CU_EINVAL, "index: path too long");
	rc = remove_db_locked(dir, 0, &fd, err);
	if (rc)
		return rc;
	rc = open_locked(dir, 0, fd, &ix, NULL, err);
	if (rc)
		return rc;
	/* The index is derived: build it without syncing, then make it durable. */
	rc = idx_exec(ix, "PRAGMA synchronous=OFF", err);
	if (rc == 0)
		rc = catch_up_locked(ix, st, IDX_BATCH * 5, progress, arg, err);
	if (rc == 0)
		rc = idx_exec(ix, "PRAGMA synchronous=FULL; PRAGMA wal_checkpoint(TRUNCATE);", err);
	if (rc == 0)
		rc = fio_fsync_dir(dir, err);
	idx_close(ix);
	return rc;
}

/* ---- deletion ------------------------------------------------------- */

/* Fetches the next row of a (seq, ...) statement; seq = UINT64_MAX at end. */
static int next_seq(sqlite3_stmt *q, uint64_t *seq)
{
	int s = sqlite3_step(q);

	if (s == SQLITE_ROW) {
		*seq = (uint64_t)sqlite3_column_int64(q, 0);
		return 0;
	}
	*seq = UINT64_MAX;
	return s == SQLITE_DONE ? 0 : CU_EIO;
}


/* Removes the words and metadata of one record inside a transaction. */
static int delete_one(struct idx *ix, struct store *st, uint64_t seq, struct buf *rb, int *stale,
		      struct cu_err *err)
{
	sqlite3_stmt *q = NULL;
	struct store_entry e;
	struct rec_view v;
	int64_t conv = 0, sender = 0;
	int rc = 0, present, kind = 0;

	if (sqlite3_prepare_v2(ix->db, "SELECT conv, sender, kind FROM meta WHERE seq = ?", -1, &q, NULL) !=
	    SQLITE_OK)
		return db_fail(ix, err, "deleting");
	sqlite3_bind_int64(q, 1, (sqlite3_int64)seq);
	present = sqlite3_step(q) == SQLITE_ROW;
	if (present) {
		conv = sqlite3_column_int64(q, 0);
		sender = sqlite3_column_int64(q, 1);
		kind = sqlite3_column_int(q, 2);
	}
	sqlite3_finalize(q);
	q = NULL;
	if (!present)
		return 0;
	buf_reset(rb);
	rc = store_get(st, seq, rb, &e, err);
	if (rc)
		return rc;
	if (e.is_stub) {
		/* The words cannot be named any more: rebuild the word table. */
		*stale = 1;
	} else {
		rc = rec_decode(e.bytes, e.len, &v, err);
		if (rc)
			return rc;
		if (sqlite3_prepare_v2(ix->db, "INSERT INTO fts(fts, rowid, body) VALUES('delete', ?, ?)", -1,
				       &q, NULL) != SQLITE_OK)
			return db_fail(ix, err, "deleting words");
		if (fts_row(ix, q, seq, &v, conv, sender, kind) != 0)
			rc = db_fail(ix, err, "deleting words");
		sqlite3_finalize(q);
		q = NULL;
		if (rc)
			return rc;
		if (rec_kind_is_archive((unsigned)kind))
			ix->sysw_delta--;
	}
	if (sqlite3_prepare_v2(ix->db, "DELETE FROM meta WHERE seq = ?", -1, &q, NULL) != SQLITE_OK)
		return db_fail(ix, err, "deleting");
	sqlite3_bind_int64(q, 1, (sqlite3_int64)seq);
	if (sqlite3_step(q) != SQLITE_DONE)
		rc = db_fail(ix, err, "deleting");
	sqlite3_finalize(q);
	return rc;
}

/* Rebuilds the word table from the records still indexed (used when a
 * record to delete has already lost its content), reading the log once. */
static int rebuild_words(struct idx *ix, struct store *st, struct cu_err *err)
{
	sqlite3_stmt *q = NULL;
	struct store_iter *it = NULL;
	struct store_entry e;
	struct rec_view v;
	uint64_t mseq = 0, sysw = 0;
	int rc, r;

	rc = idx_exec(ix, "INSERT INTO fts(fts) VALUES('delete-all')", err);
	if (rc)
		return rc;
	if (sqlite3_prepare_v2(ix->db, "SELECT seq, conv, sender, kind FROM meta ORDER BY seq", -1, &q,
			       NULL) != SQLITE_OK)
		return db_fail(ix, err, "rebuilding words");
	if (next_seq(q, &mseq) != 0)
		rc = db_fail(ix, err, "rebuilding words");
	if (rc == 0 && mseq != UINT64_MAX)
		rc = store_iter_open(st, mseq, &it, err);
	while (rc == 0 && mseq != UINT64_MAX && (r = store_iter_next(it, &e, err)) != 0) {
		if (r < 0) {
			rc = r;
			break;
		}
		if (e.seq < mseq)
			continue;
		while (rc == 0 && mseq < e.seq) /* a row the log lacks (never so): no words */
			if (next_seq(q, &mseq) != 0)
				rc = db_fail(ix, err, "rebuilding words");
		if (rc == 0 && e.seq == mseq) {
			/* every indexed record has its tags; the words where the
			 * body is still there */
			int kind = sqlite3_column_int(q, 3);
			int words = !e.is_stub && rec_decode(e.bytes, e.len, &v, err) == 0;

			if (fts_row(ix, ix->st_fts, e.seq, words ? &v : NULL, sqlite3_column_int64(q, 1),
				    sqlite3_column_int64(q, 2), kind) != 0)
				rc = db_fail(ix, err, "rebuilding words");
			if (rec_kind_is_archive((unsigned)kind))
				sysw++;
			if (rc == 0 && ix->pending.n > 20000)
				rc = stems_flush(ix, err);
			if (rc == 0 && next_seq(q, &mseq) != 0)
				rc = db_fail(ix, err, "rebuilding words");
		}
	}
	store_iter_close(it);
	sqlite3_finalize(q);
	if (rc == 0)
		rc = stems_flush(ix, err);
	if (rc == 0)
		rc = state_put(ix, "sysw", (sqlite3_int64)sysw, NULL, err);
	ix->sysw_delta = 0;
	return rc;
}

/* Drops the conversations and senders no indexed record has any more:
 * their tags match nothing (a lookup of one posting list each). */
static int names_gc(struct idx *ix, struct cu_err *err)
{
	char sql[400];

	snprintf(sql, sizeof(sql),
		 "DELETE FROM names WHERE"
		 " (ty = %d AND NOT EXISTS (SELECT 1 FROM fts WHERE fts MATCH '\"%c' || names.id || '\"')) OR"
		 " (ty = %d AND NOT EXISTS (SELECT 1 FROM fts WHERE fts MATCH '\"%c' || names.id || '\"'))",
		 NAME_CONVERSATION, Q_TAG_CONV, NAME_SENDER, Q_TAG_SENDER);
	return idx_exec(ix, sql, err);
}

int idx_delete(struct idx *ix, struct store *st, const uint64_t *seqs, size_t n, struct cu_err *err)
{
	struct buf rb;
	size_t i;
	int rc, stale = 0, busy = 0, tries;
	sqlite3_stmt *q = NULL;

	buf_init(&rb, REC_MAX_BYTES + 1024);
	pthread_mutex_lock(&ix->mu);
	if (ix->flags & IDX_RDONLY) {
		rc = cu_err_set(err, CU_ESTATE, "index: opened read-only");
		goto out;
	}
	rc = idx_exec(ix, "PRAGMA secure_delete=ON", err);
	if (rc == 0)
		rc = idx_exec(ix, "BEGIN IMMEDIATE", err);
	if (rc)
		goto out;
	for (i = 0; rc == 0 && i < n; i++)
		rc = delete_one(ix, st, seqs[i], &rb, &stale, err);
	if (rc == 0 && stale) {
		/* the stubs' metadata rows were deleted above; rebuild the words */
		rc = rebuild_words(ix, st, err);
	}
	if (rc == 0)
		rc = sysw_commit(ix, err);
	/* names nobody refers to any more go too */
	if (rc == 0)
		rc = names_gc(ix, err);
	if (rc == 0)
		rc = idx_exec(ix, "COMMIT", err);
	if (rc) {
		rollback(ix);
		goto out;
	}
	names_clear(ix);
	/* the deleted bodies' words went through the sink as they were
	 * tokenized for deletion; the stems of words no message has any more
	 * are dropped below, so the tokenizers must report words anew */
	tset_clear(&ix->pending);
	tset_clear(&ix->known);
	ix->sink.gen++;
	/* Merge every FTS5 segment into one, so no old segment keeps the
	 * words; forget the forms no message has any more; VACUUM rewrites
	 * the file without free pages; the checkpoint empties the WAL. */
	rc = idx_exec(ix, "INSERT INTO fts(fts) VALUES('optimize')", err);
	if (rc == 0)
		rc = idx_exec(ix, "DELETE FROM stems WHERE term NOT IN (SELECT term FROM fts_vocab)", err);
	if (rc == 0)
		rc = idx_exec(ix, "VACUUM", err);
	for (tries = 0; rc == 0 && tries < 50; tries++) {
		if (sqlite3_prepare_v2(ix->db, "PRAGMA wal_checkpoint(TRUNCATE)", -1, &q, NULL) != SQLITE_OK) {
			rc = db_fail(ix, err, "checkpoint");
			break;
		}
		busy = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int(q, 0) : 1;
		sqlite3_finalize(q);
		q = NULL;
		if (!busy)
			break;
		usleep(100000);
	}
	if (rc == 0 && busy)
		rc = cu_err_set(err, CU_ESTATE, "index: readers kept the write-ahead log from being emptied; "
				"deleted words may remain there until the next checkpoint");
out:
	sqlite3_exec(ix->db, "PRAGMA secure_delete=OFF", NULL, NULL, NULL);
	pthread_mutex_unlock(&ix->mu);
	buf_release(&rb);
	return rc;
}

/* ---- reconciliation ------------------------------------------------- */

static void note(uint64_t *count, uint64_t *list, uint64_t seq)
{
	if (*count < IDX_REPORT_LIST)
		list[*count] = seq;
	(*count)++;
}

/* The first word of a body as an FTS5 query, for a spot check of the
 * record's words; "" if the body has none. */
struct first_word {
	char q[TOK_MAX_WORD + 8];
};

static int take_first(void *arg, const struct tok_word *w)
{
	struct first_word *fw = arg;

	snprintf(fw->q, sizeof(fw->q), "\"%s\"", w->exact);
	return 1;
}

int idx_reconcile(struct idx *ix, struct store *st, struct idx_report *rep, idx_progress_fn progress,
		  void *arg, struct cu_err *err)
{
	sqlite3_stmt *qm = NULL, *qd = NULL, *qw = NULL;
	struct store_iter *it = NULL;
	struct store_entry e;
	struct rec_view v;
	uint64_t hwm = 0, mseq, dseq, seq;
	int rc = 0, r, bad;

	memset(rep, 0, sizeof(*rep));
	pthread_mutex_lock(&ix->mu);
	rc = idx_exec(ix, "BEGIN", err);
	if (rc)
		goto out_unlock;
	rc = idx_read_hwm(ix, &hwm, err);
	if (rc)
		goto out;
	rep->hwm = hwm;
	rep->store_size = store_size(st);
	if (sqlite3_prepare_v2(ix->db, "SELECT m.seq, m.ts, m.kind, p.val, c.val, s.val, m.conv, m.sender"
			       " FROM meta m"
			       " LEFT JOIN names p ON p.id = m.plat LEFT JOIN names c ON c.id = m.conv"
			       " LEFT JOIN names s ON s.id = m.sender ORDER BY m.seq", -1, &qm, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(ix->db, "SELECT id FROM fts_docsize ORDER BY id", -1, &qd, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(ix->db, "SELECT 1 FROM fts WHERE fts MATCH ? AND rowid = ?", -1, &qw,
			       NULL) != SQLITE_OK) {
		rc = db_fail(ix, err, "reconciling");
		goto out;
	}
	if (next_seq(qm, &mseq) || next_seq(qd, &dseq)) {
		rc = db_fail(ix, err, "reconciling");
		goto out;
	}
	rc = store_iter_open(st, 0, &it, err);
	for (seq = 0; rc == 0 && seq < rep->store_size; seq++) {
		int has_words;

		r = store_iter_next(it, &e, err);
		if (r < 0) {
			rc = r;
			break;
		}
		if (r == 0)
			break;
		/* index entries for seqs the log skipped cannot exist */
		while (mseq < e.seq) {
			note(&rep->extra, rep->extra_seq, mseq);
			if (next_seq(qm, &mseq))
				rc = db_fail(ix, err, "reconciling");
		}
		while (dseq < e.seq) {
			note(&rep->extra, rep->extra_seq, dseq);
			if (next_seq(qd, &dseq))
				rc = db_fail(ix, err, "reconciling");
		}
		rep->checked++;
		if (e.is_stub || e.seq >= hwm) {
			/* deleted, or not indexed yet: nothing may be in the index */
			if (mseq == e.seq || dseq == e.seq)
				note(&rep->extra, rep->extra_seq, e.seq);
			goto advance;
		}
		rc = rec_decode(e.bytes, e.len, &v, err);
		if (rc)
			break;
		has_words = v.f[RF_BODY].len > 0 && !(v.flags & REC_F_ENCRYPTED);
		if (mseq != e.seq || dseq != e.seq) { /* every indexed record has tags */
			note(&rep->missing, rep->missing_seq, e.seq);
			goto advance;
		}
		bad = sqlite3_column_int64(qm, 1) != v.origin_ts || sqlite3_column_int(qm, 2) != v.kind;
		{
			static const int fields[3] = {RF_PLATFORM, RF_CONVERSATION, RF_SENDER};
			int k;

			for (k = 0; k < 3; k++) {
				const char *have = (const char *)sqlite3_column_text(qm, 3 + k);
				size_t hl = (size_t)sqlite3_column_bytes(qm, 3 + k);
				size_t wl = v.f[fields[k]].len > 1023 ? 1023 : v.f[fields[k]].len;

				if (!have || hl != wl || (wl && memcmp(have, v.f[fields[k]].ptr, wl)))
					bad = 1;
			}
		}
		if (!bad) {
			/* its tags name the conversation and sender of meta (a
			 * phrase: they are the row's last two tokens), and it
			 * has the system tag exactly if meta's kind is one */
			char tags[IDX_TAGS_MAX], tq[IDX_TAGS_MAX + 16];
			int kind = sqlite3_column_int(qm, 2);

			idx_tags(tags, sqlite3_column_int64(qm, 6), sqlite3_column_int64(qm, 7), 0);
			snprintf(tq, sizeof(tq), "\"%s\" %s \"%c\"", tags,
				 rec_kind_is_archive((unsigned)kind) ? "AND" : "NOT", Q_TAG_SYSTEM);
			sqlite3_bind_text(qw, 1, tq, -1, SQLITE_STATIC);
			sqlite3_bind_int64(qw, 2, (sqlite3_int64)e.seq);
			bad = sqlite3_step(qw) != SQLITE_ROW;
			sqlite3_reset(qw);
		}
		if (has_words && !bad) {
			struct first_word fw = {{0}};

			tok_run(ix->tc, v.f[RF_BODY].ptr, v.f[RF_BODY].len, take_first, &fw);
			if (fw.q[0]) {
				sqlite3_bind_text(qw, 1, fw.q, -1, SQLITE_STATIC);
				sqlite3_bind_int64(qw, 2, (sqlite3_int64)e.seq);
				bad = sqlite3_step(qw) != SQLITE_ROW;
				sqlite3_reset(qw);
			}
		}
		if (bad)
			note(&rep->mismatched, rep->mismatched_seq, e.seq);
advance:
		if (mseq == e.seq && next_seq(qm, &mseq))
			rc = db_fail(ix, err, "reconciling");
		if (dseq == e.seq && next_seq(qd, &dseq))
			rc = db_fail(ix, err, "reconciling");
		if (progress && (seq & 0xFFF) == 0)
			progress(arg, seq, rep->store_size);
	}
	/* what is left in the index lies beyond the log */
	while (rc == 0 && mseq != UINT64_MAX) {
		note(&rep->extra, rep->extra_seq, mseq);
		if (next_seq(qm, &mseq))
			rc = db_fail(ix, err, "reconciling");
	}
	while (rc == 0 && dseq != UINT64_MAX) {
		note(&rep->extra, rep->extra_seq, dseq);
		if (next_seq(qd, &dseq))
			rc = db_fail(ix, err, "reconciling");
	}
	if (progress && rc == 0)
		progress(arg, rep->store_size, rep->store_size);
	if (rc == 0) {
		/* FTS5's own structural check (for a contentless table it
		 * checks the index's internal consistency) */
		sqlite3_finalize(qw);
		qw = NULL;
		rep->fts_ok = -1;
		if (!(ix->flags & IDX_RDONLY))
			rep->fts_ok = sqlite3_exec(ix->db, "INSERT INTO fts(fts) VALUES('integrity-check')",
						   NULL, NULL, NULL) == SQLITE_OK;
	}
out:
	store_iter_close(it);
	sqlite3_finalize(qm);
	sqlite3_finalize(qd);
	sqlite3_finalize(qw);
	sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
out_unlock:
	pthread_mutex_unlock(&ix->mu);
	return rc;
}
