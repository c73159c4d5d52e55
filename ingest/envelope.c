/* envelope.c - generic JSON envelope -> record.
 *
 * Envelopes are parsed with yajl's event parser rather than jansson's tree:
 * ingest parses every message, and building (then freeing) a jansson tree
 * per message was the largest single cost of durable ingest. yajl checks
 * the whole text (grammar, UTF-8) and hands us the values; we copy only the
 * envelope's own fields into one allocation per message. Unknown fields are
 * checked as JSON and kept, untouched, in the payload (the exact bytes).
 *
 * The rules jansson enforced before stay: duplicate keys are refused in
 * every object (JSON_REJECT_DUPLICATES), \u0000 in strings is refused,
 * nesting is capped, and every string and key is strict UTF-8: yajl only
 * checks the shape of a sequence, so each goes through common/utf8.h, and
 * a text with a surrogate escape through jansson too (yajl turns a lone
 * one into '?'). The fields are checked after the parse, in a fixed
 * order, so the same envelope always gets the same error. */
#include "ingest/envelope.h"
#include "ingest/envelope_int.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "common/timeutil.h"
#include "common/utf8.h"

#define NOT_UTF8 "a string is not valid UTF-8 (RFC 3629: no surrogates, no overlongs)"
#define ENV_INLINE_KEYS 32 /* keys tracked without an allocation */
#define ENV_ARENA_BYTES 16384 /* yajl's handle, lexer and buffers for a usual envelope */
#define ENV_PAIRWISE_KEYS 24 /* up to this many keys, the duplicate check compares pairs */

/* Kinds a source may declare; the archive's own kinds are not allowed. */
static const struct {
	const char *name;
	uint8_t kind;
} env_kinds[] = {
	{"message", REC_MESSAGE},   {"edit", REC_EDIT},
	{"redaction", REC_REDACTION}, {"reaction", REC_REACTION},
	{"membership", REC_MEMBERSHIP}, {"state", REC_STATE},
	{"attachment", REC_ATTACHMENT}, {"other", REC_OTHER},
};

/* The top-level members the envelope defines. */
enum env_key { K_PLATFORM, K_CONVERSATION, K_SENDER, K_TS, K_ID, K_BODY, K_REPLY_TO, K_THREAD,
	       K_TARGET, K_KIND, K_RECIPIENTS, K_COUNT_, K_OTHER = -1 };
static const char *const env_key_names[K_COUNT_] = {
	"platform", "conversation", "sender", "ts", "id", "body", "reply_to", "thread",
	"target", "kind", "recipients",
};

/* The JSON type of a top-level member's value. */
enum env_type { T_ABSENT = 0, T_NULL, T_BOOL, T_INT, T_NUMBER, T_STRING, T_OBJECT, T_ARRAY };

struct env_val {
	enum env_type type;
	const char *s; /* T_STRING/T_INT: NUL-terminated copy in the message's buffer */
	size_t len;
};

/* A key seen anywhere in the document, for the duplicate check. */
struct env_keyrec {
	uint32_t obj;  /* which object (numbered in order of opening) */
	uint32_t hash; /* of the key bytes */
	uint32_t off;  /* the key bytes in keybuf */
	uint32_t len;
};

/* yajl allocates its handle, lexer, stack and buffers anew for every
 * document, a handful of mallocs per message. They come from this bump
 * arena in the parser (on the stack), emptied per message; what does not
 * fit goes to malloc. */
struct env_arena {
	size_t used;
	_Alignas(16) unsigned char mem[ENV_ARENA_BYTES];
};

struct env_parser {
	char *strs;               /* the message's buffer: the payload, then field copies */
	size_t used, cap;
	const char *text;         /* the text being parsed (copied to strs[0..text_len)) */
	size_t text_len;
	int depth;                /* 0 outside the document, 1 in the top object */
	uint32_t nobj;            /* objects opened so far */
	uint32_t objs[ENV_MAX_DEPTH + 1]; /* object number at each depth (arrays: unused) */
	struct env_arena arena;   /* not cleared per message: only arena.used is */
	enum env_key cur;         /* the member whose value comes next (depth 1) */
	struct env_val v[K_COUNT_];
	/* recipients: collected into a jansson array so that the stored form is
	 * jansson's compact, ASCII-only serialisation */
	json_t *recip;
	int recip_depth;          /* > 0 while inside the recipients array */
	size_t recip_bad;         /* first element that is not a string, +1 */
	size_t recip_n;
	/* keys, for the duplicate check */
	struct env_keyrec keys_inline[ENV_INLINE_KEYS], *keys;
	size_t nkeys, keys_cap;
	char keybuf_inline[512], *keybuf;
	size_t keybuf_len, keybuf_cap;
	const char *fail;         /* why a callback stopped the parse */
};

void env_release(struct env_msg *m)
{
	free(m->strs);
	free(m->recipients);
	memset(m, 0, sizeof(*m));
}

static uint32_t key_hash(const unsigned char *s, size_t n)
{
	uint32_t h = 2166136261u; /* FNV-1a: equal keys must collide, nothing more */
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ s[i]) * 16777619u;
	return h;
}

/* Copies a string value into the message's buffer, NUL-terminated. */
static const char *keep(struct env_parser *p, const void *s, size_t n)
{
	char *d;

	if (p->used + n + 1 > p->cap)
		return NULL; /* cannot happen: values are never longer than the text */
	d = p->strs + p->used;
	memcpy(d, s, n);
	d[n] = 0;
	p->used += n + 1;
	return d;
}

/* Doubles a table that starts in the parser (inline_buf) and moves to the
 * heap when it outgrows it. */
static int grow(const void *inline_buf, void **heap, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap * 2;
	void *q;

	while (ncap < need)
		ncap *= 2;
	q = malloc(ncap * elem);
	if (!q)
		return -1;
	memcpy(q, *heap ? *heap : inline_buf, *cap * elem);
	free(*heap);
	*heap = q;
	*cap = ncap;
	return 0;
}

static int add_key(struct env_parser *p, const unsigned char *s, size_t n)
{
	struct env_keyrec *k;

	if (memchr(s, 0, n)) {
		p->fail = "\\u0000 is not allowed in keys";
		return 0;
	}
	if (p->nkeys == p->keys_cap &&
	    grow(p->keys_inline, (void **)&p->keys, &p->keys_cap, p->nkeys + 1, sizeof(*k))) {
		p->fail = "out of memory";
		return 0;
	}
	if (p->keybuf_len + n > p->keybuf_cap &&
	    grow(p->keybuf_inline, (void **)&p->keybuf, &p->keybuf_cap, p->keybuf_len + n, 1)) {
		p->fail = "out of memory";
		return 0;
	}
	k = (p->keys ? p->keys : p->keys_inline) + p->nkeys++;
	k->obj = p->objs[p->depth];
	k->hash = key_hash(s, n);
	k->off = (uint32_t)p->keybuf_len;
	k->len = (uint32_t)n;
	memcpy((p->keybuf ? p->keybuf : p->keybuf_inline) + p->keybuf_len, s, n);
	p->keybuf_len += n;
	return 1;
}

/* A value at depth 1 belongs to member p->cur. */
static int top_value(struct env_parser *p, enum env_type t, const void *s, size_t n)
{
	struct env_val *v;

	if (p->depth != 1 || p->cur == K_OTHER)
		return 1;
	v = &p->v[p->cur];
	v->type = t;
	if (t == T_STRING && p->cur != K_TS && p->cur != K_KIND && n &&
	    (uintptr_t)s >= (uintptr_t)p->text && (uintptr_t)s - (uintptr_t)p->text < p->text_len) {
		/* An unescaped string: yajl hands it over in place, so the field
		 * is the payload's own bytes and the record refers to them
		 * instead of holding a copy (docs/FORMAT.md "Record"). Not
		 * NUL-terminated: ts and kind, read as C strings, are copied. */
		v->s = p->strs + ((uintptr_t)s - (uintptr_t)p->text);
		v->len = n;
	} else if (t == T_STRING || t == T_INT) {
		v->s = keep(p, s, n);
		v->len = n;
		if (!v->s) {
			p->fail = "internal: field buffer";
			return 0;
		}
	}
	return 1;
}

/* A value inside the recipients array (directly, not nested deeper). */
static void recip_value(struct env_parser *p, enum env_type t, const void *s, size_t n)
{
	if (p->recip_depth != p->depth)
		return;
	p->recip_n++;
	if (t != T_STRING) {
		if (!p->recip_bad)
			p->recip_bad = p->recip_n;
		return;
	}
	if (!p->recip_bad && json_array_append_new(p->recip, json_stringn(s, n)) != 0)
		p->fail = "out of memory";
}

static int scalar(struct env_parser *p, enum env_type t, const void *s, size_t n)
{
	if (p->depth == 0) {
		p->fail = "expected a JSON object";
		return 0;
	}
	if (p->recip_depth)
		recip_value(p, t, s, n);
	return !p->fail && top_value(p, t, s, n);
}

static int cb_null(void *ctx)
{
	return scalar(ctx, T_NULL, NULL, 0);
}

static int cb_bool(void *ctx, int b)
{
	(void)b;
	return scalar(ctx, T_BOOL, NULL, 0);
}

static int cb_number(void *ctx, const char *s, size_t n)
{
	/* JSON grammar already checked: an integer has no fraction or exponent. */
	int is_int = !memchr(s, '.', n) && !memchr(s, 'e', n) && !memchr(s, 'E', n);

	return scalar(ctx, is_int ? T_INT : T_NUMBER, s, n);
}

static int cb_string(void *ctx, const unsigned char *s, size_t n)
{
	struct env_parser *p = ctx;

	if (memchr(s, 0, n)) {
		p->fail = "\\u0000 is not allowed in strings";
		return 0;
	}
	if (!utf8_check(s, n, 0, NULL)) {
		p->fail = NOT_UTF8;
		return 0;
	}
	return scalar(p, T_STRING, s, n);
}

static int open_container(struct env_parser *p, enum env_type t)
{
	if (p->depth == 0 && t != T_OBJECT) {
		p->fail = "expected a JSON object";
		return 0;
	}
	if (p->depth >= ENV_MAX_DEPTH) {
		p->fail = "maximum nesting depth (2048) exceeded";
		return 0;
	}
	if (p->recip_depth)
		recip_value(p, t, NULL, 0);
	if (p->fail || !top_value(p, t, NULL, 0))
		return 0;
	if (p->depth == 1 && p->cur == K_RECIPIENTS && t == T_ARRAY) {
		json_decref(p->recip); /* a second "recipients": refused later as a duplicate */
		p->recip_bad = p->recip_n = 0;
		p->recip = json_array();
		if (!p->recip) {
			p->fail = "out of memory";
			return 0;
		}
		p->recip_depth = 2;
	}
	p->depth++;
	p->objs[p->depth] = t == T_OBJECT ? p->nobj++ : UINT32_MAX;
	return 1;
}

static int close_container(struct env_parser *p)
{
	if (p->recip_depth == p->depth)
		p->recip_depth = 0;
	p->depth--;
	return 1;
}

static int cb_start_map(void *ctx)
{
	return open_container(ctx, T_OBJECT);
}

static int cb_start_array(void *ctx)
{
	return open_container(ctx, T_ARRAY);
}

static int cb_end(void *ctx)
{
	return close_container(ctx);
}

static int cb_key(void *ctx, const unsigned char *s, size_t n)
{
	struct env_parser *p = ctx;
	int i;

	if (!utf8_check(s, n, 0, NULL)) {
		p->fail = NOT_UTF8;
		return 0;
	}
	if (!add_key(p, s, n))
		return 0;
	if (p->depth == 1) {
		p->cur = K_OTHER;
		for (i = 0; i < K_COUNT_; i++)
			if (strlen(env_key_names[i]) == n && !memcmp(env_key_names[i], s, n)) {
				p->cur = (enum env_key)i;
				break;
			}
	}
	return 1;
}

static const yajl_callbacks env_callbacks = {
	.yajl_null = cb_null,
	.yajl_boolean = cb_bool,
	.yajl_number = cb_number,
	.yajl_string = cb_string,
	.yajl_start_map = cb_start_map,
	.yajl_map_key = cb_key,
	.yajl_end_map = cb_end,
	.yajl_start_array = cb_start_array,
	.yajl_end_array = cb_end,
};

static int keyrec_cmp(const void *a, const void *b, void *arg)
{
	const struct env_keyrec *x = a, *y = b;
	const char *kb = arg;

	if (x->obj != y->obj)
		return x->obj < y->obj ? -1 : 1;
	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(kb + x->off, kb + y->off, x->len);
}

/* Returns a key that occurs twice in one object, or NULL. */
static const struct env_keyrec *find_duplicate(struct env_parser *p)
{
	struct env_keyrec *k = p->keys ? p->keys : p->keys_inline;
	const char *kb = p->keybuf ? p->keybuf : p->keybuf_inline;
	size_t i, j;

	if (p->nkeys <= ENV_PAIRWISE_KEYS) { /* the usual envelope: cheaper than sorting */
		for (i = 1; i < p->nkeys; i++)
			for (j = 0; j < i; j++)
				if (k[i].hash == k[j].hash && keyrec_cmp(&k[i], &k[j], (void *)kb) == 0)
					return &k[i];
		return NULL;
	}
	qsort_r(k, p->nkeys, sizeof(*k), keyrec_cmp, (void *)kb);
	for (i = 1; i < p->nkeys; i++)
		if (keyrec_cmp(&k[i - 1], &k[i], (void *)kb) == 0)
			return &k[i];
	return NULL;
}

int env_json_error(yajl_handle h, const char *prefix, struct cu_err *err)
{
	unsigned char *msg = yajl_get_error(h, 0, NULL, 0);
	char *nl;
	int rc;

	/* yajl says "lexical error: ..." or "parse error: ...": its first line */
	if (msg && (nl = strchr((char *)msg, '\n')))
		*nl = 0;
	rc = cu_err_set(err, CU_EINVAL, "%sinvalid JSON at byte %zu: %s", prefix,
			yajl_get_bytes_consumed(h), msg ? (const char *)msg : "malformed");
	yajl_free_error(h, msg);
	return rc;
}

#define ARENA_HDR 16 /* each block's size, kept before it (16 keeps blocks aligned) */

static int in_arena(const struct env_arena *a, const void *q)
{
	return (uintptr_t)q >= (uintptr_t)a->mem && (uintptr_t)q < (uintptr_t)(a->mem + sizeof(a->mem));
}

static void *arena_malloc(void *ctx, size_t n)
{
	struct env_arena *a = ctx;
	size_t need = ARENA_HDR + ((n + 15) & ~(size_t)15);
	unsigned char *q;

	if (n > sizeof(a->mem) || need > sizeof(a->mem) - a->used)
		return malloc(n);
	q = a->mem + a->used;
	memcpy(q, &n, sizeof(n));
	a->used += need;
	return q + ARENA_HDR;
}

static void *arena_realloc(void *ctx, void *ptr, size_t n)
{
	struct env_arena *a = ctx;
	size_t old;
	void *q;

	if (!ptr)
		return arena_malloc(ctx, n);
	if (!in_arena(a, ptr))
		return realloc(ptr, n);
	memcpy(&old, (unsigned char *)ptr - ARENA_HDR, sizeof(old));
	if (n <= old)
		return ptr;
	q = arena_malloc(ctx, n); /* the old block stays until the arena is emptied */
	if (q)
		memcpy(q, ptr, old);
	return q;
}

static void arena_free(void *ctx, void *ptr)
{
	if (ptr && !in_arena(ctx, ptr))
		free(ptr);
}

/* 1 if text holds an escape of a UTF-16 surrogate (\uD800..\uDFFF), or
 * something that looks like one (an escaped backslash before "ud8..."). */
static int has_surrogate_escape(const char *text, size_t len)
{
	const char *q = text, *end = text + len;

	/* memchr, not memmem: it is vectorised, and backslashes are rare */
	while ((q = memchr(q, '\\', (size_t)(end - q))) && end - q >= 4) {
		if (q[1] == 'u' && (q[2] == 'd' || q[2] == 'D') && q[3] && strchr("89abcdefABCDEF", q[3]))
			return 1;
		q += 2;
	}
	return 0;
}

/* Runs yajl over the text; on failure, err says where and why. */
static int run_parser(struct env_parser *p, const char *text, size_t len, struct cu_err *err)
{
	yajl_alloc_funcs af = {arena_malloc, arena_realloc, arena_free, &p->arena};
	const struct env_keyrec *dup;
	yajl_handle h;
	yajl_status s;
	int rc = 0;

	/* yajl decodes a lone surrogate escape to '?' or to the surrogate's
	 * own bytes, silently; jansson refuses it. Only texts that hold such
	 * an escape pay for the second parse (pairs, as ASCII-only encoders
	 * write emoji, pass it). */
	if (has_surrogate_escape(text, len)) {
		json_error_t je;
		json_t *j = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);

		if (!j)
			return cu_err_set(err, CU_EINVAL, "invalid JSON at byte %d: %s", je.position, je.text);
		json_decref(j);
	}
	p->arena.used = 0;
	h = yajl_alloc(&env_callbacks, &af, p);
	if (!h)
		return cu_err_set(err, CU_ENOMEM, "out of memory");
	s = yajl_parse(h, (const unsigned char *)text, len);
	if (s == yajl_status_ok)
		s = yajl_complete_parse(h);
	if (s != yajl_status_ok) {
		size_t at = yajl_get_bytes_consumed(h);
		if (p->fail && p->depth == 0) {
			rc = cu_err_set(err, CU_EINVAL, "%s", p->fail);
		} else if (p->fail) {
			rc = cu_err_set(err, strcmp(p->fail, "out of memory") ? CU_EINVAL : CU_ENOMEM,
					"invalid JSON at byte %zu: %s", at, p->fail);
		} else {
			rc = env_json_error(h, "", err);
		}
	} else if ((dup = find_duplicate(p))) {
		rc = cu_err_set(err, CU_EINVAL, "invalid JSON: duplicate object key '%.*s'",
				(int)(dup->len > 64 ? 64 : dup->len),
				(p->keybuf ? p->keybuf : p->keybuf_inline) + dup->off);
	}
	yajl_free(h);
	return rc;
}

/* A required or optional string member; integers are accepted for ids and
 * stored as their decimal text. */
static int get_str(struct env_parser *p, enum env_key k, int required, int allow_int,
		   struct rec_view *v, enum rec_field f, struct cu_err *err)
{
	struct env_val *x = &p->v[k];
	const char *key = env_key_names[k];

	if (x->type == T_ABSENT || x->type == T_NULL) {
		if (required)
			return cu_err_set(err, CU_EINVAL, "field '%s': missing", key);
		return 0;
	}
	if (allow_int && x->type == T_INT) {
		long long n;
		char *end;
		errno = 0;
		n = strtoll(x->s, &end, 10);
		if (errno || *end)
			return cu_err_set(err, CU_EINVAL, "field '%s': integer out of range", key);
		/* the canonical text is never longer than the JSON text ("-0" -> "0") */
		x->len = (size_t)snprintf((char *)(uintptr_t)x->s, x->len + 1, "%lld", n);
	} else if (x->type != T_STRING) {
		return cu_err_set(err, CU_EINVAL, "field '%s': expected a string", key);
	}
	if (required && x->len == 0 && f != RF_BODY)
		return cu_err_set(err, CU_EINVAL, "field '%s': must not be empty", key);
	v->f[f].ptr = x->s;
	v->f[f].len = x->len;
	return 0;
}

static int get_ts(struct env_parser *p, struct rec_view *v, struct cu_err *err)
{
	struct env_val *x = &p->v[K_TS];

	if (x->type == T_ABSENT)
		return cu_err_set(err, CU_EINVAL, "field 'ts': missing");
	if (x->type == T_INT) {
		long long n;
		char *end;
		errno = 0;
		n = strtoll(x->s, &end, 10);
		if (errno || *end)
			return cu_err_set(err, CU_EINVAL, "field 'ts': integer out of range");
		if (n < 0)
			return cu_err_set(err, CU_EINVAL, "field 'ts': negative timestamp");
		v->origin_ts = (int64_t)n;
		return 0;
	}
	if (x->type == T_STRING && time_parse_rfc3339(x->s, &v->origin_ts) == 0)
		return 0;
	return cu_err_set(err, CU_EINVAL,
			  "field 'ts': expected integer milliseconds or an RFC 3339 timestamp");
}

static int get_kind(struct env_parser *p, struct rec_view *v, struct cu_err *err)
{
	struct env_val *x = &p->v[K_KIND];
	size_t i;

	v->kind = REC_MESSAGE;
	if (x->type == T_ABSENT)
		return 0;
	if (x->type == T_STRING)
		for (i = 0; i < sizeof(env_kinds) / sizeof(env_kinds[0]); i++)
			if (!strcmp(x->s, env_kinds[i].name)) {
				v->kind = env_kinds[i].kind;
				return 0;
			}
	return cu_err_set(err, CU_EINVAL,
			  "field 'kind': expected one of message, edit, redaction, reaction, "
			  "membership, state, attachment, other");
}

static int get_recipients(struct env_parser *p, struct env_msg *m, struct cu_err *err)
{
	enum env_type t = p->v[K_RECIPIENTS].type;

	if (t == T_ABSENT || t == T_NULL)
		return 0;
	if (t != T_ARRAY)
		return cu_err_set(err, CU_EINVAL, "field 'recipients': expected an array of strings");
	if (p->recip_bad)
		return cu_err_set(err, CU_EINVAL, "field 'recipients': element %zu is not a string",
				  p->recip_bad - 1);
	if (json_array_size(p->recip) == 0)
		return 0;
	m->recipients = json_dumps(p->recip, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (!m->recipients)
		return cu_err_set(err, CU_ENOMEM, "out of memory");
	rec_set(&m->in.rec, RF_RECIPIENTS, m->recipients);
	return 0;
}

int env_parse(const char *text, size_t len, const char *source, const char *auth,
	      struct env_msg *m, struct cu_err *err)
{
	struct rec_view *v = &m->in.rec;
	struct env_parser parser, *p = &parser;
	int rc;

	memset(m, 0, sizeof(*m));
	if (len > ENV_MAX_BYTES)
		return cu_err_set(err, CU_ETOOBIG, "envelope of %zu bytes exceeds the cap of %u",
				  len, ENV_MAX_BYTES);
	/* On the stack: ingest parses every message, and a heap block this
	 * size per message was a measurable cost. */
	memset(p, 0, offsetof(struct env_parser, objs));
	memset(&p->cur, 0, sizeof(*p) - offsetof(struct env_parser, cur));
	p->keys_cap = ENV_INLINE_KEYS;
	p->keybuf_cap = sizeof(p->keybuf_inline);
	/* One buffer: the payload (the exact bytes), then copies of the fields,
	 * which are never longer than the text they were decoded from. */
	p->cap = len + len + 2 * K_COUNT_ + 1;
	m->strs = malloc(p->cap);
	if (!m->strs) {
		rc = cu_err_set(err, CU_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(m->strs, text, len);
	p->strs = m->strs;
	p->used = len;
	p->text = text;
	p->text_len = len;
	if ((rc = run_parser(p, text, len, err)) ||
	    (rc = get_str(p, K_PLATFORM, 1, 0, v, RF_PLATFORM, err)) ||
	    (rc = get_str(p, K_CONVERSATION, 1, 0, v, RF_CONVERSATION, err)) ||
	    (rc = get_str(p, K_SENDER, 1, 0, v, RF_SENDER, err)) ||
	    (rc = get_ts(p, v, err)) ||
	    (rc = get_str(p, K_ID, 1, 1, v, RF_EVENT_ID, err)) ||
	    (rc = get_str(p, K_BODY, 1, 0, v, RF_BODY, err)) ||
	    (rc = get_str(p, K_REPLY_TO, 0, 1, v, RF_REPLY_TO, err)) ||
	    (rc = get_str(p, K_THREAD, 0, 1, v, RF_THREAD, err)) ||
	    (rc = get_str(p, K_TARGET, 0, 1, v, RF_TARGET, err)) ||
	    (rc = get_kind(p, v, err)) ||
	    (rc = get_recipients(p, m, err)))
		goto out;
	v->f[RF_PAYLOAD].ptr = m->strs;
	v->f[RF_PAYLOAD].len = len;
	/* No payload_type: absent means application/json (docs/FORMAT.md),
	 * which saves a field on every generic message. */
	rec_set(v, RF_SOURCE, source && *source ? source : "generic");
	rec_set(v, RF_AUTH, auth); /* REC_F_SIGNED is the caller's: only it knows what was verified */
	/* The duplicate-map key is hashed here, on the parsing thread, not by
	 * the committer; should it fail, store_append hashes it itself. */
	(void)!store_input_key(&m->in);
	rc = 0;
out:
	json_decref(p->recip);
	free(p->keys);
	free(p->keybuf);
	if (rc)
		env_release(m);
	return rc;
}
