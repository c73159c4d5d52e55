/* hook_source.c - the source a hook request is checked against, or a
 * decoy (ingest/hook_source.h). */
#include "ingest/hook_source.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
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

int src_check_hook_hmac(const struct src_set *set, const char *name, enum src_type type, const char *header,
			const char *body, size_t len, char *mac_out, size_t mac_cap)
{
	struct src_entry decoy;
	const struct src_entry *e = src_for_hook(set, name, type, &decoy);
	int rc = CU_EDENIED;

	if (header && strncmp(header, "hmac-sha256=", 12) == 0) {
		header += 12;
		if (src_check_hmac_hex(e->hmac_secret, e->hmac_secret_len, body, len, header, strlen(header)) == 0 &&
		    e != &decoy) {
			snprintf(mac_out, mac_cap, "%s", header);
			rc = 0;
		}
	}
	OPENSSL_cleanse(&decoy, sizeof(decoy));
	return rc;
}
