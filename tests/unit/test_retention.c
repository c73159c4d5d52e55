/* test_retention.c - the retention engine through its library API, with
 * the clock in the test's hands: calendar arithmetic of periods, the due
 * boundary to the millisecond, longest-wins and tie rules, four-eyes
 * (including a forged approval record in the log), concurrent approvals,
 * transfer deadlines passing, automatic runs, and certificate signatures
 * checked (and a tampered one rejected); scopes: exact ids compared as
 * bytes (an IPv6-literal Matrix room), patterns only where given as
 * patterns, records of the first wave read with their old meaning, and
 * the counts of what a hold or policy covers; four eyes for the changes
 * that can delete sooner (approval none, retiring, releasing a hold). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archiver/keys.h"
#include "archiver/store.h"
#include "common/fileio.h"
#include "common/timeutil.h"
#include "common/encode.h"
#include "retention/retention.h"
#include "retention/sigreq.h"
#include "tests/unit/test_util.h"

#define DAY 86400000LL

static int64_t ts(const char *s)
{
	int64_t ms = 0;

	assert_int_equal(time_parse_rfc3339(s, &ms), 0);
	return ms;
}

static int setup(void **state)
{
	struct tu_archive *f = calloc(1, sizeof(*f)); /* f->top: the temporary directory, f->st: its archive */

	assert_non_null(f);
	tu_archive_new(f, "ret", "test.example/ret", 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct tu_archive *f = *state;

	tu_archive_free(f);
	free(f);
	return 0;
}

/* Appends one message; returns its seq. */
static uint64_t msg(struct store *st, const char *conv, const char *sender, int64_t when, const char *body)
{
	static int n;
	char id[32];
	struct tu_rec r = {.platform = "matrix", .conversation = conv, .sender = sender, .event_id = id,
			   .body = body, .ts = when, .kind = REC_MESSAGE};

	snprintf(id, sizeof(id), "m%d", n++);
	return tu_append(st, &r, NULL);
}

/* Adds a policy by "admin" (conv: a conversation pattern or NULL); one
 * with approval none is a change that "bob" approves. */
static void policy(struct store *st, const char *name, const char *conv, const char *keep, enum ret_action a,
		   int approval)
{
	struct ret_policy_spec p;
	struct ret_change ch;
	struct cu_err err;
	const char *pats[1] = {conv};

	memset(&p, 0, sizeof(p));
	p.name = name;
	p.scope.conversation_patterns = pats;
	p.scope.nconversation_patterns = conv ? 1 : 0;
	p.action = a;
	p.approval_required = approval;
	assert_int_equal(ret_duration_parse(keep, &p.keep, &err), 0);
	cu_err_clear(&err);
	assert_int_equal(ret_policy_add(st, &p, "admin", time_now_ms(), &ch, &err), 0);
	assert_int_equal(ch.pending, !approval && a != RET_REVIEW);
	if (ch.pending)
		assert_int_equal(ret_approve(st, ch.seq, "bob", time_now_ms(), NULL, &err), 0);
}

/* The seqs of a dry-run plan at now, as "0,2,5". */
static void due_at(struct store *st, int64_t now, char *out, size_t cap)
{
	struct cu_err err;
	uint64_t id = 1;
	json_t *j = NULL, *items;
	size_t i, len = 0;

	cu_err_clear(&err);
	assert_int_equal(ret_plan(st, NULL, "planner", 1, now, &id, &j, &err), 0);
	assert_int_equal(id, 0);
	items = json_object_get(j, "items");
	out[0] = '\0';
	for (i = 0; i < json_array_size(items); i++)
		len += (size_t)snprintf(out + len, cap - len, "%s%lld", i ? "," : "",
					(long long)json_integer_value(json_object_get(json_array_get(items, i), "seq")));
	json_decref(j);
}

static void test_durations(void **state)
{
	struct ret_duration d;
	struct cu_err err;
	char buf[16];

	(void)state;
	assert_int_equal(ret_duration_parse("30d", &d, &err), 0);
	assert_int_equal(d.n, 30);
	assert_int_equal(d.unit, 'd');
	ret_duration_format(&d, buf, sizeof(buf));
	assert_string_equal(buf, "30d");
	assert_int_equal(ret_duration_parse("10y", &d, &err), 0);
	assert_int_equal(ret_duration_parse("1000w", &d, &err), 0);
	assert_int_equal(ret_duration_parse("6m", &d, &err), 0);
	assert_int_equal(ret_duration_parse("0d", &d, NULL), CU_EINVAL);
	assert_int_equal(ret_duration_parse("1001d", &d, NULL), CU_EINVAL);
	assert_int_equal(ret_duration_parse("5", &d, NULL), CU_EINVAL);
	assert_int_equal(ret_duration_parse("d", &d, NULL), CU_EINVAL);
	assert_int_equal(ret_duration_parse("5h", &d, NULL), CU_EINVAL);
	assert_int_equal(ret_duration_parse("5dd", &d, NULL), CU_EINVAL);
	assert_int_equal(ret_duration_parse("-5d", &d, NULL), CU_EINVAL);
	assert_int_equal(ret_duration_parse("", &d, NULL), CU_EINVAL);
	assert_int_equal(ret_duration_parse(NULL, &d, NULL), CU_EINVAL);
	assert_int_equal(ret_duration_parse("99999999999999999999d", &d, NULL), CU_EINVAL);
}

static void test_calendar(void **state)
{
	struct ret_duration m1 = {1, 'm'}, y1 = {1, 'y'}, d30 = {30, 'd'}, w2 = {2, 'w'}, y10 = {10, 'y'};

	(void)state;
	/* months clamp to the end of the shorter month, leap years count */
	assert_int_equal(ret_duration_add(ts("2024-01-31T10:00:00.123Z"), &m1), ts("2024-02-29T10:00:00.123Z"));
	assert_int_equal(ret_duration_add(ts("2023-01-31T00:00:00Z"), &m1), ts("2023-02-28T00:00:00Z"));
	assert_int_equal(ret_duration_add(ts("2024-02-29T00:00:00Z"), &y1), ts("2025-02-28T00:00:00Z"));
	assert_int_equal(ret_duration_add(ts("2024-12-15T00:00:00Z"), &m1), ts("2025-01-15T00:00:00Z"));
	assert_int_equal(ret_duration_add(ts("2016-03-01T09:00:00Z"), &y10), ts("2026-03-01T09:00:00Z"));
	assert_int_equal(ret_duration_add(ts("2024-01-01T00:00:00Z"), &d30), ts("2024-01-31T00:00:00Z"));
	assert_int_equal(ret_duration_add(ts("2024-01-01T00:00:00Z"), &w2), ts("2024-01-15T00:00:00Z"));
	/* before 1970, with milliseconds */
	assert_int_equal(ret_duration_add(-1, &y1), ts("1970-12-31T23:59:59.999Z"));
	assert_int_equal(ret_duration_add(ts("1969-06-30T12:00:00.500Z"), &m1), ts("1969-07-30T12:00:00.500Z"));
}

static void test_due_boundary_and_longest(void **state)
{
	struct tu_archive *f = *state;
	int64_t t0 = ts("2020-01-01T09:00:00.250Z");
	char due[128];

	msg(f->st, "!a:ex.org", "@x:ex.org", t0, "a");       /* 0 */
	msg(f->st, "!b:ex.org", "@x:ex.org", t0, "b");       /* 1 */
	msg(f->st, "!b:ex.org", "@y:other.org", t0, "c");    /* 2 */
	policy(f->st, "all-1y", NULL, "1y", RET_DESTROY, 1);
	policy(f->st, "b-2y", "!b:*", "2y", RET_DESTROY, 1);
	due_at(f->st, ts("2021-01-01T09:00:00.249Z"), due, sizeof(due));
	assert_string_equal(due, "");
	due_at(f->st, ts("2021-01-01T09:00:00.250Z"), due, sizeof(due)); /* exactly one year */
	assert_string_equal(due, "0");
	due_at(f->st, ts("2022-01-01T09:00:00.250Z"), due, sizeof(due));
	assert_string_equal(due, "0,1,2");
}

static void test_tie_prefers_caution(void **state)
{
	struct tu_archive *f = *state;
	struct cu_err err;
	json_t *j = NULL;
	uint64_t id;

	msg(f->st, "!t:ex.org", "@x:ex.org", ts("2020-01-01T00:00:00Z"), "t");
	policy(f->st, "auto", NULL, "1y", RET_DESTROY, 0);
	policy(f->st, "keepit", "!t:*", "12m", RET_REVIEW, 1);
	/* same due time: the approval-required review policy wins */
	assert_int_equal(ret_plan(f->st, NULL, "p", 1, ts("2024-01-01T00:00:00Z"), &id, &j, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "review"), "count")), 1);
	assert_int_equal(json_array_size(json_object_get(j, "items")), 0);
	json_decref(j);
	/* and an automatic run does not touch it */
	assert_int_equal(ret_run_automatic(f->st, NULL, ts("2024-01-01T00:00:00Z"), &j, &err), 0);
	assert_true(json_is_null(json_object_get(j, "plan")));
	json_decref(j);
}

static void test_four_eyes(void **state)
{
	struct tu_archive *f = *state;
	struct ret_exec_opts eo;
	struct store_input in;
	struct cu_err err;
	json_t *j = NULL;
	uint64_t plan, aseq;
	char meta[128];

	msg(f->st, "!a:ex.org", "@x:ex.org", ts("2015-01-01T00:00:00Z"), "old");
	policy(f->st, "p", NULL, "1y", RET_DESTROY, 1);
	assert_int_equal(ret_plan(f->st, NULL, "Alice Schmidt", 0, time_now_ms(), &plan, &j, &err), 0);
	json_decref(j);
	assert_true(plan > 0);
	cu_err_clear(&err);
	assert_int_equal(ret_approve(f->st, plan, "Alice Schmidt", time_now_ms(), &aseq, &err), CU_EDENIED);
	assert_non_null(strstr(err.msg, "four-eyes"));
	assert_int_equal(ret_approve(f->st, plan, " alice schmidt ", time_now_ms(), &aseq, NULL), CU_EDENIED);
	assert_int_equal(ret_approve(f->st, plan, "", time_now_ms(), &aseq, NULL), CU_EINVAL);
	assert_int_equal(ret_approve(f->st, plan, "bad\nname", time_now_ms(), &aseq, NULL), CU_EINVAL);
	assert_int_equal(ret_approve(f->st, 0, "bob", time_now_ms(), &aseq, NULL), CU_ENOTFOUND);

	/* An approval record written by hand by the planner is not honoured. */
	memset(&in, 0, sizeof(in));
	snprintf(meta, sizeof(meta), "{\"op\":\"approval\",\"plan\":%llu,\"v\":1}", (unsigned long long)plan);
	in.rec.kind = REC_APPROVAL;
	in.rec.origin_ts = time_now_ms();
	rec_set(&in.rec, RF_PLATFORM, "custos");
	rec_set(&in.rec, RF_SOURCE, "retention");
	rec_set(&in.rec, RF_SENDER, "ALICE SCHMIDT");
	rec_set(&in.rec, RF_META, meta);
	assert_int_equal(store_append(f->st, &in, 1, &err), 0);
	memset(&eo, 0, sizeof(eo));
	assert_int_equal(ret_execute(f->st, NULL, plan, &eo, time_now_ms(), &j, NULL), CU_EDENIED);
	/* ... and a real second person still can approve */
	assert_int_equal(ret_approve(f->st, plan, "Bob", time_now_ms(), &aseq, &err), 0);
	assert_int_equal(ret_approve(f->st, plan, "Carol", time_now_ms(), &aseq, NULL), CU_ESTATE);
}

struct racer {
	struct store *st;
	uint64_t plan;
	const char *who;
	int rc;
};

static void *approve_thread(void *arg)
{
	struct racer *r = arg;

	r->rc = ret_approve(r->st, r->plan, r->who, time_now_ms(), NULL, NULL);
	return NULL;
}

static void test_concurrent_approvals(void **state)
{
	struct tu_archive *f = *state;
	struct racer r[4];
	pthread_t t[4];
	const char *who[4] = {"bob", "carol", "dave", "erin"};
	struct cu_err err;
	json_t *j = NULL;
	uint64_t plan;
	int i, ok = 0;

	msg(f->st, "!a:ex.org", "@x:ex.org", ts("2015-01-01T00:00:00Z"), "old");
	policy(f->st, "p", NULL, "1y", RET_DESTROY, 1);
	assert_int_equal(ret_plan(f->st, NULL, "alice", 0, time_now_ms(), &plan, &j, &err), 0);
	json_decref(j);
	for (i = 0; i < 4; i++) {
		r[i].st = f->st;
		r[i].plan = plan;
		r[i].who = who[i];
		assert_int_equal(pthread_create(&t[i], NULL, approve_thread, &r[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		if (r[i].rc == 0)
			ok++;
		else
			assert_int_equal(r[i].rc, CU_ESTATE);
	}
	assert_int_equal(ok, 1);
}

static void test_transfer_deadline(void **state)
{
	struct tu_archive *f = *state;
	struct ret_exec_opts eo;
	struct cu_err err;
	json_t *j = NULL, *items;
	uint64_t plan, offer;
	int64_t now = time_now_ms();
	char pk[300];

	msg(f->st, "!a:ex.org", "@x:ex.org", ts("2015-01-01T00:00:00Z"), "Transferwort");
	policy(f->st, "t", NULL, "1y", RET_TRANSFER, 1);
	assert_int_equal(ret_plan(f->st, NULL, "alice", 0, now, &plan, &j, &err), 0);
	json_decref(j);
	assert_int_equal(ret_approve(f->st, plan, "bob", now, NULL, &err), 0);
	memset(&eo, 0, sizeof(eo));
	snprintf(pk, sizeof(pk), "%s/packages", f->top);
	eo.package_dir = pk;
	eo.respond_ms = 10 * DAY;
	assert_int_equal(ret_execute(f->st, NULL, plan, &eo, now, &j, &err), 0);
	offer = (uint64_t)json_integer_value(json_object_get(j, "offer"));
	assert_true(offer > 0);
	assert_true(json_is_null(json_object_get(j, "certificate")));
	json_decref(j);
	/* before the deadline: waiting; after it: due for destruction */
	assert_int_equal(ret_plan(f->st, NULL, "alice", 1, now + 9 * DAY, &plan, &j, &err), 0);
	assert_int_equal(json_array_size(json_object_get(j, "items")), 0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "awaiting_transfer_answer"), "count")), 1);
	json_decref(j);
	assert_int_equal(ret_offers_json(f->st, now + 11 * DAY, &j, &err), 0);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(j, "offers"), 0), "state")),
			    "deadline passed");
	json_decref(j);
	assert_int_equal(ret_plan(f->st, NULL, "alice", 0, now + 11 * DAY, &plan, &j, &err), 0);
	items = json_object_get(j, "items");
	assert_int_equal(json_array_size(items), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "action")), "destroy");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(items, 0), "offer")), (json_int_t)offer);
	json_decref(j);
	assert_int_equal(ret_approve(f->st, plan, "bob", now + 11 * DAY, NULL, &err), 0);
	assert_int_equal(ret_execute(f->st, NULL, plan, &eo, now + 11 * DAY, &j, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "erased_now")), 1);
	json_decref(j);
	/* a late answer is still recorded; a second one is refused */
	assert_int_equal(ret_offer_answer(f->st, offer, 1, "archivist", now + 12 * DAY, &err), 0);
	assert_int_equal(ret_offer_answer(f->st, offer, 0, "archivist", now + 12 * DAY, NULL), CU_ESTATE);
	assert_int_equal(ret_offer_answer(f->st, plan, 0, "archivist", now, NULL), CU_ENOTFOUND);
}

/* Appends a record with relations; returns its seq. */
static uint64_t rel(struct store *st, unsigned kind, const char *conv, const char *sender, const char *id,
		    const char *target, const char *reply_to, const char *thread, const char *body)
{
	struct store_input in;
	struct cu_err err;

	memset(&in, 0, sizeof(in));
	in.rec.kind = (uint8_t)kind;
	in.rec.origin_ts = time_now_ms();
	rec_set(&in.rec, RF_PLATFORM, "matrix");
	rec_set(&in.rec, RF_SOURCE, "test");
	rec_set(&in.rec, RF_CONVERSATION, conv);
	rec_set(&in.rec, RF_SENDER, sender);
	rec_set(&in.rec, RF_EVENT_ID, id);
	if (target)
		rec_set(&in.rec, RF_TARGET, target);
	if (reply_to)
		rec_set(&in.rec, RF_REPLY_TO, reply_to);
	if (thread)
		rec_set(&in.rec, RF_THREAD, thread);
	rec_set(&in.rec, RF_BODY, body);
	assert_int_equal(store_append(st, &in, 1, &err), 0);
	return in.seq;
}

/* The order's seqs as "0,2,5", and its derived and related lists as
 * "seq:relation" lines. */
static void order_of(struct store *st, uint64_t named, const struct ret_erase_opts *o, char *seqs, char *derived,
		     char *related, size_t cap)
{
	struct cu_err err;
	uint64_t plan = 0;
	json_t *j = NULL, *a;
	size_t i, n;

	cu_err_clear(&err);
	assert_int_equal(ret_erase_order_opts(st, NULL, &named, 1, NULL, "Art. 17", "dpo", o, time_now_ms(), &plan, &j,
					      &err), 0);
	a = json_object_get(json_array_get(json_object_get(j, "groups"), 0), "seqs");
	for (i = n = 0, seqs[0] = '\0'; i < json_array_size(a); i++)
		n += (size_t)snprintf(seqs + n, cap - n, "%s%lld", i ? "," : "",
				      (long long)json_integer_value(json_array_get(a, i)));
	a = json_object_get(j, "derived");
	for (i = n = 0, derived[0] = '\0'; i < json_array_size(a); i++)
		n += (size_t)snprintf(derived + n, cap - n, "%lld:%s;",
				      (long long)json_integer_value(json_object_get(json_array_get(a, i), "seq")),
				      json_string_value(json_object_get(json_array_get(a, i), "relation")));
	a = json_object_get(json_object_get(j, "related"), "records");
	for (i = n = 0, related[0] = '\0'; i < json_array_size(a); i++)
		n += (size_t)snprintf(related + n, cap - n, "%lld:%s;",
				      (long long)json_integer_value(json_object_get(json_array_get(a, i), "seq")),
				      json_string_value(json_object_get(json_array_get(a, i), "relation")));
	json_decref(j);
}

/* An erasure order takes along what derives from a record by the
 * archive's own data, never by a relation alone: a forged edit by another
 * sender, a reaction from another room and a reply that does not quote
 * stay; relations lead forward only. */
static void test_erase_derived(void **state)
{
	struct tu_archive *f = *state;
	struct ret_erase_opts no_edits = {1, 0};
	char seqs[200], derived[400], related[400], want[400];
	uint64_t a1, e1, e2, r1, d1, q1, n1, t1, r3;

	a1 = rel(f->st, REC_MESSAGE, "!a:ex.org", "@alice:ex.org", "$a1", NULL, NULL, NULL, "Pflaumenbaum im Hof");
	e1 = rel(f->st, REC_EDIT, "!a:ex.org", "@alice:ex.org", "$e1", "$a1", NULL, NULL, "Pflaumenbaum im Garten");
	e2 = rel(f->st, REC_EDIT, "!a:ex.org", "@mallory:ex.org", "$e2", "$a1", NULL, NULL, "Mallorys Beweis");
	r1 = rel(f->st, REC_REACTION, "!a:ex.org", "@bob:ex.org", "$r1", "$a1", NULL, NULL, "+1");
	rel(f->st, REC_REACTION, "!b:ex.org", "@mallory:ex.org", "$r2", "$a1", NULL, NULL, "x"); /* another room */
	rel(f->st, REC_MESSAGE, "!b:ex.org", "@mallory:ex.org", "$q2", NULL, "$a1", NULL,
	    "> <@alice:ex.org> Pflaumenbaum im Hof\n\nfrom elsewhere");                          /* another room */
	d1 = rel(f->st, REC_REDACTION, "!a:ex.org", "@mod:ex.org", "$d1", "$a1", NULL, NULL, "");
	q1 = rel(f->st, REC_MESSAGE, "!a:ex.org", "@bob:ex.org", "$q1", NULL, "$a1", NULL,
		 "> <@alice:ex.org> Pflaumenbaum im Hof\n\nnein");
	n1 = rel(f->st, REC_MESSAGE, "!a:ex.org", "@bob:ex.org", "$n1", NULL, "$a1", NULL, "Pflaumenbaum im Hof? ok");
	t1 = rel(f->st, REC_MESSAGE, "!a:ex.org", "@carol:ex.org", "$t1", NULL, NULL, "$a1",
		 "> Pflaumenbaum im Hof\nim Thread");
	r3 = rel(f->st, REC_REACTION, "!a:ex.org", "@bob:ex.org", "$r3", "$e1", NULL, NULL, "+1"); /* to the edit */

	order_of(f->st, a1, NULL, seqs, derived, related, sizeof(seqs));
	snprintf(want, sizeof(want), "%llu,%llu,%llu,%llu,%llu,%llu,%llu", (unsigned long long)a1,
		 (unsigned long long)e1, (unsigned long long)r1, (unsigned long long)d1, (unsigned long long)q1,
		 (unsigned long long)t1, (unsigned long long)r3);
	assert_string_equal(seqs, want);
	snprintf(want, sizeof(want), "%llu:edit;%llu:reaction;%llu:redaction;%llu:reply quoting;"
		 "%llu:thread message quoting;%llu:reaction;", (unsigned long long)e1, (unsigned long long)r1,
		 (unsigned long long)d1, (unsigned long long)q1, (unsigned long long)t1, (unsigned long long)r3);
	assert_string_equal(derived, want);
	/* a reply that mentions the text without quoting it is not a quote */
	snprintf(want, sizeof(want), "%llu:edit by another sender: not an edit of it;%llu:reply not quoting;",
		 (unsigned long long)e2, (unsigned long long)n1);
	assert_string_equal(related, want);

	/* Naming the forged edit never takes the message it claims. */
	order_of(f->st, e2, NULL, seqs, derived, related, sizeof(seqs));
	snprintf(want, sizeof(want), "%llu", (unsigned long long)e2);
	assert_string_equal(seqs, want);
	assert_string_equal(derived, "");

	/* Edits left out: the edit and what derives from it stay, listed. */
	order_of(f->st, a1, &no_edits, seqs, derived, related, sizeof(seqs));
	snprintf(want, sizeof(want), "%llu,%llu,%llu,%llu,%llu", (unsigned long long)a1, (unsigned long long)r1,
		 (unsigned long long)d1, (unsigned long long)q1, (unsigned long long)t1);
	assert_string_equal(seqs, want);
	snprintf(want, sizeof(want), "%llu:edit, left out by the order;", (unsigned long long)e1);
	assert_non_null(strstr(related, want));
}

static void test_certificate_signature(void **state)
{
	struct tu_archive *f = *state;
	struct ret_exec_opts eo;
	struct cu_err err;
	json_t *j = NULL;
	uint64_t plan, cert;
	uint8_t sig[64];
	char *text = NULL;
	size_t len = 0;

	msg(f->st, "!a:ex.org", "@x:ex.org", ts("2015-01-01T00:00:00Z"), "Signaturwort");
	msg(f->st, "!a:ex.org", "@x:ex.org", time_now_ms(), "young");
	policy(f->st, "p", NULL, "1y", RET_DESTROY, 1);
	assert_int_equal(ret_plan(f->st, NULL, "alice", 0, time_now_ms(), &plan, &j, &err), 0);
	json_decref(j);
	assert_int_equal(ret_approve(f->st, plan, "bob", time_now_ms(), NULL, &err), 0);
	memset(&eo, 0, sizeof(eo));
	assert_int_equal(ret_execute(f->st, NULL, plan, &eo, time_now_ms(), &j, &err), 0);
	cert = (uint64_t)json_integer_value(json_object_get(j, "certificate"));
	json_decref(j);
	assert_int_equal(ret_certificate_export(f->st, cert, &text, &len, sig, &err), 0);
	assert_int_equal(key_verify(store_key(f->st), text, len, sig), 0);
	assert_non_null(strstr(text, "\"planned_by\":\"alice\""));
	assert_null(strstr(text, "Signaturwort"));
	text[len / 2] ^= 1;
	assert_int_equal(key_verify(store_key(f->st), text, len, sig), CU_ECRYPTO);
	free(text);
	assert_int_equal(ret_certificate_export(f->st, plan, &text, &len, sig, NULL), CU_ENOTFOUND);
	assert_int_equal(ret_certificates_json(f->st, &j, &err), 0);
	assert_true(json_is_true(json_object_get(json_array_get(json_object_get(j, "certificates"), 0),
						 "signature_valid")));
	json_decref(j);
}

static void test_automatic_run(void **state)
{
	struct tu_archive *f = *state;
	struct cu_err err;
	json_t *j = NULL;
	uint64_t before;

	msg(f->st, "!auto:ex.org", "@x:ex.org", ts("2015-01-01T00:00:00Z"), "a");
	msg(f->st, "!man:ex.org", "@x:ex.org", ts("2015-01-01T00:00:00Z"), "m");
	policy(f->st, "auto", "!auto:*", "1y", RET_DESTROY, 0);
	policy(f->st, "man", "!man:*", "1y", RET_DESTROY, 1);
	assert_int_equal(ret_run_automatic(f->st, NULL, time_now_ms(), NULL, &err), 0);
	before = store_size(f->st);
	assert_int_equal(ret_run_automatic(f->st, NULL, time_now_ms(), &j, &err), 0);
	assert_true(json_is_null(json_object_get(j, "plan")));
	assert_int_equal(store_size(f->st), before); /* idle: nothing written */
	json_decref(j);
	assert_int_equal(ret_certificates_json(f->st, &j, &err), 0);
	assert_int_equal(json_array_size(json_object_get(j, "certificates")), 1);
	json_decref(j);
}

/* A fresh archive in f->top/NAME with one due record and an approved
 * plan for it; returns the plan. */
static uint64_t due_scenario(struct tu_archive *f, const char *name, struct store **st)
{
	struct cu_err err;
	char path[400];
	json_t *j = NULL;
	uint64_t plan;

	snprintf(path, sizeof(path), "%s/%s", f->top, name);
	assert_int_equal(store_init(path, "test.example/ret", &err), 0);
	assert_int_equal(store_open(path, NULL, 0, st, &err), 0);
	msg(*st, "!a:ex.org", "@x:ex.org", ts("2015-01-01T00:00:00Z"), "Haltwort");
	policy(*st, "p", NULL, "1y", RET_DESTROY, 1);
	assert_int_equal(ret_plan(*st, NULL, "alice", 0, time_now_ms(), &plan, &j, &err), 0);
	json_decref(j);
	assert_int_equal(ret_approve(*st, plan, "bob", time_now_ms(), NULL, &err), 0);
	return plan;
}

/* A crash between the certificate and the segment rewrite, then a hold
 * on the records: the re-run must not delete them while the hold lasts. */
static void test_resume_honours_new_hold(void **state)
{
	struct tu_archive *f = *state;
	struct ret_hold_spec hs;
	struct ret_change ch;
	struct ret_exec_opts eo;
	struct store_entry e;
	struct store *st = NULL;
	struct cu_err err;
	struct buf rb;
	const char *senders[1] = {"@x:ex.org"};
	json_t *j = NULL;
	uint64_t plan = 0, hold;
	int n, rc, window = 0;

	memset(&eo, 0, sizeof(eo));
	buf_init(&rb, REC_MAX_BYTES + 1024);
	/* Fail the n-th write of an execution, on a fresh archive each time,
	 * until the failure falls after the certificate and before the
	 * record became a stub. */
	for (n = 1; n < 40 && !window; n++) {
		char spec[32], name[16];

		snprintf(name, sizeof(name), "w%d", n);
		plan = due_scenario(f, name, &st);
		snprintf(spec, sizeof(spec), "write:%d:5", n);
		setenv("CUSTOS_FAULT", spec, 1);
		fio_fault_reset();
		rc = ret_execute(st, NULL, plan, &eo, time_now_ms(), &j, NULL);
		unsetenv("CUSTOS_FAULT");
		fio_fault_reset();
		json_decref(j);
		j = NULL;
		if (rc != 0) {
			assert_int_equal(ret_certificates_json(st, &j, &err), 0);
			buf_reset(&rb);
			window = json_array_size(json_object_get(j, "certificates")) == 1 &&
				 store_get(st, 0, &rb, &e, &err) == 0 && !e.is_stub;
			json_decref(j);
			j = NULL;
		}
		if (!window) {
			store_close(st);
			st = NULL;
		}
	}
	assert_true(window);
	memset(&hs, 0, sizeof(hs));
	hs.matter = "1 A 1/26";
	hs.reason = "r";
	hs.scope.senders = senders;
	hs.scope.nsenders = 1;
	hs.from_ms = INT64_MIN;
	hs.to_ms = INT64_MAX;
	assert_int_equal(ret_hold_add(st, NULL, &hs, "lisa", time_now_ms(), &hold, NULL, &err), 0);
	cu_err_clear(&err);
	assert_int_equal(ret_execute(st, NULL, plan, &eo, time_now_ms(), &j, &err), CU_EDENIED);
	assert_non_null(strstr(err.msg, "under legal hold"));
	buf_reset(&rb);
	assert_int_equal(store_get(st, 0, &rb, &e, &err), 0);
	assert_int_equal(e.is_stub, 0);
	/* released (proposed by one person, approved by another): the
	 * re-run finishes with the same certificate */
	assert_int_equal(ret_hold_release(st, hold, "lisa", "case closed", time_now_ms(), &ch, &err), 0);
	assert_int_equal(ret_approve(st, ch.seq, "otto", time_now_ms(), NULL, &err), 0);
	assert_int_equal(ret_execute(st, NULL, plan, &eo, time_now_ms(), &j, &err), 0);
	assert_true(json_is_true(json_object_get(j, "resumed")));
	assert_int_equal(json_integer_value(json_object_get(j, "erased_now")), 1);
	json_decref(j);
	buf_reset(&rb);
	assert_int_equal(store_get(st, 0, &rb, &e, &err), 0);
	assert_int_equal(e.is_stub, 1);
	assert_int_equal(ret_certificates_json(st, &j, &err), 0);
	assert_int_equal(json_array_size(json_object_get(j, "certificates")), 1);
	json_decref(j);
	buf_release(&rb);
	store_close(st);
}

/* Places a hold by "lisa" on exact conversation ids and conversation
 * patterns; returns its id, *records what it covers. */
static uint64_t hold_on(struct store *st, const char *const *ids, size_t nids, const char *const *pats, size_t npats,
			uint64_t *records)
{
	struct ret_hold_spec hs;
	struct cu_err err;
	uint64_t id = 0;

	memset(&hs, 0, sizeof(hs));
	hs.matter = "7 O 1/26";
	hs.reason = "evidence";
	hs.scope.conversations = ids;
	hs.scope.nconversations = nids;
	hs.scope.conversation_patterns = pats;
	hs.scope.nconversation_patterns = npats;
	hs.from_ms = INT64_MIN;
	hs.to_ms = INT64_MAX;
	cu_err_clear(&err);
	assert_int_equal(ret_hold_add(st, NULL, &hs, "lisa", time_now_ms(), &id, records, &err), 0);
	return id;
}

/* An exact id holding [ ] \ * ? is that id: a hold on the room of an
 * IPv6-literal server covers its record (and not the record of a room
 * the same text read as a pattern would match), against a plan and an
 * erasure order; a pattern still works where given as one; counts. */
static void test_scope_exact_ids(void **state)
{
	struct tu_archive *f = *state;
	const char *room[1] = {"!evid:[2001:db8::1]"}, *star[1] = {"!evid:*"}, *other[1] = {"!other:*"};
	const char *odd[1] = {"!q:a\\*?"}, *sender[1] = {"@a:[2001:db8::1]"};
	struct ret_policy_spec ps;
	struct ret_hold_spec hs;
	struct ret_change ch;
	struct cu_err err;
	json_t *j = NULL;
	uint64_t s0, s1, s2, s3, records = 99, id, plan;
	char due[128];

	s0 = msg(f->st, room[0], "@a:[2001:db8::1]", ts("2015-01-01T00:00:00Z"), "evidence");
	s1 = msg(f->st, "!evid:2", "@b:ex.org", ts("2015-01-01T00:00:00Z"), "a class would match this");
	s2 = msg(f->st, "!other:x", "@b:ex.org", ts("2015-01-01T00:00:00Z"), "other");
	s3 = msg(f->st, odd[0], "@b:ex.org", ts("2015-01-01T00:00:00Z"), "backslash star question");
	policy(f->st, "all-1y", NULL, "1y", RET_DESTROY, 1);

	hold_on(f->st, room, 1, NULL, 0, &records);
	assert_int_equal(records, 1);
	hold_on(f->st, star, 1, NULL, 0, &records); /* an exact id: no room is called that */
	assert_int_equal(records, 0);
	hold_on(f->st, odd, 1, NULL, 0, &records);
	assert_int_equal(records, 1);
	/* the plan keeps the held records and deletes the one the old
	 * reading (a character class) would have held instead */
	due_at(f->st, time_now_ms(), due, sizeof(due));
	assert_true(s0 == 0 && s1 == 1 && s2 == 2 && s3 == 3);
	assert_string_equal(due, "1,2");
	/* an erasure order naming the held record is refused ... */
	cu_err_clear(&err);
	assert_int_equal(ret_erase_order(f->st, NULL, &s0, 1, NULL, "Art. 17", "olga", time_now_ms(), &plan, &j, &err),
			 CU_EDENIED);
	json_decref(j);
	j = NULL;
	assert_int_equal(ret_erase_order(f->st, NULL, &s3, 1, NULL, "Art. 17", "olga", time_now_ms(), &plan, &j, &err),
			 CU_EDENIED);
	json_decref(j);
	j = NULL;
	/* ... the other one is not */
	assert_int_equal(ret_erase_order(f->st, NULL, &s1, 1, NULL, "Art. 17", "olga", time_now_ms(), &plan, &j, &err), 0);
	json_decref(j);
	j = NULL;
	/* a pattern given as a pattern still holds */
	hold_on(f->st, NULL, 0, other, 1, &records);
	assert_int_equal(records, 1);
	due_at(f->st, time_now_ms(), due, sizeof(due));
	assert_string_equal(due, "1");
	/* an exact sender id with brackets */
	memset(&hs, 0, sizeof(hs));
	hs.matter = "m";
	hs.reason = "r";
	hs.scope.senders = sender;
	hs.scope.nsenders = 1;
	hs.from_ms = INT64_MIN;
	hs.to_ms = INT64_MAX;
	assert_int_equal(ret_hold_add(f->st, NULL, &hs, "lisa", time_now_ms(), &id, &records, &err), 0);
	assert_int_equal(records, 1);
	/* the listing counts too, and shows the lists apart */
	assert_int_equal(ret_holds_json(f->st, NULL, 0, &j, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(j, "holds"), 1), "records")), 0);
	assert_string_equal(json_string_value(json_array_get(json_object_get(json_object_get(
				    json_array_get(json_object_get(j, "holds"), 0), "scope"), "conversations"), 0)), room[0]);
	json_decref(j);
	/* policies: exact ids and their count */
	memset(&ps, 0, sizeof(ps));
	ps.name = "evid-10y";
	ps.scope.conversations = room;
	ps.scope.nconversations = 1;
	ps.action = RET_DESTROY;
	ps.approval_required = 1;
	assert_int_equal(ret_duration_parse("10y", &ps.keep, &err), 0);
	assert_int_equal(ret_policy_add(f->st, &ps, "admin", time_now_ms(), &ch, &err), 0);
	assert_int_equal(ch.records, 1);
	assert_int_equal(ch.pending, 0);
	assert_int_equal(ret_policies_json(f->st, 0, &j, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(j, "policies"), 1), "records")), 1);
	json_decref(j);
}

/* Appends a retention record as the first wave wrote it. */
static void old_record(struct store *st, unsigned kind, const char *by, const char *meta)
{
	struct store_input in;
	struct cu_err err;

	memset(&in, 0, sizeof(in));
	in.rec.kind = (uint8_t)kind;
	in.rec.origin_ts = time_now_ms();
	rec_set(&in.rec, RF_PLATFORM, "custos");
	rec_set(&in.rec, RF_SOURCE, "retention");
	rec_set(&in.rec, RF_SENDER, by);
	rec_set(&in.rec, RF_META, meta);
	assert_int_equal(store_append(st, &in, 1, &err), 0);
}

/* Holds and policies stored by the first wave used one field as a
 * pattern: they keep that meaning. */
static void test_scope_first_wave_records(void **state)
{
	struct tu_archive *f = *state;
	struct cu_err err;
	json_t *j = NULL, *h, *p;
	uint64_t id;

	msg(f->st, "!old:a", "@x:ex.org", ts("2015-01-01T00:00:00Z"), "a");
	msg(f->st, "!old:b", "@x:ex.org", ts("2015-01-01T00:00:00Z"), "b");
	msg(f->st, "!new:c", "@x:ex.org", ts("2015-01-01T00:00:00Z"), "c");
	old_record(f->st, REC_POLICY, "admin",
		   "{\"op\":\"policy.add\",\"policy\":{\"action\":\"destroy\",\"approval\":\"required\","
		   "\"conversation\":\"!old:*\",\"keep\":\"1y\",\"name\":\"old-1y\"},\"v\":1}");
	old_record(f->st, REC_POLICY, "admin",
		   "{\"op\":\"policy.add\",\"policy\":{\"action\":\"destroy\",\"approval\":\"required\","
		   "\"sender\":\"@nobody*\",\"keep\":\"2y\",\"name\":\"nobody-2y\"},\"v\":1}");
	old_record(f->st, REC_HOLD, "lisa",
		   "{\"matter\":\"old\",\"op\":\"hold.add\",\"reason\":\"r\",\"scope\":{\"all\":false,"
		   "\"conversations\":[\"!old:a*\"],\"from\":null,\"query\":null,\"senders\":[],\"to\":null},\"v\":1}");
	assert_int_equal(ret_holds_json(f->st, NULL, 0, &j, &err), 0);
	h = json_array_get(json_object_get(j, "holds"), 0);
	assert_int_equal(json_integer_value(json_object_get(h, "records")), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(json_object_get(h, "scope"),
										"conversation_patterns"), 0)), "!old:a*");
	assert_int_equal(json_array_size(json_object_get(json_object_get(h, "scope"), "conversations")), 0);
	json_decref(j);
	assert_int_equal(ret_policies_json(f->st, 0, &j, &err), 0);
	p = json_array_get(json_object_get(j, "policies"), 0);
	assert_int_equal(json_integer_value(json_object_get(p, "records")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(p, "conversation_patterns"), 0)), "!old:*");
	assert_null(json_object_get(p, "conversation"));
	json_decref(j);
	/* the old pattern policy makes both due; the old pattern hold keeps one */
	assert_int_equal(ret_plan(f->st, NULL, "p", 1, time_now_ms(), &id, &j, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "count")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "held"), "count")), 1);
	json_decref(j);
}

/* Four eyes for the changes that can delete sooner. */
static void test_four_eyes_changes(void **state)
{
	struct tu_archive *f = *state;
	const char *conv[1] = {"!a:ex.org"};
	struct ret_policy_spec ps;
	struct ret_change ch;
	struct cu_err err;
	json_t *j = NULL;
	uint64_t hold, rej, records, rel;

	msg(f->st, "!a:ex.org", "@x:ex.org", ts("2015-01-01T00:00:00Z"), "old");
	policy(f->st, "keep-10y", NULL, "10y", RET_DESTROY, 1);
	/* a destroy policy with approval none: pending, whatever it covers */
	memset(&ps, 0, sizeof(ps));
	ps.name = "auto-1y";
	ps.action = RET_DESTROY;
	ps.approval_required = 0;
	assert_int_equal(ret_duration_parse("1y", &ps.keep, &err), 0);
	assert_int_equal(ret_policy_add(f->st, &ps, "admin", time_now_ms(), &ch, &err), 0);
	assert_int_equal(ch.pending, 1);
	assert_non_null(ch.why);
	assert_int_equal(ret_policies_json(f->st, 0, &j, &err), 0);
	assert_int_equal(json_array_size(json_object_get(j, "policies")), 1);
	assert_int_equal(json_array_size(json_object_get(j, "pending_changes")), 1);
	json_decref(j);
	cu_err_clear(&err);
	assert_int_equal(ret_approve(f->st, ch.seq, " ADMIN", time_now_ms(), NULL, &err), CU_EDENIED);
	assert_int_equal(ret_approve(f->st, ch.seq, "bob", time_now_ms(), NULL, &err), 0);
	/* retiring the long policy: pending even though one person wants it */
	assert_int_equal(ret_policy_retire(f->st, "keep-10y", "admin", time_now_ms(), &ch, &err), 0);
	assert_int_equal(ch.pending, 1);
	assert_int_equal(ch.shortened, 1);
	assert_int_equal(ret_run_automatic(f->st, NULL, time_now_ms(), &j, &err), 0);
	assert_true(json_is_null(json_object_get(j, "plan"))); /* nothing deleted */
	json_decref(j);
	assert_int_equal(ret_approve(f->st, ch.seq, "admin", time_now_ms(), NULL, &err), CU_EDENIED);
	/* rejected: never in force, never approvable */
	assert_int_equal(ret_reject(f->st, ch.seq, "carol", NULL, time_now_ms(), &rej, &err), CU_EINVAL);
	assert_int_equal(ret_reject(f->st, ch.seq, "carol", "no", time_now_ms(), &rej, &err), 0);
	assert_int_equal(ret_approve(f->st, ch.seq, "bob", time_now_ms(), NULL, &err), CU_ESTATE);
	assert_int_equal(ret_reject(f->st, ch.seq, "dave", "no", time_now_ms(), &rej, &err), CU_ESTATE);
	assert_int_equal(ret_plans_json(f->st, &j, &err), 0);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(j, "plans"), 1),
								"status")), "rejected");
	json_decref(j);
	/* a hold: releasing needs a reason and a second person */
	hold = hold_on(f->st, conv, 1, NULL, 0, &records);
	assert_int_equal(records, 1);
	assert_int_equal(ret_hold_release(f->st, hold, "lisa", NULL, time_now_ms(), &ch, &err), CU_EINVAL);
	assert_int_equal(ret_hold_release(f->st, hold, "lisa", "", time_now_ms(), &ch, &err), CU_EINVAL);
	assert_int_equal(ret_hold_release(f->st, hold, "lisa", "case closed", time_now_ms(), &ch, &err), 0);
	assert_int_equal(ch.pending, 1);
	rel = ch.seq;
	assert_int_equal(ret_hold_release(f->st, hold, "otto", "again", time_now_ms(), &ch, &err), CU_EEXIST);
	assert_int_equal(ret_holds_json(f->st, NULL, 0, &j, &err), 0);
	assert_int_equal(json_array_size(json_object_get(j, "holds")), 1); /* still active */
	assert_int_equal(json_array_size(json_object_get(j, "pending_changes")), 1);
	json_decref(j);
	assert_int_equal(ret_approve(f->st, rel, "Lisa", time_now_ms(), NULL, &err), CU_EDENIED);
	assert_int_equal(ret_approve(f->st, rel, "otto", time_now_ms(), NULL, &err), 0);
	assert_int_equal(ret_holds_json(f->st, NULL, 0, &j, &err), 0);
	assert_int_equal(json_array_size(json_object_get(j, "holds")), 0);
	json_decref(j);
	/* retiring again, approved by a second person: the auto policy now
	 * governs and the scheduler deletes */
	assert_int_equal(ret_policy_retire(f->st, "keep-10y", "admin", time_now_ms(), &ch, &err), 0);
	assert_int_equal(ret_approve(f->st, ch.seq, "bob", time_now_ms(), NULL, &err), 0);
	assert_int_equal(ret_run_automatic(f->st, NULL, time_now_ms(), &j, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "count")), 1);
	json_decref(j);
}

/* Appends a message whose conversation is the n bytes at conv (NUL bytes
 * and all). */
static uint64_t msg_raw_conv(struct store *st, const char *conv, size_t n)
{
	struct store_input in;
	struct cu_err err;

	memset(&in, 0, sizeof(in));
	in.rec.kind = REC_MESSAGE;
	in.rec.origin_ts = ts("2015-01-01T00:00:00Z");
	rec_set(&in.rec, RF_PLATFORM, "matrix");
	rec_set(&in.rec, RF_SOURCE, "test");
	rec_set(&in.rec, RF_SENDER, "@x:ex.org");
	rec_set(&in.rec, RF_BODY, "raw");
	in.rec.f[RF_CONVERSATION].ptr = conv;
	in.rec.f[RF_CONVERSATION].len = n;
	assert_int_equal(store_append(st, &in, 1, &err), 0);
	return in.seq;
}

/* A pattern sees the whole id: one longer than the matcher's copy, or one
 * with a NUL byte, cannot slip out of `*:example.org`, and `A` does not
 * match "A\0B" by stopping at the NUL. */
/* One definition of the archive's own kinds: kind other and rejected are
 * the messengers'. */
static void test_archive_kinds(void **state)
{
	unsigned k;

	(void)state;
	for (k = 0; k < 256; k++)
		assert_int_equal(rec_kind_is_archive(k), k >= 16 && k <= 31);
	assert_false(rec_kind_is_archive(REC_OTHER));
	assert_false(rec_kind_is_archive(REC_REJECTED));
	assert_true(rec_kind_is_archive(REC_AUDIT));
	assert_true(rec_kind_is_archive(REC_ADMIN));
}

static void sig_rec(struct rec_view *v, unsigned kind, const char *auth, const char *id, const char *payload)
{
	memset(v, 0, sizeof(*v));
	v->kind = (uint8_t)kind;
	v->flags = auth ? REC_F_SIGNED : 0;
	rec_set(v, RF_PLATFORM, "generic");
	rec_set(v, RF_EVENT_ID, id);
	if (auth)
		rec_set(v, RF_AUTH, auth);
	v->f[RF_PAYLOAD].ptr = payload;
	v->f[RF_PAYLOAD].len = strlen(payload);
}

/* The evidence record of a signed request is told by what the archive
 * wrote: a client's envelope cannot pass for it, and the walk follows
 * one request at a time. */
static void test_sigreq(void **state)
{
	const char *body = "[{\"id\":\"s1\"},{\"id\":\"s2\"}]";
	uint8_t h[HASH_LEN];
	char id[5 + 2 * HASH_LEN + 1], other[5 + 2 * HASH_LEN + 1];
	struct rec_view m1, m2, ev, forged, unsigned_rec, next;
	struct ret_sigreq_follow f;

	(void)state;
	assert_int_equal(hash_sha256(body, strlen(body), h), 0);
	memcpy(id, "body:", 5);
	hex_encode(h, HASH_LEN, id + 5);
	assert_int_equal(hash_sha256("x", 1, h), 0);
	memcpy(other, "body:", 5);
	hex_encode(h, HASH_LEN, other + 5);
	sig_rec(&m1, REC_MESSAGE, "{\"sig\":\"A\"}", "s1", "{\"id\":\"s1\"}");
	sig_rec(&m2, REC_MESSAGE, "{\"sig\":\"A\"}", "s2", "{\"id\":\"s2\"}");
	sig_rec(&ev, REC_OTHER, "{\"sig\":\"A\"}", id, body);
	assert_true(ret_sigreq_is_evidence(&ev));
	/* a client's envelope of kind other, named like evidence: its payload
	 * is not the body whose hash it names */
	sig_rec(&forged, REC_OTHER, "{\"sig\":\"A\"}", id, "{\"id\":\"x\"}");
	assert_false(ret_sigreq_is_evidence(&forged));
	sig_rec(&forged, REC_OTHER, "{\"sig\":\"A\"}", other, body);
	assert_false(ret_sigreq_is_evidence(&forged));
	sig_rec(&forged, REC_MESSAGE, "{\"sig\":\"A\"}", id, body);
	assert_false(ret_sigreq_is_evidence(&forged));
	sig_rec(&forged, REC_OTHER, NULL, id, body);
	assert_false(ret_sigreq_is_evidence(&forged));

	/* the walk: a request's records, then its evidence */
	memset(&f, 0, sizeof(f));
	assert_int_equal(ret_sigreq_begin(&f, &m1), 0);
	ret_sigreq_went(&f, "p1", 10);
	assert_int_equal(ret_sigreq_begin(&f, &m2), 0);
	ret_sigreq_went(&f, "p2", 5);
	assert_int_equal(ret_sigreq_begin(&f, &ev), 1);
	assert_true(f.all_in);
	assert_string_equal((const char *)f.policy, "p1"); /* the latest due */
	assert_int_equal(f.due, 10);
	/* one record of the request does not go: neither does its evidence */
	memset(&f, 0, sizeof(f));
	assert_int_equal(ret_sigreq_begin(&f, &m1), 0);
	ret_sigreq_went(&f, "p1", 10);
	assert_int_equal(ret_sigreq_begin(&f, &m2), 0);
	assert_int_equal(ret_sigreq_begin(&f, &ev), 1);
	assert_false(f.all_in);
	/* evidence after another request or an unsigned record: not this
	 * request's (it falls under the policies by its own fields) */
	sig_rec(&next, REC_MESSAGE, "{\"sig\":\"B\"}", "t1", "{}");
	sig_rec(&unsigned_rec, REC_MESSAGE, NULL, "u1", "{}");
	memset(&f, 0, sizeof(f));
	assert_int_equal(ret_sigreq_begin(&f, &m1), 0);
	ret_sigreq_went(&f, "p1", 10);
	assert_int_equal(ret_sigreq_begin(&f, &unsigned_rec), 0);
	assert_int_equal(ret_sigreq_begin(&f, &ev), 0);
	memset(&f, 0, sizeof(f));
	assert_int_equal(ret_sigreq_begin(&f, &m1), 0);
	assert_int_equal(ret_sigreq_begin(&f, &next), 0);
	assert_int_equal(ret_sigreq_begin(&f, &ev), 0);
}

static void test_scope_whole_field(void **state)
{
	struct tu_archive *f = *state;
	static char longc[6000];
	const char *suffix[1] = {"*:example.org"}, *a[1] = {"A"}, *aid[1] = {"A"};
	struct ret_policy_spec ps;
	struct ret_change ch;
	struct cu_err err;
	uint64_t records = 0;

	memset(longc, 'x', 5000);
	memcpy(longc + 5000, ":example.org", 12);
	msg_raw_conv(f->st, longc, 5012);
	msg_raw_conv(f->st, "!x\0y:example.org", 16);
	msg_raw_conv(f->st, "A\0B", 3);
	hold_on(f->st, NULL, 0, suffix, 1, &records);
	assert_int_equal(records, 2);
	hold_on(f->st, aid, 1, NULL, 0, &records); /* an exact id: "A" is not "A\0B" */
	assert_int_equal(records, 0);
	memset(&ps, 0, sizeof(ps));
	ps.name = "a-1y";
	ps.scope.conversation_patterns = a;
	ps.scope.nconversation_patterns = 1;
	ps.action = RET_DESTROY;
	ps.approval_required = 1;
	assert_int_equal(ret_duration_parse("1y", &ps.keep, &err), 0);
	assert_int_equal(ret_policy_add(f->st, &ps, "admin", time_now_ms(), &ch, &err), 0);
	assert_int_equal(ch.records, 0);
	/* nor does the class of "A" reach "A\0B" */
	assert_int_equal(ret_class_set(f->st, "A", "lab", "admin", time_now_ms(), &ch, &err), 0);
	memset(&ps, 0, sizeof(ps));
	ps.name = "lab-1y";
	ps.class_label = "lab";
	ps.action = RET_DESTROY;
	ps.approval_required = 1;
	assert_int_equal(ret_duration_parse("1y", &ps.keep, &err), 0);
	assert_int_equal(ret_policy_add(f->st, &ps, "admin", time_now_ms(), &ch, &err), 0);
	assert_int_equal(ch.records, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_calendar),
		cmocka_unit_test_setup_teardown(test_due_boundary_and_longest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tie_prefers_caution, setup, teardown),
		cmocka_unit_test_setup_teardown(test_four_eyes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_approvals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transfer_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_certificate_signature, setup, teardown),
		cmocka_unit_test_setup_teardown(test_erase_derived, setup, teardown),
		cmocka_unit_test_setup_teardown(test_automatic_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resume_honours_new_hold, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scope_exact_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scope_first_wave_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_four_eyes_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scope_whole_field, setup, teardown),
		cmocka_unit_test(test_archive_kinds),
		cmocka_unit_test(test_sigreq),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
