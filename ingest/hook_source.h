/* hook_source.h - which registered source a hook request is checked
 * against, such that every failure of a hook's authentication costs the
 * same work and gets the same answer (docs/SECURITY.md): an unknown
 * source, one of another type or one without a secret is replaced by a
 * decoy with a random secret, which the caller checks the MAC against
 * all the same, and then refuses.
 *
 * Threads: any; nothing shared. Ownership: src_for_hook's result points
 * into set or is decoy; the caller wipes decoy (OPENSSL_cleanse) when
 * done. */
#ifndef CUSTOS_INGEST_HOOK_SOURCE_H
#define CUSTOS_INGEST_HOOK_SOURCE_H

#include <stddef.h>

#include "common/error.h"
#include "ingest/sources.h"

/* The source name of type in set when it has the secret its hook checks
 * (api_secret for Threema, hmac_secret otherwise); else decoy, filled
 * with a random secret. The caller refuses when the result is decoy. */
const struct src_entry *src_for_hook(const struct src_set *set, const char *name, enum src_type type,
				     struct src_entry *decoy);

/* A hook request signed with an HMAC (the XMPP hook): header is the
 * signature header's value, "hmac-sha256=<hex>" over body[0..len), checked
 * against the HMAC secret of source name of type in set, through
 * src_for_hook, so that an unknown source costs the same. 0 with the hex
 * MAC copied into mac_out (mac_cap bytes), or CU_EDENIED whatever failed. */
int src_check_hook_hmac(const struct src_set *set, const char *name, enum src_type type, const char *header,
			const char *body, size_t len, char *mac_out, size_t mac_cap) CU_MUST_CHECK;

#endif
