/* retention_int.h - internals shared by the retention module's files: the state
 * replayed from the log, rule evaluation and record writing. Not for use
 * outside retention/. */
#ifndef CUSTOS_RETENTION_RETENTION_INT_H
#define CUSTOS_RETENTION_RETENTION_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>

#include "archiver/store.h"
#include "retention/retention.h"

#define RET_PLATFORM "custos"
#define RET_SOURCE "retention"
#define RET_FORMAT 1 /* "v" member of every meta object written here */

/* Held by every function that reads state and appends depending on it. */
extern pthread_mutex_t ret_lock;

/* An active, retired or pending policy. Strings point into doc. */
struct ret_policy {
	uint64_t id;                 /* seq of the record that made it effective */
	json_t *doc;                 /* the policy object (owned reference) */
	const char *name;
	const char *platform;        /* NULL: any */
	struct ret_scope scope;      /* arrays malloc'd (ret_scope_release), strings in doc */
	const char *class_label;     /* NULL: any */
	struct ret_duration keep;
	enum ret_action action;
	int approval_required;
	const char *by;              /* who added it */
	int64_t since_ms;            /* when it took effect */
	int retired;                 /* 1 once retired */
	uint64_t retired_seq;        /* the record that retired it */
	const char *retired_by;
	int64_t retired_ms;
};

/* A conversation's class label. Strings point into the record's doc. */
struct ret_class {
	const char *conversation;
	const char *label;
	const char *by;
	uint64_t seq;                /* record that set it */
};

/* A legal hold. Strings point into doc. */
struct ret_hold {
	uint64_t id;                 /* seq of the hold record */
	json_t *doc;                 /* its meta object (owned) */
	const char *matter;
	const char *reason;
	const char *by;
	int64_t placed_ms;
	struct ret_scope scope;      /* arrays malloc'd (ret_scope_release), strings in doc */
	int64_t from_ms;             /* INT64_MIN: open */
	int64_t to_ms;               /* INT64_MAX: open */
	const char *query;           /* NULL: none */
	int all;                     /* whole archive */
	int released;
	uint64_t released_seq;
	const char *released_by;     /* who proposed the release */
	int64_t released_ms;
	const char *release_reason;
	uint64_t *qseqs;             /* sorted seqs the query matches (after ret_holds_resolve) */
	size_t nq;
	int qresolved;               /* 1 once qseqs is filled */
};

/* A plan: disposition, erasure order or policy change. */
struct ret_plan {
	uint64_t id;                 /* seq of the plan record */
	json_t *doc;                 /* its meta object (owned) */
	const char *type;            /* "disposition", "erasure", "change" */
	const char *by;
	int64_t at_ms;
	int automatic;               /* made by the scheduler for approval-none policies */
	uint64_t approval_seq;       /* 0: not approved */
	const char *approved_by;
	int64_t approved_ms;
	uint64_t rejection_seq;      /* 0: not rejected (a rejected plan is never approved) */
	const char *rejected_by;
	int64_t rejected_ms;
	uint64_t cert_seq;           /* 0: no certificate yet */
	uint64_t offer_seq;          /* 0: no transfer offer made from it */
};

enum ret_offer_state { OFFER_OFFERED = 0, OFFER_ACCEPTED, OFFER_DECLINED };

/* A transfer offer to the public archive. */
struct ret_offer {
	uint64_t id;                 /* seq of the offer record */
	uint64_t plan;               /* the plan it came from */
	json_t *doc;                 /* meta (owned) */
	int64_t deadline_ms;
	enum ret_offer_state state;
	const char *answered_by;
	int64_t answered_ms;
	uint64_t answer_seq;
	uint64_t *seqs;              /* sorted offered seqs (malloc'd) */
	size_t nseqs;
	const char *package;         /* directory of the package */
};

/* A deletion certificate. */
struct ret_cert {
	uint64_t id;                 /* seq of the certificate record */
	uint64_t plan;
	json_t *doc;                 /* parsed meta (owned) */
	char *meta;                  /* exact signed bytes (malloc'd, NUL-terminated) */
	size_t meta_len;
	char *auth;                  /* RF_AUTH text (malloc'd) */
};

/* Everything replayed. */
struct ret_state {
	uint64_t size;               /* log size when loaded */
	struct ret_policy *pol; size_t npol, apol;
	struct ret_class *cls; size_t ncls, acls;   /* sorted by conversation after load */
	struct ret_hold *holds; size_t nholds, aholds;
	struct ret_plan *plans; size_t nplans, aplans;
	struct ret_offer *offers; size_t noffers, aoffers;
	struct ret_cert *certs; size_t ncerts, acerts;
	json_t *docs;                /* array keeping class docs alive */
	uint64_t skipped;            /* retention records that could not be read */
};

int ret_state_load(struct store *st, struct ret_state **out, struct cu_err *err) CU_MUST_CHECK;
void ret_state_free(struct ret_state *s);
struct ret_policy *ret_state_policy(struct ret_state *s, const char *name); /* active only */
struct ret_hold *ret_state_hold(struct ret_state *s, uint64_t id);
struct ret_plan *ret_state_plan(struct ret_state *s, uint64_t id);
struct ret_offer *ret_state_offer(struct ret_state *s, uint64_t id);
const char *ret_state_class(const struct ret_state *s, const char *conversation);
struct ret_recinfo;

/* Reads a policy object (as stored in policy.add) into p; strings point
 * into pj, the scope's arrays are malloc'd (ret_scope_release(&p->scope)). */
int ret_policy_from_json(json_t *pj, struct ret_policy *p) CU_MUST_CHECK;

/* ---- scopes (scope.c) ------------------------------------------------ */

/* Checks a scope given by a person: at most RET_HOLD_MAX_SCOPE entries per
 * list, each a text of at most RET_GLOB_MAX bytes without control
 * characters. names[4] are how the caller calls the four lists (for the
 * message): conversations, conversation patterns, senders, sender patterns. */
int ret_scope_check(const struct ret_scope *sc, const char *const names[4], struct cu_err *err) CU_MUST_CHECK;
/* 1 when the scope names no conversation and no sender. */
int ret_scope_empty(const struct ret_scope *sc);
/* Sets the four lists into o ("conversations", "conversation_patterns",
 * "senders", "sender_patterns"; all four, empty ones too: their presence
 * marks the format, see ret_scope_read). 0 or CU_ENOMEM. */
int ret_scope_to_json(const struct ret_scope *sc, json_t *o) CU_MUST_CHECK;
/* Reads the scope stored in o (a hold's "scope" or a policy object).
 * Records written before exact ids existed used one field as a pattern
 * and keep that meaning: a policy's "conversation"/"sender" string, and a
 * hold scope's "conversations"/"senders" arrays when the scope has
 * neither "conversation_patterns" nor "sender_patterns", are patterns.
 * Strings point into o; the arrays are malloc'd. CU_ECORRUPT, CU_ENOMEM. */
int ret_scope_read(json_t *o, struct ret_scope *sc) CU_MUST_CHECK;
void ret_scope_release(struct ret_scope *sc);
/* 1 when the record's conversation and sender are within the scope. */
int ret_scope_matches(const struct ret_scope *sc, const struct ret_recinfo *ri);
/* A readable summary (" in X", " in pattern P", " from S" ...) into out. */
void ret_scope_describe(const struct ret_scope *sc, char *out, size_t outlen);

/* The parts of a content record the rules look at. */
struct ret_recinfo {
	uint64_t seq;
	unsigned kind;
	int64_t ts;                  /* origin time */
	const char *platform;        /* NUL-terminated copies (rules use fnmatch) */
	const char *conversation;
	const char *sender;
	size_t conversation_len;     /* the field's whole length */
	size_t sender_len;
	const char *conversation_raw; /* the whole field (not NUL-terminated), valid while the */
	const char *sender_raw;       /* record's bytes are: exact ids and patterns see all of it */
};

/* Fills ri from a decoded record; the strings are copied into scratch
 * (cap 3 * 64 KiB) so they can be NUL-terminated. */
struct ret_scratch {
	char platform[256];
	char conversation[4096];
	char sender[4096];
};
void ret_recinfo_from(const struct rec_view *v, uint64_t seq, struct ret_scratch *sc, struct ret_recinfo *ri);

/* A set of rules: the active policies and the class map. */
struct ret_rules {
	const struct ret_policy **pol;
	size_t npol;
	const struct ret_state *classes;    /* class lookup (ret_state_class) */
	const char *override_conv;          /* hypothetical class change: this conversation ... */
	const char *override_label;         /* ... has this label (NULL: none) */
};
/* The rules the state says are in force (pol malloc'd; free with free()). */
int ret_rules_current(const struct ret_state *s, struct ret_rules *r) CU_MUST_CHECK;
/* The winning policy for a record: latest due time; ties go to approval
 * required, then review > transfer > destroy. NULL if none matches. */
const struct ret_policy *ret_rules_winner(const struct ret_rules *r, const struct ret_recinfo *ri,
					  int64_t *due_ms);
int ret_policy_matches(const struct ret_policy *p, const struct ret_rules *r, const struct ret_recinfo *ri);

/* Resolves the queries of active holds to seq sets (once per state). */
int ret_holds_resolve(struct ret_state *s, struct store *st, struct idx *ix, struct cu_err *err) CU_MUST_CHECK;
/* 1 if the active hold h covers ri (content records and any kind alike). */
int ret_hold_covers(const struct ret_hold *h, const struct ret_recinfo *ri);
/* Fills ids with the active holds covering ri (up to max); returns how many cover it. */
size_t ret_holds_covering(const struct ret_state *s, const struct ret_recinfo *ri, uint64_t *ids, size_t max);
/* Resolves a query to the sorted list of seqs it finds (cap RET_QUERY_MAX_HITS). */
int ret_query_seqs(struct store *st, struct idx *ix, const char *query, uint64_t **seqs, size_t *n,
		   struct cu_err *err) CU_MUST_CHECK;
/* Reads the records at the sorted seqs in one sequential pass over the
 * log (a frame is decompressed once, not once per record) and calls fn
 * for each; a seq listed twice is passed twice. fn returns 0 to go on. */
typedef int (*ret_walk_fn)(void *arg, size_t idx, const struct store_entry *e, struct cu_err *err);
int ret_walk_seqs(struct store *st, const uint64_t *seqs, size_t n, ret_walk_fn fn, void *arg,
		  struct cu_err *err) CU_MUST_CHECK;
/* Opens the data directory's index as a writer if ix is NULL, and brings
 * it up to the log. *opened is the handle to close (or NULL). */
int ret_index_ready(struct store *st, struct idx **ix, struct idx **opened, struct cu_err *err) CU_MUST_CHECK;

/* Appends one retention record: meta is the object (a "v" member is
 * added), body the readable line, by the person. *seq_out its seq. */
int ret_append(struct store *st, unsigned kind, json_t *meta, const char *body, const char *by,
	       int64_t now_ms, const char *auth, uint64_t *seq_out, struct cu_err *err) CU_MUST_CHECK;
/* Appends with meta as exact text (for signed certificates). */
int ret_append_text(struct store *st, unsigned kind, const char *meta_text, const char *body, const char *by,
		    int64_t now_ms, const char *auth, uint64_t *seq_out, struct cu_err *err) CU_MUST_CHECK;
/* SHA-256 over the lines "<seq> <leaf hex>\n" of a seq-ordered list, as hex. */
int ret_digest(const uint64_t *seqs, const uint8_t (*leaves)[HASH_LEN], size_t n,
	       char hex[2 * HASH_LEN + 1]) CU_MUST_CHECK;
/* The exact meta text ret_append writes for meta (malloc'd). */
char *ret_meta_text(json_t *meta);

/* Checks a person's name (non-empty, <= RET_NAME_MAX, no control chars). */
int ret_check_person(const char *by, struct cu_err *err) CU_MUST_CHECK;
/* 1 if a and b name the same person (case-insensitive, trimmed). */
int ret_same_person(const char *a, const char *b);
/* Checks a free text (non-empty unless optional, <= max, no control chars but \n\t). */
int ret_check_text(const char *what, const char *s, size_t max, int optional, struct cu_err *err) CU_MUST_CHECK;

/* Stores a change made by `by`: directly (why NULL: in force at once) or
 * as a plan of type "change" awaiting a second person, with why (a
 * static text) saying what needs the approval. out->seq, ->pending and
 * ->why are set; ->shortened and ->records are stored as given. */
int ret_store_change(struct store *st, json_t *op, const char *body, const char *by, int64_t now_ms,
		     const char *why, struct ret_change *out, struct cu_err *err) CU_MUST_CHECK;
/* The change plans awaiting approval whose op is one of ops, as listed
 * under "pending_changes": [{"plan", "change", "by", "at", "shortened", "why"}]. */
json_t *ret_pending_json(const struct ret_state *s, const char *const *ops, size_t nops);

/* Applies a change object (the "change" of a plan, or a direct
 * policy.add/policy.retire/class.set, or a first-wave hold.release) to
 * the state. */
int ret_state_apply_change(struct ret_state *s, json_t *op, uint64_t seq, const char *by, int64_t at_ms);

/* Calls fn for every content record (not rec_kind_is_archive, not deleted)
 * of the log below seq upto, in seq order; fn returns 0 to go on. */
typedef int (*ret_content_fn)(void *arg, const struct ret_recinfo *ri, struct cu_err *err);
int ret_walk_content(struct store *st, uint64_t upto, ret_content_fn fn, void *arg,
		     struct cu_err *err) CU_MUST_CHECK;

/* What a change of the rules from `before` to `after` does to the
 * archived content records: *sooner counts the records it makes
 * deletable sooner or with fewer eyes (an earlier due time; a review
 * record that a plan would now delete; an approval-required or unruled
 * record that the scheduler would now delete alone), and, if count_p is
 * given, *matched the records count_p's criteria match under `after`. */
int ret_change_effect(struct store *st, const struct ret_rules *before, const struct ret_rules *after,
		      const struct ret_policy *count_p, uint64_t *sooner, uint64_t *matched,
		      struct cu_err *err) CU_MUST_CHECK;

/* Grows an array (*p of *alloc elements of size el) to hold n+1. */
int ret_grow(void **p, size_t *alloc, size_t n, size_t el) CU_MUST_CHECK;

/* Sorted u64 helpers. */
int ret_u64_cmp(const void *a, const void *b);
int ret_u64_has(const uint64_t *v, size_t n, uint64_t x);

/* JSON array of seqs (integers) -> malloc'd sorted array. */
int ret_json_seqs(const json_t *arr, uint64_t **out, size_t *n) CU_MUST_CHECK;

/* Transfer packages (transfer.c): writes the records as the export
 * module's BagIt package (tar) to the file pkg inside dir (created if
 * needed), with the package's SHA-256 as hex; removes such a file. */
int ret_package_write(struct store *st, const char *dir, const char *pkg, uint64_t plan_id,
		      const uint64_t *seqs, size_t n, const char *by, char digest_hex[2 * HASH_LEN + 1],
		      struct cu_err *err) CU_MUST_CHECK;
int ret_package_remove(const char *pkg, struct cu_err *err) CU_MUST_CHECK;

#endif
