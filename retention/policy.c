/* policy.c - retention policies and conversation classes: adding,
 * retiring, labelling, and the approval rule for changes that would
 * shorten the retention of records already archived.
 *
 * Under the longest-retention-wins rule, adding a policy can only keep
 * records longer (or give a period to records no policy covered, which
 * were kept for ever and are not "under an older, longer rule"). Retiring
 * a policy or relabelling a conversation can shorten: those are checked
 * record by record against the current rules, and a change that shortens
 * any record is stored as a plan of type "change" that takes effect when a
 * second person approves it.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/timeutil.h"
#include "retention/retention_int.h"

static int check_name(const char *what, const char *s, struct cu_err *err)
{
	const char *p;

	if (!s || !*s)
		return cu_err_set(err, CU_EINVAL, "%s is required", what);
	if (strlen(s) > RET_NAME_MAX)
		return cu_err_set(err, CU_ETOOBIG, "%s is longer than %d bytes", what, RET_NAME_MAX);
	for (p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._-:", *p))
			return cu_err_set(err, CU_EINVAL, "%s '%s': use letters, digits and . _ - : only", what, s);
	return 0;
}

/* A pending (unapproved, unrejected) change plan whose change is op on
 * key = value; key "policy" looks at the policy's name. */
static const struct ret_plan *pending_change(const struct ret_state *s, const char *op, const char *key,
					     const char *value)
{
	size_t i;

	for (i = 0; i < s->nplans; i++) {
		const struct ret_plan *p = &s->plans[i];
		json_t *ch = json_object_get(p->doc, "change");
		const char *o = json_string_value(json_object_get(ch, "op"));
		const char *v;

		if (strcmp(p->type, "change") != 0 || p->approval_seq || p->rejection_seq || !o || strcmp(o, op) != 0)
			continue;
		v = !strcmp(key, "policy") ? json_string_value(json_object_get(json_object_get(ch, "policy"), "name"))
					   : json_string_value(json_object_get(ch, key));
		if (v && !strcmp(v, value))
			return p;
	}
	return NULL;
}

int ret_store_change(struct store *st, json_t *op, const char *body, const char *by, int64_t now_ms,
		     const char *why, struct ret_change *out, struct cu_err *err)
{
	json_t *plan = NULL;
	char line[900];
	int rc;

	out->pending = 0;
	out->why = NULL;
	if (!why)
		return ret_append(st, REC_POLICY, op, body, by, now_ms, NULL, &out->seq, err);
	plan = json_pack("{s:s, s:s, s:O, s:I, s:I, s:s}", "op", "plan", "type", "change", "change", op,
			 "shortened", (json_int_t)out->shortened, "as_of", (json_int_t)now_ms, "why", why);
	if (!plan)
		return cu_err_set(err, CU_ENOMEM, "retention: out of memory");
	snprintf(line, sizeof(line), "change awaiting a second person's approval (%s): %s", why, body);
	rc = ret_append(st, REC_PLAN, plan, line, by, now_ms, NULL, &out->seq, err);
	out->pending = rc == 0;
	out->why = rc == 0 ? why : NULL;
	json_decref(plan);
	return rc;
}

static int set_opt(json_t *o, const char *key, const char *v)
{
	if (!v || !*v)
		return 0;
	return json_object_set_new(o, key, json_string(v));
}

static const char *const SCOPE_NAMES[4] = {"--conversation (conversations)",
					   "--conversation-pattern (conversation_patterns)",
					   "--sender (senders)", "--sender-pattern (sender_patterns)"};

/* Why a change needs a second person: static texts, stored in the plan. */
#define WHY_AUTOMATIC "a policy with approval none lets the scheduler delete without a second person"
#define WHY_SOONER "archived records would become deletable sooner or with fewer eyes"
#define WHY_RETIRE "retiring a policy can shorten the retention of records, archived or to come"

int ret_policy_add(struct store *st, const struct ret_policy_spec *spec, const char *by, int64_t now_ms,
		   struct ret_change *out, struct cu_err *err)
{
	struct ret_state *s = NULL;
	struct ret_rules before, after;
	struct ret_policy np;
	json_t *pj = NULL, *op = NULL;
	char keep[16], body[1200], scope[700];
	const char *why = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&before, 0, sizeof(before));
	memset(&after, 0, sizeof(after));
	memset(&np, 0, sizeof(np));
	rc = check_name("the policy name (--name)", spec->name, err);
	if (rc == 0)
		rc = ret_check_person(by, err);
	if (rc == 0)
		rc = ret_check_text("--platform", spec->platform, 64, 1, err);
	if (rc == 0)
		rc = ret_scope_check(&spec->scope, SCOPE_NAMES, err);
	if (rc == 0 && spec->class_label)
		rc = check_name("the class (--class)", spec->class_label, err);
	if (rc)
		return rc;
	if (spec->action != RET_DESTROY && spec->action != RET_TRANSFER && spec->action != RET_REVIEW)
		return cu_err_set(err, CU_EINVAL, "--action must be destroy, transfer or review");
	if (spec->keep.n < 1 || spec->keep.n > 1000 || !strchr("dwmy", spec->keep.unit) || !spec->keep.unit)
		return cu_err_set(err, CU_EINVAL, "--keep is not a valid period");
	ret_duration_format(&spec->keep, keep, sizeof(keep));
	pj = json_pack("{s:s, s:s, s:s, s:s}", "name", spec->name, "keep", keep, "action",
		       ret_action_name(spec->action), "approval", spec->approval_required ? "required" : "none");
	if (!pj || set_opt(pj, "platform", spec->platform) || ret_scope_to_json(&spec->scope, pj) ||
	    set_opt(pj, "class", spec->class_label) || ret_policy_from_json(pj, &np) != 0) {
		rc = cu_err_set(err, CU_ENOMEM, "retention: out of memory");
		goto out;
	}
	op = json_pack("{s:s, s:O}", "op", "policy.add", "policy", pj);
	if (!op) {
		rc = cu_err_set(err, CU_ENOMEM, "retention: out of memory");
		goto out;
	}
	pthread_mutex_lock(&ret_lock);
	rc = ret_state_load(st, &s, err);
	if (rc == 0 && (ret_state_policy(s, spec->name) || pending_change(s, "policy.add", "policy", spec->name)))
		rc = cu_err_set(err, CU_EEXIST, "a policy named '%s' exists already; retire it first",
				spec->name);
	if (rc == 0 && (ret_rules_current(s, &before) != 0 || ret_rules_current(s, &after) != 0))
		rc = cu_err_set(err, CU_ENOMEM, "retention: out of memory");
	if (rc == 0) {
		/* the rules with the new policy (room for it was left) */
		after.pol[after.npol++] = &np;
		rc = ret_change_effect(st, &before, &after, &np, &out->shortened, &out->records, err);
	}
	if (rc == 0) {
		if (!np.approval_required && np.action != RET_REVIEW)
			why = WHY_AUTOMATIC; /* whatever it covers today: it deletes what comes */
		else if (out->shortened)
			why = WHY_SOONER;
		ret_scope_describe(&spec->scope, scope, sizeof(scope));
		snprintf(body, sizeof(body), "policy %s added: keep %s%s%s%s%s%s, then %s (approval %s)",
			 spec->name, keep, spec->platform ? " on " : "", spec->platform ? spec->platform : "", scope,
			 spec->class_label ? " class " : "", spec->class_label ? spec->class_label : "",
			 ret_action_name(spec->action), spec->approval_required ? "required" : "none");
		rc = ret_store_change(st, op, body, by, now_ms, why, out, err);
	}
	pthread_mutex_unlock(&ret_lock);
out:
	ret_scope_release(&np.scope);
	free(before.pol);
	free(after.pol);
	ret_state_free(s);
	json_decref(pj);
	json_decref(op);
	return rc;
}

int ret_policy_retire(struct store *st, const char *name, const char *by, int64_t now_ms,
		      struct ret_change *out, struct cu_err *err)
{
	struct ret_state *s = NULL;
	struct ret_rules before, after;
	struct ret_policy *p;
	json_t *op = NULL;
	char body[300];
	size_t i, j;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&before, 0, sizeof(before));
	memset(&after, 0, sizeof(after));
	rc = check_name("the policy name", name, err);
	if (rc == 0)
		rc = ret_check_person(by, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&ret_lock);
	rc = ret_state_load(st, &s, err);
	if (rc)
		goto out;
	p = ret_state_policy(s, name);
	if (!p) {
		rc = cu_err_set(err, CU_ENOTFOUND, "no active policy named '%s'", name);
		goto out;
	}
	if (pending_change(s, "policy.retire", "name", name)) {
		rc = cu_err_set(err, CU_EEXIST, "retiring '%s' awaits approval already", name);
		goto out;
	}
	if (ret_rules_current(s, &before) != 0 || ret_rules_current(s, &after) != 0) {
		rc = cu_err_set(err, CU_ENOMEM, "retention: out of memory");
		goto out;
	}
	for (i = j = 0; i < after.npol; i++)
		if (after.pol[i] != p)
			after.pol[j++] = after.pol[i];
	after.npol = j;
	/* For the approver: what it does to the records archived now. It
	 * needs the approval whatever the count: without the policy, records
	 * to come fall to shorter ones (retire all-10y, then add all-1y). */
	rc = ret_change_effect(st, &before, &after, NULL, &out->shortened, NULL, err);
	if (rc)
		goto out;
	op = json_pack("{s:s, s:s}", "op", "policy.retire", "name", name);
	if (!op) {
		rc = cu_err_set(err, CU_ENOMEM, "retention: out of memory");
		goto out;
	}
	snprintf(body, sizeof(body), "policy %s retired", name);
	rc = ret_store_change(st, op, body, by, now_ms, WHY_RETIRE, out, err);
out:
	pthread_mutex_unlock(&ret_lock);
	free(before.pol);
	free(after.pol);
	json_decref(op);
	ret_state_free(s);
	return rc;
}

int ret_class_set(struct store *st, const char *conversation, const char *label, const char *by,
		  int64_t now_ms, struct ret_change *out, struct cu_err *err)
{
	struct ret_state *s = NULL;
	struct ret_rules before, after;
	json_t *op = NULL;
	char body[RET_GLOB_MAX + 300];
	const char *old;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&before, 0, sizeof(before));
	memset(&after, 0, sizeof(after));
	if (label && !*label)
		label = NULL;
	rc = ret_check_text("the conversation", conversation, RET_GLOB_MAX, 0, err);
	if (rc == 0 && label)
		rc = check_name("the class", label, err);
	if (rc == 0)
		rc = ret_check_person(by, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&ret_lock);
	rc = ret_state_load(st, &s, err);
	if (rc)
		goto out;
	old = ret_state_class(s, conversation);
	if ((!old && !label) || (old && label && !strcmp(old, label))) {
		rc = cu_err_set(err, CU_ESTATE, "'%s' has that class already", conversation);
		goto out;
	}
	if (pending_change(s, "class.set", "conversation", conversation)) {
		rc = cu_err_set(err, CU_EEXIST, "a class change of '%s' awaits approval already", conversation);
		goto out;
	}
	if (ret_rules_current(s, &before) != 0 || ret_rules_current(s, &after) != 0) {
		rc = cu_err_set(err, CU_ENOMEM, "retention: out of memory");
		goto out;
	}
	after.override_conv = conversation;
	after.override_label = label;
	rc = ret_change_effect(st, &before, &after, NULL, &out->shortened, NULL, err);
	if (rc)
		goto out;
	op = json_pack("{s:s, s:s, s:o}", "op", "class.set", "conversation", conversation, "class",
		       label ? json_string(label) : json_null());
	if (!op) {
		rc = cu_err_set(err, CU_ENOMEM, "retention: out of memory");
		goto out;
	}
	snprintf(body, sizeof(body), "conversation %s: class %s", conversation, label ? label : "(none)");
	rc = ret_store_change(st, op, body, by, now_ms, out->shortened ? WHY_SOONER : NULL, out, err);
out:
	pthread_mutex_unlock(&ret_lock);
	free(before.pol);
	free(after.pol);
	json_decref(op);
	ret_state_free(s);
	return rc;
}

/* ---- listing -------------------------------------------------------- */

json_t *ret_pending_json(const struct ret_state *s, const char *const *ops, size_t nops)
{
	json_t *arr = json_array(), *o;
	size_t i, k;

	for (i = 0; arr && i < s->nplans; i++) {
		const struct ret_plan *p = &s->plans[i];
		json_t *ch = json_object_get(p->doc, "change");
		const char *op = json_string_value(json_object_get(ch, "op"));

		if (strcmp(p->type, "change") != 0 || p->approval_seq || p->rejection_seq || !op)
			continue;
		for (k = 0; k < nops; k++)
			if (!strcmp(op, ops[k]))
				break;
		if (k == nops)
			continue;
		o = json_pack("{s:I, s:O, s:s, s:I, s:O}", "plan", (json_int_t)p->id, "change", ch, "by", p->by,
			      "at", (json_int_t)p->at_ms, "shortened", json_object_get(p->doc, "shortened"));
		if (o && json_object_get(p->doc, "why"))
			json_object_set(o, "why", json_object_get(p->doc, "why"));
		json_array_append_new(arr, o);
	}
	return arr;
}

/* Counts, for each policy in v, the content records its criteria match. */
struct count_ctx {
	const struct ret_rules *rules;
	const struct ret_policy **v;
	size_t n;
	uint64_t *counts;
};

static int count_one(void *arg, const struct ret_recinfo *ri, struct cu_err *err)
{
	struct count_ctx *c = arg;
	size_t i;

	(void)err;
	for (i = 0; i < c->n; i++)
		if (ret_policy_matches(c->v[i], c->rules, ri))
			c->counts[i]++;
	return 0;
}

/* The policy object as listed: the stored one, its scope in the current
 * form (a first-wave "conversation" pattern shows as a pattern). */
static json_t *policy_obj(const struct ret_policy *p, uint64_t records)
{
	json_t *o = json_deep_copy(p->doc);

	if (!o)
		return NULL;
	json_object_del(o, "conversation");
	json_object_del(o, "sender");
	if (ret_scope_to_json(&p->scope, o) != 0) {
		json_decref(o);
		return NULL;
	}
	json_object_set_new(o, "id", json_integer((json_int_t)p->id));
	json_object_set_new(o, "by", json_string(p->by));
	json_object_set_new(o, "since", json_integer(p->since_ms));
	json_object_set_new(o, "status", json_string(p->retired ? "retired" : "active"));
	json_object_set_new(o, "records", json_integer((json_int_t)records));
	if (p->retired) {
		json_object_set_new(o, "retired_by", json_string(p->retired_by));
		json_object_set_new(o, "retired_at", json_integer(p->retired_ms));
	}
	return o;
}

int ret_policies_json(struct store *st, int include_inactive, json_t **out, struct cu_err *err)
{
	static const char *const ops[] = {"policy.add", "policy.retire"};
	struct ret_state *s = NULL;
	struct ret_rules rules;
	struct count_ctx c;
	json_t *arr = NULL;
	size_t i;
	int rc;

	*out = NULL;
	memset(&rules, 0, sizeof(rules));
	memset(&c, 0, sizeof(c));
	rc = ret_state_load(st, &s, err);
	if (rc)
		return rc;
	c.v = calloc(s->npol + 1, sizeof(*c.v));
	c.counts = calloc(s->npol + 1, sizeof(*c.counts));
	if (!c.v || !c.counts || ret_rules_current(s, &rules) != 0) {
		rc = cu_err_set(err, CU_ENOMEM, "retention: out of memory");
		goto out;
	}
	for (i = 0; i < s->npol; i++)
		if (!s->pol[i].retired || include_inactive)
			c.v[c.n++] = &s->pol[i];
	c.rules = &rules;
	/* What each policy covers, so that nobody relies on one covering nothing. */
	rc = ret_walk_content(st, s->size, count_one, &c, err);
	if (rc)
		goto out;
	arr = json_array();
	for (i = 0; arr && i < c.n; i++)
		json_array_append_new(arr, policy_obj(c.v[i], c.counts[i]));
	*out = json_pack("{s:o, s:o}", "policies", arr, "pending_changes", ret_pending_json(s, ops, 2));
	if (!*out)
		rc = cu_err_set(err, CU_ENOMEM, "retention: out of memory");
out:
	free(rules.pol);
	free(c.v);
	free(c.counts);
	ret_state_free(s);
	return rc;
}

int ret_classes_json(struct store *st, json_t **out, struct cu_err *err)
{
	static const char *const ops[] = {"class.set"};
	struct ret_state *s = NULL;
	json_t *arr;
	size_t i;
	int rc;

	*out = NULL;
	rc = ret_state_load(st, &s, err);
	if (rc)
		return rc;
	arr = json_array();
	for (i = 0; arr && i < s->ncls; i++)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:I}", "conversation", s->cls[i].conversation,
						     "class", s->cls[i].label, "by", s->cls[i].by, "seq",
						     (json_int_t)s->cls[i].seq));
	*out = json_pack("{s:o, s:o}", "classes", arr, "pending_changes", ret_pending_json(s, ops, 1));
	ret_state_free(s);
	return *out ? 0 : cu_err_set(err, CU_ENOMEM, "retention: out of memory");
}
