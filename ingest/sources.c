/* sources.c - DIR/sources.json, and the HMAC and Ed25519 checks of what
 * the sources send (OpenSSL 3 EVP). */
#include "ingest/sources.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
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
	enum src_type type;
} src_types[] = {
	{"matrix", SRC_MATRIX},
	{"xmpp", SRC_XMPP},
	{"threema", SRC_THREEMA},
	{"generic", SRC_GENERIC},
};

const char *src_type_name(enum src_type t)
{
	size_t i;

	for (i = 0; i < sizeof(src_types) / sizeof(src_types[0]); i++)
		if (src_types[i].type == t)
			return src_types[i].name;
	return NULL;
}

enum src_type src_type_from_name(const char *name)
{
	size_t i;

	for (i = 0; name && i < sizeof(src_types) / sizeof(src_types[0]); i++)
		if (!strcmp(src_types[i].name, name))
			return src_types[i].type;
	return 0;
}

int src_name_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0, i;

	if (n == 0 || n > SRC_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '@' || c == ':' || c == '-'))
			return 0;
	}
	return 1;
}

int src_threema_id_valid(const char *s)
{
	size_t i;

	if (!s || strlen(s) != SRC_THREEMA_ID_LEN)
		return 0;
	for (i = 0; i < SRC_THREEMA_ID_LEN; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '*'))
			return 0;
	return 1;
}

void src_entry_release(struct src_entry *e)
{
	if (!e)
		return;
	if (e->peers)
		OPENSSL_cleanse(e->peers, e->npeers * sizeof(*e->peers));
	free(e->peers);
	OPENSSL_cleanse(e, sizeof(*e));
}

void src_set_release(struct src_set *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n; i++)
		src_entry_release(&s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

int src_entry_copy(struct src_entry *dst, const struct src_entry *src)
{
	*dst = *src;
	dst->peers = NULL;
	if (src->npeers) {
		dst->peers = malloc(src->npeers * sizeof(*dst->peers));
		if (!dst->peers) {
			dst->npeers = 0;
			return CU_ENOMEM;
		}
		memcpy(dst->peers, src->peers, src->npeers * sizeof(*dst->peers));
	}
	return 0;
}

static int peer_cmp(const void *a, const void *b)
{
	return strcmp(((const struct src_peer *)a)->id, ((const struct src_peer *)b)->id);
}

const struct src_peer *src_peer_find(const struct src_entry *e, const char *id)
{
	struct src_peer key;

	if (!e || !e->npeers || !src_threema_id_valid(id))
		return NULL;
	memset(&key, 0, sizeof(key));
	memcpy(key.id, id, SRC_THREEMA_ID_LEN);
	return bsearch(&key, e->peers, e->npeers, sizeof(*e->peers), peer_cmp);
}

const struct src_entry *src_find(const struct src_set *s, const char *name)
{
	size_t i;

	for (i = 0; s && name && i < s->n; i++)
		if (!strcmp(s->v[i].name, name))
			return &s->v[i];
	return NULL;
}

const struct src_entry *src_find_hs_token(const struct src_set *s, const char *token, size_t len)
{
	uint8_t h[HASH_LEN];
	const struct src_entry *found = NULL;
	size_t i;

	if (!s || !token || len == 0 || len > 4096 || hash_sha256(token, len, h) != 0)
		return NULL;
	/* No early exit: the time does not depend on which entry matches. */
	for (i = 0; i < s->n; i++)
		if (s->v[i].type == SRC_MATRIX && s->v[i].has_hs_token &&
		    CRYPTO_memcmp(h, s->v[i].hs_token_sha256, HASH_LEN) == 0)
			found = &s->v[i];
	return found;
}

/* ---- parsing ---------------------------------------------------------- */

static int get_key_hex(const char *txt, uint8_t out[SRC_KEY_LEN])
{
	if (!txt)
		return CU_EINVAL;
	/* Threema's tools write keys as "private:<hex>" / "public:<hex>". */
	if (!strncmp(txt, "private:", 8))
		txt += 8;
	else if (!strncmp(txt, "public:", 7))
		txt += 7;
	return hex_decode(txt, strlen(txt), out, SRC_KEY_LEN);
}

static int copy_secret(const char *txt, char *out, size_t *len_out)
{
	size_t n = strlen(txt);

	if (n == 0 || n > SRC_SECRET_MAX)
		return CU_EINVAL;
	memcpy(out, txt, n + 1);
	*len_out = n;
	return 0;
}

static int parse_peers(json_t *obj, struct src_entry *e, const char *path, struct cu_err *err)
{
	const char *id;
	json_t *v;
	size_t i = 0;

	if (!json_is_object(obj))
		return cu_err_set(err, CU_ECORRUPT, "%s: source '%s': peer_keys must be an object", path, e->name);
	if (json_object_size(obj) > SRC_MAX_PEERS)
		return cu_err_set(err, CU_ETOOBIG, "%s: source '%s': more than %d peer keys", path, e->name,
				  SRC_MAX_PEERS);
	if (json_object_size(obj) == 0)
		return 0;
	e->peers = calloc(json_object_size(obj), sizeof(*e->peers));
	if (!e->peers)
		return cu_err_set(err, CU_ENOMEM, "out of memory");
	json_object_foreach(obj, id, v) {
		if (!src_threema_id_valid(id) || !json_is_string(v) ||
		    get_key_hex(json_string_value(v), e->peers[i].pub) != 0)
			return cu_err_set(err, CU_ECORRUPT, "%s: source '%s': bad peer key for '%s'", path,
					  e->name, id);
		memcpy(e->peers[i].id, id, SRC_THREEMA_ID_LEN + 1);
		i++;
	}
	e->npeers = i;
	qsort(e->peers, e->npeers, sizeof(*e->peers), peer_cmp);
	return 0;
}

static int parse_entry(json_t *o, size_t idx, struct src_entry *e, const char *path, struct cu_err *err)
{
	const char *name = NULL, *type = NULL, *created = NULL, *hs = NULL, *as_id = NULL, *url = NULL;
	const char *hmac = NULL, *ed = NULL, *ident = NULL, *api = NULL, *priv = NULL;
	json_t *peers = NULL;
	json_error_t jerr;

	memset(e, 0, sizeof(*e));
	if (json_unpack_ex(o, &jerr, JSON_STRICT,
			   "{s:s, s:s, s?s, s?s, s?s, s?s, s?s, s?s, s?s, s?s, s?s, s?o}",
			   "name", &name, "type", &type, "created", &created, "hs_token_sha256", &hs,
			   "as_id", &as_id, "url", &url, "hmac_secret", &hmac, "ed25519_public_key", &ed,
			   "identity", &ident, "api_secret", &api, "private_key", &priv,
			   "peer_keys", &peers) != 0)
		return cu_err_set(err, CU_ECORRUPT, "%s: source %zu: %s", path, idx, jerr.text);
	if (!src_name_valid(name))
		return cu_err_set(err, CU_ECORRUPT, "%s: source %zu: bad name", path, idx);
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->type = src_type_from_name(type);
	if (!e->type)
		return cu_err_set(err, CU_ECORRUPT, "%s: source '%s': unknown type '%s'", path, name, type);
	if (created && time_parse_rfc3339(created, &e->created_ms) != 0)
		return cu_err_set(err, CU_ECORRUPT, "%s: source '%s': bad created time", path, name);
	if (hs) {
		if (hex_decode(hs, strlen(hs), e->hs_token_sha256, HASH_LEN) != 0)
			return cu_err_set(err, CU_ECORRUPT, "%s: source '%s': hs_token_sha256 is not 64 hex digits",
					  path, name);
		e->has_hs_token = 1;
	}
	if (as_id)
		snprintf(e->as_id, sizeof(e->as_id), "%s", as_id);
	if (url)
		snprintf(e->url, sizeof(e->url), "%s", url);
	if (hmac && copy_secret(hmac, e->hmac_secret, &e->hmac_secret_len) != 0)
		return cu_err_set(err, CU_ECORRUPT, "%s: source '%s': hmac_secret must be 1-%d bytes", path,
				  name, SRC_SECRET_MAX);
	if (ed) {
		if (get_key_hex(ed, e->ed25519_pub) != 0)
			return cu_err_set(err, CU_ECORRUPT, "%s: source '%s': ed25519_public_key is not 64 hex digits",
					  path, name);
		e->has_ed25519 = 1;
	}
	if (ident) {
		if (!src_threema_id_valid(ident))
			return cu_err_set(err, CU_ECORRUPT, "%s: source '%s': bad Threema identity", path, name);
		memcpy(e->identity, ident, SRC_THREEMA_ID_LEN + 1);
	}
	if (api && copy_secret(api, e->api_secret, &e->api_secret_len) != 0)
		return cu_err_set(err, CU_ECORRUPT, "%s: source '%s': api_secret must be 1-%d bytes", path,
				  name, SRC_SECRET_MAX);
	if (priv) {
		if (get_key_hex(priv, e->private_key) != 0)
			return cu_err_set(err, CU_ECORRUPT, "%s: source '%s': private_key is not 64 hex digits",
					  path, name);
		e->has_private_key = 1;
	}
	if (peers)
		return parse_peers(peers, e, path, err);
	return 0;
}

static void src_path(const char *dir, const char *file, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/%s", dir, file);
}

int src_load(const char *dir, struct src_set *out, struct cu_err *err)
{
	char path[4096];
	json_t *root = NULL, *arr, *o;
	size_t i, k;
	int rc;

	out->v = NULL;
	out->n = 0;
	src_path(dir, LAYOUT_SOURCES, path, sizeof(path));
	rc = jsonlist_load(path, "sources", SRC_FILE_MAX, SRC_MAX_ENTRIES, &root, &arr, err);
	if (rc || !arr)
		goto out;
	out->v = calloc(json_array_size(arr) + 1, sizeof(*out->v));
	if (!out->v) {
		rc = cu_err_set(err, CU_ENOMEM, "out of memory");
		goto out;
	}
	json_array_foreach(arr, i, o) {
		rc = parse_entry(o, i, &out->v[i], path, err);
		out->n = i + 1; /* so that release frees a half-parsed entry */
		if (rc)
			goto out;
		for (k = 0; k < i; k++)
			if (!strcmp(out->v[k].name, out->v[i].name)) {
				rc = cu_err_set(err, CU_ECORRUPT, "%s: source name '%s' appears twice", path,
						out->v[i].name);
				goto out;
			}
	}
	rc = 0;
out:
	if (rc)
		src_set_release(out);
	json_decref(root);
	return rc;
}

/* ---- saving ----------------------------------------------------------- */

static int set_hex(json_t *o, const char *key, const uint8_t *p, size_t n)
{
	char hex[2 * SRC_KEY_LEN + 1];

	hex_encode(p, n, hex);
	return json_object_set_new(o, key, json_string(hex));
}

static json_t *entry_json(const struct src_entry *e)
{
	char ts[32];
	json_t *o, *peers;
	size_t i;
	int bad = 0;

	time_format_rfc3339(e->created_ms, ts, sizeof(ts));
	o = json_pack("{s:s, s:s, s:s}", "name", e->name, "type", src_type_name(e->type), "created", ts);
	if (!o)
		return NULL;
	if (e->has_hs_token)
		bad |= set_hex(o, "hs_token_sha256", e->hs_token_sha256, HASH_LEN);
	if (e->as_id[0])
		bad |= json_object_set_new(o, "as_id", json_string(e->as_id));
	if (e->url[0])
		bad |= json_object_set_new(o, "url", json_string(e->url));
	if (e->hmac_secret_len)
		bad |= json_object_set_new(o, "hmac_secret", json_stringn(e->hmac_secret, e->hmac_secret_len));
	if (e->has_ed25519)
		bad |= set_hex(o, "ed25519_public_key", e->ed25519_pub, SRC_KEY_LEN);
	if (e->identity[0])
		bad |= json_object_set_new(o, "identity", json_string(e->identity));
	if (e->api_secret_len)
		bad |= json_object_set_new(o, "api_secret", json_stringn(e->api_secret, e->api_secret_len));
	if (e->has_private_key)
		bad |= set_hex(o, "private_key", e->private_key, SRC_KEY_LEN);
	if (e->npeers) {
		peers = json_object();
		bad |= json_object_set_new(o, "peer_keys", peers);
		for (i = 0; peers && i < e->npeers; i++)
			bad |= set_hex(peers, e->peers[i].id, e->peers[i].pub, SRC_KEY_LEN);
	}
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int save(const char *dir, const struct src_set *s, struct cu_err *err)
{
	char path[4096];
	json_t *arr = json_array(), *o;
	size_t i;

	for (i = 0; arr && i < s->n; i++) {
		o = entry_json(&s->v[i]);
		if (!o || json_array_append_new(arr, o)) {
			json_decref(arr);
			arr = NULL;
		}
	}
	src_path(dir, LAYOUT_SOURCES, path, sizeof(path));
	return jsonlist_save(path, "sources", arr, err); /* NULL arr: out of memory */
}

static int lock_sources(const char *dir, int *fd_out, struct cu_err *err)
{
	char path[4096];

	src_path(dir, LAYOUT_SOURCES_LOCK, path, sizeof(path));
	return jsonlist_lock(path, fd_out, err);
}

int src_add(const char *dir, const struct src_entry *e, int replace, struct cu_err *err)
{
	struct src_set s = {0};
	struct src_entry *nv, copy;
	int fd = -1, rc;
	size_t i;

	if (!src_name_valid(e->name))
		return cu_err_set(err, CU_EINVAL, "source name must be 1-%d characters of A-Z a-z 0-9 . _ @ : -",
				  SRC_NAME_MAX);
	if (!src_type_name(e->type))
		return cu_err_set(err, CU_EINVAL, "unknown source type");
	rc = lock_sources(dir, &fd, err);
	if (rc)
		goto out;
	rc = src_load(dir, &s, err);
	if (rc)
		goto out;
	if (src_entry_copy(&copy, e) != 0) {
		rc = cu_err_set(err, CU_ENOMEM, "out of memory");
		goto out;
	}
	if (!copy.created_ms)
		copy.created_ms = time_now_ms();
	for (i = 0; i < s.n; i++)
		if (!strcmp(s.v[i].name, e->name))
			break;
	if (i < s.n) {
		if (!replace) {
			src_entry_release(&copy);
			rc = cu_err_set(err, CU_EEXIST, "a source named '%s' exists (remove it first)", e->name);
			goto out;
		}
		src_entry_release(&s.v[i]);
		s.v[i] = copy;
	} else {
		if (s.n >= SRC_MAX_ENTRIES) {
			src_entry_release(&copy);
			rc = cu_err_set(err, CU_ETOOBIG, "too many sources (%d)", SRC_MAX_ENTRIES);
			goto out;
		}
		nv = realloc(s.v, (s.n + 1) * sizeof(*nv));
		if (!nv) {
			src_entry_release(&copy);
			rc = cu_err_set(err, CU_ENOMEM, "out of memory");
			goto out;
		}
		s.v = nv;
		s.v[s.n++] = copy;
	}
	rc = save(dir, &s, err);
out:
	src_set_release(&s);
	if (fd >= 0)
		close(fd);
	return rc;
}

int src_remove(const char *dir, const char *name, struct cu_err *err)
{
	struct src_set s = {0};
	int fd = -1, rc;
	size_t i;

	rc = lock_sources(dir, &fd, err);
	if (rc)
		goto out;
	rc = src_load(dir, &s, err);
	if (rc)
		goto out;
	for (i = 0; i < s.n; i++)
		if (!strcmp(s.v[i].name, name))
			break;
	if (i == s.n) {
		rc = cu_err_set(err, CU_ENOTFOUND, "no source named '%s'", name);
		goto out;
	}
	src_entry_release(&s.v[i]);
	memmove(&s.v[i], &s.v[i + 1], (s.n - i - 1) * sizeof(s.v[0]));
	s.n--;
	rc = save(dir, &s, err);
out:
	src_set_release(&s);
	if (fd >= 0)
		close(fd);
	return rc;
}

int src_set_peer(const char *dir, const char *name, const char *id, const uint8_t pub[SRC_KEY_LEN],
		 struct cu_err *err)
{
	struct src_set s = {0};
	struct src_entry *e = NULL;
	struct src_peer *p;
	int fd = -1, rc;
	size_t i;

	if (!src_threema_id_valid(id))
		return cu_err_set(err, CU_EINVAL, "'%s' is not a Threema ID (8 characters A-Z 0-9 *)", id);
	rc = lock_sources(dir, &fd, err);
	if (rc)
		goto out;
	rc = src_load(dir, &s, err);
	if (rc)
		goto out;
	for (i = 0; i < s.n; i++)
		if (!strcmp(s.v[i].name, name))
			e = &s.v[i];
	if (!e || e->type != SRC_THREEMA) {
		rc = cu_err_set(err, CU_ENOTFOUND, "no Threema source named '%s'", name);
		goto out;
	}
	p = (struct src_peer *)src_peer_find(e, id);
	if (!p) {
		if (e->npeers >= SRC_MAX_PEERS) {
			rc = cu_err_set(err, CU_ETOOBIG, "too many peer keys (%d)", SRC_MAX_PEERS);
			goto out;
		}
		p = realloc(e->peers, (e->npeers + 1) * sizeof(*p));
		if (!p) {
			rc = cu_err_set(err, CU_ENOMEM, "out of memory");
			goto out;
		}
		e->peers = p;
		p = &e->peers[e->npeers++];
		memset(p, 0, sizeof(*p));
		memcpy(p->id, id, SRC_THREEMA_ID_LEN);
	}
	memcpy(p->pub, pub, SRC_KEY_LEN);
	qsort(e->peers, e->npeers, sizeof(*e->peers), peer_cmp);
	rc = save(dir, &s, err);
out:
	src_set_release(&s);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* ---- authentication --------------------------------------------------- */

int src_hmac_sha256(const void *key, size_t klen, const void *data, size_t len, uint8_t out[HASH_LEN])
{
	EVP_MAC *mac = NULL;
	EVP_MAC_CTX *ctx = NULL;
	OSSL_PARAM params[2];
	size_t outl = 0;
	int rc = CU_ECRYPTO;
	static const uint8_t empty[1] = {0};

	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (!mac)
		goto out;
	ctx = EVP_MAC_CTX_new(mac);
	if (!ctx)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(ctx, klen ? key : empty, klen, params) != 1 ||
	    EVP_MAC_update(ctx, len ? data : empty, len) != 1 ||
	    EVP_MAC_final(ctx, out, &outl, HASH_LEN) != 1 || outl != HASH_LEN)
		goto out;
	rc = 0;
out:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return rc;
}

int src_check_hmac_hex(const void *key, size_t klen, const void *data, size_t len,
		       const char *mac_hex, size_t mac_len)
{
	uint8_t want[HASH_LEN], got[HASH_LEN];
	int rc;

	if (!mac_hex || hex_decode(mac_hex, mac_len, got, HASH_LEN) != 0)
		return CU_EINVAL;
	rc = src_hmac_sha256(key, klen, data, len, want);
	if (rc)
		return rc;
	rc = CRYPTO_memcmp(want, got, HASH_LEN) == 0 ? 0 : CU_EDENIED;
	OPENSSL_cleanse(want, sizeof(want));
	return rc;
}

int src_check_ed25519(const uint8_t pub[SRC_KEY_LEN], const void *data, size_t len,
		      const uint8_t *sig, size_t siglen)
{
	EVP_PKEY *pk = NULL;
	EVP_MD_CTX *md = NULL;
	static const uint8_t empty[1] = {0};
	int rc = CU_ECRYPTO, v;

	if (siglen != 64)
		return CU_EDENIED;
	pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, SRC_KEY_LEN);
	md = EVP_MD_CTX_new();
	if (!pk || !md || EVP_DigestVerifyInit(md, NULL, NULL, NULL, pk) != 1)
		goto out;
	v = EVP_DigestVerify(md, sig, siglen, len ? data : empty, len);
	rc = v == 1 ? 0 : CU_EDENIED;
out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	return rc;
}

int src_random_secret(char out[48])
{
	uint8_t rnd[32];
	char *b;
	size_t i, j = 0;

	out[0] = '\0';
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return CU_ECRYPTO;
	b = b64_encode(rnd, sizeof(rnd));
	OPENSSL_cleanse(rnd, sizeof(rnd));
	if (!b)
		return CU_ENOMEM;
	for (i = 0; b[i] && b[i] != '=' && j + 1 < 48; i++)
		out[j++] = b[i] == '+' ? '-' : b[i] == '/' ? '_' : b[i];
	out[j] = '\0';
	OPENSSL_cleanse(b, strlen(b));
	free(b);
	return 0;
}
