/* tokens.c - token file, creation, revocation and constant-time lookup. */
#include "api/tokens.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/encode.h"
#include "common/fileio.h"
#include "common/jsonlist.h"
#include "common/layout.h"
#include "common/timeutil.h"

static const struct {
	const char *name;
	unsigned role;
} roles[] = {
	{"ingest", ROLE_INGEST},
	{"officer", ROLE_OFFICER},
	{"auditor", ROLE_AUDITOR},
	{"admin", ROLE_ADMIN},
};

unsigned tok_role_from_name(const char *name)
{
	size_t i;

	for (i = 0; name && i < sizeof(roles) / sizeof(roles[0]); i++)
		if (!strcmp(name, roles[i].name))
			return roles[i].role;
	return 0;
}

const char *tok_role_name(unsigned role)
{
	size_t i;

	for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (role == roles[i].role)
			return roles[i].name;
	return NULL;
}

int tok_name_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0, i;

	if (n == 0 || n > TOK_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '@' || c == ':' || c == '-'))
			return 0;
	}
	return 1;
}

static void tok_path(const char *dir, const char *file, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/%s", dir, file);
}

void tok_set_release(struct tok_set *s)
{
	if (!s)
		return;
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static int parse_entry(json_t *o, size_t idx, struct tok_entry *e, struct cu_err *err)
{
	const char *name = NULL, *role = NULL, *source = NULL, *hash = NULL, *created = NULL;
	json_error_t jerr;

	memset(e, 0, sizeof(*e));
	if (json_unpack_ex(o, &jerr, JSON_STRICT, "{s:s, s:s, s?s, s:s, s?s}", "name", &name,
			   "role", &role, "source", &source, "sha256", &hash, "created", &created) != 0)
		return cu_err_set(err, CU_ECORRUPT, "tokens.json: entry %zu: %s", idx, jerr.text);
	if (!tok_name_valid(name))
		return cu_err_set(err, CU_ECORRUPT, "tokens.json: entry %zu: bad name", idx);
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->role = tok_role_from_name(role);
	if (!e->role)
		return cu_err_set(err, CU_ECORRUPT, "tokens.json: token '%s': unknown role '%s'", name, role);
	if (source) {
		if (!tok_name_valid(source))
			return cu_err_set(err, CU_ECORRUPT, "tokens.json: token '%s': bad source", name);
		snprintf(e->source, sizeof(e->source), "%s", source);
	}
	if (e->role == ROLE_INGEST && !e->source[0])
		return cu_err_set(err, CU_ECORRUPT, "tokens.json: ingest token '%s' has no source", name);
	if (hex_decode(hash, strlen(hash), e->hash, HASH_LEN) != 0)
		return cu_err_set(err, CU_ECORRUPT, "tokens.json: token '%s': sha256 is not 64 hex digits", name);
	if (created && time_parse_rfc3339(created, &e->created_ms) != 0)
		return cu_err_set(err, CU_ECORRUPT, "tokens.json: token '%s': bad created time", name);
	return 0;
}

int tok_load(const char *dir, struct tok_set *out, struct cu_err *err)
{
	char path[4096];
	json_t *root = NULL, *arr, *o;
	size_t i;
	int rc;

	out->v = NULL;
	out->n = 0;
	tok_path(dir, LAYOUT_TOKENS, path, sizeof(path));
	rc = jsonlist_load(path, "tokens", TOK_FILE_MAX, TOK_MAX_ENTRIES, &root, &arr, err);
	if (rc || !arr)
		goto out;
	out->v = calloc(json_array_size(arr) + 1, sizeof(*out->v));
	if (!out->v) {
		rc = cu_err_set(err, CU_ENOMEM, "out of memory");
		goto out;
	}
	json_array_foreach(arr, i, o) {
		rc = parse_entry(o, i, &out->v[i], err);
		if (rc)
			goto out;
		for (size_t k = 0; k < i; k++)
			if (!strcmp(out->v[k].name, out->v[i].name)) {
				rc = cu_err_set(err, CU_ECORRUPT, "%s: token name '%s' appears twice",
						path, out->v[i].name);
				goto out;
			}
		out->n = i + 1;
	}
	rc = 0;
out:
	if (rc)
		tok_set_release(out);
	json_decref(root);
	return rc;
}

const struct tok_entry *tok_lookup(const struct tok_set *s, const char *token, size_t len)
{
	uint8_t h[HASH_LEN];
	const struct tok_entry *found = NULL;
	size_t i;

	if (!s || len == 0 || len >= TOK_TEXT_MAX)
		return NULL;
	if (hash_sha256(token, len, h) != 0)
		return NULL;
	/* No early exit: the time taken does not depend on where (or whether)
	 * the token matches. */
	for (i = 0; i < s->n; i++)
		if (CRYPTO_memcmp(h, s->v[i].hash, HASH_LEN) == 0)
			found = &s->v[i];
	return found;
}

static int save(const char *dir, const struct tok_set *s, struct cu_err *err)
{
	char path[4096], hex[2 * HASH_LEN + 1], ts[32];
	json_t *arr = json_array(), *o;
	size_t i;

	for (i = 0; arr && i < s->n; i++) {
		const struct tok_entry *e = &s->v[i];

		hex_encode(e->hash, HASH_LEN, hex);
		time_format_rfc3339(e->created_ms, ts, sizeof(ts));
		o = json_pack("{s:s, s:s, s:s, s:s}", "name", e->name, "role", tok_role_name(e->role),
			      "sha256", hex, "created", ts);
		if (o && e->source[0] && json_object_set_new(o, "source", json_string(e->source))) {
			json_decref(o);
			o = NULL;
		}
		if (!o || json_array_append_new(arr, o)) {
			json_decref(arr);
			arr = NULL;
		}
	}
	tok_path(dir, LAYOUT_TOKENS, path, sizeof(path));
	return jsonlist_save(path, "tokens", arr, err); /* NULL arr: out of memory */
}

/* Takes the exclusive lock that serialises read-modify-write of the file. */
static int lock_tokens(const char *dir, int *fd_out, struct cu_err *err)
{
	char path[4096];

	tok_path(dir, "tokens.lock", path, sizeof(path));
	return jsonlist_lock(path, fd_out, err);
}

static void b64url(const uint8_t *in, size_t n, char *out, size_t outlen)
{
	char *b = b64_encode(in, n);
	size_t i, j = 0;

	if (!b) {
		out[0] = '\0';
		return;
	}
	for (i = 0; b[i] && b[i] != '=' && j + 1 < outlen; i++)
		out[j++] = b[i] == '+' ? '-' : b[i] == '/' ? '_' : b[i];
	out[j] = '\0';
	OPENSSL_cleanse(b, strlen(b));
	free(b);
}

int tok_add(const char *dir, const char *name, unsigned role, const char *source,
	    char token_out[TOK_TEXT_MAX], struct cu_err *err)
{
	struct tok_set s = {0};
	struct tok_entry *e, *nv;
	uint8_t rnd[TOK_RANDOM_BYTES];
	char enc[48]; /* 43 base64url characters and a NUL */
	int fd = -1, rc;
	size_t i;

	token_out[0] = '\0';
	if (!tok_name_valid(name))
		return cu_err_set(err, CU_EINVAL, "token name must be 1-%d characters of A-Z a-z 0-9 . _ @ : -",
				  TOK_NAME_MAX);
	if (!tok_role_name(role))
		return cu_err_set(err, CU_EINVAL, "unknown role");
	if (role == ROLE_INGEST && !tok_name_valid(source))
		return cu_err_set(err, CU_EINVAL, "an ingest token needs --source NAME (A-Z a-z 0-9 . _ @ : -)");
	if (role != ROLE_INGEST && source && *source)
		return cu_err_set(err, CU_EINVAL, "--source is only for ingest tokens");
	rc = lock_tokens(dir, &fd, err);
	if (rc)
		goto out;
	rc = tok_load(dir, &s, err);
	if (rc)
		goto out;
	for (i = 0; i < s.n; i++)
		if (!strcmp(s.v[i].name, name)) {
			rc = cu_err_set(err, CU_EEXIST, "a token named '%s' exists (revoke it first)", name);
			goto out;
		}
	if (s.n >= TOK_MAX_ENTRIES) {
		rc = cu_err_set(err, CU_ETOOBIG, "too many tokens (%d)", TOK_MAX_ENTRIES);
		goto out;
	}
	nv = realloc(s.v, (s.n + 1) * sizeof(*nv));
	if (!nv) {
		rc = cu_err_set(err, CU_ENOMEM, "out of memory");
		goto out;
	}
	s.v = nv;
	e = &s.v[s.n];
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->role = role;
	if (role == ROLE_INGEST)
		snprintf(e->source, sizeof(e->source), "%s", source);
	e->created_ms = time_now_ms();
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		rc = cu_err_set(err, CU_ECRYPTO, "no randomness for a token");
		goto out;
	}
	b64url(rnd, sizeof(rnd), enc, sizeof(enc));
	snprintf(token_out, TOK_TEXT_MAX, "%s%s", TOK_PREFIX, enc);
	rc = hash_sha256(token_out, strlen(token_out), e->hash);
	if (rc) {
		cu_err_set(err, rc, "hashing the token failed");
		goto out;
	}
	s.n++;
	rc = save(dir, &s, err);
out:
	OPENSSL_cleanse(rnd, sizeof(rnd));
	OPENSSL_cleanse(enc, sizeof(enc));
	if (rc)
		OPENSSL_cleanse(token_out, TOK_TEXT_MAX);
	if (fd >= 0)
		close(fd);
	tok_set_release(&s);
	return rc;
}

int tok_revoke(const char *dir, const char *name, struct cu_err *err)
{
	struct tok_set s = {0};
	int fd = -1, rc;
	size_t i;

	rc = lock_tokens(dir, &fd, err);
	if (rc)
		goto out;
	rc = tok_load(dir, &s, err);
	if (rc)
		goto out;
	for (i = 0; i < s.n; i++)
		if (name && !strcmp(s.v[i].name, name))
			break;
	if (i == s.n) {
		rc = cu_err_set(err, CU_ENOTFOUND, "no token named '%s'", name ? name : "");
		goto out;
	}
	memmove(&s.v[i], &s.v[i + 1], (s.n - i - 1) * sizeof(s.v[0]));
	s.n--;
	rc = save(dir, &s, err);
out:
	if (fd >= 0)
		close(fd);
	tok_set_release(&s);
	return rc;
}
