/* handlers.h - every route's handler (routes.c names them), one file per
 * area. Nothing outside api/ includes this.
 *
 * Contract of a handler (api_int.h "struct api_req"): it runs in a
 * libmicrohttpd worker thread once the request's body is complete, after
 * the caller was authenticated and authorised for the route's roles, and
 * returns 0 with r's reply set, or API_ASYNC when it started a commit
 * (api_commit_async), whose continuation then sets the reply. It never
 * returns an error: it turns errors into replies. r and everything it owns
 * belong to the HTTP layer (http.c); a handler keeps state across a
 * commit only in r->hctx.
 */
#ifndef CUSTOS_API_HANDLERS_H
#define CUSTOS_API_HANDLERS_H

struct api_req;

/* Health and metrics (h_health.c, metrics.c). */
int h_healthz(struct api_req *r);
int h_metrics(struct api_req *r);

/* Generic ingest (h_ingest.c). */
int h_ingest(struct api_req *r);

/* Search, records, context, proofs (h_search.c, h_records.c, h_checkpoint.c). */
int h_search(struct api_req *r);
int h_record(struct api_req *r);
int h_context(struct api_req *r);
int h_checkpoint(struct api_req *r);
int h_consistency(struct api_req *r);

/* The audit trail (h_audit.c). */
int h_audit(struct api_req *r);

/* Verification jobs (h_verify.c). */
int h_verify_start(struct api_req *r);
int h_verify_status(struct api_req *r);

/* Tokens (h_tokens.c). */
int h_tokens_list(struct api_req *r);
int h_tokens_add(struct api_req *r);
int h_tokens_revoke(struct api_req *r);

/* Exports (h_exports.c, docs/EXPORTS.md "Jobs"), over export/job.h:
 *   POST /v1/exports              start an export job (officer), 202
 *   GET  /v1/exports/{job}        its state and progress
 *   GET  /v1/exports/{job}/file   the finished package */
int h_exports_start(struct api_req *r);
int h_exports_status(struct api_req *r);
int h_exports_file(struct api_req *r);

/* Retention and holds (h_retention.c, docs/API.md "Retention and holds"),
 * over retention/retention.h: holds (officer), policies and classes (admin),
 * dispositions, erasure orders and transfer offers (officer), certificates
 * (auditor, officer). */
int h_holds_list(struct api_req *r);
int h_holds_add(struct api_req *r);
int h_hold_get(struct api_req *r);
int h_hold_release(struct api_req *r);
int h_policies_list(struct api_req *r);
int h_policies_add(struct api_req *r);
int h_policy_retire(struct api_req *r);
int h_classes_set(struct api_req *r);
int h_classes_list(struct api_req *r);
int h_dispositions_plan(struct api_req *r);
int h_dispositions_list(struct api_req *r);
int h_plan_approve(struct api_req *r);
int h_plan_reject(struct api_req *r);
int h_plan_execute(struct api_req *r);
int h_certificates_list(struct api_req *r);
int h_certificate_get(struct api_req *r);
int h_erasures_add(struct api_req *r);
int h_offers_list(struct api_req *r);
int h_offer_answer(struct api_req *r);

/* The messenger hooks (api/hooks.h, docs/INTEGRATIONS.md): no custos
 * token; each authenticates its caller the way its messenger does. */
int h_matrix_txn(struct api_req *r);      /* PUT .../transactions/{txnId} */
int h_matrix_ping(struct api_req *r);     /* POST /_matrix/app/v1/ping */
int h_matrix_get(struct api_req *r);      /* GET users, rooms, thirdparty, else M_UNRECOGNIZED */
int h_matrix_other(struct api_req *r);    /* any other method under /_matrix */
/* 1 when the request presents the hs_token of a registered source: only
 * then may a transaction's body exceed server.max_body_bytes
 * (API_ROUTE_HOOK_LARGE_BODY, api_route_large_body). */
int h_matrix_caller_known(struct api_req *r);
int h_xmpp_hook(struct api_req *r);       /* POST /v1/hooks/xmpp/{source} (Prosody) */
int h_threema_hook(struct api_req *r);    /* POST /v1/hooks/threema/{source} (Gateway) */

#endif
