/* query.h - the user query language (docs/SEARCH.md "Query language"):
 * a hand-written recursive-descent parser into a small tree, and a
 * compiler from that tree to an FTS5 MATCH expression plus a
 * parameterised SQL condition over the index's metadata table.
 *
 * Nothing typed reaches SQL or FTS5 as syntax: every word is folded by
 * the tokenizer and emitted as a double-quoted FTS5 string; every field
 * value is a bound parameter. Syntax errors are CU_EINVAL with a message
 * naming the position (1-based, in characters) and what was expected.
 */
#ifndef CUSTOS_SEARCH_QUERY_H
#define CUSTOS_SEARCH_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"
#include "search/tokenizer.h"

#define Q_MAX_LEN 4096     /* bytes of a query */
#define Q_MAX_TERMS 64     /* words, phrases and fields in a query */
#define Q_MAX_DEPTH 32     /* nesting of parentheses and NOT */
#define Q_MAX_IDS 1000     /* senders/conversations one field value may name */
#define Q_MIN_PREFIX 2     /* characters before '*' */
#define Q_MAX_TAGS 64      /* ids of a from:/in: value that are matched as FTS5 tags */

/* The FTS5 tokens that name a record's conversation and sender in the
 * index: the letter and the decimal id of the name, as "C12" and "S7"
 * (idx_tags). The tokenizer folds every word to lower case, so no word of
 * a message or a query can match or make one. */
#define Q_TAG_CONV 'C'
#define Q_TAG_SENDER 'S'
/* and "K" on the archive's own records (kinds 16-31: audit, hold ...),
 * which searches leave out unless the query names a kind */
#define Q_TAG_SYSTEM 'K'

enum q_kind {
	Q_AND = 1,   /* all kids */
	Q_OR,        /* any kid */
	Q_NOT,       /* kids[0] must not match */
	Q_WORD,      /* a bare word, possibly with a trailing '*' */
	Q_PHRASE,    /* "an exact phrase", possibly followed by '*' */
	Q_FIELD,     /* name:value */
};

enum q_field {
	QF_FROM = 1, /* sender */
	QF_IN,       /* conversation */
	QF_PLATFORM,
	QF_KIND,
	QF_AFTER,    /* origin time >= value */
	QF_BEFORE,   /* origin time < value */
};

/* A node of the parsed query. */
struct q_node {
	enum q_kind kind;
	struct q_node **kids;  /* Q_AND, Q_OR: >= 2 kids; Q_NOT: 1 */
	size_t nkids;
	char *text;            /* Q_WORD/Q_PHRASE: the text as typed (no quotes, no '*');
				  Q_FIELD: the value */
	int prefix;            /* Q_WORD/Q_PHRASE: a trailing '*' */
	enum q_field field;    /* Q_FIELD: which */
	int64_t ts;            /* QF_AFTER/QF_BEFORE: ms since the epoch */
	unsigned kindval;      /* QF_KIND: enum rec_kind */
	size_t pos;            /* 1-based character position in the query */
};

/* Parses q (NUL-terminated UTF-8). On success *out is the tree (free
 * with q_free). CU_EINVAL with a positioned message on bad syntax,
 * CU_ETOOBIG past the caps above. */
int q_parse(const char *q, struct q_node **out, struct cu_err *err) CU_MUST_CHECK;
void q_free(struct q_node *n);

/* Prints the tree in a canonical form (for tests and debugging). */
int q_dump(const struct q_node *n, struct buf *out) CU_MUST_CHECK;

/* Resolves a from:/in:/platform: value to the ids of the matching names
 * in the index (at most max); sets *n. 0 or a CU_E* code. */
typedef int (*q_resolve_fn)(void *arg, enum q_field field, const char *value, int64_t *ids,
			    size_t max, size_t *n);

/* Finds the exact forms in the index whose stem is stem (at most max),
 * storing malloc'd strings in terms (freed by the caller); sets *n. */
typedef int (*q_expand_fn)(void *arg, const char *stem, char **terms, size_t max, size_t *n);

#define Q_MAX_FORMS 64     /* exact forms one stemmed word may stand for */

/* What the compiler needs from the index. */
struct q_env {
	struct tok_ctx *tc;      /* folds the words exactly as the index did */
	q_resolve_fn resolve;    /* from:/in:/platform: values to ids (NULL: none match) */
	q_expand_fn expand;      /* stem to exact forms (NULL: the word and its stem only) */
	void *arg;               /* passed to both */
};

enum q_ptype { QP_INT = 1, QP_TEXT };

/* A bound parameter of the compiled SQL condition, in order of the '?'s. */
struct q_param {
	enum q_ptype type;
	int64_t i;     /* QP_INT */
	char *s;       /* QP_TEXT (owned) */
};

/* Words to mark in snippets: a message word is marked when its exact
 * form is in exact, its stem is in stems, or its exact form or compound
 * starts with one of prefixes. Arrays of owned strings. */
struct q_marks {
	char **exact;
	size_t nexact;
	char **stems;
	size_t nstems;
	char **prefixes;
	size_t nprefixes;
};

/* The compiled query. */
struct q_plan {
	char *fts;               /* FTS5 MATCH expression selecting the candidates, or NULL
				    when the query has no positive words (metadata only) */
	struct buf where;        /* SQL condition over "m" (the metadata table); "1" if none */
	struct q_param *params;  /* bound to the '?'s in where, in order */
	size_t nparams;
	size_t params_alloc;
	int has_kind;            /* the query names kind: (else only message-like kinds) */
	int has_words;           /* fts has positive words to rank by (not only tags) */
	int64_t after, before;   /* the query's top-level after:/before: (none: INT64_MIN,
				    INT64_MAX): every match lies in [after, before) */
	struct q_marks marks;    /* words to mark in snippets */
};

/* Compiles a parsed query. CU_EINVAL (with position) for queries that
 * have nothing to search for or a prefix that is too short. */
int q_compile(const struct q_node *root, const struct q_env *env, struct q_plan *out,
	      struct cu_err *err) CU_MUST_CHECK;
void q_plan_release(struct q_plan *p);

/* 1 if a message word (exact form, stem or NULL, compound or NULL) is one
 * of the plan's marked words. */
int q_marks_match(const struct q_marks *m, const char *exact, const char *stem,
		  const char *compound);

#endif
