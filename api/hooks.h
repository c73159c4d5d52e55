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

#include "api/handlers.h" /* the hook handlers */
#include "archiver/store.h"
#include "common/error.h"
#include "ingest/rekey.h"

struct api_req;

/* Refusing an unauthenticated hook caller (hooks.c): the same 401,
 * which never names the source, for every failure of a hook's
 * authentication; the source to check is picked by src_for_hook
 * (ingest/hook_source.h), so that each failure costs the same work. */
void api_hook_unauthorized(struct api_req *r);

/* Duplicates that are not (hooks.c): rekey_reused (ingest/rekey.h) on
 * the archive, logging each re-keyed copy. k is released with
 * rekey_release. */
int api_hook_rekey(struct api_req *r, struct store_input *in, size_t n, enum rec_field f, struct rekey *k,
		   struct cu_err *err) CU_MUST_CHECK;

#endif
