/* matrix.h - Matrix Application Service transactions -> records
 * (docs/INTEGRATIONS.md "Matrix").
 *
 * A transaction body is {"events": [ClientEvent, ...], ...}. Every element
 * of "events" becomes one record, whatever its type; nothing is dropped.
 * The record's payload is the element's exact bytes as the homeserver
 * serialised them inside the transaction body (sliced out of the body,
 * never re-serialised), so the archive holds the event as received. The
 * whole body is covered by its SHA-256, kept with the txnId in every
 * record's auth, so that a copy of the transaction can be matched later.
 *
 * How an event is told apart (state_key decides state vs. message, never
 * the type alone):
 *   state_key present: m.room.member -> membership, anything else -> state
 *     (name, topic, ... with the readable value as body)
 *   m.room.redaction -> redaction (target = the redacted event)
 *   m.reaction -> reaction (target, body = the key)
 *   content."m.relates_to".rel_type == "m.replace" -> edit (target)
 *   m.room.encrypted -> message flagged REC_F_ENCRYPTED, no body
 *   m.room.message with a file (url/file) -> attachment, else message
 *   m.sticker -> attachment; any other type -> other
 * Replies (m.in_reply_to) fill RF_REPLY_TO, threads (rel_type m.thread)
 * RF_THREAD, on every kind.
 */
#ifndef CUSTOS_ARCHIVER_MATRIX_H
#define CUSTOS_ARCHIVER_MATRIX_H

#include <jansson.h>
#include <stddef.h>

#include "archiver/hash.h"
#include "archiver/store.h"
#include "common/error.h"

#define MX_MAX_EVENTS 10000       /* events in one transaction */
#define MX_MAX_BODY (64u << 20)   /* cap on a transaction body */
#define MX_TXN_ID_MAX 255         /* cap on a txnId */

/* One event turned into a record. Field strings point into root, payload,
 * meta, auth and fallback_id, so the struct must live until the record is
 * appended. */
struct mx_event {
	struct store_input in;  /* ready for store_append */
	json_t *root;           /* the event parsed on its own (owns the strings) */
	char *payload;          /* copy of the event's exact bytes */
	char *meta;             /* compact JSON object: type, msgtype, state_key ... */
	char *auth;             /* compact JSON: txn id, body SHA-256, event index */
	char *fallback_id;      /* "txn:<txnId>:<index>" when the event has no event_id */
	char *body;             /* a body that was built (membership text), or NULL */
};

struct mx_txn {
	struct mx_event *ev;            /* the events, in transaction order */
	size_t n;                       /* number of events */
	uint8_t sha256[HASH_LEN];       /* SHA-256 of the whole body */
};

/* Parses a transaction body. source names the ingest source, txn_id the
 * transaction id from the URL, auth_method how the homeserver
 * authenticated ("hs_token" or "access_token"); source must outlive out
 * (the records point at it). CU_EINVAL when the body is
 * not JSON or has no "events" array; err says why. */
int mx_parse_txn(const char *body, size_t len, const char *source, const char *txn_id,
		 const char *auth_method, struct mx_txn *out, struct cu_err *err) CU_MUST_CHECK;
void mx_txn_release(struct mx_txn *t);

/* Parses one event (the exact bytes of one element of "events"); index is
 * its position in the transaction. Exposed for the tests and the fuzzer. */
int mx_parse_event(const char *text, size_t len, const char *source, const char *txn_id,
		   const char *auth_method, const uint8_t txn_sha256[HASH_LEN], size_t index,
		   struct mx_event *out, struct cu_err *err) CU_MUST_CHECK;
void mx_event_release(struct mx_event *e);

#endif
