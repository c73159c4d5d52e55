/* hook_source.h - which registered source a hook request is checked
 * against, such that every failure of a hook's authentication costs the
 * same work and gets the same answer (docs/SECURITY.md): an unknown
 * source, one of another type or one without a secret is replaced by a
 * decoy with a random secret, which the caller checks the MAC against
 * all the same, and then refuses.
 *
 * Threads: any; nothing shared. Ownership: the result points into set or
 * is decoy; the caller wipes decoy (OPENSSL_cleanse) when done. */
#ifndef CUSTOS_INGEST_HOOK_SOURCE_H
#define CUSTOS_INGEST_HOOK_SOURCE_H

#include "ingest/sources.h"

/* The source name of type in set when it has the secret its hook checks
 * (api_secret for Threema, hmac_secret otherwise); else decoy, filled
 * with a random secret. The caller refuses when the result is decoy. */
const struct src_entry *src_for_hook(const struct src_set *set, const char *name, enum src_type type,
				     struct src_entry *decoy);

#endif
