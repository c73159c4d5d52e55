/* idmap.c - (platform, source, id) -> seq in SQLite (WAL, synchronous
 * NORMAL: a crash may lose the last commits but never corrupts; the
 * high-water mark makes the store replay what was lost from the log).
 *
 * Batches are savepoints inside one longer transaction that is committed
 * about once a second (IDMAP_FLUSH_NS) or every IDMAP_FLUSH_KEYS keys:
 * committing each group commit's keys rewrote most of the table's pages
 * into the WAL every time (the keys are hashes, so every batch touches
 * pages all over the B-tree). What a crash loses of the open transaction
 * is replayed from the log, as for any commit lost.
 *
 * Keys live in a rowid table under their first 8 bytes as the integer
 * rowid, the other 8 bytes in the row: integer keys make SQLite's B-tree
 * search several times cheaper than 16-byte blob keys. The rare key whose
 * first 8 bytes equal another's goes to a second table under all 16. */
#include "archiver/idmap.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archiver/hash.h"
#include "common/timeutil.h"

#define IDMAP_FLUSH_NS 1000000000ull /* commit the open transaction at least this often */
#define IDMAP_FLUSH_KEYS 500000u     /* ... or after this many keys */

struct idmap {
	sqlite3 *db;
	sqlite3_stmt *ins;    /* INSERT OR IGNORE INTO ids VALUES (h, rest, seq) */
	sqlite3_stmt *get;    /* SELECT rest, seq FROM ids WHERE h = ? */
	sqlite3_stmt *ins2;   /* the same for keys sharing h: ids_more */
	sqlite3_stmt *get2;
	sqlite3_stmt *sethwm; /* UPDATE meta SET v = ? WHERE k = 'hwm' */
	uint64_t hwm;         /* log records reflected by committed state */
	uint64_t pending_hwm; /* ... by released batches not yet committed */
	uint64_t flushed_ns;  /* when the open transaction began */
	unsigned pending;     /* keys inserted in the open transaction */
	int in_txn;           /* 1 while the outer transaction is open */
	int in_batch;         /* 1 between begin and commit/rollback of a batch */
};

/* Version 2: integer keys. An id map of another version (the first
 * layout had 16-byte blob keys) is deleted and rebuilt from the log.
 * (1 KiB pages, which write less per commit, made bulk ingest 18%
 * slower: more B-tree levels to search.) */
#define IDMAP_VERSION 2
static const char open_sql[] =
	"PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
	"PRAGMA cache_size=-65536; PRAGMA wal_autocheckpoint=8192;";
static const char create_sql[] =
	"BEGIN;"
	"CREATE TABLE meta(k TEXT PRIMARY KEY, v INTEGER NOT NULL);"
	"CREATE TABLE ids(h INTEGER PRIMARY KEY, rest BLOB NOT NULL, seq INTEGER NOT NULL);"
	"CREATE TABLE ids_more(k BLOB PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;"
	"INSERT INTO meta VALUES('hwm', 0);"
	"INSERT INTO meta VALUES('version', 2);"
	"COMMIT;";

static void remove_files(const char *path)
{
	static const char *const ext[] = {"", "-wal", "-shm"};
	char p[4096];
	size_t i;

	for (i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", path, ext[i]);
		(void)unlink(p);
	}
}

/* Reads meta's value for k: 1 found, 0 not (no such row, or no meta
 * table yet), -1 on error. */
static int meta_get(sqlite3 *db, const char *k, int64_t *v)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT v FROM meta WHERE k = ?", -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static int db_fail(struct idmap *m, struct cu_err *err, const char *what)
{
	int code = sqlite3_errcode(m->db) == SQLITE_FULL ? CU_ENOSPC : CU_EIO;

	return cu_err_set(err, code, "id map: %s: %s", what, sqlite3_errmsg(m->db));
}

int idmap_open(const char *path, struct idmap **out, struct cu_err *err)
{
	struct idmap *m = calloc(1, sizeof(*m));
	int64_t v = 0;
	int rc, fresh = 0;

	*out = NULL;
	if (!m)
		return cu_err_set(err, CU_ENOMEM, "out of memory");
	for (;;) {
		if (sqlite3_open_v2(path, &m->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
			rc = db_fail(m, err, "open");
			goto out;
		}
		if ((meta_get(m->db, "version", &v) == 1 && v == IDMAP_VERSION) || fresh)
			break;
		/* Another layout (or none yet): start from an empty file. */
		sqlite3_close(m->db);
		m->db = NULL;
		remove_files(path);
		fresh = 1;
	}
	if (sqlite3_exec(m->db, open_sql, NULL, NULL, NULL) != SQLITE_OK ||
	    (fresh && sqlite3_exec(m->db, create_sql, NULL, NULL, NULL) != SQLITE_OK)) {
		rc = db_fail(m, err, "schema");
		goto out;
	}
	if (sqlite3_prepare_v2(m->db, "INSERT OR IGNORE INTO ids VALUES(?, ?, ?)", -1, &m->ins, NULL) ||
	    sqlite3_prepare_v2(m->db, "SELECT rest, seq FROM ids WHERE h = ?", -1, &m->get, NULL) ||
	    sqlite3_prepare_v2(m->db, "INSERT OR IGNORE INTO ids_more VALUES(?, ?)", -1, &m->ins2, NULL) ||
	    sqlite3_prepare_v2(m->db, "SELECT seq FROM ids_more WHERE k = ?", -1, &m->get2, NULL) ||
	    sqlite3_prepare_v2(m->db, "UPDATE meta SET v = ? WHERE k = 'hwm'", -1, &m->sethwm, NULL)) {
		rc = db_fail(m, err, "prepare");
		goto out;
	}
	if (meta_get(m->db, "hwm", &v) != 1) {
		rc = db_fail(m, err, "read high-water mark");
		goto out;
	}
	m->hwm = (uint64_t)v;
	rc = 0;
out:
	if (rc)
		idmap_close(m);
	else
		*out = m;
	return rc;
}

void idmap_close(struct idmap *m)
{
	if (!m)
		return;
	if (m->in_batch)
		(void)!idmap_rollback(m);
	(void)!idmap_flush(m, NULL); /* a failure only means a replay at the next open */
	sqlite3_finalize(m->ins);
	sqlite3_finalize(m->get);
	sqlite3_finalize(m->ins2);
	sqlite3_finalize(m->get2);
	sqlite3_finalize(m->sethwm);
	sqlite3_close(m->db);
	free(m);
}

int idmap_key(const char *platform, size_t plen, const char *source, size_t slen,
	      const char *id, size_t idlen, uint8_t key[IDMAP_KEY_LEN])
{
	uint8_t digest[HASH_LEN];
	uint8_t *tmp;
	size_t n = plen + 1 + slen + 1 + idlen;
	int rc;

	tmp = malloc(n);
	if (!tmp)
		return CU_ENOMEM;
	memcpy(tmp, platform, plen);
	tmp[plen] = 0;
	memcpy(tmp + plen + 1, source, slen);
	tmp[plen + 1 + slen] = 0;
	memcpy(tmp + plen + slen + 2, id, idlen);
	rc = hash_sha256(tmp, n, digest);
	free(tmp);
	if (rc == 0)
		memcpy(key, digest, IDMAP_KEY_LEN);
	return rc;
}

uint64_t idmap_hwm(const struct idmap *m)
{
	return m->hwm;
}

int idmap_begin(struct idmap *m, struct cu_err *err)
{
	if (!m->in_txn) {
		if (sqlite3_exec(m->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
			return db_fail(m, err, "begin");
		m->in_txn = 1;
		m->pending = 0;
		m->pending_hwm = m->hwm;
		m->flushed_ns = time_mono_ns();
	}
	if (sqlite3_exec(m->db, "SAVEPOINT batch", NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(m, err, "savepoint");
	m->in_batch = 1;
	return 0;
}

static sqlite3_int64 key_head(const uint8_t key[IDMAP_KEY_LEN])
{
	uint64_t h = 0;
	int i;

	for (i = 0; i < 8; i++)
		h = h << 8 | key[i];
	return (sqlite3_int64)h;
}

/* Looks key up in ids_more: 1 found, 0 not, CU_EIO. */
static int lookup_more(struct idmap *m, const uint8_t key[IDMAP_KEY_LEN], uint64_t *seq)
{
	int rc;

	sqlite3_bind_blob(m->get2, 1, key, IDMAP_KEY_LEN, SQLITE_STATIC);
	rc = sqlite3_step(m->get2);
	if (rc == SQLITE_ROW)
		*seq = (uint64_t)sqlite3_column_int64(m->get2, 0);
	sqlite3_reset(m->get2);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : CU_EIO;
}

/* The row under key's first 8 bytes: 1 and its seq if the rest matches,
 * 2 if another key holds the row, 0 if there is none, CU_EIO. */
static int lookup_head(struct idmap *m, const uint8_t key[IDMAP_KEY_LEN], uint64_t *seq)
{
	int rc;

	sqlite3_bind_int64(m->get, 1, key_head(key));
	rc = sqlite3_step(m->get);
	if (rc == SQLITE_ROW) {
		const void *rest = sqlite3_column_blob(m->get, 0);
		if (sqlite3_column_bytes(m->get, 0) == IDMAP_KEY_LEN - 8 && rest &&
		    !memcmp(rest, key + 8, IDMAP_KEY_LEN - 8)) {
			*seq = (uint64_t)sqlite3_column_int64(m->get, 1);
			rc = 1;
		} else {
			rc = 2;
		}
	} else {
		rc = rc == SQLITE_DONE ? 0 : CU_EIO;
	}
	sqlite3_reset(m->get);
	return rc;
}

int idmap_lookup(struct idmap *m, const uint8_t key[IDMAP_KEY_LEN], uint64_t *seq)
{
	int rc = lookup_head(m, key, seq);

	return rc == 2 ? lookup_more(m, key, seq) : rc;
}

int idmap_insert(struct idmap *m, const uint8_t key[IDMAP_KEY_LEN], uint64_t seq,
		 uint64_t *existing, struct cu_err *err)
{
	int rc;

	sqlite3_bind_int64(m->ins, 1, key_head(key));
	sqlite3_bind_blob(m->ins, 2, key + 8, IDMAP_KEY_LEN - 8, SQLITE_STATIC);
	sqlite3_bind_int64(m->ins, 3, (sqlite3_int64)seq);
	rc = sqlite3_step(m->ins);
	sqlite3_reset(m->ins);
	if (rc != SQLITE_DONE)
		return db_fail(m, err, "insert");
	if (sqlite3_changes(m->db) == 1) {
		m->pending++;
		return 1;
	}
	rc = lookup_head(m, key, existing);
	if (rc == 1)
		return 0;
	if (rc != 2)
		return db_fail(m, err, "lookup");
	/* Another key shares the first 8 bytes: this one goes to ids_more. */
	sqlite3_bind_blob(m->ins2, 1, key, IDMAP_KEY_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(m->ins2, 2, (sqlite3_int64)seq);
	rc = sqlite3_step(m->ins2);
	sqlite3_reset(m->ins2);
	if (rc != SQLITE_DONE)
		return db_fail(m, err, "insert");
	if (sqlite3_changes(m->db) == 1) {
		m->pending++;
		return 1;
	}
	rc = lookup_more(m, key, existing);
	return rc == 1 ? 0 : db_fail(m, err, "lookup");
}

int idmap_forget_from(struct idmap *m, uint64_t from, struct cu_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;

	static const char *const sql[] = {"DELETE FROM ids WHERE seq >= ?",
					  "DELETE FROM ids_more WHERE seq >= ?"};
	size_t i;

	for (i = 0; rc == 0 && i < 2; i++) {
		if (sqlite3_prepare_v2(m->db, sql[i], -1, &st, NULL) != SQLITE_OK)
			return db_fail(m, err, "prepare delete");
		sqlite3_bind_int64(st, 1, (sqlite3_int64)from);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = db_fail(m, err, "delete");
		sqlite3_finalize(st);
		st = NULL;
	}
	return rc;
}

int idmap_flush(struct idmap *m, struct cu_err *err)
{
	int rc;

	if (!m->in_txn || m->in_batch)
		return 0;
	sqlite3_bind_int64(m->sethwm, 1, (sqlite3_int64)m->pending_hwm);
	rc = sqlite3_step(m->sethwm);
	sqlite3_reset(m->sethwm);
	if (rc != SQLITE_DONE) {
		rc = db_fail(m, err, "update high-water mark");
		sqlite3_exec(m->db, "ROLLBACK", NULL, NULL, NULL);
		m->in_txn = 0;
		return rc;
	}
	if (sqlite3_exec(m->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		rc = db_fail(m, err, "commit");
		sqlite3_exec(m->db, "ROLLBACK", NULL, NULL, NULL);
		m->in_txn = 0;
		return rc;
	}
	m->in_txn = 0;
	m->hwm = m->pending_hwm;
	return 0;
}

int idmap_commit(struct idmap *m, uint64_t hwm, struct cu_err *err)
{
	if (sqlite3_exec(m->db, "RELEASE batch", NULL, NULL, NULL) != SQLITE_OK) {
		int rc = db_fail(m, err, "release");
		(void)!idmap_rollback(m);
		return rc;
	}
	m->in_batch = 0;
	m->pending_hwm = hwm;
	if (m->pending >= IDMAP_FLUSH_KEYS || time_mono_ns() - m->flushed_ns >= IDMAP_FLUSH_NS)
		return idmap_flush(m, err);
	return 0;
}

int idmap_rollback(struct idmap *m)
{
	if (m->in_batch) {
		m->in_batch = 0;
		if (sqlite3_exec(m->db, "ROLLBACK TO batch; RELEASE batch", NULL, NULL, NULL) == SQLITE_OK)
			return 0;
	}
	/* The whole open transaction is gone: what it held since the last
	 * commit must be replayed from the log. */
	if (m->in_txn)
		sqlite3_exec(m->db, "ROLLBACK", NULL, NULL, NULL);
	m->in_txn = 0;
	return m->pending_hwm > m->hwm ? -1 : 0;
}
