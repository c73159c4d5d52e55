/* envelope.h - the generic message envelope (docs/FORMAT.md "Envelope"):
 * one JSON object per message,
 *   {"platform", "conversation", "sender", "ts", "id", "body",
 *    optional "recipients", "reply_to", "thread", "target", "kind", "raw"}
 * turned into a record whose payload is the envelope's exact bytes, so that
 * unknown fields are kept, never dropped.
 */
#ifndef CUSTOS_INGEST_ENVELOPE_H
#define CUSTOS_INGEST_ENVELOPE_H

#include <stddef.h>

#include "archiver/store.h"
#include "common/error.h"

#define ENV_MAX_BYTES (1u << 20) /* cap on one envelope */
#define ENV_MAX_DEPTH 2048       /* cap on nesting, as jansson's parser */

/* A parsed envelope. The strings in in.rec point into strs and
 * recipients, so the struct must live until the record is appended. */
struct env_msg {
	struct store_input in;  /* ready for store_append */
	char *strs;             /* the exact envelope bytes, then the field copies */
	char *recipients;       /* compact JSON array text, or NULL */
};

/* Parses one envelope of len bytes. source names the ingest source (stored
 * in the record, part of the duplicate key); auth is the JSON text of how
 * the source authenticated (or NULL); the caller sets REC_F_SIGNED when it
 * verified a signature over the payload. On error, err names the field and
 * what was expected; the caller adds the line number. */
int env_parse(const char *text, size_t len, const char *source, const char *auth,
	      struct env_msg *out, struct cu_err *err) CU_MUST_CHECK;
void env_release(struct env_msg *m);

/* Where one element of a JSON array lies in its text. */
struct env_span {
	size_t off, len;
};
/* Checks that text is a JSON array of objects and finds each object's
 * exact bytes (for env_parse), at most max of them: CU_ETOOBIG beyond,
 * CU_EINVAL naming the element and byte for anything else. *spans is
 * malloc'd (free it). */
int env_split_array(const char *text, size_t len, size_t max, struct env_span **spans,
		    size_t *n, struct cu_err *err) CU_MUST_CHECK;

#endif
