/* h_search.c - GET /v1/search: the same JSON as `custos search --json`,
 * through the search index (search/), and the index's catch-up after
 * commits. Until the index is built into the binary the endpoint answers
 * 503. */
#include "api/internal.h"

int api_search_open(struct api_server *srv, struct cu_err *err)
{
	(void)err;
	srv->search = NULL;
	return 0;
}

void api_search_close(struct api_server *srv)
{
	srv->search = NULL;
}

void api_search_after_commit(void *ctx, size_t records)
{
	(void)ctx;
	(void)records;
}

long long api_search_lag(struct api_server *srv)
{
	(void)srv;
	return -1;
}

int h_search(struct api_req *r)
{
	api_reply_error(r, 503, "unavailable", "the search index is not available in this build");
	return 0;
}
