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
#ifndef CUSTOS_INGEST_MATRIX_H
#define CUSTOS_INGEST_MATRIX_H

#include <jansson.h>
#include <stddef.h>

#include "archiver/hash.h"
#include "archiver/store.h"
#include "common/error.h"
#include "ingest/rejected.h"

/* What a homeserver can legally send (docs/INTEGRATIONS.md "Limits"): an
 * event is at most 64 KiB as canonical JSON (UTF-8, the spec's PDU limit);
 * in a transaction it is re-serialised for clients, with "unsigned" added
 * (prev_content, redacted_because: up to two more events' worth) and, by
 * a homeserver that escapes non-ASCII as \uXXXX, up to 3x per character:
 * under 600 KiB per event. Synapse sends at most 100 events, 100
 * ephemeral events and 100 to-device messages per transaction: under
 * 64 MiB, the body cap of the transaction routes (above
 * server.max_body_bytes' 16 MiB default: api_route.min_body_bytes). One
 * event may take half a record (REC_MAX_BYTES / 2 = 4 MiB), 7x the
 * largest legal one. Anything larger is archived as "rejected". */
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
	int rejected;           /* 1: in is a "rejected" record of the element's bytes */
	struct rej_rec rej;
};

struct mx_txn {
	struct mx_event *ev;            /* the events, in transaction order */
	size_t n;                       /* number of events */
	size_t rejected;                /* how many of them are "rejected" records */
	uint8_t sha256[HASH_LEN];       /* SHA-256 of the whole body */
};

/* Parses a transaction body. source names the ingest source, txn_id the
 * transaction id from the URL, auth_method how the homeserver
 * authenticated ("hs_token" or "access_token"); body and source must
 * outlive out (the records point into them). An event that cannot be
 * archived as one (over the cap, or its record would be) becomes a
 * "rejected" record of its bytes; a body that is not {"events": [...]}
 * one "rejected" record of the body: the homeserver authenticated it, and
 * a refusal would make it resend the transaction for ever. CU_EINVAL only
 * for a bad txn_id, CU_ETOOBIG over MX_MAX_BODY or MX_MAX_EVENTS. */
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
