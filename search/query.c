/* query.c - parser and compiler of the search query language (query.h,
 * docs/SEARCH.md). Grammar, lowest precedence first:
 *
 *   query   := and EOF
 *   and     := or ( ["AND"] or )*          implicit AND between terms
 *   or      := unary ( "OR" unary )*       OR binds tighter than AND
 *   unary   := ( "-" | "NOT" ) unary | primary
 *   primary := "(" and ")" | field | phrase | word
 *   field   := name ":" ( value | '"' text '"' )
 *   phrase  := '"' text '"' [ "*" ]
 *   word    := any run of characters but space ( ) " , optionally ending in "*"
 */
#include "search/query.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "archiver/record.h"
#include "common/timeutil.h"
#include "common/utf8.h"

#define Q_MAX_WORDS 32 /* words in one phrase or term */

enum tok_type {
	T_END = 0,
	T_LP,
	T_RP,
	T_WORD,
	T_PHRASE,
	T_FIELD,
	T_OR,
	T_AND,
	T_NOT,
	T_MINUS,
};

/* One lexical token of the query. */
struct qtok {
	enum tok_type type;
	size_t start, end;   /* byte span of the whole token in the query */
	size_t ts, te;       /* T_WORD/T_PHRASE: span of the text; T_FIELD: of the value */
	int prefix;          /* trailing '*' */
	enum q_field field;  /* T_FIELD */
};

struct parser {
	const char *q;       /* the query */
	size_t len;          /* its length in bytes */
	size_t i;            /* next byte to lex */
	int depth;           /* current nesting */
	unsigned terms;      /* leaves so far */
	struct cu_err *err;
};

static const struct {
	const char *name;
	enum q_field field;
} field_names[] = {
	{"from", QF_FROM}, {"in", QF_IN}, {"platform", QF_PLATFORM},
	{"kind", QF_KIND}, {"after", QF_AFTER}, {"before", QF_BEFORE},
};

/* 1-based character position of byte offset off. */
static size_t char_pos(const char *q, size_t off)
{
	size_t i, n = 1;

	for (i = 0; i < off && q[i]; i++)
		if (((unsigned char)q[i] & 0xC0) != 0x80)
			n++;
	return n;
}

static int syntax(struct parser *p, size_t off, const char *fmt, const char *a, const char *b)
{
	char msg[400];

	snprintf(msg, sizeof(msg), fmt, a ? a : "", b ? b : "");
	return cu_err_set(p->err, CU_EINVAL, "query syntax error at position %zu: %s",
			  char_pos(p->q, off), msg);
}

/* Whitespace for the lexer: ASCII space and every control character. */
static int is_space(unsigned char c)
{
	return c <= 0x20 || c == 0x7F;
}

static int word_stop(unsigned char c)
{
	return is_space(c) || c == '(' || c == ')' || c == '"';
}

/* Lexes the token at p->i without consuming it. */
static int peek(struct parser *p, struct qtok *t)
{
	const char *q = p->q;
	size_t i = p->i, j, k;

	while (i < p->len && is_space((unsigned char)q[i]))
		i++;
	memset(t, 0, sizeof(*t));
	t->start = i;
	if (i >= p->len) {
		t->type = T_END;
		t->end = i;
		return 0;
	}
	if (q[i] == '(' || q[i] == ')') {
		t->type = q[i] == '(' ? T_LP : T_RP;
		t->end = i + 1;
		return 0;
	}
	if (q[i] == '"') {
		j = i + 1;
		while (j < p->len && q[j] != '"')
			j++;
		if (j >= p->len)
			return syntax(p, i, "expected '\"' to close the phrase opened here, found end of query",
				      NULL, NULL);
		t->type = T_PHRASE;
		t->ts = i + 1;
		t->te = j;
		j++;
		while (j < p->len && q[j] == '*') {
			t->prefix = 1;
			j++;
		}
		t->end = j;
		return 0;
	}
	if (q[i] == '-' && i + 1 < p->len && !is_space((unsigned char)q[i + 1]) &&
	    q[i + 1] != '-' && q[i + 1] != ')') {
		t->type = T_MINUS;
		t->end = i + 1;
		return 0;
	}
	j = i;
	while (j < p->len && !word_stop((unsigned char)q[j]))
		j++;
	t->end = j;
	/* name:value for the known field names */
	for (k = 0; k < sizeof(field_names) / sizeof(field_names[0]); k++) {
		size_t nl = strlen(field_names[k].name);

		if (j - i > nl && q[i + nl] == ':' && !strncasecmp(q + i, field_names[k].name, nl)) {
			t->type = T_FIELD;
			t->field = field_names[k].field;
			if (j == i + nl + 1) {
				if (j < p->len && q[j] == '"') {
					size_t e = j + 1;

					while (e < p->len && q[e] != '"')
						e++;
					if (e >= p->len)
						return syntax(p, j, "expected '\"' to close the value opened here, "
							      "found end of query", NULL, NULL);
					t->ts = j + 1;
					t->te = e;
					t->end = e + 1;
					return 0;
				}
				return syntax(p, j, "expected a value after '%s:'", field_names[k].name, NULL);
			}
			t->ts = i + nl + 1;
			t->te = j;
			return 0;
		}
	}
	if (j - i == 2 && !strncmp(q + i, "OR", 2))
		t->type = T_OR;
	else if (j - i == 3 && !strncmp(q + i, "AND", 3))
		t->type = T_AND;
	else if (j - i == 3 && !strncmp(q + i, "NOT", 3))
		t->type = T_NOT;
	else
		t->type = T_WORD;
	t->ts = i;
	t->te = j;
	if (t->type == T_WORD)
		while (t->te > t->ts && q[t->te - 1] == '*') {
			t->prefix = 1;
			t->te--;
		}
	return 0;
}

/* Describes a token for an error message. */
static const char *tok_desc(const struct qtok *t)
{
	switch (t->type) {
	case T_END: return "end of query";
	case T_LP: return "'('";
	case T_RP: return "')'";
	case T_OR: return "'OR'";
	case T_AND: return "'AND'";
	case T_NOT: return "'NOT'";
	default: return "a term";
	}
}

static int starts_term(const struct qtok *t)
{
	return t->type == T_LP || t->type == T_WORD || t->type == T_PHRASE ||
	       t->type == T_FIELD || t->type == T_NOT || t->type == T_MINUS;
}

void q_free(struct q_node *n)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; i < n->nkids; i++)
		q_free(n->kids[i]);
	free(n->kids);
	free(n->text);
	free(n);
}

static struct q_node *node_new(enum q_kind kind, size_t pos)
{
	struct q_node *n = calloc(1, sizeof(*n));

	if (n) {
		n->kind = kind;
		n->pos = pos;
	}
	return n;
}

static int node_add(struct q_node *n, struct q_node *kid)
{
	struct q_node **k = realloc(n->kids, (n->nkids + 1) * sizeof(*k));

	if (!k)
		return CU_ENOMEM;
	n->kids = k;
	n->kids[n->nkids++] = kid;
	return 0;
}

static int parse_and(struct parser *p, struct q_node **out);

/* The list of kind names for error messages, built once (pthread_once:
 * queries are parsed in many threads at once). */
static char kind_list[300];
static pthread_once_t kind_list_once = PTHREAD_ONCE_INIT;

static void kind_list_build(void)
{
	static const unsigned kinds[] = {
		REC_MESSAGE, REC_EDIT, REC_REDACTION, REC_REACTION, REC_MEMBERSHIP, REC_STATE,
		REC_ATTACHMENT, REC_REJECTED, REC_AUDIT, REC_HOLD, REC_POLICY, REC_PLAN, REC_APPROVAL,
		REC_DELETION, REC_EXPORT, REC_CHECKPOINT, REC_ADMIN, REC_OTHER,
	};
	size_t i, o = 0;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		const char *nm = rec_kind_name(kinds[i]);
		int w = snprintf(kind_list + o, sizeof(kind_list) - o, "%s%s", i ? ", " : "", nm ? nm : "?");

		if (w < 0 || (size_t)w >= sizeof(kind_list) - o)
			break;
		o += (size_t)w;
	}
}

static const char *kind_names(void)
{
	pthread_once(&kind_list_once, kind_list_build);
	return kind_list;
}

static int leaf(struct parser *p, const struct qtok *t, struct q_node **out)
{
	struct q_node *n = NULL;
	size_t tl = t->te - t->ts;
	int rc = 0;

	*out = NULL;
	if (++p->terms > Q_MAX_TERMS)
		return cu_err_set(p->err, CU_ETOOBIG, "query has too many terms (at most %d)", Q_MAX_TERMS);
	n = node_new(t->type == T_WORD ? Q_WORD : t->type == T_PHRASE ? Q_PHRASE : Q_FIELD,
		     char_pos(p->q, t->start));
	if (!n)
		return CU_ENOMEM;
	n->text = strndup(p->q + t->ts, tl);
	if (!n->text) {
		rc = CU_ENOMEM;
		goto out;
	}
	n->prefix = t->prefix;
	if (n->kind == Q_FIELD) {
		n->field = t->field;
		if (tl == 0) {
			rc = syntax(p, t->ts, "expected a value in the quotes", NULL, NULL);
			goto out;
		}
		switch (t->field) {
		case QF_KIND:
			n->kindval = rec_kind_from_name(n->text);
			if (!n->kindval)
				rc = syntax(p, t->ts, "unknown kind '%s', expected one of: %s", n->text,
					    kind_names());
			break;
		case QF_AFTER:
		case QF_BEFORE:
			if (time_parse_rfc3339(n->text, &n->ts) != 0)
				rc = syntax(p, t->ts, "invalid time '%s', expected a date YYYY-MM-DD or an "
					    "RFC 3339 timestamp like 2024-05-01T12:00:00Z", n->text, NULL);
			break;
		case QF_PLATFORM: {
			char *c;

			for (c = n->text; *c; c++)
				if (*c >= 'A' && *c <= 'Z')
					*c = (char)(*c + 32);
			break;
		}
		default:
			break;
		}
	}
out:
	if (rc) {
		q_free(n);
		return rc;
	}
	*out = n;
	return 0;
}

static int parse_unary(struct parser *p, struct q_node **out)
{
	struct q_node *n = NULL, *kid = NULL;
	struct qtok t, u;
	int rc;

	*out = NULL;
	rc = peek(p, &t);
	if (rc)
		return rc;
	if (t.type == T_MINUS || t.type == T_NOT) {
		p->i = t.end;
		if (++p->depth > Q_MAX_DEPTH)
			return syntax(p, t.start, "too deeply nested (at most %s levels)", "32", NULL);
		rc = peek(p, &u);
		if (rc)
			return rc;
		if (!starts_term(&u))
			return syntax(p, u.start, "expected a term after '%s', found %s",
				      t.type == T_NOT ? "NOT" : "-", tok_desc(&u));
		rc = parse_unary(p, &kid);
		p->depth--;
		if (rc)
			return rc;
		n = node_new(Q_NOT, char_pos(p->q, t.start));
		if (!n || node_add(n, kid) != 0) {
			q_free(kid);
			q_free(n);
			return CU_ENOMEM;
		}
		*out = n;
		return 0;
	}
	if (t.type == T_LP) {
		p->i = t.end;
		if (++p->depth > Q_MAX_DEPTH)
			return syntax(p, t.start, "too deeply nested (at most %s levels)", "32", NULL);
		rc = peek(p, &u);
		if (rc)
			return rc;
		if (!starts_term(&u))
			return syntax(p, u.start, "expected a term after '(', found %s", tok_desc(&u), NULL);
		rc = parse_and(p, &n);
		p->depth--;
		if (rc)
			return rc;
		rc = peek(p, &u);
		if (rc == 0 && u.type != T_RP) {
			char where[32];

			snprintf(where, sizeof(where), "%zu", char_pos(p->q, t.start));
			rc = syntax(p, u.start, "expected ')' to close the '(' at position %s, found %s",
				    where, tok_desc(&u));
		}
		if (rc) {
			q_free(n);
			return rc;
		}
		p->i = u.end;
		*out = n;
		return 0;
	}
	if (t.type == T_WORD || t.type == T_PHRASE || t.type == T_FIELD) {
		p->i = t.end;
		return leaf(p, &t, out);
	}
	if (t.type == T_RP)
		return syntax(p, t.start, "unexpected ')', there is no '(' to close", NULL, NULL);
	return syntax(p, t.start, "expected a term, found %s", tok_desc(&t), NULL);
}

/* Parses kids joined by an operator (sep) into a node of kind k. */
static int parse_list(struct parser *p, enum q_kind k, struct q_node **out)
{
	struct q_node *n = NULL, *kid = NULL;
	struct qtok t, u;
	size_t pos = 0;
	int rc;

	*out = NULL;
	rc = k == Q_OR ? parse_unary(p, &kid) : parse_list(p, Q_OR, &kid);
	if (rc)
		return rc;
	for (;;) {
		rc = peek(p, &t);
		if (rc)
			goto fail;
		if (k == Q_OR) {
			if (t.type != T_OR)
				break;
		} else if (t.type == T_END || t.type == T_RP) {
			break;
		}
		if (t.type == T_OR || t.type == T_AND) {
			p->i = t.end;
			rc = peek(p, &u);
			if (rc)
				goto fail;
			if (!starts_term(&u)) {
				rc = syntax(p, u.start, "expected a term after '%s', found %s",
					    t.type == T_OR ? "OR" : "AND", tok_desc(&u));
				goto fail;
			}
		} else if (!starts_term(&t)) {
			rc = syntax(p, t.start, "expected a term, found %s", tok_desc(&t), NULL);
			goto fail;
		}
		if (!n) {
			pos = kid->pos;
			n = node_new(k, pos);
			if (!n || node_add(n, kid) != 0) {
				rc = CU_ENOMEM;
				goto fail;
			}
			kid = NULL;
		}
		rc = k == Q_OR ? parse_unary(p, &kid) : parse_list(p, Q_OR, &kid);
		if (rc)
			goto fail;
		rc = node_add(n, kid);
		if (rc)
			goto fail;
		kid = NULL;
	}
	*out = n ? n : kid;
	return 0;
fail:
	q_free(kid);
	q_free(n);
	return rc;
}

static int parse_and(struct parser *p, struct q_node **out)
{
	return parse_list(p, Q_AND, out);
}

int q_parse(const char *q, struct q_node **out, struct cu_err *err)
{
	struct parser p;
	struct q_node *n = NULL;
	struct qtok t;
	size_t i;
	int rc;

	*out = NULL;
	memset(&p, 0, sizeof(p));
	p.q = q;
	p.len = strlen(q);
	p.err = err;
	if (p.len > Q_MAX_LEN)
		return cu_err_set(err, CU_ETOOBIG, "query is too long (%zu bytes, at most %d)", p.len,
				  Q_MAX_LEN);
	if (!utf8_check(q, p.len, 0, &i))
		return syntax(&p, i, "invalid UTF-8", NULL, NULL);
	rc = peek(&p, &t);
	if (rc)
		return rc;
	if (t.type == T_END)
		return cu_err_set(err, CU_EINVAL, "empty query: expected words, \"phrases\" or fields "
				  "such as from:, in:, after:");
	rc = parse_and(&p, &n);
	if (rc)
		return rc;
	rc = peek(&p, &t);
	if (rc == 0 && t.type != T_END)
		rc = t.type == T_RP ? syntax(&p, t.start, "unexpected ')', there is no '(' to close", NULL, NULL)
				    : syntax(&p, t.start, "expected end of query, found %s", tok_desc(&t), NULL);
	if (rc) {
		q_free(n);
		return rc;
	}
	*out = n;
	return 0;
}

static const char *field_name(enum q_field f)
{
	size_t k;

	for (k = 0; k < sizeof(field_names) / sizeof(field_names[0]); k++)
		if (field_names[k].field == f)
			return field_names[k].name;
	return "?";
}

int q_dump(const struct q_node *n, struct buf *out)
{
	size_t i;
	int rc = 0;

	switch (n->kind) {
	case Q_AND:
	case Q_OR:
	case Q_NOT:
		rc = buf_append_str(out, n->kind == Q_AND ? "AND(" : n->kind == Q_OR ? "OR(" : "NOT(");
		for (i = 0; rc == 0 && i < n->nkids; i++) {
			if (i)
				rc = buf_append_str(out, ", ");
			if (rc == 0)
				rc = q_dump(n->kids[i], out);
		}
		if (rc == 0)
			rc = buf_append_str(out, ")");
		break;
	case Q_WORD:
		rc = buf_printf(out, "W(%s%s)", n->text, n->prefix ? "*" : "");
		break;
	case Q_PHRASE:
		rc = buf_printf(out, "P(\"%s\"%s)", n->text, n->prefix ? "*" : "");
		break;
	case Q_FIELD:
		rc = buf_printf(out, "F(%s=%s)", field_name(n->field), n->text);
		break;
	}
	return rc;
}

/* ---- compiler ------------------------------------------------------- */

/* A word of a term as the tokenizer folded it. */
struct qword {
	char exact[TOK_MAX_WORD + 1];
	char stem[TOK_MAX_WORD + 1];      /* "" if not stemmable */
	char compound[TOK_MAX_COMPOUND + 1]; /* "" unless the first word of a compound */
	unsigned nparts;
};

/* Words collected from one term. */
struct qwords {
	struct qword w[Q_MAX_WORDS];
	size_t n;
	int overflow;  /* more than Q_MAX_WORDS words */
};

static int collect_word(void *arg, const struct tok_word *tw)
{
	struct qwords *ws = arg;
	struct qword *w;

	if (ws->n >= Q_MAX_WORDS) {
		ws->overflow = 1;
		return 1;
	}
	w = &ws->w[ws->n++];
	memcpy(w->exact, tw->exact, tw->exact_len + 1);
	if (tw->stem)
		memcpy(w->stem, tw->stem, tw->stem_len + 1);
	else
		w->stem[0] = '\0';
	if (tw->compound)
		memcpy(w->compound, tw->compound, tw->compound_len + 1);
	else
		w->compound[0] = '\0';
	w->nparts = tw->nparts;
	return 0;
}

/* Compiled tree: like q_node, with the FTS5 text of each word/phrase. */
struct ir {
	enum q_kind kind;
	struct ir **kids;
	size_t nkids;
	char *fts;                  /* Q_WORD/Q_PHRASE: FTS5 expression of the leaf */
	const struct q_node *src;   /* the parsed node */
};

static void ir_free(struct ir *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nkids; i++)
		ir_free(r->kids[i]);
	free(r->kids);
	free(r->fts);
	free(r);
}

/* State of one compilation. */
struct compiler {
	const struct q_env *env;
	struct q_plan *plan;
	struct cu_err *err;
};

static int strv_add(char ***v, size_t *n, const char *s)
{
	char **nv;
	size_t i;

	for (i = 0; i < *n; i++)
		if (!strcmp((*v)[i], s))
			return 0;
	nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (!nv)
		return CU_ENOMEM;
	*v = nv;
	nv[*n] = strdup(s);
	if (!nv[*n])
		return CU_ENOMEM;
	(*n)++;
	return 0;
}

static void strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Appends s as an FTS5 string: double quotes, with '"' doubled. */
static int fts_quote_open(struct buf *b)
{
	return buf_append_byte(b, '"');
}

static int fts_token(struct buf *b, const char *s, int first)
{
	int rc = 0;

	if (!first)
		rc = buf_append_byte(b, ' ');
	for (; rc == 0 && *s; s++) {
		if (*s == '"')
			rc = buf_append_byte(b, '"');
		if (rc == 0)
			rc = buf_append_byte(b, (uint8_t)*s);
	}
	return rc;
}

static size_t utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

/* A stemmed word: any exact form in the index with the same stem, the
 * word as typed, or a word that is literally the stem. */
static int word_forms(struct compiler *c, const struct qword *w, int neg, struct buf *b)
{
	struct q_marks *m = &c->plan->marks;
	char *forms[Q_MAX_FORMS + 2];
	size_t n = 0, i, k;
	int rc = 0, first = 1;

	if (c->env->expand) {
		rc = c->env->expand(c->env->arg, w->stem, forms, Q_MAX_FORMS, &n);
		if (rc) {
			cu_err_set(c->err, rc, "query: cannot look up the forms of '%s'", w->exact);
			return rc;
		}
	}
	forms[n] = (char *)w->exact;
	forms[n + 1] = (char *)w->stem;
	rc = buf_append_byte(b, '(');
	for (i = 0; rc == 0 && i < n + 2; i++) {
		for (k = 0; k < i; k++)
			if (!strcmp(forms[k], forms[i]))
				break;
		if (k < i)
			continue; /* already there */
		if (!first)
			rc = buf_append_str(b, " OR ");
		first = 0;
		if (rc == 0)
			rc = fts_quote_open(b);
		if (rc == 0)
			rc = fts_token(b, forms[i], 1);
		if (rc == 0)
			rc = buf_append_byte(b, '"');
		if (rc == 0 && !neg)
			rc = strv_add(&m->exact, &m->nexact, forms[i]);
	}
	if (rc == 0)
		rc = buf_append_byte(b, ')');
	if (rc == 0 && !neg)
		rc = strv_add(&m->stems, &m->nstems, w->stem);
	for (i = 0; i < n; i++)
		free(forms[i]);
	return rc;
}

/* Builds the FTS5 text of a word or phrase leaf into b; *empty = 1 when
 * the term has no searchable characters. Adds the marks unless neg. */
static int leaf_fts(struct compiler *c, const struct q_node *n, int neg, struct buf *b, int *empty)
{
	struct qwords *ws;
	struct q_marks *m = &c->plan->marks;
	const char *last = NULL;
	size_t i, lastc;
	int rc = 0, whole_compound;

	*empty = 0;
	ws = calloc(1, sizeof(*ws));
	if (!ws)
		return CU_ENOMEM;
	tok_run(c->env->tc, n->text, strlen(n->text), collect_word, ws);
	if (ws->overflow) {
		rc = cu_err_set(c->err, CU_ETOOBIG, "query term at position %zu has too many words "
				"(at most %d)", n->pos, Q_MAX_WORDS);
		goto out;
	}
	if (ws->n == 0) {
		*empty = 1;
		goto out;
	}
	whole_compound = ws->w[0].compound[0] && ws->w[0].nparts == ws->n;
	if (n->kind == Q_WORD && (whole_compound || ws->n == 1)) {
		const struct qword *w = &ws->w[0];
		const char *tokn = whole_compound ? w->compound : w->exact;

		if (n->prefix) {
			last = tokn;
			rc = fts_quote_open(b);
			if (rc == 0)
				rc = fts_token(b, tokn, 1);
			if (rc == 0)
				rc = buf_append_str(b, "\" *");
			if (rc == 0 && !neg)
				rc = strv_add(&m->prefixes, &m->nprefixes, tokn);
		} else if (!whole_compound && w->stem[0]) {
			rc = word_forms(c, w, neg, b);
		} else {
			rc = fts_quote_open(b);
			if (rc == 0)
				rc = fts_token(b, tokn, 1);
			if (rc == 0)
				rc = buf_append_byte(b, '"');
			if (rc == 0 && !neg)
				rc = strv_add(&m->exact, &m->nexact, tokn);
		}
	} else {
		/* A phrase: exact forms; a compound stands for its first word
		 * (its other words follow at the next positions), except a
		 * compound cut by a final '*', which is matched word by word. */
		size_t lastword = ws->n - 1;

		rc = fts_quote_open(b);
		for (i = 0; rc == 0 && i < ws->n; i++) {
			const struct qword *w = &ws->w[i];
			const char *tokn = w->exact;

			if (w->compound[0] && !(n->prefix && i + w->nparts - 1 >= lastword))
				tokn = w->compound;
			rc = fts_token(b, tokn, i == 0);
			if (rc == 0 && !neg && !(n->prefix && i == lastword))
				rc = strv_add(&m->exact, &m->nexact, tokn);
			last = tokn;
		}
		if (rc == 0)
			rc = buf_append_str(b, n->prefix ? "\" *" : "\"");
		if (rc == 0 && n->prefix && !neg)
			rc = strv_add(&m->prefixes, &m->nprefixes, last);
		if (!n->prefix)
			last = NULL;
	}
	if (rc == 0 && n->prefix && last && (lastc = utf8_chars(last)) < Q_MIN_PREFIX)
		rc = cu_err_set(c->err, CU_EINVAL, "query error at position %zu: the prefix before '*' "
				"is too short (%zu character, at least %d)", n->pos, lastc, Q_MIN_PREFIX);
out:
	free(ws);
	return rc;
}

/* Resolves a from:/in:/platform: value to its names' ids (at most max). */
static int field_ids(struct compiler *c, const struct q_node *n, int64_t *ids, size_t max, size_t *nids)
{
	int rc;

	*nids = 0;
	rc = c->env->resolve ? c->env->resolve(c->env->arg, n->field, n->text, ids, max, nids) : 0;
	if (rc)
		cu_err_set(c->err, rc, "query: cannot look up %s:%s", field_name(n->field), n->text);
	return rc;
}

/* The FTS5 expression of a from:/in: value: its names' tags (query.h),
 * ORed. Nothing is written when no name matches or too many do: the
 * field is then a condition on meta (sql_field). */
static int field_tags(struct compiler *c, const struct q_node *n, struct buf *b)
{
	int64_t ids[Q_MAX_TAGS + 1];
	size_t nids = 0, i;
	int rc;

	rc = field_ids(c, n, ids, Q_MAX_TAGS + 1, &nids);
	if (rc || nids == 0 || nids > Q_MAX_TAGS)
		return rc;
	rc = nids > 1 ? buf_append_byte(b, '(') : 0;
	for (i = 0; rc == 0 && i < nids; i++)
		rc = buf_printf(b, "%s\"%c%lld\"", i ? " OR " : "",
				n->field == QF_FROM ? Q_TAG_SENDER : Q_TAG_CONV, (long long)ids[i]);
	if (rc == 0 && nids > 1)
		rc = buf_append_byte(b, ')');
	return rc;
}

/* Lowers the parsed tree, dropping terms with nothing searchable. */
static int ir_build(struct compiler *c, const struct q_node *n, int neg, struct ir **out)
{
	struct ir *r = NULL, *kid = NULL;
	struct buf b;
	size_t i;
	int rc = 0, empty = 0;

	*out = NULL;
	buf_init(&b, 64 * 1024);
	r = calloc(1, sizeof(*r));
	if (!r) {
		rc = CU_ENOMEM;
		goto out;
	}
	r->kind = n->kind;
	r->src = n;
	switch (n->kind) {
	case Q_WORD:
	case Q_PHRASE:
		rc = leaf_fts(c, n, neg, &b, &empty);
		if (rc == 0 && !empty) {
			r->fts = (char *)buf_take(&b, NULL);
			if (!r->fts)
				rc = CU_ENOMEM;
		}
		break;
	case Q_FIELD:
		if (n->field == QF_KIND)
			c->plan->has_kind = 1;
		if (n->field == QF_FROM || n->field == QF_IN) {
			rc = field_tags(c, n, &b);
			if (rc == 0 && b.len > 0) {
				r->fts = (char *)buf_take(&b, NULL);
				if (!r->fts)
					rc = CU_ENOMEM;
			}
		}
		break;
	case Q_AND:
	case Q_OR:
	case Q_NOT:
		for (i = 0; rc == 0 && i < n->nkids; i++) {
			rc = ir_build(c, n->kids[i], n->kind == Q_NOT ? !neg : neg, &kid);
			if (rc == 0 && kid) {
				struct ir **k = realloc(r->kids, (r->nkids + 1) * sizeof(*k));

				if (!k) {
					ir_free(kid);
					rc = CU_ENOMEM;
				} else {
					r->kids = k;
					r->kids[r->nkids++] = kid;
				}
			}
			kid = NULL;
		}
		if (rc == 0 && r->nkids == 0)
			empty = 1;
		if (rc == 0 && r->nkids == 1 && n->kind != Q_NOT) {
			kid = r->kids[0];
			r->nkids = 0;
			ir_free(r);
			r = kid;
		}
		break;
	}
out:
	buf_release(&b);
	if (rc || empty) {
		ir_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

/* A leaf with an FTS5 expression: a word, a phrase, a from:/in: by tags. */
static int is_fts_leaf(const struct ir *r)
{
	return r->fts != NULL;
}

/* 1 if r can be written as one positive FTS5 expression. */
static int fts_ok(const struct ir *r)
{
	size_t i, pos = 0;

	if (is_fts_leaf(r))
		return 1;
	if (r->kind == Q_OR) {
		for (i = 0; i < r->nkids; i++)
			if (!fts_ok(r->kids[i]))
				return 0;
		return 1;
	}
	if (r->kind == Q_AND) {
		for (i = 0; i < r->nkids; i++) {
			const struct ir *k = r->kids[i];

			if (fts_ok(k))
				pos++;
			else if (!(k->kind == Q_NOT && fts_ok(k->kids[0])))
				return 0;
		}
		return pos > 0;
	}
	return 0;
}

/* 1 if r has a word or phrase that is not negated. */
static int has_words(const struct ir *r)
{
	size_t i;

	if (r->kind == Q_WORD || r->kind == Q_PHRASE)
		return 1;
	if (r->kind == Q_NOT)
		return 0;
	for (i = 0; i < r->nkids; i++)
		if (has_words(r->kids[i]))
			return 1;
	return 0;
}

/* Writes the FTS5 expression of an fts_ok tree (or an AND of the given
 * positive and negative lists). */
static int fts_expr(const struct ir *r, struct buf *b);

static int fts_and(struct ir *const *pos, size_t npos, struct ir *const *neg, size_t nneg, struct buf *b)
{
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < nneg; i++)
		rc = buf_append_byte(b, '(');
	if (rc == 0 && npos > 1)
		rc = buf_append_byte(b, '(');
	for (i = 0; rc == 0 && i < npos; i++) {
		if (i)
			rc = buf_append_str(b, " AND ");
		if (rc == 0)
			rc = fts_expr(pos[i], b);
	}
	if (rc == 0 && npos > 1)
		rc = buf_append_byte(b, ')');
	for (i = 0; rc == 0 && i < nneg; i++) {
		rc = buf_append_str(b, " NOT ");
		if (rc == 0)
			rc = fts_expr(neg[i], b);
		if (rc == 0)
			rc = buf_append_byte(b, ')');
	}
	return rc;
}

static int split_and(const struct ir *r, struct ir ***pos, size_t *npos, struct ir ***neg, size_t *nneg)
{
	size_t i;

	*pos = calloc(r->nkids + 1, sizeof(**pos));
	*neg = calloc(r->nkids + 1, sizeof(**neg));
	*npos = *nneg = 0;
	if (!*pos || !*neg)
		return CU_ENOMEM;
	for (i = 0; i < r->nkids; i++) {
		if (r->kids[i]->kind == Q_NOT && fts_ok(r->kids[i]->kids[0]))
			(*neg)[(*nneg)++] = r->kids[i]->kids[0];
		else
			(*pos)[(*npos)++] = r->kids[i];
	}
	return 0;
}

static int fts_expr(const struct ir *r, struct buf *b)
{
	struct ir **pos = NULL, **neg = NULL;
	size_t npos, nneg, i;
	int rc = 0;

	if (is_fts_leaf(r))
		return buf_append_str(b, r->fts);
	if (r->kind == Q_OR) {
		rc = buf_append_byte(b, '(');
		for (i = 0; rc == 0 && i < r->nkids; i++) {
			if (i)
				rc = buf_append_str(b, " OR ");
			if (rc == 0)
				rc = fts_expr(r->kids[i], b);
		}
		return rc ? rc : buf_append_byte(b, ')');
	}
	rc = split_and(r, &pos, &npos, &neg, &nneg);
	if (rc == 0)
		rc = fts_and(pos, npos, neg, nneg, b);
	free(pos);
	free(neg);
	return rc;
}

static int param_add(struct q_plan *p, enum q_ptype type, int64_t i, const char *s)
{
	struct q_param *np;

	if (p->nparams == p->params_alloc) {
		size_t na = p->params_alloc ? p->params_alloc * 2 : 8;

		np = realloc(p->params, na * sizeof(*np));
		if (!np)
			return CU_ENOMEM;
		p->params = np;
		p->params_alloc = na;
	}
	np = &p->params[p->nparams];
	np->type = type;
	np->i = i;
	np->s = NULL;
	if (s) {
		np->s = strdup(s);
		if (!np->s)
			return CU_ENOMEM;
	}
	p->nparams++;
	return 0;
}

static int sql_fts_in(struct compiler *c, const struct ir *r, int negate, struct buf *w)
{
	struct buf e;
	int rc;

	buf_init(&e, 64 * 1024);
	rc = fts_expr(r, &e);
	if (rc == 0)
		rc = buf_append_str(w, negate ? "m.seq NOT IN (SELECT rowid FROM fts WHERE fts MATCH ?)"
				    : "m.seq IN (SELECT rowid FROM fts WHERE fts MATCH ?)");
	if (rc == 0)
		rc = param_add(c->plan, QP_TEXT, 0, (const char *)e.data);
	buf_release(&e);
	return rc;
}

static int sql_field(struct compiler *c, const struct q_node *n, struct buf *w)
{
	int64_t *ids = NULL;
	size_t nids = 0, i;
	const char *col;
	int rc = 0;

	switch (n->field) {
	case QF_KIND:
		rc = buf_append_str(w, "m.kind = ?");
		return rc ? rc : param_add(c->plan, QP_INT, n->kindval, NULL);
	case QF_AFTER:
		rc = buf_append_str(w, "m.ts >= ?");
		return rc ? rc : param_add(c->plan, QP_INT, n->ts, NULL);
	case QF_BEFORE:
		rc = buf_append_str(w, "m.ts < ?");
		return rc ? rc : param_add(c->plan, QP_INT, n->ts, NULL);
	default:
		break;
	}
	col = n->field == QF_FROM ? "m.sender" : n->field == QF_IN ? "m.conv" : "m.plat";
	ids = calloc(Q_MAX_IDS, sizeof(*ids));
	if (!ids)
		return CU_ENOMEM;
	rc = field_ids(c, n, ids, Q_MAX_IDS, &nids);
	if (rc)
		goto out;
	if (nids == 0) {
		rc = buf_append_str(w, "0");
	} else if (nids == 1) {
		rc = buf_printf(w, "%s = ?", col);
		if (rc == 0)
			rc = param_add(c->plan, QP_INT, ids[0], NULL);
	} else {
		rc = buf_printf(w, "%s IN (", col);
		for (i = 0; rc == 0 && i < nids; i++) {
			rc = buf_append_str(w, i ? ",?" : "?");
			if (rc == 0)
				rc = param_add(c->plan, QP_INT, ids[i], NULL);
		}
		if (rc == 0)
			rc = buf_append_byte(w, ')');
	}
out:
	free(ids);
	return rc;
}

static int sql_expr(struct compiler *c, const struct ir *r, struct buf *w)
{
	size_t i;
	int rc = 0;

	if (fts_ok(r))
		return sql_fts_in(c, r, 0, w);
	switch (r->kind) {
	case Q_FIELD:
		return sql_field(c, r->src, w);
	case Q_NOT:
		if (fts_ok(r->kids[0]))
			return sql_fts_in(c, r->kids[0], 1, w);
		rc = buf_append_str(w, "NOT (");
		if (rc == 0)
			rc = sql_expr(c, r->kids[0], w);
		return rc ? rc : buf_append_byte(w, ')');
	case Q_AND:
	case Q_OR:
		rc = buf_append_byte(w, '(');
		for (i = 0; rc == 0 && i < r->nkids; i++) {
			if (i)
				rc = buf_append_str(w, r->kind == Q_AND ? " AND " : " OR ");
			if (rc == 0)
				rc = sql_expr(c, r->kids[i], w);
		}
		return rc ? rc : buf_append_byte(w, ')');
	default:
		return CU_EINVAL;
	}
}

int q_compile(const struct q_node *root, const struct q_env *env, struct q_plan *out,
	      struct cu_err *err)
{
	struct compiler c;
	struct ir *r = NULL, *const *conj;
	struct ir **pos = NULL, **neg = NULL, **rest = NULL;
	size_t nconj, npos = 0, nneg = 0, nrest = 0, i;
	struct buf e;
	int rc;

	memset(out, 0, sizeof(*out));
	buf_init(&out->where, 256 * 1024);
	buf_init(&e, 64 * 1024);
	c.env = env;
	c.plan = out;
	c.err = err;
	rc = ir_build(&c, root, 0, &r);
	if (rc)
		goto out;
	if (!r) {
		rc = cu_err_set(err, CU_EINVAL, "query has nothing to search for: its words have no "
				"letters or digits");
		goto out;
	}
	conj = r->kind == Q_AND ? r->kids : &r;
	nconj = r->kind == Q_AND ? r->nkids : 1;
	pos = calloc(nconj, sizeof(*pos));
	neg = calloc(nconj, sizeof(*neg));
	rest = calloc(nconj, sizeof(*rest));
	if (!pos || !neg || !rest) {
		rc = CU_ENOMEM;
		goto out;
	}
	out->after = INT64_MIN;
	out->before = INT64_MAX;
	for (i = 0; i < nconj; i++) {
		const struct q_node *f = conj[i]->kind == Q_FIELD ? conj[i]->src : NULL;

		if (f && f->field == QF_AFTER && f->ts > out->after)
			out->after = f->ts;
		if (f && f->field == QF_BEFORE && f->ts < out->before)
			out->before = f->ts;
	}
	for (i = 0; i < nconj; i++) {
		if (fts_ok(conj[i]))
			pos[npos++] = conj[i];
		else if (conj[i]->kind == Q_NOT && fts_ok(conj[i]->kids[0]))
			neg[nneg++] = conj[i]->kids[0];
		else
			rest[nrest++] = conj[i];
	}
	for (i = 0; i < npos; i++)
		out->has_words |= has_words(pos[i]);
	if (npos > 0) {
		rc = fts_and(pos, npos, neg, nneg, &e);
		if (rc == 0) {
			out->fts = (char *)buf_take(&e, NULL);
			if (!out->fts)
				rc = CU_ENOMEM;
		}
	} else {
		/* No positive words: every conjunct becomes SQL. */
		nrest = 0;
		for (i = 0; i < nconj; i++)
			rest[nrest++] = conj[i];
	}
	for (i = 0; rc == 0 && i < nrest; i++) {
		if (i)
			rc = buf_append_str(&out->where, " AND ");
		if (rc == 0)
			rc = sql_expr(&c, rest[i], &out->where);
	}
	if (rc == 0 && nrest == 0)
		rc = buf_append_str(&out->where, "1");
out:
	if (rc == CU_ETOOBIG && err && !err->code)
		cu_err_set(err, rc, "query is too complex");
	if (rc == CU_ENOMEM && err && !err->code)
		cu_err_set(err, rc, "query: out of memory");
	free(pos);
	free(neg);
	free(rest);
	ir_free(r);
	buf_release(&e);
	if (rc)
		q_plan_release(out);
	return rc;
}

void q_plan_release(struct q_plan *p)
{
	size_t i;

	free(p->fts);
	p->fts = NULL;
	buf_release(&p->where);
	for (i = 0; i < p->nparams; i++)
		free(p->params[i].s);
	free(p->params);
	p->params = NULL;
	p->nparams = p->params_alloc = 0;
	strv_free(p->marks.exact, p->marks.nexact);
	strv_free(p->marks.stems, p->marks.nstems);
	strv_free(p->marks.prefixes, p->marks.nprefixes);
	memset(&p->marks, 0, sizeof(p->marks));
}

static int in_list(char *const *v, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return 1;
	return 0;
}

int q_marks_match(const struct q_marks *m, const char *exact, const char *stem, const char *compound)
{
	size_t i;

	if (in_list(m->exact, m->nexact, exact) || (stem && in_list(m->stems, m->nstems, stem)) ||
	    (compound && in_list(m->exact, m->nexact, compound)))
		return 1;
	for (i = 0; i < m->nprefixes; i++) {
		size_t pl = strlen(m->prefixes[i]);

		if (!strncmp(exact, m->prefixes[i], pl) || (compound && !strncmp(compound, m->prefixes[i], pl)))
			return 1;
	}
	return 0;
}
