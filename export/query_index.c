/* query_index.c - the one hook between export and search: the seqs a
 * query matches, paged out of the search index (search/index.h) oldest
 * first. The index must be caught up by the caller. */
#include <stdlib.h>
#include <string.h>

#include "export/export.h"
#include "search/index.h"

int exp_query_index(void *arg, const char *query, int (*add)(void *ctx, uint64_t seq), void *ctx,
		    struct cu_err *err)
{
	struct exp_index *xi = arg;
	struct idx_query q = {0};
	struct idx_result r = {0};
	char *cursor = NULL;
	size_t i;
	int rc = 0;

	q.q = query;
	q.kinds = xi->kinds;
	q.sort = IDX_OLDEST;
	q.limit = IDX_MAX_LIMIT;
	for (;;) {
		q.cursor = cursor;
		rc = idx_search(xi->ix, xi->st, &q, &r, err);
		if (rc)
			break;
		for (i = 0; i < r.nhits && !rc; i++)
			rc = add(ctx, r.hits[i].seq);
		if (rc) {
			rc = cu_err_set(err, rc, rc == CU_ETOOBIG ? "the query matches more than %u records"
								  : "out of memory collecting results",
					EXP_MAX_RECORDS);
			break;
		}
		free(cursor);
		cursor = NULL;
		if (!r.next_cursor)
			break;
		cursor = r.next_cursor;
		r.next_cursor = NULL;
		idx_result_release(&r);
		memset(&r, 0, sizeof(r));
	}
	idx_result_release(&r);
	free(cursor);
	return rc;
}
