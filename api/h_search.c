/* h_search.c - GET /v1/search: the same JSON as `custos search --json`,
 * built by idx_search_json on a handle of the daemon's index
 * (search_index.h, api_search_run). */
#include <string.h>

#include "api/api_int.h"
#include "api/handlers.h"
#include "api/search_index.h"
#include "search/index.h"

/* "newest" (or NULL), "oldest", "relevance" -> enum idx_sort; -1 if unknown. */
static int api_search_sort(const char *s)
{
	if (!s || !strcmp(s, "newest"))
		return IDX_NEWEST;
	if (!strcmp(s, "oldest"))
		return IDX_OLDEST;
	if (!strcmp(s, "relevance"))
		return IDX_RELEVANCE;
	return -1;
}

int h_search(struct api_req *r)
{
	struct idx_query q;
	struct cu_err err;
	json_t *doc = NULL;
	uint64_t limit;
	unsigned max = r->lim.search_max_limit < IDX_MAX_LIMIT ? r->lim.search_max_limit : IDX_MAX_LIMIT;
	int sort, rc;

	cu_err_clear(&err);
	memset(&q, 0, sizeof(q));
	q.q = api_query(r, "q");
	if (!q.q || !*q.q) {
		api_reply_error(r, 400, "bad_request", "query parameter 'q' is required (docs/SEARCH.md)");
		return 0;
	}
	sort = api_search_sort(api_query(r, "sort"));
	if (sort < 0) {
		api_reply_error(r, 400, "bad_request", "sort must be newest, oldest or relevance");
		return 0;
	}
	q.sort = (enum idx_sort)sort;
	if (api_query_u64(r, "limit", IDX_DEFAULT_LIMIT < max ? IDX_DEFAULT_LIMIT : max, 1, max, &limit) != 0)
		return 0;
	q.limit = (unsigned)limit;
	q.cursor = api_query(r, "cursor");
	rc = api_search_run(r, &q, &doc, &err);
	if (rc) {
		if (rc == CU_ESTATE)
			api_reply_error(r, 503, "unavailable", "%s", err.msg);
		else
			/* an oversized query is bad input like bad syntax: 400 */
			api_reply_cu(r, rc == CU_ETOOBIG ? CU_EINVAL : rc, err.msg);
		return 0;
	}
	r->results = (long long)json_array_size(json_object_get(doc, "results"));
	api_audit_info(r, json_pack("{s:O}", "total", json_object_get(doc, "total")));
	api_reply_json(r, 200, doc);
	return 0;
}
