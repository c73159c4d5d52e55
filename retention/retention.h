/* retention.h - the retention engine: policies, conversation classes, legal
 * holds, disposition (plan -> approve -> execute), erasure orders, transfer
 * offers to the public archive and signed deletion certificates
 * (docs/RETENTION.md, with the exact record contents; docs/ARCHITECTURE.md
 * "Deletion without breaking the proofs").
 *
 * State lives in the log. Every change is a record appended with
 * store_append (platform "custos", source "retention", the acting person
 * in sender, the structured content as JSON in meta, a readable line in
 * body); the current state is what replaying those records gives
 * (ret_state_load). Nothing here keeps state anywhere else, so the
 * retention state has the same tamper evidence as the messages.
 *
 * Identifiers: a policy is named; a hold, a plan (disposition, erasure
 * order or policy change awaiting approval), a transfer offer and a
 * certificate are identified by the seq of the record that created them
 * (`custos show ID` shows that record).
 *
 * Threads: the functions that change state take a process-wide lock, so a
 * daemon may call them from several threads (two approvals of one plan
 * cannot both pass). One writer process per archive is the store's rule.
 */
#ifndef CUSTOS_RETENTION_RETENTION_H
#define CUSTOS_RETENTION_RETENTION_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "archiver/store.h"
#include "common/error.h"

struct idx; /* search/index.h */

#define RET_NAME_MAX 128          /* bytes of a policy name, class label or person */
#define RET_TEXT_MAX 2048         /* bytes of a reason, matter or query */
#define RET_GLOB_MAX 512          /* bytes of a conversation/sender id or pattern */
#define RET_HOLD_MAX_SCOPE 256    /* entries of each list of a scope (ids, patterns) */
#define RET_PLAN_MAX_ITEMS 20000  /* records one plan or order covers (keeps records < 4 MiB) */
#define RET_QUERY_MAX_HITS 200000 /* records one hold/erasure query may resolve to */
#define RET_SCHEDULER "scheduler" /* the person named by automatic runs */
#define RET_OFFER_DEFAULT_DAYS 120 /* default answer deadline of a transfer offer */

enum ret_action {
	RET_DESTROY = 1,  /* delete when due */
	RET_TRANSFER = 2, /* offer to the public archive, delete after its answer */
	RET_REVIEW = 3,   /* list for an officer to decide; never deleted by a plan */
};

/* A retention period: n calendar units. */
struct ret_duration {
	uint32_t n;  /* 1 .. 1000 */
	char unit;   /* 'd' days, 'w' weeks, 'm' calendar months, 'y' calendar years */
};

/* "30d", "6m", "10y", "2w". CU_EINVAL otherwise. */
int ret_duration_parse(const char *s, struct ret_duration *out, struct cu_err *err) CU_MUST_CHECK;
/* "30d" etc. into out (size >= 16). */
void ret_duration_format(const struct ret_duration *d, char *out, size_t outlen);
/* ts + d in UTC calendar arithmetic (a month after 31 Jan is 28/29 Feb). */
int64_t ret_duration_add(int64_t ts_ms, const struct ret_duration *d);
const char *ret_action_name(enum ret_action a);
/* 0 for an unknown name. */
enum ret_action ret_action_from_name(const char *s);

/* Parses a date for --from/--to/--deadline: RFC 3339 or YYYY-MM-DD
 * (midnight UTC). *date_only is set to 1 for the short form (so that an
 * end bound can cover the whole day). */
int ret_parse_date(const char *s, int64_t *ms, int *date_only, struct cu_err *err) CU_MUST_CHECK;

/* ---- scopes ---------------------------------------------------------- */

/* Which conversations and senders a policy or hold names: the one scope
 * type of the retention engine (retention/scope.c matches it).
 *
 * Exact ids are compared as bytes, whole: `!evid:[2001:db8::1]` is that
 * room and nothing else. Patterns are shell patterns (fnmatch(3) without
 * flags: `*`, `?`, `[...]`) and are only ever given as patterns. A record
 * matches the conversation part when the scope names no conversation at
 * all, or when its conversation equals one of the ids or matches one of
 * the patterns; the same for senders; both parts must match. Each list
 * holds at most RET_HOLD_MAX_SCOPE entries of at most RET_GLOB_MAX bytes. */
struct ret_scope {
	const char *const *conversations;         /* exact ids */
	size_t nconversations;
	const char *const *conversation_patterns; /* fnmatch patterns */
	size_t nconversation_patterns;
	const char *const *senders;               /* exact ids */
	size_t nsenders;
	const char *const *sender_patterns;       /* fnmatch patterns */
	size_t nsender_patterns;
};

/* ---- policies and classes ------------------------------------------ */

struct ret_policy_spec {
	const char *name;          /* unique among active policies */
	const char *platform;      /* exact platform, or NULL for any */
	struct ret_scope scope;    /* conversations and senders; empty: any */
	const char *class_label;   /* class of the conversation, or NULL for any */
	struct ret_duration keep;  /* counted from the record's origin time */
	enum ret_action action;
	int approval_required;     /* 0: automatic runs may execute it (approval none) */
};

/* What a state change did. */
struct ret_change {
	uint64_t seq;        /* seq of the record appended (the plan's id when pending) */
	int pending;         /* 1: stored as a plan of type "change" awaiting a second person */
	const char *why;     /* when pending: why it needs the approval (static text) */
	uint64_t shortened;  /* records it would delete sooner (shorter period, fewer eyes, no review) */
	uint64_t records;    /* content records the policy's criteria match now (policies only) */
};

/* Four eyes for the rules: a change that can lead to deletion sooner is
 * stored as a plan of type "change" and takes effect only when a second
 * person approves it (ret_approve; ret_reject drops it). Such changes
 * are: a policy with approval none that destroys or transfers (the
 * scheduler would delete without a second person), a policy or class
 * change that makes any archived record deletable sooner or with fewer
 * eyes (ret_change.shortened), retiring a policy (always: it also
 * shortens records not archived yet), and releasing a hold
 * (ret_hold_release). Everything else takes effect at once. */
int ret_policy_add(struct store *st, const struct ret_policy_spec *spec, const char *by, int64_t now_ms,
		   struct ret_change *out, struct cu_err *err) CU_MUST_CHECK;
/* Proposes retiring an active policy by name: always a change plan. */
int ret_policy_retire(struct store *st, const char *name, const char *by, int64_t now_ms,
		      struct ret_change *out, struct cu_err *err) CU_MUST_CHECK;
/* Labels a conversation (its exact id) with a class (label NULL or "":
 * removes it); pending when it shortens the retention of a record. */
int ret_class_set(struct store *st, const char *conversation, const char *label, const char *by,
		  int64_t now_ms, struct ret_change *out, struct cu_err *err) CU_MUST_CHECK;

/* ---- legal holds ---------------------------------------------------- */

struct ret_hold_spec {
	const char *matter;              /* case number */
	const char *reason;
	struct ret_scope scope;          /* conversations and senders; empty: any */
	int64_t from_ms;                 /* origin time >= from; INT64_MIN: open */
	int64_t to_ms;                   /* origin time < to; INT64_MAX: open */
	const char *query;               /* search query (docs/SEARCH.md), or NULL */
	int all;                         /* 1: the whole archive (no scope given on purpose) */
};

/* Places a hold; *hold_id is its id and *records (may be NULL) the
 * number of records it covers at placement (also stored in the hold
 * record), so that a hold covering nothing is seen at once. ix is needed
 * for a query (NULL: the index in the data directory is opened). A scope
 * must be given (or all). */
int ret_hold_add(struct store *st, struct idx *ix, const struct ret_hold_spec *spec, const char *by,
		 int64_t now_ms, uint64_t *hold_id, uint64_t *records, struct cu_err *err) CU_MUST_CHECK;
/* Proposes releasing a hold: reason required (CU_EINVAL). Stored as a
 * change plan (out->pending = 1, out->seq its id); the hold holds until
 * another person approves it with ret_approve. */
int ret_hold_release(struct store *st, uint64_t hold_id, const char *by, const char *reason,
		     int64_t now_ms, struct ret_change *out, struct cu_err *err) CU_MUST_CHECK;

/* ---- disposition ---------------------------------------------------- */

/* Computes what is due now: records whose winning policy's period has
 * passed, minus everything under hold, minus records already offered and
 * awaiting an answer. Unless dry_run, stores the plan as a record and
 * sets *plan_id. *out describes it (ret_plan_json shape, docs/RETENTION.md).
 * A plan with nothing in it is not stored (*plan_id = 0). */
int ret_plan(struct store *st, struct idx *ix, const char *by, int dry_run, int64_t now_ms,
	     uint64_t *plan_id, json_t **out, struct cu_err *err) CU_MUST_CHECK;

/* An erasure order (GDPR Art. 17, court order) for the given seqs and/or
 * the records a query finds, and the records derived from them (edits,
 * reactions, redactions, replies and thread messages quoting them:
 * retention/derived.c says when a relation counts). Refused with
 * CU_EDENIED if any of them is under hold: *out then lists which records
 * and which holds. Otherwise stored as a plan of type "erasure" awaiting
 * approval; *out lists the derived records with why ("derived") and the
 * related ones that are kept ("related"). */
struct ret_erase_opts {
	int exclude_edits;           /* 1: edits of the records are not erased (listed as related) */
	int exclude_reactions;       /* 1: reactions to them are not erased (listed as related) */
};
int ret_erase_order_opts(struct store *st, struct idx *ix, const uint64_t *seqs, size_t nseqs,
			 const char *query, const char *reason, const char *by,
			 const struct ret_erase_opts *opts, int64_t now_ms, uint64_t *plan_id, json_t **out,
			 struct cu_err *err) CU_MUST_CHECK;
/* The same with opts NULL: edits and reactions included. */
int ret_erase_order(struct store *st, struct idx *ix, const uint64_t *seqs, size_t nseqs,
		    const char *query, const char *reason, const char *by, int64_t now_ms,
		    uint64_t *plan_id, json_t **out, struct cu_err *err) CU_MUST_CHECK;

/* Approves a plan (disposition, erasure or change). CU_EDENIED when by is
 * the person who made it (four-eyes), CU_ESTATE when already approved,
 * rejected or executed. A change takes effect with its approval. */
int ret_approve(struct store *st, uint64_t plan_id, const char *by, int64_t now_ms, uint64_t *approval_seq,
		struct cu_err *err) CU_MUST_CHECK;
/* Rejects a plan awaiting approval (any person, the proposer too: a
 * rejection only ever keeps records). reason required. The plan can then
 * never be approved or executed. CU_ESTATE when approved or rejected. */
int ret_reject(struct store *st, uint64_t plan_id, const char *by, const char *reason, int64_t now_ms,
	       uint64_t *rejection_seq, struct cu_err *err) CU_MUST_CHECK;

/* Execution options. */
struct ret_exec_opts {
	const char *by;              /* who runs it (recorded), or NULL */
	const char *package_dir;     /* where transfer packages go; NULL: DATADIR/transfers */
	int64_t respond_ms;          /* transfer answer deadline from now; 0: the default */
};

/* Executes an approved plan: re-checks holds (and, for disposition, that
 * each record is still due) now, appends a signed deletion certificate,
 * deletes the records from the search index and replaces them by stubs in
 * the segments (store_erase). Transfer items become an offer with a
 * package instead. A re-run after a crash finishes the job with the same
 * certificate. *out reports what happened (docs/RETENTION.md). */
int ret_execute(struct store *st, struct idx *ix, uint64_t plan_id, const struct ret_exec_opts *opts,
		int64_t now_ms, json_t **out, struct cu_err *err) CU_MUST_CHECK;

/* For the daemon's scheduler (daily by default): plans what policies with
 * approval none make due, and executes that plan at once (no second
 * person; the certificate says so). Nothing due: no record is written.
 * ix may be NULL (the index in the data directory is opened) and out may
 * be NULL. */
int ret_run_automatic(struct store *st, struct idx *ix, int64_t now_ms, json_t **out,
		      struct cu_err *err) CU_MUST_CHECK;

/* ---- transfers ------------------------------------------------------ */

/* Records the public archive's answer to an offer: accept 1 (it took the
 * package) or 0 (declined). The offered records become due for
 * destruction in the next plan. */
int ret_offer_answer(struct store *st, uint64_t offer_id, int accept, const char *by, int64_t now_ms,
		     struct cu_err *err) CU_MUST_CHECK;

/* ---- reading the state ---------------------------------------------- */

/* Lists as JSON (shapes in docs/RETENTION.md). include_inactive adds
 * retired policies and released holds. */
int ret_policies_json(struct store *st, int include_inactive, json_t **out, struct cu_err *err) CU_MUST_CHECK;
int ret_classes_json(struct store *st, json_t **out, struct cu_err *err) CU_MUST_CHECK;
/* Policies carry "records" (content records their criteria match now);
 * holds carry "records" (what they cover now; ix as for ret_hold_add). */
int ret_holds_json(struct store *st, struct idx *ix, int include_inactive, json_t **out,
		   struct cu_err *err) CU_MUST_CHECK;
/* One hold, with the records it covers now (count, and the first max_seqs
 * seqs). ix as for ret_hold_add. */
int ret_hold_json(struct store *st, struct idx *ix, uint64_t hold_id, size_t max_seqs, json_t **out,
		  struct cu_err *err) CU_MUST_CHECK;
int ret_plans_json(struct store *st, json_t **out, struct cu_err *err) CU_MUST_CHECK;
int ret_offers_json(struct store *st, int64_t now_ms, json_t **out, struct cu_err *err) CU_MUST_CHECK;
/* Every deletion certificate, each with "signature_valid" checked against
 * the archive key. */
int ret_certificates_json(struct store *st, json_t **out, struct cu_err *err) CU_MUST_CHECK;

/* The exact signed bytes of certificate cert_id and its 64-byte Ed25519
 * signature, for offline checking (`openssl pkeyutl -verify -rawin`).
 * *text is malloc'd. */
int ret_certificate_export(struct store *st, uint64_t cert_id, char **text, size_t *len,
			   uint8_t sig[64], struct cu_err *err) CU_MUST_CHECK;

#endif
