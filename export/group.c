/* group.c - the records of an export grouped by conversation, for the
 * formats that show conversations (RSMF files, BagIt transcripts). */
#include <stdlib.h>

#include "export/export_int.h"

/* qsort_r (glibc, _GNU_SOURCE) passes the set as the context: an export
 * job and a transfer render at the same time, so the sort state must not
 * live in a file-scope variable. */
static int cmp_conv_time(const void *pa, const void *pb, void *ctx)
{
	const struct exp_set *s = ctx;
	const struct exp_rec *a = &s->recs[*(const size_t *)pa];
	const struct exp_rec *b = &s->recs[*(const size_t *)pb];
	int c = exp_rs_cmp(&a->v.f[RF_PLATFORM], &b->v.f[RF_PLATFORM]);

	if (!c)
		c = exp_rs_cmp(&a->v.f[RF_CONVERSATION], &b->v.f[RF_CONVERSATION]);
	if (!c)
		c = a->v.origin_ts < b->v.origin_ts ? -1 : a->v.origin_ts > b->v.origin_ts;
	if (!c)
		c = a->seq < b->seq ? -1 : a->seq > b->seq;
	return c;
}

int exp_group_conversations(const struct exp_set *s, size_t **order_out, struct exp_group **groups_out,
			    size_t *ngroups, struct cu_err *err)
{
	size_t *order = NULL, i, ng = 0;
	struct exp_group *g = NULL;

	*order_out = NULL;
	*groups_out = NULL;
	*ngroups = 0;
	order = malloc((s->n ? s->n : 1) * sizeof(*order));
	g = malloc((s->n ? s->n : 1) * sizeof(*g));
	if (!order || !g) {
		free(order);
		free(g);
		return cu_err_set(err, CU_ENOMEM, "out of memory grouping records");
	}
	for (i = 0; i < s->n; i++)
		order[i] = i;
	qsort_r(order, s->n, sizeof(*order), cmp_conv_time, (void *)s);
	for (i = 0; i < s->n; i++) {
		const struct exp_rec *r = &s->recs[order[i]];
		const struct exp_rec *p = i ? &s->recs[order[i - 1]] : NULL;

		if (!p || exp_rs_cmp(&p->v.f[RF_PLATFORM], &r->v.f[RF_PLATFORM]) ||
		    exp_rs_cmp(&p->v.f[RF_CONVERSATION], &r->v.f[RF_CONVERSATION])) {
			g[ng].start = i;
			g[ng].n = 0;
			ng++;
		}
		g[ng - 1].n++;
	}
	*order_out = order;
	*groups_out = g;
	*ngroups = ng;
	return 0;
}
