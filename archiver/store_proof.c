/* store_proof.c - what the store proves about itself: the tree head at a
 * size, inclusion and consistency proofs (RFC 9162), and signed
 * checkpoints (docs/FORMAT.md "Checkpoints", docs/PROOFS.md). All of it
 * reads the Merkle tree under tree_lock (store_int.h) and never the
 * segments. */
#include <stdio.h>
#include <string.h>

#include "archiver/checkpoint.h"
#include "archiver/store_int.h"

int store_root(struct store *st, uint64_t n, uint8_t out[HASH_LEN], struct cu_err *err)
{
	int rc;

	pthread_mutex_lock(&st->tree_lock);
	if (n > st->frontier.size)
		rc = cu_err_set(err, CU_EINVAL, "tree size %llu is beyond the archive's %llu",
				(unsigned long long)n, (unsigned long long)st->frontier.size);
	else if (n == st->frontier.size)
		rc = mt_frontier_root(&st->frontier, out);
	else
		rc = ts_root(st->ts, n, out);
	pthread_mutex_unlock(&st->tree_lock);
	if (rc && (!err || !err->code))
		cu_err_set(err, rc, "cannot compute the tree head at size %llu", (unsigned long long)n);
	return rc;
}

int store_inclusion(struct store *st, uint64_t seq, uint64_t n, uint8_t out[MT_MAX_PROOF][HASH_LEN],
		    size_t *count, struct cu_err *err)
{
	int rc;

	pthread_mutex_lock(&st->tree_lock);
	if (n > ts_size(st->ts) || seq >= n)
		rc = cu_err_set(err, CU_EINVAL, "no inclusion proof for seq %llu in tree size %llu",
				(unsigned long long)seq, (unsigned long long)n);
	else
		rc = ts_inclusion(st->ts, seq, n, out, count);
	pthread_mutex_unlock(&st->tree_lock);
	if (rc && (!err || !err->code))
		cu_err_set(err, rc, "cannot compute the inclusion proof");
	return rc;
}

int store_consistency(struct store *st, uint64_t m, uint64_t n, uint8_t out[MT_MAX_PROOF][HASH_LEN],
		      size_t *count, struct cu_err *err)
{
	int rc;

	pthread_mutex_lock(&st->tree_lock);
	if (n > ts_size(st->ts) || m > n || m == 0)
		rc = cu_err_set(err, CU_EINVAL, "no consistency proof from size %llu to %llu "
				"(archive holds %llu)", (unsigned long long)m,
				(unsigned long long)n, (unsigned long long)ts_size(st->ts));
	else
		rc = ts_consistency(st->ts, m, n, out, count);
	pthread_mutex_unlock(&st->tree_lock);
	if (rc && (!err || !err->code))
		cu_err_set(err, rc, "cannot compute the consistency proof");
	return rc;
}

int store_checkpoint(struct store *st, uint64_t n, char **note_out, struct cu_err *err)
{
	struct checkpoint c;
	int rc;

	memset(&c, 0, sizeof(c));
	snprintf(c.origin, sizeof(c.origin), "%s", st->origin);
	c.size = n;
	rc = store_root(st, n, c.root, err);
	if (rc == 0)
		rc = ckpt_sign(&c, st->key, note_out, err);
	return rc;
}
