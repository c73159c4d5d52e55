/* meta.c - the set of exported records and the custody record's metadata
 * (docs/EXPORTS.md "Custody record"). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/bytes.h"
#include "common/encode.h"
#include "common/timeutil.h"
#include "export/export_int.h"

void exp_set_init(struct exp_set *s)
{
	memset(s, 0, sizeof(*s));
	buf_init(&s->arena, EXP_MAX_RECORD_BYTES);
}

void exp_set_release(struct exp_set *s)
{
	free(s->recs);
	buf_release(&s->arena);
	exp_meta_release(&s->meta);
	memset(s, 0, sizeof(*s));
}

int exp_set_add(struct exp_set *s, uint64_t seq, const uint8_t leaf[HASH_LEN], const uint8_t *bytes,
		size_t len, struct cu_err *err)
{
	struct exp_rec *r;

	if (s->n && seq <= s->recs[s->n - 1].seq)
		return cu_err_set(err, CU_EINVAL, "record %llu is not after record %llu",
				  (unsigned long long)seq, (unsigned long long)s->recs[s->n - 1].seq);
	if (s->n >= EXP_MAX_RECORDS)
		return cu_err_set(err, CU_ETOOBIG, "more than %u records in one export",
				  EXP_MAX_RECORDS);
	if (s->n == s->alloc) {
		size_t na = s->alloc ? s->alloc * 2 : 1024;
		struct exp_rec *nr = realloc(s->recs, na * sizeof(*nr));

		if (!nr)
			return cu_err_set(err, CU_ENOMEM, "out of memory for %zu records", na);
		s->recs = nr;
		s->alloc = na;
	}
	r = &s->recs[s->n];
	memset(r, 0, sizeof(*r));
	r->seq = seq;
	memcpy(r->leaf, leaf, HASH_LEN);
	r->off = s->arena.len;
	r->len = len;
	if (buf_append(&s->arena, bytes, len) != 0)
		return cu_err_set(err, CU_ETOOBIG, "the selected records exceed %llu bytes",
				  (unsigned long long)EXP_MAX_RECORD_BYTES);
	s->n++;
	return 0;
}

int exp_set_decode(struct exp_set *s, struct cu_err *err)
{
	size_t i;
	int rc;

	for (i = 0; i < s->n; i++) {
		struct exp_rec *r = &s->recs[i];

		rc = rec_decode(s->arena.data + r->off, r->len, &r->v, err);
		if (rc)
			return rc;
		if (r->v.seq != r->seq)
			return cu_err_set(err, CU_ECORRUPT, "record %llu carries seq %llu",
					  (unsigned long long)r->seq, (unsigned long long)r->v.seq);
		r->ctl = (uint32_t)(i + 1);
	}
	return 0;
}

int exp_set_digest(const struct exp_set *s, uint8_t out[HASH_LEN])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t be[8];
	unsigned int olen = 0;
	size_t i;
	int rc = CU_ECRYPTO;

	if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		goto out;
	for (i = 0; i < s->n; i++) {
		put_be64(be, s->recs[i].seq);
		if (EVP_DigestUpdate(md, be, 8) != 1 ||
		    EVP_DigestUpdate(md, s->recs[i].leaf, HASH_LEN) != 1)
			goto out;
	}
	if (EVP_DigestFinal_ex(md, out, &olen) == 1 && olen == HASH_LEN)
		rc = 0;
out:
	EVP_MD_CTX_free(md);
	return rc;
}

void exp_meta_release(struct exp_meta *m)
{
	free(m->by);
	free(m->query);
	free(m->conversation);
	free(m->organization);
	m->by = m->query = m->conversation = m->organization = NULL;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

char *exp_meta_to_json(const struct exp_meta *m)
{
	char hex[2 * HASH_LEN + 1], at[32];
	json_t *o;
	char *text = NULL;

	hex_encode(m->selection, HASH_LEN, hex);
	time_format_rfc3339(m->created_ms, at, sizeof(at));
	/* Insertion order is the documented order (jansson keeps it). */
	o = json_object();
	if (!o)
		return NULL;
	if (json_object_set_new(o, "custos_export", json_integer(m->version)) ||
	    json_object_set_new(o, "phase", json_string("request")) ||
	    json_object_set_new(o, "export_id", json_string(m->export_id)) ||
	    json_object_set_new(o, "created", json_string(at)) ||
	    json_object_set_new(o, "created_ms", json_integer(m->created_ms)) ||
	    json_object_set_new(o, "by", json_string(m->by)) ||
	    json_object_set_new(o, "query", str_or_null(m->query)) ||
	    json_object_set_new(o, "conversation", str_or_null(m->conversation)) ||
	    json_object_set_new(o, "from_ms", m->has_from ? json_integer(m->from_ms) : json_null()) ||
	    json_object_set_new(o, "to_ms", m->has_to ? json_integer(m->to_ms) : json_null()) ||
	    json_object_set_new(o, "format", json_string(exp_format_name(m->format))) ||
	    json_object_set_new(o, "container", json_string(exp_container_name(m->container))) ||
	    json_object_set_new(o, "organization", json_string(m->organization)) ||
	    json_object_set_new(o, "count", json_integer((json_int_t)m->count)) ||
	    json_object_set_new(o, "skipped_deleted", json_integer((json_int_t)m->skipped_deleted)) ||
	    json_object_set_new(o, "selection_sha256", json_string(hex)))
		goto out;
	text = json_dumps(o, JSON_COMPACT);
out:
	json_decref(o);
	return text;
}

/* A required or nullable string member, copied. */
static int get_str(json_t *o, const char *key, int nullable, size_t max, char **out,
		   struct cu_err *err)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (nullable && (!v || json_is_null(v)))
		return 0;
	if (!json_is_string(v))
		return cu_err_set(err, CU_ECORRUPT, "custody record: \"%s\" is not a string", key);
	if (json_string_length(v) > max || strlen(json_string_value(v)) != json_string_length(v))
		return cu_err_set(err, CU_ECORRUPT, "custody record: \"%s\" is too long", key);
	*out = strdup(json_string_value(v));
	return *out ? 0 : cu_err_set(err, CU_ENOMEM, "out of memory");
}

static int get_int(json_t *o, const char *key, int nullable, int *has, int64_t *out,
		   struct cu_err *err)
{
	json_t *v = json_object_get(o, key);

	if (has)
		*has = 0;
	if (nullable && (!v || json_is_null(v)))
		return 0;
	if (!json_is_integer(v))
		return cu_err_set(err, CU_ECORRUPT, "custody record: \"%s\" is not an integer", key);
	*out = json_integer_value(v);
	if (has)
		*has = 1;
	return 0;
}

int exp_meta_from_json(const char *text, size_t len, struct exp_meta *m, struct cu_err *err)
{
	json_error_t jerr;
	json_t *o = NULL;
	char *fmt = NULL, *cont = NULL, *phase = NULL, *id = NULL, *sel = NULL;
	int64_t i64 = 0;
	int rc;

	memset(m, 0, sizeof(*m));
	o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o || !json_is_object(o)) {
		rc = cu_err_set(err, CU_ECORRUPT, "custody record: metadata is not a JSON object");
		goto out;
	}
	if ((rc = get_int(o, "custos_export", 0, NULL, &i64, err)))
		goto out;
	if (i64 != EXP_META_VERSION) {
		rc = cu_err_set(err, CU_ECORRUPT,
				"custody record: export format version %lld is not supported "
				"(this custos knows %d)",
				(long long)i64, EXP_META_VERSION);
		goto out;
	}
	m->version = (int)i64;
	if ((rc = get_str(o, "phase", 0, 32, &phase, err)))
		goto out;
	if (strcmp(phase, "request") != 0) {
		rc = cu_err_set(err, CU_ECORRUPT, "custody record: phase is \"%s\", not \"request\"",
				phase);
		goto out;
	}
	if ((rc = get_str(o, "export_id", 0, sizeof(m->export_id) - 1, &id, err)) ||
	    (rc = get_int(o, "created_ms", 0, NULL, &m->created_ms, err)) ||
	    (rc = get_str(o, "by", 0, EXP_MAX_NAME, &m->by, err)) ||
	    (rc = get_str(o, "query", 1, EXP_MAX_QUERY, &m->query, err)) ||
	    (rc = get_str(o, "conversation", 1, EXP_MAX_NAME, &m->conversation, err)) ||
	    (rc = get_int(o, "from_ms", 1, &m->has_from, &m->from_ms, err)) ||
	    (rc = get_int(o, "to_ms", 1, &m->has_to, &m->to_ms, err)) ||
	    (rc = get_str(o, "format", 0, 16, &fmt, err)) ||
	    (rc = get_str(o, "container", 0, 16, &cont, err)) ||
	    (rc = get_str(o, "organization", 0, EXP_MAX_NAME, &m->organization, err)) ||
	    (rc = get_str(o, "selection_sha256", 0, 64, &sel, err)))
		goto out;
	memcpy(m->export_id, id, strlen(id) + 1);
	m->format = exp_format_from_name(fmt);
	m->container = exp_container_from_name(cont);
	if (!m->format || !m->container) {
		rc = cu_err_set(err, CU_ECORRUPT, "custody record: unknown format \"%s\" or container \"%s\"",
				fmt, cont);
		goto out;
	}
	if ((rc = get_int(o, "count", 0, NULL, &i64, err)))
		goto out;
	if (i64 < 0) {
		rc = cu_err_set(err, CU_ECORRUPT, "custody record: negative count");
		goto out;
	}
	m->count = (uint64_t)i64;
	if ((rc = get_int(o, "skipped_deleted", 0, NULL, &i64, err)))
		goto out;
	m->skipped_deleted = i64 < 0 ? 0 : (uint64_t)i64;
	if (hex_decode(sel, strlen(sel), m->selection, HASH_LEN) != 0) {
		rc = cu_err_set(err, CU_ECORRUPT, "custody record: selection_sha256 is not 64 hex digits");
		goto out;
	}
	/* The export id becomes a directory name: only the characters we write. */
	if (!m->export_id[0] || strspn(m->export_id, "0123456789abcdefTZ-") != strlen(m->export_id)) {
		rc = cu_err_set(err, CU_ECORRUPT, "custody record: bad export_id");
		goto out;
	}
	rc = 0;
out:
	free(fmt);
	free(cont);
	free(phase);
	free(id);
	free(sel);
	json_decref(o);
	if (rc)
		exp_meta_release(m);
	return rc;
}

int exp_parse_time(const char *s, int is_to, int64_t *ms)
{
	if (time_parse_rfc3339(s, ms) != 0)
		return CU_EINVAL;
	if (is_to && strlen(s) == 10)
		*ms += 86400000LL;
	return 0;
}

enum exp_format exp_format_from_name(const char *name)
{
	if (!name)
		return 0;
	if (!strcmp(name, "rsmf"))
		return EXP_RSMF;
	if (!strcmp(name, "dat"))
		return EXP_DAT;
	if (!strcmp(name, "edrm"))
		return EXP_EDRM;
	if (!strcmp(name, "bagit"))
		return EXP_BAGIT;
	return 0;
}

const char *exp_format_name(enum exp_format f)
{
	switch (f) {
	case EXP_RSMF: return "rsmf";
	case EXP_DAT: return "dat";
	case EXP_EDRM: return "edrm";
	case EXP_BAGIT: return "bagit";
	}
	return "?";
}

enum exp_container exp_container_from_name(const char *name)
{
	if (!name)
		return 0;
	if (!strcmp(name, "zip"))
		return EXP_ZIP;
	if (!strcmp(name, "tar"))
		return EXP_TAR;
	return 0;
}

const char *exp_container_name(enum exp_container c)
{
	switch (c) {
	case EXP_ZIP: return "zip";
	case EXP_TAR: return "tar";
	}
	return "?";
}
