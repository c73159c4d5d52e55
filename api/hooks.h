/* hooks.h - the ingest hooks on the messenger servers (docs/INTEGRATIONS.md):
 * the Matrix Application Service API, the Prosody module's endpoint and
 * the Threema Gateway callback.
 *
 * These routes need no custos bearer token: each authenticates its caller
 * the way its messenger does (hs_token, HMAC, Gateway MAC) against
 * DIR/sources.json (ingest/sources.h), and answers 200 only once the
 * records are durable (api_commit_async). The handlers are HTTP glue:
 * parsing, authenticating and building records is ingest/'s (matrix.h,
 * xmpp.h, threema.h, hook_source.h, rekey.h, matrix_txn.h). Nothing
 * outside api/ includes this.
 */
#ifndef CUSTOS_API_HOOKS_H
#define CUSTOS_API_HOOKS_H

#include <stddef.h>

#include "archiver/store.h"
#include "common/error.h"
#include "ingest/rekey.h"

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

/* Duplicates that are not (hooks.c): rekey_reused (ingest/rekey.h) on
 * the archive, logging each re-keyed copy. k is released with
 * rekey_release. */
int api_hook_rekey(struct api_req *r, struct store_input *in, size_t n, enum rec_field f, struct rekey *k,
		   struct cu_err *err) CU_MUST_CHECK;

#endif
