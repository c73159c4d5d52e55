/* transfer.c - transfer to the public archive (BArchG section 5): the
 * package offered, the archive's answer, and the offers' states.
 *
 * The package is the export module's BagIt bag (RFC 8493, in a tar file)
 * of the offered records with inclusion proofs and the checkpoint, so the
 * public archive can check it offline (`custos verify-export`); its custody
 * records are in the log like every export's. docs/RETENTION.md "Transfer".
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fileio.h"
#include "export/export.h"
#include "export/pkgfiles.h"
#include "retention/plan_int.h"
#include "retention/retention_int.h"

/* Hands the export the plan's records as the "query result". */
struct seq_src {
	const uint64_t *seqs;
	size_t n;
};

static int plan_seqs(void *arg, const char *query, int (*add)(void *ctx, uint64_t seq), void *ctx,
		     struct cu_err *err)
{
	const struct seq_src *src = arg;
	size_t i;
	int rc = 0;

	(void)query;
	for (i = 0; rc == 0 && i < src->n; i++)
		rc = add(ctx, src->seqs[i]);
	if (rc)
		cu_err_set(err, rc, "transfer: cannot collect the offered records");
	return rc;
}

int ret_package_write(struct store *st, const char *dir, const char *pkg, uint64_t plan_id,
		      const uint64_t *seqs, size_t n, const char *by, char digest_hex[2 * HASH_LEN + 1],
		      struct cu_err *err)
{
	struct exp_request req;
	struct exp_result res;
	struct seq_src src = {seqs, n};
	char what[96];
	int rc;

	rc = fio_mkdir(dir, 0750, err);
	if (rc)
		return rc;
	/* A package left by an execution that crashed before its offer was
	 * recorded is not an offer: write it again. */
	rc = exp_pkg_remove(pkg, err);
	if (rc)
		return rc;
	snprintf(what, sizeof(what), "transfer plan %llu (BArchG section 5)", (unsigned long long)plan_id);
	memset(&req, 0, sizeof(req));
	req.st = st;
	req.query = what;
	req.from_ms = INT64_MIN;
	req.to_ms = INT64_MAX;
	req.format = EXP_BAGIT;
	req.container = EXP_TAR;
	req.by = by;
	req.out_path = pkg;
	req.query_fn = plan_seqs;
	req.query_arg = &src;
	/* Kept in the data directory until the records are destroyed:
	 * encrypted when the archive is, listed for erasures. */
	req.at_rest = store_data_key(st);
	req.record_list = 1;
	rc = exp_run(&req, &res, err);
	if (rc == 0)
		snprintf(digest_hex, 2 * HASH_LEN + 1, "%s", res.package_sha256);
	return rc;
}

int ret_package_remove(const char *pkg, struct cu_err *err)
{
	return exp_pkg_remove(pkg, err); /* with its record list and temporary files */
}

int ret_offer_answer(struct store *st, uint64_t offer_id, int accept, const char *by, int64_t now_ms,
		     struct cu_err *err)
{
	struct ret_state *s = NULL;
	struct ret_offer *o;
	json_t *m = NULL;
	char body[300];
	int rc;

	rc = ret_check_person(by, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&ret_lock);
	rc = ret_state_load(st, &s, err);
	if (rc)
		goto out;
	o = ret_state_offer(s, offer_id);
	if (!o) {
		rc = cu_err_set(err, CU_ENOTFOUND, "record %llu is not a transfer offer (see custos retention offers)",
				(unsigned long long)offer_id);
		goto out;
	}
	if (o->state != OFFER_OFFERED) {
		rc = cu_err_set(err, CU_ESTATE, "offer %llu was %s already by %s", (unsigned long long)offer_id,
				o->state == OFFER_ACCEPTED ? "accepted" : "declined", o->answered_by);
		goto out;
	}
	m = json_pack("{s:s, s:I, s:s}", "op", "transfer.answer", "offer", (json_int_t)offer_id, "answer",
		      accept ? "accepted" : "declined");
	if (!m) {
		rc = cu_err_set(err, CU_ENOMEM, "retention: out of memory");
		goto out;
	}
	snprintf(body, sizeof(body), "transfer offer %llu %s by the public archive%s", (unsigned long long)offer_id,
		 accept ? "accepted" : "declined", now_ms >= o->deadline_ms ? " (after the deadline)" : "");
	rc = ret_append(st, REC_APPROVAL, m, body, by, now_ms, NULL, NULL, err);
out:
	pthread_mutex_unlock(&ret_lock);
	json_decref(m);
	ret_state_free(s);
	return rc;
}

int ret_offers_json(struct store *st, int64_t now_ms, json_t **out, struct cu_err *err)
{
	struct ret_state *s = NULL;
	json_t *arr;
	size_t i, c;
	int rc;

	*out = NULL;
	rc = ret_state_load(st, &s, err);
	if (rc)
		return rc;
	arr = json_array();
	for (i = 0; arr && i < s->noffers; i++) {
		const struct ret_offer *o = &s->offers[i];
		json_t *x = json_pack("{s:I, s:I, s:I, s:s, s:I, s:O, s:O}", "id", (json_int_t)o->id, "plan",
				      (json_int_t)o->plan, "count", (json_int_t)o->nseqs, "state",
				      ret_offer_state_name(o, now_ms), "deadline", (json_int_t)o->deadline_ms,
				      "package", json_object_get(o->doc, "package"), "seqs",
				      json_object_get(o->doc, "seqs"));

		if (!x)
			continue;
		if (o->state != OFFER_OFFERED) {
			json_object_set_new(x, "answered_by", json_string(o->answered_by));
			json_object_set_new(x, "answered_at", json_integer(o->answered_ms));
		}
		/* the certificates that destroyed its records */
		for (c = 0; c < s->ncerts; c++) {
			json_t *g = json_object_get(s->certs[c].doc, "groups");
			size_t j;

			for (j = 0; j < json_array_size(g); j++)
				if ((uint64_t)json_integer_value(json_object_get(json_array_get(g, j), "offer")) == o->id)
					json_object_set_new(x, "certificate", json_integer((json_int_t)s->certs[c].id));
		}
		json_array_append_new(arr, x);
	}
	*out = arr ? json_pack("{s:o}", "offers", arr) : NULL;
	ret_state_free(s);
	return *out ? 0 : cu_err_set(err, CU_ENOMEM, "retention: out of memory");
}
