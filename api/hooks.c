/* hooks.c - what the messenger hooks' handlers share (hooks.h): how they
 * refuse a caller they cannot authenticate (one answer, whatever failed,
 * so that a 401 never tells which sources exist), and the re-check of
 * their duplicates (ingest/rekey.h) with its log line. */
#include <stdio.h>

#include "api/api_int.h"
#include "api/hooks.h"

void api_hook_unauthorized(struct api_req *r)
{
	atomic_fetch_add(&r->srv->metrics.auth_failures, 1);
	api_reply_error(r, 401, "unauthorized", "the request is not authenticated as a registered source");
}

int api_hook_rekey(struct api_req *r, struct store_input *in, size_t n, enum rec_field f, struct rekey *k,
		   struct cu_err *err)
{
	size_t j;
	int rc = rekey_reused(r->srv->st, in, n, f, k, err);

	for (j = 0; rc == 0 && j < k->n; j++) {
		const struct rec_view *v = &in[k->from[j]].rec;

		api_log("%.*s: id %.*s of source %.*s reused for another message: archived as %s",
			(int)v->f[RF_PLATFORM].len, v->f[RF_PLATFORM].ptr, (int)v->f[RF_EVENT_ID].len,
			v->f[RF_EVENT_ID].ptr, (int)v->f[RF_SOURCE].len, v->f[RF_SOURCE].ptr, k->ids[j]);
	}
	return rc;
}
