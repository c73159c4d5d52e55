/* hook_auth.c - how the messenger hooks refuse a caller they cannot
 * authenticate (hooks.h): one answer, whatever failed, so that a 401
 * never tells which sources exist. */
#include <openssl/rand.h>
#include <string.h>

#include "api/hooks.h"
#include "api/api_int.h"

void api_hook_unauthorized(struct api_req *r)
{
	atomic_fetch_add(&r->srv->metrics.auth_failures, 1);
	api_reply_error(r, 401, "unauthorized", "the request is not authenticated as a registered source");
}

const struct src_entry *api_hook_source(const struct src_set *set, const char *name, enum src_type type,
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
