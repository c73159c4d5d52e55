/* proof_json.c - building and checking the proof documents of
 * proof_json.h with jansson. The verifier trusts nothing in the document:
 * every hash is recomputed, and the only trust anchor is the public key the
 * caller passes in. */
#include "archiver/proof_json.h"

#include <stdlib.h>
#include <string.h>

#include "archiver/checkpoint.h"
#include "archiver/merkle.h"
#include "archiver/record_json.h"
#include "common/encode.h"

#define JSON_INT_MAX_U ((uint64_t)INT64_MAX) /* sizes beyond json_int_t */

/* ---- building ---- */

json_t *pj_record_json(uint64_t seq, const uint8_t leaf[HASH_LEN], const uint8_t *leaf_data,
		       size_t len)
{
	struct store_entry e;
	json_t *o;

	memset(&e, 0, sizeof(e));
	e.seq = seq;
	e.is_stub = leaf_data == NULL;
	e.bytes = leaf_data;
	e.len = leaf_data ? len : 0;
	memcpy(e.leaf, leaf, HASH_LEN);
	o = rec_entry_to_json(&e);
	/* A stub's certificate pointer is outside the tree: not shown as proven. */
	if (o && e.is_stub)
		json_object_del(o, "deletion_seq");
	return o;
}

static json_t *hex_json(const uint8_t h[HASH_LEN])
{
	char hex[2 * HASH_LEN + 1];

	hex_encode(h, HASH_LEN, hex);
	return json_string(hex);
}

static json_t *hex_array(const uint8_t (*proof)[HASH_LEN], size_t count)
{
	json_t *a = json_array();
	size_t i;

	if (!a)
		return NULL;
	for (i = 0; i < count; i++) {
		if (json_array_append_new(a, hex_json(proof[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* Sets key to v (a new reference, may be NULL on allocation failure). */
static int set_new(json_t *obj, const char *key, json_t *v)
{
	return json_object_set_new(obj, key, v) == 0 ? 0 : CU_ENOMEM;
}

/* The checkpoint must parse and name exactly size/root; its signature is
 * the verifier's business. */
static int check_note_matches(const char *note, uint64_t size, const uint8_t root[HASH_LEN],
			      const char *size_name, const char *root_name, struct cu_err *err)
{
	struct checkpoint c;
	struct cu_err inner;
	int rc;

	cu_err_clear(&inner);
	rc = ckpt_parse(note, strlen(note), &c, &inner);
	if (rc)
		return cu_err_set(err, CU_EINVAL, "proof document: %s", inner.msg);
	if (c.size != size)
		return cu_err_set(err, CU_EINVAL,
				  "proof document: checkpoint is for tree size %llu, not %s %llu",
				  (unsigned long long)c.size, size_name, (unsigned long long)size);
	if (memcmp(c.root, root, HASH_LEN) != 0)
		return cu_err_set(err, CU_EINVAL, "proof document: checkpoint root does not equal %s",
				  root_name);
	return 0;
}

int pj_inclusion_build(uint64_t seq, const uint8_t leaf[HASH_LEN], const uint8_t *leaf_data,
		       size_t len, uint64_t tree_size, const uint8_t root[HASH_LEN],
		       const uint8_t (*proof)[HASH_LEN], size_t count, const char *checkpoint_note,
		       json_t **out, struct cu_err *err)
{
	uint8_t h[HASH_LEN];
	json_t *doc = NULL;
	char *b64 = NULL;
	int rc = 0;

	*out = NULL;
	if (tree_size > JSON_INT_MAX_U || seq >= tree_size) {
		rc = cu_err_set(err, CU_EINVAL, "proof document: seq %llu is not in a tree of size %llu",
				(unsigned long long)seq, (unsigned long long)tree_size);
		goto out;
	}
	if (count > MT_MAX_PROOF || (count && !proof)) {
		rc = cu_err_set(err, CU_EINVAL, "proof document: %zu proof hashes", count);
		goto out;
	}
	if (leaf_data && len > PJ_MAX_DOC / 2) {
		rc = cu_err_set(err, CU_ETOOBIG, "proof document: record %llu larger than %u bytes",
				(unsigned long long)seq, PJ_MAX_DOC / 2);
		goto out;
	}
	if (!checkpoint_note) {
		rc = cu_err_set(err, CU_EINVAL,
				"proof document: no checkpoint for tree size %llu (root_hash "
				"would be unsigned)",
				(unsigned long long)tree_size);
		goto out;
	}
	if (leaf_data) {
		rc = hash_leaf(leaf_data, len, h);
		if (rc) {
			rc = cu_err_set(err, rc, "proof document: hashing failed");
			goto out;
		}
		if (memcmp(h, leaf, HASH_LEN) != 0) {
			rc = cu_err_set(err, CU_EINVAL,
					"proof document: record %llu bytes do not hash to its leaf hash",
					(unsigned long long)seq);
			goto out;
		}
	}
	if (mt_verify_inclusion(leaf, seq, tree_size, proof, count, root) != 0) {
		rc = cu_err_set(err, CU_EINVAL,
				"proof document: inclusion proof for %llu does not lead to the root "
				"of size %llu",
				(unsigned long long)seq, (unsigned long long)tree_size);
		goto out;
	}
	rc = check_note_matches(checkpoint_note, tree_size, root, "tree_size", "root_hash", err);
	if (rc)
		goto out;

	doc = json_object();
	if (!doc) {
		rc = CU_ENOMEM;
		goto nomem;
	}
	if (leaf_data) {
		b64 = b64_encode(leaf_data, len);
		if (!b64) {
			rc = CU_ENOMEM;
			goto nomem;
		}
	}
	/* Insertion order is the documented field order (jansson keeps it). */
	if ((rc = set_new(doc, "seq", json_integer((json_int_t)seq))) ||
	    (rc = set_new(doc, "leaf_hash", hex_json(leaf))) ||
	    (rc = set_new(doc, "leaf_data", b64 ? json_string(b64) : json_null())) ||
	    (!leaf_data && (rc = set_new(doc, "deleted", json_true()))) ||
	    (rc = set_new(doc, "tree_size", json_integer((json_int_t)tree_size))) ||
	    (rc = set_new(doc, "root_hash", hex_json(root))) ||
	    (rc = set_new(doc, "inclusion", hex_array(proof, count))) ||
	    (rc = set_new(doc, "checkpoint", json_string(checkpoint_note))))
		goto nomem;
	*out = doc;
	doc = NULL;
	goto out;
nomem:
	rc = cu_err_set(err, CU_ENOMEM, "proof document: out of memory");
out:
	json_decref(doc);
	free(b64);
	return rc;
}

int pj_consistency_build(uint64_t first_size, const uint8_t first_root[HASH_LEN],
			 uint64_t second_size, const uint8_t second_root[HASH_LEN],
			 const uint8_t (*proof)[HASH_LEN], size_t count,
			 const char *checkpoint_note, json_t **out, struct cu_err *err)
{
	json_t *doc = NULL;
	int rc = 0;

	*out = NULL;
	if (second_size > JSON_INT_MAX_U || first_size > second_size) {
		rc = cu_err_set(err, CU_EINVAL,
				"proof document: first size %llu is larger than second size %llu",
				(unsigned long long)first_size, (unsigned long long)second_size);
		goto out;
	}
	if (count > MT_MAX_PROOF || (count && !proof)) {
		rc = cu_err_set(err, CU_EINVAL, "proof document: %zu proof hashes", count);
		goto out;
	}
	if (mt_verify_consistency(first_size, second_size, first_root, second_root, proof,
				  count) != 0) {
		rc = cu_err_set(err, CU_EINVAL,
				"proof document: consistency proof from %llu to %llu does not link "
				"the two roots",
				(unsigned long long)first_size, (unsigned long long)second_size);
		goto out;
	}
	if (checkpoint_note) {
		rc = check_note_matches(checkpoint_note, second_size, second_root, "second_size",
					"second_root", err);
		if (rc)
			goto out;
	}
	doc = json_object();
	if (!doc ||
	    (rc = set_new(doc, "first_size", json_integer((json_int_t)first_size))) ||
	    (rc = set_new(doc, "first_root", hex_json(first_root))) ||
	    (rc = set_new(doc, "second_size", json_integer((json_int_t)second_size))) ||
	    (rc = set_new(doc, "second_root", hex_json(second_root))) ||
	    (rc = set_new(doc, "consistency", hex_array(proof, count))) ||
	    (checkpoint_note && (rc = set_new(doc, "checkpoint", json_string(checkpoint_note))))) {
		rc = cu_err_set(err, CU_ENOMEM, "proof document: out of memory");
		goto out;
	}
	*out = doc;
	doc = NULL;
out:
	json_decref(doc);
	return rc;
}

/* ---- verifying ---- */

/* A non-negative JSON integer member. */
static int get_size(json_t *doc, const char *key, uint64_t *out, struct cu_err *err)
{
	json_t *v = json_object_get(doc, key);

	if (!v)
		return cu_err_set(err, CU_EINVAL, "proof document has no \"%s\"", key);
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return cu_err_set(err, CU_EINVAL, "\"%s\" is not a non-negative integer", key);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* A 32-byte hash as 64 hex digits. */
static int get_hash(json_t *doc, const char *key, uint8_t out[HASH_LEN], struct cu_err *err)
{
	json_t *v = json_object_get(doc, key);

	if (!v)
		return cu_err_set(err, CU_EINVAL, "proof document has no \"%s\"", key);
	if (!json_is_string(v) ||
	    hex_decode(json_string_value(v), json_string_length(v), out, HASH_LEN) != 0)
		return cu_err_set(err, CU_EINVAL, "\"%s\" is not 64 hex digits", key);
	return 0;
}

/* The proof array: at most MT_MAX_PROOF hashes. */
static int get_path(json_t *doc, const char *key, uint8_t out[MT_MAX_PROOF][HASH_LEN],
		    size_t *count, struct cu_err *err)
{
	json_t *a = json_object_get(doc, key), *v;
	size_t i;

	if (!json_is_array(a))
		return cu_err_set(err, CU_EINVAL, "\"%s\" is not an array", key);
	if (json_array_size(a) > MT_MAX_PROOF)
		return cu_err_set(err, CU_ETOOBIG, "\"%s\" has more than %d hashes", key,
				  MT_MAX_PROOF);
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) ||
		    hex_decode(json_string_value(v), json_string_length(v), out[i], HASH_LEN) != 0)
			return cu_err_set(err, CU_EINVAL, "\"%s\"[%zu] is not 64 hex digits", key, i);
	}
	*count = json_array_size(a);
	return 0;
}

/* Verifies the checkpoint member (a string) and that it names size/root. */
static int check_checkpoint(json_t *note, EVP_PKEY *pub, uint64_t size,
			    const uint8_t root[HASH_LEN], const char *size_name,
			    const char *root_name, struct pj_result *res, struct cu_err *err)
{
	struct checkpoint c;
	int rc;

	if (!json_is_string(note))
		return cu_err_set(err, CU_EINVAL, "\"checkpoint\" is not a string");
	rc = ckpt_verify(json_string_value(note), json_string_length(note), pub, &c, err);
	if (rc)
		return rc; /* ckpt_verify's message names the failure */
	if (c.size != size)
		return cu_err_set(err, CU_ECRYPTO, "checkpoint is for tree size %llu, not %s %llu",
				  (unsigned long long)c.size, size_name, (unsigned long long)size);
	if (memcmp(c.root, root, HASH_LEN) != 0)
		return cu_err_set(err, CU_ECRYPTO, "checkpoint root does not equal %s", root_name);
	res->has_checkpoint = 1;
	memcpy(res->origin, c.origin, sizeof(res->origin));
	return 0;
}

/* A member name for a message: as is if it is short printable ASCII (it
 * comes from the document, which anybody may have written). */
static const char *safe_key(const char *key)
{
	const char *p;

	if (strlen(key) > 64)
		return "(a long name)";
	for (p = key; *p; p++)
		if (*p < 0x20 || *p > 0x7E)
			return "(a name with special characters)";
	return key;
}

/* The readable "record" must be exactly the proven one: every member the
 * same JSON value, none missing, none added. */
static int check_record(json_t *shown, json_t *proven, struct cu_err *err)
{
	const char *key;
	json_t *v;

	if (!proven)
		return cu_err_set(err, CU_ECRYPTO,
				  "the document shows a \"record\", but leaf_data is not a record "
				  "custos can decode");
	if (!json_is_object(shown))
		return cu_err_set(err, CU_ECRYPTO, "\"record\" is not an object");
	json_object_foreach(shown, key, v) {
		json_t *p = json_object_get(proven, key);

		if (!p)
			return cu_err_set(err, CU_ECRYPTO,
					  "record.%s is not in leaf_data (a member was added)",
					  safe_key(key));
		if (!json_equal(v, p))
			return cu_err_set(err, CU_ECRYPTO, "record.%s is not what leaf_data holds",
					  safe_key(key));
	}
	json_object_foreach(proven, key, v) {
		if (!json_object_get(shown, key))
			return cu_err_set(err, CU_ECRYPTO,
					  "record lacks %s, which leaf_data holds (a member was "
					  "removed)",
					  safe_key(key));
	}
	return 0;
}

static int verify_inclusion_doc(json_t *doc, EVP_PKEY *pub, struct pj_result *res,
				struct cu_err *err)
{
	uint8_t leaf[HASH_LEN], root[HASH_LEN], h[HASH_LEN];
	uint8_t (*path)[HASH_LEN] = NULL;
	json_t *data = json_object_get(doc, "leaf_data");
	json_t *deleted = json_object_get(doc, "deleted");
	uint8_t *bytes = NULL;
	size_t count = 0, nbytes = 0;
	uint64_t seq, size;
	int rc;

	res->kind = PJ_INCLUSION;
	path = malloc(sizeof(uint8_t[MT_MAX_PROOF][HASH_LEN]));
	if (!path) {
		rc = cu_err_set(err, CU_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = get_size(doc, "seq", &seq, err)) || (rc = get_size(doc, "tree_size", &size, err)) ||
	    (rc = get_hash(doc, "leaf_hash", leaf, err)) ||
	    (rc = get_hash(doc, "root_hash", root, err)) ||
	    (rc = get_path(doc, "inclusion", path, &count, err)))
		goto out;
	if (deleted && !json_is_boolean(deleted)) {
		rc = cu_err_set(err, CU_EINVAL, "\"deleted\" is not true or false");
		goto out;
	}
	res->seq = seq;
	res->tree_size = size;
	res->deleted = json_is_true(deleted);
	if (seq >= size) {
		rc = cu_err_set(err, CU_EINVAL, "seq %llu is not below tree_size %llu",
				(unsigned long long)seq, (unsigned long long)size);
		goto out;
	}

	/* The record bytes, unless the record was deleted. */
	if (res->deleted) {
		if (data && !json_is_null(data)) {
			rc = cu_err_set(err, CU_EINVAL,
					"record is marked deleted but carries leaf_data");
			goto out;
		}
	} else {
		if (!data || json_is_null(data)) {
			rc = cu_err_set(err, CU_EINVAL,
					"proof document has no \"leaf_data\" (only deleted records "
					"may omit it)");
			goto out;
		}
		if (!json_is_string(data) ||
		    b64_decode(json_string_value(data), json_string_length(data), PJ_MAX_DOC,
			       &bytes, &nbytes) != 0) {
			rc = cu_err_set(err, CU_EINVAL, "\"leaf_data\" is not base64");
			goto out;
		}
		rc = hash_leaf(bytes, nbytes, h);
		if (rc) {
			rc = cu_err_set(err, rc, "hashing leaf_data failed");
			goto out;
		}
		if (memcmp(h, leaf, HASH_LEN) != 0) {
			rc = cu_err_set(err, CU_ECRYPTO, "leaf_data does not hash to leaf_hash");
			goto out;
		}
	}

	/* What the proven bytes say, and the readable part against it. */
	res->record = pj_record_json(seq, leaf, bytes, nbytes);
	if (json_object_get(doc, "record")) {
		res->had_record = 1;
		rc = check_record(json_object_get(doc, "record"), res->record, err);
		if (rc)
			goto out;
	}

	/* The path from the leaf to the root. */
	rc = mt_verify_inclusion(leaf, seq, size, (const uint8_t(*)[HASH_LEN])path, count, root);
	if (rc == CU_ECRYPTO) {
		rc = cu_err_set(err, CU_ECRYPTO, "inclusion proof does not lead to root_hash");
		goto out;
	}
	if (rc) {
		rc = cu_err_set(err, CU_EINVAL,
				"inclusion proof has the wrong number of hashes (%zu) for seq %llu "
				"in a tree of size %llu",
				count, (unsigned long long)seq, (unsigned long long)size);
		goto out;
	}

	/* The root, signed by the archive. */
	if (!json_object_get(doc, "checkpoint") || json_is_null(json_object_get(doc, "checkpoint"))) {
		rc = cu_err_set(err, CU_EINVAL,
				"proof document has no \"checkpoint\": root_hash is not signed");
		goto out;
	}
	rc = check_checkpoint(json_object_get(doc, "checkpoint"), pub, size, root, "tree_size",
			      "root_hash", res, err);
out:
	free(bytes);
	free(path);
	return rc;
}

static int verify_consistency_doc(json_t *doc, EVP_PKEY *pub, struct pj_result *res,
				  struct cu_err *err)
{
	uint8_t root1[HASH_LEN], root2[HASH_LEN];
	uint8_t (*path)[HASH_LEN] = NULL;
	json_t *note = json_object_get(doc, "checkpoint");
	uint64_t m, n;
	size_t count = 0;
	int rc;

	res->kind = PJ_CONSISTENCY;
	path = malloc(sizeof(uint8_t[MT_MAX_PROOF][HASH_LEN]));
	if (!path) {
		rc = cu_err_set(err, CU_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = get_size(doc, "first_size", &m, err)) ||
	    (rc = get_size(doc, "second_size", &n, err)) ||
	    (rc = get_hash(doc, "first_root", root1, err)) ||
	    (rc = get_hash(doc, "second_root", root2, err)) ||
	    (rc = get_path(doc, "consistency", path, &count, err)))
		goto out;
	res->first_size = m;
	res->tree_size = n;
	if (m > n) {
		rc = cu_err_set(err, CU_EINVAL, "first_size %llu is larger than second_size %llu",
				(unsigned long long)m, (unsigned long long)n);
		goto out;
	}
	rc = mt_verify_consistency(m, n, root1, root2, (const uint8_t(*)[HASH_LEN])path, count);
	if (rc == CU_ECRYPTO) {
		rc = cu_err_set(err, CU_ECRYPTO,
				"consistency proof does not link first_root to second_root");
		goto out;
	}
	if (rc) {
		rc = cu_err_set(err, CU_EINVAL,
				"consistency proof has the wrong number of hashes (%zu) for sizes "
				"%llu and %llu",
				count, (unsigned long long)m, (unsigned long long)n);
		goto out;
	}
	if (note && !json_is_null(note))
		rc = check_checkpoint(note, pub, n, root2, "second_size", "second_root", res, err);
out:
	free(path);
	return rc;
}

/* Refuses a member outside the document format: whatever it says, no
 * proof would cover it. An inclusion document's "record" is checked
 * against leaf_data instead. */
static int check_members(json_t *doc, enum pj_kind kind, struct cu_err *err)
{
	static const char *const inc[] = {"seq", "leaf_hash", "leaf_data", "deleted", "tree_size",
					  "root_hash", "inclusion", "checkpoint", "record", NULL};
	static const char *const cons[] = {"first_size", "first_root", "second_size",
					   "second_root", "consistency", "checkpoint", NULL};
	const char *const *known = kind == PJ_INCLUSION ? inc : cons;
	const char *key;
	size_t i;
	json_t *v;

	json_object_foreach(doc, key, v) {
		for (i = 0; known[i] && strcmp(known[i], key) != 0; i++)
			;
		if (!known[i])
			return cu_err_set(err, CU_EINVAL,
					  "member \"%s\" is not part of a%s proof document (no proof "
					  "covers it)",
					  safe_key(key), kind == PJ_INCLUSION ? "n inclusion" :
					  " consistency");
	}
	return 0;
}

int pj_verify_ex(const char *json_text, size_t len, EVP_PKEY *pub, struct pj_result *res,
		 struct cu_err *err)
{
	struct pj_result local;
	json_error_t jerr;
	json_t *doc = NULL;
	int has_inc, has_cons, rc;

	if (!res)
		res = &local;
	memset(res, 0, sizeof(*res));
	if (len > PJ_MAX_DOC) {
		rc = cu_err_set(err, CU_ETOOBIG, "proof document larger than %u bytes", PJ_MAX_DOC);
		goto out;
	}
	if (!pub) {
		rc = cu_err_set(err, CU_EINVAL, "no public key to verify the checkpoint with");
		goto out;
	}
	/* Duplicate keys would let a reader and the verifier see different
	 * values. A record's payload may hold NUL (\u0000): allowed, so that
	 * "record" compares with what the leaf holds. */
	doc = json_loadb(json_text, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (!doc) {
		rc = cu_err_set(err, CU_EINVAL, "proof document is not valid JSON: %s (line %d)",
				jerr.text, jerr.line);
		goto out;
	}
	if (!json_is_object(doc)) {
		rc = cu_err_set(err, CU_EINVAL, "proof document is not a JSON object");
		goto out;
	}
	has_inc = json_object_get(doc, "inclusion") != NULL;
	has_cons = json_object_get(doc, "consistency") != NULL;
	if (has_inc && has_cons) {
		rc = cu_err_set(err, CU_EINVAL,
				"proof document has both \"inclusion\" and \"consistency\"");
		goto out;
	}
	if ((has_inc || has_cons) &&
	    (rc = check_members(doc, has_inc ? PJ_INCLUSION : PJ_CONSISTENCY, err)) != 0)
		goto out;
	if (has_inc)
		rc = verify_inclusion_doc(doc, pub, res, err);
	else if (has_cons)
		rc = verify_consistency_doc(doc, pub, res, err);
	else
		rc = cu_err_set(err, CU_EINVAL,
				"not a proof document: no \"inclusion\" or \"consistency\" member");
out:
	json_decref(doc);
	if (rc || res == &local) {
		json_decref(res->record);
		res->record = NULL;
	}
	return rc;
}

int pj_verify(const char *json_text, size_t len, EVP_PKEY *pub, struct cu_err *err)
{
	return pj_verify_ex(json_text, len, pub, NULL, err);
}
