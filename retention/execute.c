/* execute.c - executing approved plans: the re-check at execution time,
 * the signed deletion certificate, removal from the search index and the
 * segment rewrite (store_erase), the scheduler's automatic run, and
 * reading certificates back.
 *
 * Order of the steps, and why:
 *   1. re-check every planned record now (holds placed since the plan,
 *      policies retired since, records deleted meanwhile);
 *   2. transfer items: write the package, append the offer record;
 *   3. append the deletion certificate, signed with the archive key: it
 *      must exist before any content goes, so a crash never leaves a
 *      deletion without its certificate (store_erase names it in stubs);
 *   4. delete from the index while the content is still in the segments
 *      (the FTS5 delete needs the original words);
 *   5. store_erase: segments rewritten with stubs, atomically per segment.
 * A crash after 3 leaves a certificate whose records are (partly) still
 * there: executing the plan again finds the certificate and repeats 4 and
 * 5 for exactly its records (both skip what is already done).
 *
 * Packages: export and transfer packages in the data directory hold
 * copies of records. Those holding a record to delete are named in the
 * certificate (3), removed right after it, and looked for again after 5
 * (an export running meanwhile; export.h says why that finds them all).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "archiver/keys.h"
#include "archiver/record.h"
#include "common/encode.h"
#include "common/layout.h"
#include "common/timeutil.h"
#include "export/pkgfiles.h"
#include "retention/plan_int.h"
#include "retention/retention_int.h"
#include "retention/sigreq.h"
#include "search/index.h"

#define SKIP_LIST_MAX 1000 /* seqs listed per skip reason in reports and certificates */

struct skips {
	json_t *held;          /* [{"seq", "holds"}] */
	json_t *not_due;       /* [seq] */
	json_t *deleted;       /* [seq] already stubs */
	uint64_t nheld, nnot_due, ndeleted;
};

static void skip_add(json_t *arr, uint64_t *count, json_t *v)
{
	if ((*count)++ < SKIP_LIST_MAX)
		json_array_append_new(arr, v);
	else
		json_decref(v);
}

static json_t *skips_json(const struct skips *k)
{
	return json_pack("{s:{s:I, s:O}, s:{s:I, s:O}, s:{s:I, s:O}}",
			 "held", "count", (json_int_t)k->nheld, "records", k->held,
			 "not_due", "count", (json_int_t)k->nnot_due, "seqs", k->not_due,
			 "already_deleted", "count", (json_int_t)k->ndeleted, "seqs", k->deleted);
}

/* What the execution re-check needs for each planned record. */
struct check_ctx {
	struct store *st;
	struct ret_state *s;
	const struct ret_plan *p;
	const struct ret_rules *rules;
	int64_t now_ms;
	struct ret_scratch *sc;
	struct skips *k;
	const struct ret_item *items;  /* sorted by seq, parallel to the walked seqs */
	struct ret_sigreq_follow fw;   /* a signed request's evidence goes only with all of it */
	struct ret_items *del;         /* still to delete */
	struct ret_items *tr;          /* still to offer */
};

/* Checks one planned record now: still to do (added to del or tr), or
 * skipped (noted in k). */
static int recheck(void *arg, size_t idx, const struct store_entry *e, struct cu_err *err)
{
	struct check_ctx *c = arg;
	const struct ret_item *x = &c->items[idx];
	const struct ret_policy *w;
	struct rec_view v;
	struct ret_recinfo ri;
	uint64_t ids[16], held;
	int64_t due;
	size_t nh, i;
	int rc, evidence, still_due;

	if (e->is_stub) {
		skip_add(c->k->deleted, &c->k->ndeleted, json_integer((json_int_t)x->seq));
		return 0;
	}
	if (memcmp(e->leaf, x->leaf, HASH_LEN) != 0)
		return cu_err_set(err, CU_ECORRUPT, "record %llu: its leaf hash differs from the one in plan %llu",
				  (unsigned long long)x->seq, (unsigned long long)c->p->id);
	rc = rec_decode(e->bytes, e->len, &v, err);
	if (rc)
		return rc;
	if (rec_kind_is_archive(v.kind))
		return cu_err_set(err, CU_ECORRUPT, "plan %llu names record %llu, an archive record",
				  (unsigned long long)c->p->id, (unsigned long long)x->seq);
	ret_recinfo_from(&v, e->seq, c->sc, &ri);
	evidence = ret_sigreq_begin(&c->fw, &v);
	rc = ret_sigreq_holds(c->st, c->s, &ri, &v, ids, 16, &held, err);
	if (rc < 0)
		return rc;
	nh = (size_t)rc;
	if (nh) {
		json_t *hl = json_array();
		for (i = 0; hl && i < nh && i < 16; i++)
			json_array_append_new(hl, json_integer((json_int_t)ids[i]));
		skip_add(c->k->held, &c->k->nheld, json_pack("{s:I, s:o}", "seq", (json_int_t)x->seq, "holds", hl));
		return 0;
	}
	if (!strcmp(c->p->type, "disposition")) {
		/* the evidence of a signed request was planned with its
		 * request: it goes if every record of it planned still goes */
		if (evidence) {
			still_due = c->fw.all_in;
		} else {
			w = ret_rules_winner(c->rules, &ri, &due);
			still_due = w && due <= c->now_ms && !(c->p->automatic && w->approval_required) &&
				    w->action != RET_REVIEW &&
				    !(x->action == RET_TRANSFER && w->action != RET_TRANSFER) &&
				    !(x->action == RET_DESTROY && !x->offer && w->action != RET_DESTROY);
		}
		if (!still_due) {
			skip_add(c->k->not_due, &c->k->nnot_due, json_integer((json_int_t)x->seq));
			return 0;
		}
		if (x->offer) {
			const struct ret_offer *o = ret_state_offer(c->s, x->offer);
			if (!o || !ret_offer_settled(o, c->now_ms)) {
				skip_add(c->k->not_due, &c->k->nnot_due, json_integer((json_int_t)x->seq));
				return 0;
			}
		}
	}
	/* an erasure order does not depend on the policies */
	if (ret_items_add(x->action == RET_TRANSFER ? c->tr : c->del, x) != 0)
		return cu_err_set(err, CU_ENOMEM, "retention: out of memory");
	ret_sigreq_went(&c->fw, x, 0);
	return 0;
}

/* Resume: notes records of a certificate that are still there and now
 * under hold. */
static int held_now(void *arg, size_t idx, const struct store_entry *e, struct cu_err *err)
{
	struct check_ctx *c = arg;
	struct rec_view v;
	struct ret_recinfo ri;
	uint64_t ids[16], held;
	int rc;
	size_t nh;

	(void)idx;
	if (e->is_stub)
		return 0;
	if (rec_decode(e->bytes, e->len, &v, err) != 0)
		return CU_ECORRUPT;
	ret_recinfo_from(&v, e->seq, c->sc, &ri);
	rc = ret_sigreq_holds(c->st, c->s, &ri, &v, ids, 16, &held, err);
	if (rc < 0)
		return rc;
	nh = (size_t)rc;
	if (nh)
		skip_add(c->k->held, &c->k->nheld, json_pack("{s:I}", "seq", (json_int_t)e->seq));
	return 0;
}

/* Adds the name s to the array a unless it is there. */
static void add_name(json_t *a, const char *s)
{
	size_t i;

	for (i = 0; i < json_array_size(a); i++)
		if (!strcmp(json_string_value(json_array_get(a, i)), s))
			return;
	json_array_append_new(a, json_string(s));
}

/* Finds (dry_run) or removes the packages holding one of the records of
 * del: in DATADIR/exports and DATADIR/transfers by their record lists,
 * and the packages of transfer offers written elsewhere (--package-dir)
 * by the offers' seqs. Their names are added to names. */
static int packages_sweep(struct store *st, const struct ret_state *s, const struct ret_items *del, int dry_run,
			  json_t *names, struct cu_err *err)
{
	static const char *const dirs[] = {LAYOUT_EXPORTS_DIR, LAYOUT_TRANSFERS_DIR};
	char dir[4096];
	json_t *found = json_array();
	uint64_t *seqs = calloc(del->n + 1, sizeof(*seqs));
	size_t i, k, n = del->n;
	int rc = 0;

	if (!found || !seqs) {
		json_decref(found);
		free(seqs);
		return cu_err_set(err, CU_ENOMEM, "retention: out of memory");
	}
	for (i = 0; i < n; i++)
		seqs[i] = del->v[i].seq;
	for (i = 0; rc == 0 && i < 2; i++) {
		snprintf(dir, sizeof(dir), "%s/%s", store_dir(st), dirs[i]);
		rc = exp_pkg_sweep(dir, dirs[i], store_data_key(st), seqs, n, INT64_MIN, dry_run, found, err);
	}
	snprintf(dir, sizeof(dir), "%s/" LAYOUT_TRANSFERS_DIR "/", store_dir(st));
	for (i = 0; rc == 0 && i < s->noffers; i++) {
		const struct ret_offer *o = &s->offers[i];
		struct stat sb;

		if (!o->package || !strncmp(o->package, dir, strlen(dir)) || lstat(o->package, &sb) != 0)
			continue;
		for (k = 0; k < n && !ret_u64_has(o->seqs, o->nseqs, seqs[k]); k++)
			;
		if (k == n)
			continue;
		json_array_append_new(found, json_string(o->package));
		if (!dry_run)
			rc = exp_pkg_remove(o->package, err);
	}
	for (i = 0; i < json_array_size(found); i++)
		add_name(names, json_string_value(json_array_get(found, i)));
	json_decref(found);
	free(seqs);
	return rc;
}

static const char *exec_person(const struct ret_exec_opts *o, const struct ret_plan *p)
{
	if (o && o->by && *o->by)
		return o->by;
	return p->automatic ? RET_SCHEDULER : "(not named)";
}

/* Appends the signed certificate for del. */
static int write_certificate(struct store *st, const struct ret_plan *p, struct ret_items *del,
			     const struct skips *k, json_t *packages, const struct ret_exec_opts *opts,
			     int64_t now_ms, uint64_t *cert_seq, struct cu_err *err)
{
	uint8_t sig[KEY_SIG_LEN], pub[KEY_PUB_LEN];
	char hex[2 * HASH_LEN + 1], body[RET_TEXT_MAX + 600], policies[300] = "";
	char *text = NULL, *sigb = NULL, *pubb = NULL, *auth = NULL;
	json_t *c = NULL, *groups = NULL, *a = NULL;
	size_t i;
	int rc;

	rc = ret_items_digest(del, hex);
	if (rc) {
		rc = cu_err_set(err, rc, "retention: cannot hash the certificate");
		goto out;
	}
	groups = ret_items_groups(del, "erasure order");
	c = groups ? json_pack("{s:s, s:I, s:s, s:s, s:O, s:I, s:s, s:s, s:I, s:b, s:I, s:s}", "op", "deletion",
			       "plan", (json_int_t)p->id, "type", p->type, "archive", store_origin(st), "groups",
			       groups, "count", (json_int_t)del->n, "digest", hex, "planned_by", p->by,
			       "planned_at", (json_int_t)p->at_ms, "automatic", p->automatic, "executed_at",
			       (json_int_t)now_ms, "executed_by", exec_person(opts, p)) : NULL;
	if (c) {
		json_object_set_new(c, "approved_by", p->approval_seq ? json_string(p->approved_by) : json_null());
		json_object_set_new(c, "approved_at", p->approval_seq ? json_integer(p->approved_ms) : json_null());
		json_object_set_new(c, "approval", p->approval_seq ? json_integer((json_int_t)p->approval_seq)
								    : json_null());
		json_object_set_new(c, "skipped", skips_json(k));
		json_object_set(c, "packages", packages);
		if (json_object_get(p->doc, "derived"))
			json_object_set(c, "derived", json_object_get(p->doc, "derived"));
		if (!strcmp(p->type, "erasure"))
			json_object_set_new(c, "order", json_pack("{s:O, s:O}", "reason",
								  json_object_get(p->doc, "reason"), "selection",
								  json_object_get(p->doc, "selection")));
		json_object_set_new(c, "v", json_integer(RET_FORMAT));
	}
	text = c ? ret_meta_text(c) : NULL;
	if (!text) {
		rc = cu_err_set(err, CU_ENOMEM, "retention: out of memory");
		goto out;
	}
	if (key_sign(store_key(st), text, strlen(text), sig) != 0 || key_public_raw(store_key(st), pub) != 0) {
		rc = cu_err_set(err, CU_ECRYPTO, "cannot sign the deletion certificate with the archive key");
		goto out;
	}
	sigb = b64_encode(sig, sizeof(sig));
	pubb = b64_encode(pub, sizeof(pub));
	a = sigb && pubb ? json_pack("{s:s, s:s, s:s, s:s}", "alg", "Ed25519", "signed", "meta", "public_key", pubb,
				     "sig", sigb) : NULL;
	auth = a ? json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	if (!auth) {
		rc = cu_err_set(err, CU_ENOMEM, "retention: out of memory");
		goto out;
	}
	for (i = 0; i < json_array_size(groups); i++) {
		const char *pn = json_string_value(json_object_get(json_array_get(groups, i), "policy"));
		size_t l = strlen(policies);
		if (pn && l + strlen(pn) + 3 < sizeof(policies))
			snprintf(policies + l, sizeof(policies) - l, "%s%s", l ? ", " : "", pn);
	}
	if (!strcmp(p->type, "erasure"))
		snprintf(body, sizeof(body), "deletion certificate: %zu records erased by order (plan %llu by %s,"
			 " approved by %s): %s", del->n, (unsigned long long)p->id, p->by,
			 p->approved_by ? p->approved_by : "-", json_string_value(json_object_get(p->doc, "reason")));
	else
		snprintf(body, sizeof(body), "deletion certificate: %zu records deleted under policy %s (plan %llu"
			 " by %s, %s%s)", del->n, policies, (unsigned long long)p->id, p->by,
			 p->automatic ? "automatic: approval none" : "approved by ",
			 p->automatic ? "" : (p->approved_by ? p->approved_by : "-"));
	rc = ret_append_text(st, REC_DELETION, text, body, exec_person(opts, p), now_ms, auth, cert_seq, err);
out:
	free(text);
	free(sigb);
	free(pubb);
	free(auth);
	json_decref(a);
	json_decref(c);
	json_decref(groups);
	return rc;
}

/* Writes the package and the offer record for the transfer items. */
static int make_offer(struct store *st, const struct ret_plan *p, struct ret_items *tr,
		      const struct ret_exec_opts *opts, int64_t now_ms, uint64_t *offer_seq, struct cu_err *err)
{
	char dir[4096], pkg[4200], hex[2 * HASH_LEN + 1], when[40], body[600];
	uint64_t *seqs = calloc(tr->n + 1, sizeof(*seqs));
	int64_t deadline = now_ms + (opts && opts->respond_ms > 0 ? opts->respond_ms
								  : (int64_t)RET_OFFER_DEFAULT_DAYS * 86400000);
	json_t *m = NULL, *groups = NULL;
	size_t i;
	int rc;

	if (!seqs)
		return cu_err_set(err, CU_ENOMEM, "retention: out of memory");
	for (i = 0; i < tr->n; i++)
		seqs[i] = tr->v[i].seq;
	if (opts && opts->package_dir && *opts->package_dir)
		snprintf(dir, sizeof(dir), "%s", opts->package_dir);
	else
		snprintf(dir, sizeof(dir), "%s/" LAYOUT_TRANSFERS_DIR, store_dir(st));
	snprintf(pkg, sizeof(pkg), "%s/transfer-plan-%llu.tar", dir, (unsigned long long)p->id);
	rc = ret_package_write(st, dir, pkg, p->id, seqs, tr->n, exec_person(opts, p), hex, err);
	if (rc)
		goto out;
	groups = ret_items_groups(tr, "policy");
	m = groups ? json_pack("{s:s, s:I, s:O, s:O, s:s, s:s, s:I, s:I}", "op", "transfer.offer", "plan",
			       (json_int_t)p->id, "seqs", json_object_get(json_array_get(groups, 0), "seqs"),
			       "groups", groups, "package", pkg, "package_digest", hex, "deadline",
			       (json_int_t)deadline, "count", (json_int_t)tr->n) : NULL;
	if (m && json_array_size(groups) > 1) {
		/* several policies: the seqs of all groups */
		json_t *all = json_array();
		for (i = 0; all && i < tr->n; i++)
			json_array_append_new(all, json_integer((json_int_t)seqs[i]));
		json_object_set_new(m, "seqs", all);
	}
	if (!m) {
		rc = cu_err_set(err, CU_ENOMEM, "retention: out of memory");
		goto out;
	}
	time_format_rfc3339(deadline, when, sizeof(when));
	snprintf(body, sizeof(body), "transfer offer: %zu records offered to the public archive (plan %llu);"
		 " answer due by %s", tr->n, (unsigned long long)p->id, when);
	rc = ret_append(st, REC_EXPORT, m, body, exec_person(opts, p), now_ms, NULL, offer_seq, err);
out:
	free(seqs);
	json_decref(m);
	json_decref(groups);
	return rc;
}

int ret_execute_locked(struct store *st, struct idx *ix, uint64_t plan_id, const struct ret_exec_opts *opts,
		       int64_t now_ms, json_t **out, struct cu_err *err)
{
	struct ret_state *s = NULL;
	struct ret_plan *p;
	struct ret_rules rules;
	struct ret_items planned, del, tr;
	struct ret_scratch *sc = malloc(sizeof(*sc));
	struct skips k;
	struct idx *opened = NULL;
	struct check_ctx cc;
	uint64_t cert_seq = 0, offer_seq = 0, *seqs = NULL;
	size_t i, n, erased = 0;
	int rc, resumed = 0;
	char warn[600] = "", hex[2 * HASH_LEN + 1];
	json_t *pk_named = json_array(), *pk_removed = json_array();

	*out = NULL;
	memset(&rules, 0, sizeof(rules));
	memset(&planned, 0, sizeof(planned));
	memset(&del, 0, sizeof(del));
	memset(&tr, 0, sizeof(tr));
	memset(&k, 0, sizeof(k));
	memset(&cc, 0, sizeof(cc));
	k.held = json_array();
	k.not_due = json_array();
	k.deleted = json_array();
	if (!sc || !k.held || !k.not_due || !k.deleted || !pk_named || !pk_removed) {
		rc = cu_err_set(err, CU_ENOMEM, "retention: out of memory");
		goto out;
	}
	rc = ret_state_load(st, &s, err);
	if (rc)
		goto out;
	p = ret_state_plan(s, plan_id);
	if (!p) {
		rc = cu_err_set(err, CU_ENOTFOUND, "record %llu is not a plan (see custos retention plans)",
				(unsigned long long)plan_id);
		goto out;
	}
	if (!strcmp(p->type, "change")) {
		rc = cu_err_set(err, CU_ESTATE, "plan %llu is a change (policy, class or hold release): it takes effect with its approval",
				(unsigned long long)plan_id);
		goto out;
	}
	if (!p->approval_seq && !p->automatic) {
		rc = cu_err_set(err, CU_EDENIED, "plan %llu needs the approval of a second person first"
				" (custos retention approve %llu --by NAME)", (unsigned long long)plan_id,
				(unsigned long long)plan_id);
		goto out;
	}
	if (p->cert_seq) {
		/* Resume: the certificate names exactly what goes. */
		size_t c;

		for (c = 0; c < s->ncerts && s->certs[c].id != p->cert_seq; c++)
			;
		if (c == s->ncerts ||
		    ret_items_from_groups(json_object_get(s->certs[c].doc, "groups"), &del) != 0) {
			rc = cu_err_set(err, CU_ECORRUPT, "certificate %llu of plan %llu cannot be read",
					(unsigned long long)p->cert_seq, (unsigned long long)plan_id);
			goto out;
		}
		cert_seq = p->cert_seq;
		offer_seq = p->offer_seq;
		resumed = 1;
		/* A hold placed between the crash and this run still wins:
		 * the certificate's remaining records are left alone until it
		 * is released. */
		rc = ret_holds_resolve(s, st, ix, err);
		if (rc)
			goto out;
		rc = ret_items_digest(&del, hex); /* sorts by seq */
		seqs = calloc(del.n + 1, sizeof(*seqs));
		if (rc == 0 && !seqs)
			rc = CU_ENOMEM;
		if (rc) {
			rc = cu_err_set(err, rc, "retention: out of memory");
			goto out;
		}
		for (i = 0; i < del.n; i++)
			seqs[i] = del.v[i].seq;
		cc.st = st;
		cc.s = s;
		cc.sc = sc;
		cc.k = &k;
		rc = ret_walk_seqs(st, seqs, del.n, held_now, &cc, err);
		free(seqs);
		seqs = NULL;
		if (rc == 0 && k.nheld)
			rc = cu_err_set(err, CU_EDENIED, "certificate %llu of plan %llu was written, but %llu of its"
					" records not yet deleted are now under legal hold (the first: record %lld):"
					" they stay until the hold is released; execute again then",
					(unsigned long long)cert_seq, (unsigned long long)plan_id,
					(unsigned long long)k.nheld,
					(long long)json_integer_value(json_object_get(json_array_get(k.held, 0), "seq")));
		if (rc)
			goto out;
	} else {
		rc = ret_items_from_groups(json_object_get(p->doc, "groups"), &planned);
		if (rc) {
			rc = cu_err_set(err, rc, "plan %llu cannot be read", (unsigned long long)plan_id);
			goto out;
		}
		if (ret_rules_current(s, &rules) != 0) {
			rc = cu_err_set(err, CU_ENOMEM, "retention: out of memory");
			goto out;
		}
		rc = ret_holds_resolve(s, st, ix, err);
		if (rc)
			goto out;
		/* offered already (a re-run after a crash): only the rest */
		for (i = n = 0; i < planned.n; i++)
			if (!(planned.v[i].action == RET_TRANSFER && p->offer_seq))
				planned.v[n++] = planned.v[i];
		planned.n = n;
		rc = ret_items_digest(&planned, hex); /* sorts by seq */
		seqs = calloc(planned.n + 1, sizeof(*seqs));
		if (rc == 0 && !seqs)
			rc = CU_ENOMEM;
		if (rc) {
			rc = cu_err_set(err, rc, "retention: out of memory");
			goto out;
		}
		for (i = 0; i < planned.n; i++)
			seqs[i] = planned.v[i].seq;
		cc.st = st;
		cc.s = s;
		cc.p = p;
		cc.rules = &rules;
		cc.now_ms = now_ms;
		cc.sc = sc;
		cc.k = &k;
		cc.items = planned.v;
		cc.del = &del;
		cc.tr = &tr;
		rc = ret_walk_seqs(st, seqs, planned.n, recheck, &cc, err);
		free(seqs);
		seqs = NULL;
		if (rc)
			goto out;
		offer_seq = p->offer_seq;
		if (tr.n) {
			rc = make_offer(st, p, &tr, opts, now_ms, &offer_seq, err);
			if (rc)
				goto out;
		}
		if (del.n) {
			rc = packages_sweep(st, s, &del, 1, pk_named, err);
			if (rc == 0)
				rc = write_certificate(st, p, &del, &k, pk_named, opts, now_ms, &cert_seq, err);
			if (rc)
				goto out;
		}
	}
	if (del.n) {
		seqs = calloc(del.n, sizeof(*seqs));
		if (!seqs) {
			rc = cu_err_set(err, CU_ENOMEM, "retention: out of memory");
			goto out;
		}
		for (i = 0; i < del.n; i++)
			seqs[i] = del.v[i].seq;
		/* The copies first: the certificate names them. */
		rc = packages_sweep(st, s, &del, 0, pk_removed, err);
		if (rc)
			goto out;
		rc = ret_index_ready(st, &ix, &opened, err);
		if (rc == 0)
			rc = idx_delete(ix, st, seqs, del.n, err);
		if (rc == CU_ESTATE) {
			/* rows and words are deleted; only the WAL could not be
			 * emptied because readers hold it */
			snprintf(warn, sizeof(warn), "%s", err ? err->msg : "index WAL not emptied");
			if (err)
				cu_err_clear(err);
			rc = 0;
		}
		if (rc)
			goto out;
		rc = store_erase(st, seqs, del.n, cert_seq, &erased, err);
		if (rc == 0) /* packages an export wrote meanwhile */
			rc = packages_sweep(st, s, &del, 0, pk_removed, err);
		if (rc)
			goto out;
		/* transfer packages whose records are now destroyed */
		for (i = 0; i < del.n; i++) {
			struct ret_offer *o = del.v[i].offer ? ret_state_offer(s, del.v[i].offer) : NULL;

			if (o && o->package) {
				struct stat sb;

				if (lstat(o->package, &sb) == 0)
					add_name(pk_removed, o->package);
				if (ret_package_remove(o->package, NULL) != 0 && !warn[0])
					snprintf(warn, sizeof(warn), "transfer package %s could not be removed",
						 o->package);
				o->package = NULL;
			}
		}
	}
	*out = json_pack("{s:I, s:s, s:o, s:I, s:I, s:o, s:I, s:b, s:o}", "plan", (json_int_t)plan_id, "type",
			 p->type, "certificate", cert_seq ? json_integer((json_int_t)cert_seq) : json_null(),
			 "records", (json_int_t)del.n, "erased_now", (json_int_t)erased, "offer",
			 offer_seq ? json_integer((json_int_t)offer_seq) : json_null(), "offered", (json_int_t)tr.n,
			 "resumed", resumed, "skipped", skips_json(&k));
	if (*out && warn[0])
		json_object_set_new(*out, "warning", json_string(warn));
	if (*out)
		json_object_set(*out, "packages_removed", pk_removed);
	if (!*out)
		rc = cu_err_set(err, CU_ENOMEM, "retention: out of memory");
out:
	if (opened)
		idx_close(opened);
	json_decref(pk_named);
	json_decref(pk_removed);
	json_decref(k.held);
	json_decref(k.not_due);
	json_decref(k.deleted);
	ret_items_release(&planned);
	ret_items_release(&del);
	ret_items_release(&tr);
	free(rules.pol);
	free(seqs);
	free(sc);
	ret_state_free(s);
	return rc;
}

int ret_execute(struct store *st, struct idx *ix, uint64_t plan_id, const struct ret_exec_opts *opts,
		int64_t now_ms, json_t **out, struct cu_err *err)
{
	int rc;

	*out = NULL;
	if (opts && opts->by && *opts->by) {
		rc = ret_check_person(opts->by, err);
		if (rc)
			return rc;
	}
	pthread_mutex_lock(&ret_lock);
	rc = ret_execute_locked(st, ix, plan_id, opts, now_ms, out, err);
	pthread_mutex_unlock(&ret_lock);
	return rc;
}

int ret_run_automatic(struct store *st, struct idx *ix, int64_t now_ms, json_t **out, struct cu_err *err)
{
	struct ret_exec_opts opts;
	struct ret_state *s = NULL;
	json_t *plan = NULL, *ex = NULL, *rep = NULL, *expired = NULL;
	uint64_t plan_id = 0;
	int rc;

	if (out)
		*out = NULL;
	memset(&opts, 0, sizeof(opts));
	opts.by = RET_SCHEDULER;
	pthread_mutex_lock(&ret_lock);
	rc = ret_state_load(st, &s, err);
	if (rc == 0)
		rc = ret_plan_make(st, ix, s, RET_SCHEDULER, 0, 1, now_ms, &plan_id, &plan, err);
	if (rc == 0 && plan_id)
		rc = ret_execute_locked(st, ix, plan_id, &opts, now_ms, &ex, err);
	pthread_mutex_unlock(&ret_lock);
	/* The retention run also removes expired export packages. */
	expired = json_array();
	if (rc == 0 && !expired)
		rc = cu_err_set(err, CU_ENOMEM, "retention: out of memory");
	if (rc == 0)
		rc = exp_pkg_expire(store_dir(st), NULL, store_data_key(st), now_ms, expired, err);
	if (rc == 0 && out) {
		rep = json_pack("{s:o, s:O, s:o, s:O}", "plan", plan_id ? json_integer((json_int_t)plan_id) : json_null(),
				"count", json_object_get(plan, "count"), "execution", ex ? ex : json_null(),
				"packages_expired", expired);
		ex = NULL;
		if (!rep)
			rc = cu_err_set(err, CU_ENOMEM, "retention: out of memory");
		*out = rep;
	}
	json_decref(plan);
	json_decref(ex);
	json_decref(expired);
	ret_state_free(s);
	return rc;
}

/* ---- certificates --------------------------------------------------- */

/* 1 if cert's signature verifies with the archive key, 0 if not. */
static int cert_valid(struct store *st, const struct ret_cert *c)
{
	json_t *a = c->auth ? json_loads(c->auth, 0, NULL) : NULL;
	const char *sb = json_string_value(json_object_get(a, "sig"));
	uint8_t *sig = NULL;
	size_t n = 0;
	int ok = 0;

	if (sb && b64_decode(sb, strlen(sb), KEY_SIG_LEN, &sig, &n) == 0 && n == KEY_SIG_LEN)
		ok = key_verify(store_key(st), c->meta, c->meta_len, sig) == 0;
	free(sig);
	json_decref(a);
	return ok;
}

int ret_certificates_json(struct store *st, json_t **out, struct cu_err *err)
{
	struct ret_state *s = NULL;
	json_t *arr;
	size_t i;
	int rc;

	*out = NULL;
	rc = ret_state_load(st, &s, err);
	if (rc)
		return rc;
	arr = json_array();
	for (i = 0; arr && i < s->ncerts; i++) {
		const struct ret_cert *c = &s->certs[i];
		json_t *doc = json_loadb(c->meta, c->meta_len, 0, NULL);

		json_array_append_new(arr, json_pack("{s:I, s:b, s:o}", "id", (json_int_t)c->id, "signature_valid",
						     cert_valid(st, c), "certificate", doc ? doc : json_null()));
	}
	*out = arr ? json_pack("{s:o}", "certificates", arr) : NULL;
	ret_state_free(s);
	return *out ? 0 : cu_err_set(err, CU_ENOMEM, "retention: out of memory");
}

int ret_certificate_export(struct store *st, uint64_t cert_id, char **text, size_t *len, uint8_t sig[64],
			   struct cu_err *err)
{
	struct ret_state *s = NULL;
	json_t *a = NULL;
	uint8_t *raw = NULL;
	size_t i, n = 0;
	const char *sb;
	int rc;

	*text = NULL;
	rc = ret_state_load(st, &s, err);
	if (rc)
		return rc;
	for (i = 0; i < s->ncerts && s->certs[i].id != cert_id; i++)
		;
	if (i == s->ncerts) {
		rc = cu_err_set(err, CU_ENOTFOUND, "record %llu is not a deletion certificate",
				(unsigned long long)cert_id);
		goto out;
	}
	a = s->certs[i].auth ? json_loads(s->certs[i].auth, 0, NULL) : NULL;
	sb = json_string_value(json_object_get(a, "sig"));
	if (!sb || b64_decode(sb, strlen(sb), KEY_SIG_LEN, &raw, &n) != 0 || n != KEY_SIG_LEN) {
		rc = cu_err_set(err, CU_ECORRUPT, "certificate %llu carries no readable signature",
				(unsigned long long)cert_id);
		goto out;
	}
	memcpy(sig, raw, KEY_SIG_LEN);
	*text = s->certs[i].meta;
	*len = s->certs[i].meta_len;
	s->certs[i].meta = NULL; /* taken */
out:
	free(raw);
	json_decref(a);
	ret_state_free(s);
	return rc;
}
