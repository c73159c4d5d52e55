/* plan_int.h - plan items shared by plan.c, execute.c and transfer.c.
 * Not for use outside retention/. */
#ifndef CUSTOS_RETENTION_PLAN_INT_H
#define CUSTOS_RETENTION_PLAN_INT_H

#include <jansson.h>
#include <stdint.h>

#include "archiver/hash.h"
#include "retention/retention_int.h"

/* One record a plan names. */
struct ret_item {
	uint64_t seq;
	uint8_t leaf[HASH_LEN];      /* its leaf hash when planned */
	enum ret_action action;      /* destroy or transfer */
	const char *policy;          /* the winning policy's name (NULL: an erasure order) */
	char keep[16];               /* that policy's period, as text */
	uint64_t offer;              /* destroy after this transfer offer was settled (0: none) */
};

/* A growable list of items. */
struct ret_items {
	struct ret_item *v;
	size_t n;
	size_t alloc;
};

void ret_items_release(struct ret_items *it);
int ret_items_add(struct ret_items *it, const struct ret_item *x) CU_MUST_CHECK;
/* Sorts the items by seq and hashes them (ret_digest). */
int ret_items_digest(struct ret_items *it, char hex[2 * HASH_LEN + 1]) CU_MUST_CHECK;
/* Groups as stored in plans and certificates: [{"basis", "policy",
 * "keep", "action", "offer", "seqs", "leaves"}]. basis names items
 * without a policy ("erasure order"). */
json_t *ret_items_groups(const struct ret_items *it, const char *basis);
/* The inverse; item strings point into groups. */
int ret_items_from_groups(json_t *groups, struct ret_items *out) CU_MUST_CHECK;

/* Builds (and unless dry_run stores) a disposition plan from state s
 * (ret_lock held by the caller). */
int ret_plan_make(struct store *st, struct idx *ix, struct ret_state *s, const char *by, int dry_run,
		  int automatic, int64_t now_ms, uint64_t *plan_id, json_t **out, struct cu_err *err) CU_MUST_CHECK;
/* Executes plan_id (ret_lock held by the caller). */
int ret_execute_locked(struct store *st, struct idx *ix, uint64_t plan_id, const struct ret_exec_opts *opts,
		       int64_t now_ms, json_t **out, struct cu_err *err) CU_MUST_CHECK;

/* The records derived from the sorted, unique named seqs (derived.c):
 * appended to extra (destroy items), described in derived [{"seq",
 * "from", "relation"}]; related records kept are listed in related (at
 * most 1000; *nrelated counts all). CU_ETOOBIG beyond RET_PLAN_MAX_ITEMS. */
int ret_derive(struct store *st, const uint64_t *named, size_t n, const struct ret_erase_opts *o,
	       struct ret_items *extra, json_t *derived, json_t *related, size_t *nrelated,
	       struct cu_err *err) CU_MUST_CHECK;

int ret_offer_settled(const struct ret_offer *o, int64_t now_ms);
const char *ret_offer_state_name(const struct ret_offer *o, int64_t now_ms);
const struct ret_offer *ret_offer_of(const struct ret_state *s, uint64_t seq);
const char *ret_plan_status(const struct ret_plan *p);

#endif
