/* envelope_batch.h - the body of a generic ingest request (POST
 * /v1/ingest, docs/API.md "Ingest"): a JSON array or JSON Lines of
 * envelopes (ingest/envelope.h), parsed all or nothing. Each envelope's
 * payload is its exact bytes in the body: for an array, the element's
 * bytes (env_split_array), for JSON Lines, the line.
 *
 * Knows nothing of HTTP: the caller maps each outcome to its reply.
 * Threads: any; nothing shared. Ownership: the batch owns its envelopes
 * (env_batch_release); their records point into the body, source and
 * auth, which must outlive the commit. */
#ifndef CUSTOS_INGEST_ENVELOPE_BATCH_H
#define CUSTOS_INGEST_ENVELOPE_BATCH_H

#include <stddef.h>

#include "common/error.h"
#include "ingest/envelope.h"

struct env_batch {
	struct env_msg *msgs;       /* parsed envelopes (own the field strings) */
	size_t n;                   /* envelopes parsed */
	size_t cap;                 /* elements allocated in msgs */
};

enum env_batch_outcome {
	ENVB_OK = 0,
	ENVB_EMPTY,          /* nothing but white space */
	ENVB_TOO_MANY,       /* more than max envelopes */
	ENVB_BAD_JSON,       /* an array that is not a JSON array of objects */
	ENVB_BAD_ENVELOPE,   /* an envelope env_parse refuses */
	ENVB_TOO_LARGE,      /* an envelope over ENV_MAX_BYTES */
	ENVB_NOMEM,          /* out of memory */
};

/* Parses body[0..len) (a JSON array when its first non-blank byte is '[',
 * else JSON Lines, blank lines ignored) into b (zeroed by the caller), at
 * most max envelopes, each archived as source with auth (env_parse).
 * ENVB_OK, or the first failure with err naming it ("envelope N: ..." for
 * one envelope, 1-based); b then keeps the envelopes parsed before it. */
enum env_batch_outcome env_batch_parse(const char *body, size_t len, size_t max, const char *source,
				       const char *auth, struct env_batch *b, struct cu_err *err);

/* Releases the envelopes of b (b->n becomes 0; msgs stays allocated). */
void env_batch_clear(struct env_batch *b);
/* Releases everything b holds. */
void env_batch_release(struct env_batch *b);

#endif
