/* h_checkpoint.c - GET /v1/checkpoint (the signed note, text/plain) and
 * GET /v1/proof/consistency (the same document as `custos prove --json`). */
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "api/handlers.h"
#include "archiver/proof_json.h"

int h_checkpoint(struct api_req *r)
{
	struct store *st = r->srv->st;
	uint64_t size = store_size(st), n;
	struct cu_err err;
	char *note = NULL;
	int rc;

	cu_err_clear(&err);
	if (api_query_u64(r, "size", size, 0, size, &n) != 0)
		return 0;
	rc = store_checkpoint(st, n, &note, &err);
	if (rc) {
		api_reply_cu(r, rc, err.msg);
		return 0;
	}
	r->results = 1;
	api_audit_info(r, json_pack("{s:I}", "tree_size", (json_int_t)n));
	api_reply_text(r, 200, "text/plain; charset=utf-8", note, strlen(note));
	free(note);
	return 0;
}

int h_consistency(struct api_req *r)
{
	uint8_t proof[MT_MAX_PROOF][HASH_LEN], r1[HASH_LEN], r2[HASH_LEN];
	struct store *st = r->srv->st;
	uint64_t size = store_size(st), from, to;
	struct cu_err err;
	json_t *doc = NULL;
	char *note = NULL;
	size_t count;
	int rc;

	cu_err_clear(&err);
	if (!api_query(r, "from")) {
		api_reply_error(r, 400, "bad_request", "query parameter 'from' (the older tree size) is required");
		return 0;
	}
	if (size == 0) {
		api_reply_error(r, 404, "not_found", "the archive is empty");
		return 0;
	}
	if (api_query_u64(r, "to", size, 1, size, &to) != 0 ||
	    api_query_u64(r, "from", 1, 1, to, &from) != 0)
		return 0;
	api_audit_info(r, json_pack("{s:I, s:I}", "from", (json_int_t)from, "to", (json_int_t)to));
	rc = store_root(st, from, r1, &err);
	if (!rc)
		rc = store_root(st, to, r2, &err);
	if (!rc)
		rc = store_consistency(st, from, to, proof, &count, &err);
	if (!rc)
		rc = store_checkpoint(st, to, &note, &err);
	if (!rc)
		rc = pj_consistency_build(from, r1, to, r2, (const uint8_t (*)[HASH_LEN])proof, count, note,
					  &doc, &err);
	if (rc) {
		api_reply_cu(r, rc, err.msg);
	} else {
		r->results = 1;
		api_reply_json(r, 200, doc);
	}
	free(note);
	return 0;
}
