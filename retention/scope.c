/* scope.c - the one scope type of the retention engine: which
 * conversations and senders a policy or a legal hold names, how a person's
 * scope is checked, how it is stored and read back, and how a record is
 * matched against it.
 *
 * Exact ids and patterns are separate lists and never mixed: an id is
 * compared as bytes with the record's whole field, so an id holding `[`,
 * `]`, `\`, `*` or `?` (a Matrix room on an IPv6-literal server,
 * `!evid:[2001:db8::1]`) is that id and nothing else. Only what was given
 * as a pattern is handed to fnmatch(3). Policies and holds both match
 * through ret_scope_matches, so there is one matcher to get right.
 */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "retention/retention_int.h"

/* The four lists of a scope, by index: 0 conversation ids, 1 conversation
 * patterns, 2 sender ids, 3 sender patterns. */
static const char *const KEYS[4] = {"conversations", "conversation_patterns", "senders", "sender_patterns"};

static const char *const *list_of(const struct ret_scope *sc, int k, size_t *n)
{
	switch (k) {
	case 0: *n = sc->nconversations; return sc->conversations;
	case 1: *n = sc->nconversation_patterns; return sc->conversation_patterns;
	case 2: *n = sc->nsenders; return sc->senders;
	default: *n = sc->nsender_patterns; return sc->sender_patterns;
	}
}

static void set_list(struct ret_scope *sc, int k, const char **v, size_t n)
{
	switch (k) {
	case 0: sc->conversations = v; sc->nconversations = n; break;
	case 1: sc->conversation_patterns = v; sc->nconversation_patterns = n; break;
	case 2: sc->senders = v; sc->nsenders = n; break;
	default: sc->sender_patterns = v; sc->nsender_patterns = n; break;
	}
}

int ret_scope_check(const struct ret_scope *sc, const char *const names[4], struct cu_err *err)
{
	const char *const *v;
	size_t i, n;
	int k, rc = 0;

	for (k = 0; rc == 0 && k < 4; k++) {
		v = list_of(sc, k, &n);
		if (n > RET_HOLD_MAX_SCOPE)
			return cu_err_set(err, CU_ETOOBIG, "at most %d %s", RET_HOLD_MAX_SCOPE, names[k]);
		for (i = 0; rc == 0 && i < n; i++)
			rc = ret_check_text(names[k], v[i], RET_GLOB_MAX, 0, err);
	}
	return rc;
}

int ret_scope_empty(const struct ret_scope *sc)
{
	return !sc->nconversations && !sc->nconversation_patterns && !sc->nsenders && !sc->nsender_patterns;
}

int ret_scope_to_json(const struct ret_scope *sc, json_t *o)
{
	const char *const *v;
	json_t *arr;
	size_t i, n;
	int k;

	for (k = 0; k < 4; k++) {
		v = list_of(sc, k, &n);
		arr = json_array();
		if (!arr || json_object_set_new(o, KEYS[k], arr) != 0)
			return CU_ENOMEM;
		for (i = 0; i < n; i++)
			if (json_array_append_new(arr, json_string(v[i])) != 0)
				return CU_ENOMEM;
	}
	return 0;
}

/* Reads a JSON array of strings (absent or null: empty) into a malloc'd
 * array of pointers into it. */
static int read_list(const json_t *arr, const char ***out, size_t *n)
{
	size_t i, cnt;

	*out = NULL;
	*n = 0;
	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return CU_ECORRUPT;
	cnt = json_array_size(arr);
	if (!cnt)
		return 0;
	*out = calloc(cnt, sizeof(**out));
	if (!*out)
		return CU_ENOMEM;
	for (i = 0; i < cnt; i++) {
		const char *s = json_string_value(json_array_get(arr, i));

		if (!s)
			return CU_ECORRUPT;
		(*out)[(*n)++] = s;
	}
	return 0;
}

/* A legacy single pattern (a first-wave policy's "conversation"). */
static int read_single(const json_t *v, const char ***out, size_t *n)
{
	const char *s = json_string_value(v);

	*out = NULL;
	*n = 0;
	if (!s || !*s)
		return 0;
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return CU_ENOMEM;
	(*out)[0] = s;
	*n = 1;
	return 0;
}

int ret_scope_read(json_t *o, struct ret_scope *sc)
{
	/* Written before exact ids existed: the lists were patterns. A
	 * scope written now always has the pattern keys (ret_scope_to_json). */
	int legacy = !json_object_get(o, KEYS[1]) && !json_object_get(o, KEYS[3]);
	const char **v;
	size_t n;
	int k, rc = 0;

	memset(sc, 0, sizeof(*sc));
	for (k = 0; rc == 0 && k < 4; k++) {
		/* legacy: "conversations" fills the pattern list (k 1 reads key 0) */
		int key = legacy ? (k == 1 ? 0 : k == 3 ? 2 : -1) : k;

		if (key < 0)
			continue;
		rc = read_list(json_object_get(o, KEYS[key]), &v, &n);
		set_list(sc, k, v, n);
	}
	/* A first-wave policy: one "conversation" / "sender" pattern. */
	if (rc == 0 && json_is_string(json_object_get(o, "conversation")) && !sc->nconversation_patterns) {
		free((void *)sc->conversation_patterns);
		rc = read_single(json_object_get(o, "conversation"), &v, &n);
		set_list(sc, 1, v, n);
	}
	if (rc == 0 && json_is_string(json_object_get(o, "sender")) && !sc->nsender_patterns) {
		free((void *)sc->sender_patterns);
		rc = read_single(json_object_get(o, "sender"), &v, &n);
		set_list(sc, 3, v, n);
	}
	if (rc)
		ret_scope_release(sc);
	return rc;
}

void ret_scope_release(struct ret_scope *sc)
{
	free((void *)sc->conversations);
	free((void *)sc->conversation_patterns);
	free((void *)sc->senders);
	free((void *)sc->sender_patterns);
	memset(sc, 0, sizeof(*sc));
}

/* 1 when the field (raw, len bytes; copy: its NUL-terminated copy, which
 * may be cut short) equals one of ids as bytes or matches one of pats;
 * also 1 when both lists are empty (no criterion).
 *
 * A pattern must see the whole field, or a long id (past the copy) or one
 * with a NUL byte (where fnmatch would stop) would escape a pattern hold
 * such as `*:example.org`. Such a field is matched on a whole copy with
 * each NUL as 0x01, a byte no pattern holds (ret_check_text refuses
 * control characters), so only wildcards match it. */
static int field_matches(const char *const *ids, size_t nids, const char *const *pats, size_t npats,
			 const char *raw, size_t len, const char *copy)
{
	char *whole = NULL;
	const char *s = copy;
	size_t i;
	int hit = 0;

	if (!nids && !npats)
		return 1;
	for (i = 0; i < nids; i++)
		if (strlen(ids[i]) == len && memcmp(ids[i], raw, len) == 0)
			return 1;
	if (!npats)
		return 0;
	if (strlen(copy) != len) {
		whole = malloc(len + 1);
		if (whole) { /* out of memory: the copy, as before (rare; never for ids under 4 KiB) */
			for (i = 0; i < len; i++)
				whole[i] = raw[i] ? raw[i] : '\x01';
			whole[len] = '\0';
			s = whole;
		}
	}
	for (i = 0; !hit && i < npats; i++)
		hit = fnmatch(pats[i], s, 0) == 0;
	free(whole);
	return hit;
}

int ret_scope_matches(const struct ret_scope *sc, const struct ret_recinfo *ri)
{
	return field_matches(sc->conversations, sc->nconversations, sc->conversation_patterns,
			     sc->nconversation_patterns, ri->conversation_raw, ri->conversation_len, ri->conversation) &&
	       field_matches(sc->senders, sc->nsenders, sc->sender_patterns, sc->nsender_patterns, ri->sender_raw,
			     ri->sender_len, ri->sender);
}

void ret_scope_describe(const struct ret_scope *sc, char *out, size_t outlen)
{
	static const char *const words[4] = {" in ", " in pattern ", " from ", " from pattern "};
	const char *const *v;
	size_t i, n, used = 0;
	int k, w;

	if (outlen)
		out[0] = '\0';
	for (k = 0; k < 4; k++) {
		v = list_of(sc, k, &n);
		for (i = 0; i < n && used < outlen; i++) {
			w = snprintf(out + used, outlen - used, "%s%s", words[k], v[i]);
			if (w < 0)
				return;
			used += (size_t)w;
		}
	}
}
