/* hook_source.c - the source a hook request is checked against, or a
 * decoy (ingest/hook_source.h). */
#include "ingest/hook_source.h"

#include <openssl/rand.h>
#include <string.h>

const struct src_entry *src_for_hook(const struct src_set *set, const char *name, enum src_type type,
				     struct src_entry *decoy)
{
	const struct src_entry *e = src_find(set, name);

	if (e && e->type == type &&
	    (type == SRC_THREEMA ? e->api_secret_len != 0 : e->hmac_secret_len != 0))
		return e;
	/* Unknown, of another type or without a secret: a source with a
	 * random secret nobody knows, checked like a real one. */
	memset(decoy, 0, sizeof(*decoy));
	decoy->type = type;
	decoy->hmac_secret_len = decoy->api_secret_len = 32;
	if (RAND_bytes((unsigned char *)decoy->hmac_secret, 32) != 1 ||
	    RAND_bytes((unsigned char *)decoy->api_secret, 32) != 1)
		decoy->hmac_secret[0] ^= 1; /* still not a secret anyone holds */
	return decoy;
}
