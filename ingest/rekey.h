/* rekey.h - duplicates that are not.
 *
 * The store skips a record whose (platform, source, event id) it already
 * holds. Some hooks take that id from a messenger's user (a Threema
 * message id; a stanza-id an old Prosody module used), so after a commit
 * every input that was skipped as a duplicate is compared, on the field
 * that says what the message is, with the record it was taken for; one
 * whose content differs is copied under the event id
 * "<id>#<16 hex of SHA-256(field)>" with meta "id_reused": "<id>", to be
 * committed in turn (rekey.c has the why).
 *
 * Threads: reads the store (store_get), which any thread may do; k is the
 * caller's. Durability: nothing is written; the caller commits k->in.
 * Ownership: k owns its arrays and the new ids and metas; the copies
 * point into in's other strings, so in must outlive k's commit. */
#ifndef CUSTOS_INGEST_REKEY_H
#define CUSTOS_INGEST_REKEY_H

#include <stddef.h>

#include "archiver/record.h"
#include "archiver/store.h"
#include "common/error.h"

struct rekey {
	struct store_input *in;   /* the re-keyed copies */
	size_t n;
	size_t *from;             /* in[from[j]] is the input k->in[j] was copied from */
	char **ids, **metas;      /* their event ids and metas (owned) */
};

/* Compares every duplicate of in[0..n) with the archived record on field
 * f and fills k with the copies of those that differ. 0 (k->n may be 0),
 * or an error reading the archive (k is then empty). */
int rekey_reused(struct store *st, struct store_input *in, size_t n, enum rec_field f, struct rekey *k,
		 struct cu_err *err) CU_MUST_CHECK;
void rekey_release(struct rekey *k);

#endif
