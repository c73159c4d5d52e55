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
#include "retention/ret_int.h"

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

/* A pending (unapproved) change plan whose change is op on name/conversation. */
static const struct ret_plan *pending_change(const struct ret_state *s, const char *op, const char *key,
					     const char *value)
{
	size_t i;

	for (i = 0; i < s->nplans; i++) {
		const struct ret_plan *p = &s->plans[i];
		json_t *ch = json_object_get(p->doc, "change");
		const char *o = json_string_value(json_object_get(ch, "op"));
		const char *v;

		if (strcmp(p->type, "change") != 0 || p->approval_seq || !o || strcmp(o, op) != 0)
			continue;
		v = !strcmp(key, "policy") ? json_string_value(json_object_get(json_object_get(ch, "policy"), "name"))
					   : json_string_value(json_object_get(ch, key));
		if (v && !strcmp(v, value))
			return p;
	}
	return NULL;
}

/* Stores a change: directly, or as a change plan when it shortens. */
static int store_change(struct store *st, json_t *op, const char *body, const char *by, int64_t now_ms,
			uint64_t shortened, struct ret_change *out, struct cu_err *err)
{
	json_t *plan = NULL;
	char line[600];
	int rc;

	memset(out, 0, sizeof(*out));
	out->shortened = shortened;
	if (!shortened)
		return ret_append(st, REC_POLICY, op, body, by, now_ms, NULL, &out->seq, err);
	plan = json_pack("{s:s, s:s, s:O, s:I, s:I}", "op", "plan", "type", "change", "change", op,
			 "shortened", (json_int_t)shortened, "as_of", (json_int_t)now_ms);
	if (!plan)
		return cu_err_set(err, CU_ENOMEM, "retention: out of memory");
	snprintf(line, sizeof(line), "change awaiting approval (shortens retention of %llu records): %s",
		 (unsigned long long)shortened, body);
	rc = ret_append(st, REC_PLAN, plan, line, by, now_ms, NULL, &out->seq, err);
	out->pending = rc == 0;
	json_decref(plan);
	return rc;
}

static int set_opt(json_t *o, const char *key, const char *v)
{
	if (!v || !*v)
		return 0;
	return json_object_set_new(o, key, json_string(v));
}

int ret_policy_add(struct store *st, const struct ret_policy_spec *spec, const char *by, int64_t now_ms,
		   struct ret_change *out, struct cu_err *err)
{
	struct ret_state *s = NULL;
	json_t *pj = NULL, *op = NULL;
	char keep[16], body[700];
	int rc;

	rc = check_name("the policy name (--name)", spec->name, err);
	if (rc == 0)
		rc = ret_check_person(by, err);
	if (rc == 0)
		rc = ret_check_text("--platform", spec->platform, 64, 1, err);
	if (rc == 0)
		rc = ret_check_text("--conversation", spec->conversation, RET_GLOB_MAX, 1, err);
	if (rc == 0)
		rc = ret_check_text("--sender", spec->sender, RET_GLOB_MAX, 1, err);
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
	if (!pj || set_opt(pj, "platform", spec->platform) || set_opt(pj, "conversation", spec->conversation) ||
	    set_opt(pj, "sender", spec->sender) || set_opt(pj, "class", spec->class_label)) {
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
	if (rc == 0) {
		snprintf(body, sizeof(body), "policy %s added: keep %s%s%s%s%s%s%s%s%s, then %s (approval %s)",
			 spec->name, keep, spec->platform ? " on " : "", spec->platform ? spec->platform : "",
			 spec->conversation ? " in " : "", spec->conversation ? spec->conversation : "",
			 spec->sender ? " from " : "", spec->sender ? spec->sender : "",
			 spec->class_label ? " class " : "", spec->class_label ? spec->class_label : "",
			 ret_action_name(spec->action), spec->approval_required ? "required" : "none");
		rc = store_change(st, op, body, by, now_ms, 0, out, err);
	}
	pthread_mutex_unlock(&ret_lock);
out:
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
	uint64_t shortened = 0;
	char body[300];
	size_t i, j;
	int rc;

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
	rc = ret_count_shortened(st, &before, &after, &shortened, err);
	if (rc)
		goto out;
	op = json_pack("{s:s, s:s}", "op", "policy.retire", "name", name);
	if (!op) {
		rc = cu_err_set(err, CU_ENOMEM, "retention: out of memory");
		goto out;
	}
	snprintf(body, sizeof(body), "policy %s retired", name);
	rc = store_change(st, op, body, by, now_ms, shortened, out, err);
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
	uint64_t shortened = 0;
	char body[RET_GLOB_MAX + 300];
	const char *old;
	int rc;

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
	rc = ret_count_shortened(st, &before, &after, &shortened, err);
	if (rc)
		goto out;
	op = json_pack("{s:s, s:s, s:o}", "op", "class.set", "conversation", conversation, "class",
		       label ? json_string(label) : json_null());
	if (!op) {
		rc = cu_err_set(err, CU_ENOMEM, "retention: out of memory");
		goto out;
	}
	snprintf(body, sizeof(body), "conversation %s: class %s", conversation, label ? label : "(none)");
	rc = store_change(st, op, body, by, now_ms, shortened, out, err);
out:
	pthread_mutex_unlock(&ret_lock);
	free(before.pol);
	free(after.pol);
	json_decref(op);
	ret_state_free(s);
	return rc;
}

/* ---- listing -------------------------------------------------------- */

static json_t *pending_json(const struct ret_state *s, const char *const *ops, size_t nops)
{
	json_t *arr = json_array();
	size_t i, k;

	for (i = 0; arr && i < s->nplans; i++) {
		const struct ret_plan *p = &s->plans[i];
		json_t *ch = json_object_get(p->doc, "change");
		const char *o = json_string_value(json_object_get(ch, "op"));

		if (strcmp(p->type, "change") != 0 || p->approval_seq || !o)
			continue;
		for (k = 0; k < nops; k++)
			if (!strcmp(o, ops[k]))
				break;
		if (k == nops)
			continue;
		json_array_append_new(arr, json_pack("{s:I, s:O, s:s, s:I, s:O}", "plan", (json_int_t)p->id,
						     "change", ch, "by", p->by, "at", (json_int_t)p->at_ms,
						     "shortened", json_object_get(p->doc, "shortened")));
	}
	return arr;
}

int ret_policies_json(struct store *st, int include_inactive, json_t **out, struct cu_err *err)
{
	static const char *const ops[] = {"policy.add", "policy.retire"};
	struct ret_state *s = NULL;
	json_t *arr, *o;
	size_t i;
	int rc;

	*out = NULL;
	rc = ret_state_load(st, &s, err);
	if (rc)
		return rc;
	arr = json_array();
	for (i = 0; arr && i < s->npol; i++) {
		const struct ret_policy *p = &s->pol[i];

		if (p->retired && !include_inactive)
			continue;
		o = json_deep_copy(p->doc);
		if (!o)
			continue;
		json_object_set_new(o, "id", json_integer((json_int_t)p->id));
		json_object_set_new(o, "by", json_string(p->by));
		json_object_set_new(o, "since", json_integer(p->since_ms));
		json_object_set_new(o, "status", json_string(p->retired ? "retired" : "active"));
		if (p->retired) {
			json_object_set_new(o, "retired_by", json_string(p->retired_by));
			json_object_set_new(o, "retired_at", json_integer(p->retired_ms));
		}
		json_array_append_new(arr, o);
	}
	*out = json_pack("{s:o, s:o}", "policies", arr, "pending_changes", pending_json(s, ops, 2));
	ret_state_free(s);
	return *out ? 0 : cu_err_set(err, CU_ENOMEM, "retention: out of memory");
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
	*out = json_pack("{s:o, s:o}", "classes", arr, "pending_changes", pending_json(s, ops, 1));
	ret_state_free(s);
	return *out ? 0 : cu_err_set(err, CU_ENOMEM, "retention: out of memory");
}
