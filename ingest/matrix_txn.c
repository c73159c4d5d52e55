/* matrix_txn.c - DIR/matrix-txns.db (ingest/matrix_txn.h): the Matrix
 * transactions already archived, so that a transaction the homeserver sends again (after a
 * lost reply, or after a restart of either side) is answered 200 at once
 * and archives nothing again.
 *
 *   CREATE TABLE txn(source TEXT, txn_id TEXT, sha256 BLOB, events INTEGER,
 *                    received_ms INTEGER, PRIMARY KEY(source, txn_id))
 *
 * A row is written only after the transaction's records are durable. It is
 * an optimisation over the store's own duplicate check on (platform,
 * source, event id), which makes a replay archive nothing even when the
 * row is missing (a crash between the commit and the insert). A known
 * txnId with a different body is processed again (its events are still
 * deduplicated one by one): an archive must not drop events because a
 * homeserver reused an id.
 *
 * The homeserver sends one transaction at a time per application service,
 * so the database is opened per call; WAL and a busy timeout cover
 * the rare overlap. */
#include "ingest/matrix_txn.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "common/layout.h"
#include "common/timeutil.h"

#define TXN_BUSY_MS 5000

static int txn_open(const char *dir, sqlite3 **out, struct cu_err *err)
{
	char path[4096];
	sqlite3 *db = NULL;
	char *msg = NULL;
	int rc;

	*out = NULL;
	snprintf(path, sizeof(path), "%s/" LAYOUT_MATRIX_TXNS, dir);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		rc = cu_err_set(err, CU_EIO, "open %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return rc;
	}
	sqlite3_busy_timeout(db, TXN_BUSY_MS);
	if (sqlite3_exec(db,
			 "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
			 "CREATE TABLE IF NOT EXISTS txn(source TEXT NOT NULL, txn_id TEXT NOT NULL,"
			 " sha256 BLOB NOT NULL, events INTEGER NOT NULL, received_ms INTEGER NOT NULL,"
			 " PRIMARY KEY(source, txn_id)) WITHOUT ROWID;",
			 NULL, NULL, &msg) != SQLITE_OK) {
		rc = cu_err_set(err, CU_EIO, "%s: %s", path, msg ? msg : "error");
		sqlite3_free(msg);
		sqlite3_close(db);
		return rc;
	}
	*out = db;
	return 0;
}

int mx_txns_seen(const char *dir, const char *source, const char *txn_id, const uint8_t sha[32],
		 struct cu_err *err)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	int rc, step;

	rc = txn_open(dir, &db, err);
	if (rc)
		return rc;
	if (sqlite3_prepare_v2(db, "SELECT sha256 FROM txn WHERE source = ?1 AND txn_id = ?2", -1, &q, NULL) !=
	    SQLITE_OK) {
		rc = cu_err_set(err, CU_EIO, "matrix-txns.db: %s", sqlite3_errmsg(db));
		goto out;
	}
	sqlite3_bind_text(q, 1, source, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, txn_id, -1, SQLITE_STATIC);
	step = sqlite3_step(q);
	if (step == SQLITE_DONE) {
		rc = 0;
	} else if (step == SQLITE_ROW) {
		const void *h = sqlite3_column_blob(q, 0);

		rc = h && sqlite3_column_bytes(q, 0) == 32 && !memcmp(h, sha, 32) ? 1 : 2;
	} else {
		rc = cu_err_set(err, CU_EIO, "matrix-txns.db: %s", sqlite3_errmsg(db));
	}
out:
	sqlite3_finalize(q);
	sqlite3_close(db);
	return rc;
}

int mx_txns_record(const char *dir, const char *source, const char *txn_id, const uint8_t sha[32],
		   size_t events, struct cu_err *err)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	int rc;

	rc = txn_open(dir, &db, err);
	if (rc)
		return rc;
	/* The first body under a txnId stays: it is the one that was answered. */
	if (sqlite3_prepare_v2(db,
			       "INSERT OR IGNORE INTO txn(source, txn_id, sha256, events, received_ms)"
			       " VALUES (?1, ?2, ?3, ?4, ?5)",
			       -1, &q, NULL) != SQLITE_OK) {
		rc = cu_err_set(err, CU_EIO, "matrix-txns.db: %s", sqlite3_errmsg(db));
		goto out;
	}
	sqlite3_bind_text(q, 1, source, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, txn_id, -1, SQLITE_STATIC);
	sqlite3_bind_blob(q, 3, sha, 32, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, (sqlite3_int64)events);
	sqlite3_bind_int64(q, 5, (sqlite3_int64)time_now_ms());
	rc = sqlite3_step(q) == SQLITE_DONE ? 0 : cu_err_set(err, CU_EIO, "matrix-txns.db: %s", sqlite3_errmsg(db));
out:
	sqlite3_finalize(q);
	sqlite3_close(db);
	return rc;
}
