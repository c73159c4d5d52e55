/* idmap.c - (platform, source, id) -> seq in SQLite (WAL, synchronous
 * NORMAL: a crash may lose the last commits but never corrupts; the
 * high-water mark makes the store replay what was lost from the log). */
#include "archiver/idmap.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "archiver/hash.h"

struct idmap {
	sqlite3 *db;
	sqlite3_stmt *ins;    /* INSERT OR IGNORE INTO ids VALUES (?, ?) */
	sqlite3_stmt *get;    /* SELECT seq FROM ids WHERE k = ? */
	sqlite3_stmt *sethwm; /* UPDATE meta SET v = ? WHERE k = 'hwm' */
	uint64_t hwm;         /* log records reflected by committed state */
	int in_txn;           /* 1 between begin and commit/rollback */
};

static int db_fail(struct idmap *m, struct cu_err *err, const char *what)
{
	int code = sqlite3_errcode(m->db) == SQLITE_FULL ? CU_ENOSPC : CU_EIO;

	return cu_err_set(err, code, "id map: %s: %s", what, sqlite3_errmsg(m->db));
}

int idmap_open(const char *path, struct idmap **out, struct cu_err *err)
{
	struct idmap *m = calloc(1, sizeof(*m));
	sqlite3_stmt *st = NULL;
	int rc;

	*out = NULL;
	if (!m)
		return cu_err_set(err, CU_ENOMEM, "out of memory");
	if (sqlite3_open_v2(path, &m->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		rc = db_fail(m, err, "open");
		goto out;
	}
	if (sqlite3_exec(m->db,
			 "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
			 "PRAGMA cache_size=-65536; PRAGMA wal_autocheckpoint=8192;"
			 "CREATE TABLE IF NOT EXISTS ids(k BLOB PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;"
			 "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v INTEGER NOT NULL);"
			 "INSERT OR IGNORE INTO meta VALUES('hwm', 0);",
			 NULL, NULL, NULL) != SQLITE_OK) {
		rc = db_fail(m, err, "schema");
		goto out;
	}
	if (sqlite3_prepare_v2(m->db, "INSERT OR IGNORE INTO ids VALUES(?, ?)", -1, &m->ins, NULL) ||
	    sqlite3_prepare_v2(m->db, "SELECT seq FROM ids WHERE k = ?", -1, &m->get, NULL) ||
	    sqlite3_prepare_v2(m->db, "UPDATE meta SET v = ? WHERE k = 'hwm'", -1, &m->sethwm, NULL) ||
	    sqlite3_prepare_v2(m->db, "SELECT v FROM meta WHERE k = 'hwm'", -1, &st, NULL)) {
		rc = db_fail(m, err, "prepare");
		goto out;
	}
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = db_fail(m, err, "read high-water mark");
		goto out;
	}
	m->hwm = (uint64_t)sqlite3_column_int64(st, 0);
	rc = 0;
out:
	sqlite3_finalize(st);
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
	if (m->in_txn)
		idmap_rollback(m);
	sqlite3_finalize(m->ins);
	sqlite3_finalize(m->get);
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
	if (sqlite3_exec(m->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(m, err, "begin");
	m->in_txn = 1;
	return 0;
}

int idmap_lookup(struct idmap *m, const uint8_t key[IDMAP_KEY_LEN], uint64_t *seq)
{
	int rc;

	sqlite3_bind_blob(m->get, 1, key, IDMAP_KEY_LEN, SQLITE_STATIC);
	rc = sqlite3_step(m->get);
	if (rc == SQLITE_ROW) {
		*seq = (uint64_t)sqlite3_column_int64(m->get, 0);
		rc = 1;
	} else {
		rc = rc == SQLITE_DONE ? 0 : CU_EIO;
	}
	sqlite3_reset(m->get);
	return rc;
}

int idmap_insert(struct idmap *m, const uint8_t key[IDMAP_KEY_LEN], uint64_t seq,
		 uint64_t *existing, struct cu_err *err)
{
	int rc;

	sqlite3_bind_blob(m->ins, 1, key, IDMAP_KEY_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(m->ins, 2, (sqlite3_int64)seq);
	rc = sqlite3_step(m->ins);
	sqlite3_reset(m->ins);
	if (rc != SQLITE_DONE)
		return db_fail(m, err, "insert");
	if (sqlite3_changes(m->db) == 1)
		return 1;
	rc = idmap_lookup(m, key, existing);
	if (rc < 0)
		return db_fail(m, err, "lookup");
	return 0;
}

int idmap_forget_from(struct idmap *m, uint64_t from, struct cu_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;

	if (sqlite3_prepare_v2(m->db, "DELETE FROM ids WHERE seq >= ?", -1, &st, NULL) != SQLITE_OK) {
		rc = db_fail(m, err, "prepare delete");
		goto out;
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)from);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = db_fail(m, err, "delete");
out:
	sqlite3_finalize(st);
	return rc;
}

int idmap_commit(struct idmap *m, uint64_t hwm, struct cu_err *err)
{
	int rc;

	sqlite3_bind_int64(m->sethwm, 1, (sqlite3_int64)hwm);
	rc = sqlite3_step(m->sethwm);
	sqlite3_reset(m->sethwm);
	if (rc != SQLITE_DONE) {
		idmap_rollback(m);
		return db_fail(m, err, "update high-water mark");
	}
	if (sqlite3_exec(m->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		rc = db_fail(m, err, "commit");
		idmap_rollback(m);
		return rc;
	}
	m->in_txn = 0;
	m->hwm = hwm;
	return 0;
}

void idmap_rollback(struct idmap *m)
{
	sqlite3_exec(m->db, "ROLLBACK", NULL, NULL, NULL);
	m->in_txn = 0;
}
