/* matrix_txn.h - the Matrix transactions already archived,
 * DIR/matrix-txns.db: (source, txnId) -> SHA-256 of the body, so that a
 * transaction the homeserver sends again is answered at once and archives
 * nothing again (matrix_txn.c has the table and why it is only an
 * optimisation over the store's duplicate check).
 *
 * Threads: each call opens the database, does its one statement and
 * closes it; calls from several threads (or processes) are serialised by
 * SQLite (WAL, busy timeout). Durability: a row is written with
 * synchronous=NORMAL; losing the last rows in a crash costs only a replay
 * that the store deduplicates. */
#ifndef CUSTOS_INGEST_MATRIX_TXN_H
#define CUSTOS_INGEST_MATRIX_TXN_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/* Returns 1 if (source, txn_id) is known with the same body hash sha, 0 if
 * unknown, 2 if known with another body, negative CU_E* on error (err
 * says why). dir is the data directory. */
int mx_txns_seen(const char *dir, const char *source, const char *txn_id, const uint8_t sha[32],
		 struct cu_err *err) CU_MUST_CHECK;

/* Remembers (source, txn_id) -> sha with its number of events; call only
 * once the transaction's records are durable. A txn_id already known
 * keeps its first body. 0, or negative CU_E* on error. */
int mx_txns_record(const char *dir, const char *source, const char *txn_id, const uint8_t sha[32],
		   size_t events, struct cu_err *err) CU_MUST_CHECK;

#endif
