/* visibility.c - which records a caller may read (docs/API.md
 * "Visibility"): one rule, by role and record kind, for every route that
 * reads records.
 *
 *   officer  what the messengers sent (every kind but the archive's own,
 *            16..31): search, records with proofs, conversation context,
 *            exports;
 *   auditor  the audit trail (kind audit): GET /v1/audit;
 *   admin, ingest, no token: no records.
 *
 * The archive's other records (holds, policies, plans, approvals,
 * certificates, exports, checkpoints, admin changes) are read only by the
 * routes made for them (h_retention.c, h_exports.c ...), through the
 * retention and export engines, never as records.
 *
 * Handlers never read records with store_get or a bare index query: they
 * go through api_search_run, api_record_read and api_vis_kinds_of (the
 * export job's query), which apply the rule, so that a route cannot show,
 * count or page a record its caller may not see. */

#include "api/api_int.h"
#include "api/search_index.h"
#include "archiver/record.h"

uint64_t api_vis_kinds_of(const struct api_req *r)
{
	uint64_t k = 0;

	if (!r->authed)
		return 0;
	if (r->who.role & ROLE_OFFICER)
		k |= REC_KINDS_ALL & ~REC_KINDS_ARCHIVE;
	if (r->who.role & ROLE_AUDITOR)
		k |= REC_KIND_BIT(REC_AUDIT);
	return k;
}

int api_vis_entry(const struct api_req *r, const struct store_entry *e)
{
	uint64_t k = api_vis_kinds_of(r);
	struct rec_view v;

	/* A stub's content is gone; only content records are ever erased,
	 * so it is shown to those who see content. */
	if (e->is_stub)
		return (k & ~REC_KINDS_ARCHIVE) != 0;
	if (rec_decode(e->bytes, e->len, &v, NULL) != 0)
		return 0;
	return v.kind < 64 && (k & REC_KIND_BIT(v.kind)) != 0;
}

int api_record_read(struct api_req *r, uint64_t seq, struct buf *rb, struct store_entry *e,
		    struct cu_err *err)
{
	int rc;

	buf_reset(rb);
	rc = store_get(r->srv->st, seq, rb, e, err);
	return rc ? rc : api_vis_entry(r, e);
}
