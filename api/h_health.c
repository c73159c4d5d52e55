/* h_health.c - GET /healthz (no token). */
#include "api/api_int.h"
#include "api/handlers.h"

int h_healthz(struct api_req *r)
{
	struct api_server *srv = r->srv;
	json_t *j;

	if (atomic_load(&srv->commit_failing)) {
		/* The last commit failed (disk full, failed fsync): ingest is
		 * answered 503 until a commit succeeds again. */
		j = json_pack("{s:s, s:s}", "status", "degraded", "reason",
			      "the last commit to the archive failed");
		api_reply_json(r, 503, j);
		return 0;
	}
	j = json_pack("{s:s, s:I}", "status", "ok", "records", (json_int_t)store_size(srv->st));
	api_reply_json(r, 200, j);
	return 0;
}
