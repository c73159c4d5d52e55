/* hooks.h - the ingest hooks on the messenger servers (docs/INTEGRATIONS.md):
 * the Matrix Application Service API, the Prosody module's endpoint, the
 * Threema Gateway callback, and signatures on the generic POST /v1/ingest.
 *
 * These routes need no custos bearer token: each authenticates its caller
 * the way its messenger does (hs_token, HMAC, Gateway MAC) against
 * DIR/sources.json (ingest/sources.h), and answers 200 only once the
 * records are durable (api_commit_async). Nothing outside api/ includes
 * this.
 */
#ifndef CUSTOS_API_HOOKS_H
#define CUSTOS_API_HOOKS_H

#include <stddef.h>

#include "archiver/store.h"
#include "common/error.h"
#include "ingest/rekey.h"
#include "ingest/sources.h"

struct api_req;

/* Refusing an unauthenticated hook caller (hooks.c): the same 401,
 * which never names the source, for every failure of a hook's
 * authentication; the source to check is picked by src_for_hook
 * (ingest/hook_source.h), so that each failure costs the same work. */
void api_hook_unauthorized(struct api_req *r);

/* Matrix (h_matrix.c). */
int h_matrix_txn(struct api_req *r);      /* PUT .../transactions/{txnId} */
int h_matrix_ping(struct api_req *r);     /* POST /_matrix/app/v1/ping */
int h_matrix_get(struct api_req *r);      /* GET users, rooms, thirdparty, else M_UNRECOGNIZED */
int h_matrix_other(struct api_req *r);    /* any other method under /_matrix */
/* 1 when the request presents the hs_token of a registered source: only
 * then may a transaction's body exceed server.max_body_bytes (server.c). */
int h_matrix_caller_known(struct api_req *r);

/* Prosody (h_xmpp.c): POST /v1/hooks/xmpp/{source}. */
int h_xmpp_hook(struct api_req *r);

/* Threema Gateway (h_threema.c): POST /v1/hooks/threema/{source}. */
int h_threema_hook(struct api_req *r);

/* Header carrying a source's signature over the exact request body:
 * "ed25519=<base64 signature>" or "hmac-sha256=<hex>". */
#define API_SIG_HEADER "X-Custos-Signature"

/* A signed generic ingest request keeps its whole body as one extra
 * record (kind other, event id "body:<sha256>") so that the signature can
 * be checked later against exactly the bytes it covers; each message
 * record's auth names the same signature and body hash. */
struct api_sig_evidence {
	int present;              /* 1: in is to be appended with the batch */
	struct store_input in;    /* payload points into the request body */
	char *meta, *auth, *event_id;
};

/* For POST /v1/ingest (h_ingest.c), before parsing: when the token's
 * source is registered as a generic source with a key, the signature
 * header is required and checked. On success returns 0, sets *is_signed
 * and, if signed, rewrites auth (cap bytes, JSON) to name the method, key
 * and body hash, and fills ev. On failure the reply is set (401 missing or
 * wrong signature, 400 malformed header) and a negative code returned. */
int api_ingest_sig(struct api_req *r, char *auth, size_t cap, int *is_signed, struct api_sig_evidence *ev)
	CU_MUST_CHECK;
void api_sig_evidence_release(struct api_sig_evidence *ev);

/* Duplicates that are not (hooks.c): rekey_reused (ingest/rekey.h) on
 * the archive, logging each re-keyed copy. k is released with
 * rekey_release. */
int api_hook_rekey(struct api_req *r, struct store_input *in, size_t n, enum rec_field f, struct rekey *k,
		   struct cu_err *err) CU_MUST_CHECK;

#endif
