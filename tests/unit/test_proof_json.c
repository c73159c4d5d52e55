/* test_proof_json.c - proof documents: built from a small in-memory tree
 * through the real mt_* algorithms, verified back, and every field
 * tampered with one at a time, each failure naming what failed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archiver/checkpoint.h"
#include "archiver/keys.h"
#include "archiver/merkle.h"
#include "archiver/proof_json.h"
#include "archiver/record.h"
#include "common/encode.h"

#define ORIGIN "archive.example.org/custos"
#define MAXLEAVES 32

/* A tree over records "record <i> (<tag>)", hashed in memory. */
struct mem_tree {
	uint64_t n;                       /* leaves */
	char data[MAXLEAVES][48];         /* record bytes */
	uint8_t leaf[MAXLEAVES][HASH_LEN];/* leaf hashes */
};

static int sub_fn(void *ctx, uint64_t start, unsigned level, uint8_t out[HASH_LEN])
{
	struct mem_tree *t = ctx;
	uint8_t l[HASH_LEN], r[HASH_LEN];
	uint64_t half;
	int rc;

	if (level > 6 || start + ((uint64_t)1 << level) > t->n)
		return CU_EINVAL;
	if (level == 0) {
		memcpy(out, t->leaf[start], HASH_LEN);
		return 0;
	}
	half = (uint64_t)1 << (level - 1);
	if ((rc = sub_fn(ctx, start, level - 1, l)) || (rc = sub_fn(ctx, start + half, level - 1, r)))
		return rc;
	return hash_node(l, r, out);
}

static void tree_init(struct mem_tree *t, uint64_t n, const char *tag)
{
	uint64_t i;

	assert_true(n <= MAXLEAVES);
	memset(t, 0, sizeof(*t));
	t->n = n;
	for (i = 0; i < n; i++) {
		snprintf(t->data[i], sizeof(t->data[i]), "record %llu (%s)", (unsigned long long)i,
			 tag);
		assert_int_equal(hash_leaf(t->data[i], strlen(t->data[i]), t->leaf[i]), 0);
	}
}

struct fixture {
	EVP_PKEY *key;   /* the archive key */
	EVP_PKEY *other; /* some other key */
	struct mem_tree a, b; /* two different trees of MAXLEAVES leaves */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	f->other = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	assert_non_null(f->key);
	assert_non_null(f->other);
	tree_init(&f->a, MAXLEAVES, "a");
	tree_init(&f->b, MAXLEAVES, "b");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	EVP_PKEY_free(f->key);
	EVP_PKEY_free(f->other);
	free(f);
	return 0;
}

/* Signed checkpoint of the first n leaves of t. */
static char *note_for(struct mem_tree *t, uint64_t n, EVP_PKEY *key, uint8_t root[HASH_LEN])
{
	struct mem_tree view = *t;
	struct checkpoint c;
	struct cu_err err;
	char *note = NULL;

	view.n = n;
	memset(&c, 0, sizeof(c));
	snprintf(c.origin, sizeof(c.origin), ORIGIN);
	c.size = n;
	assert_int_equal(mt_root(sub_fn, &view, n, c.root), 0);
	memcpy(root, c.root, HASH_LEN);
	cu_err_clear(&err);
	assert_int_equal(ckpt_sign(&c, key, &note, &err), 0);
	return note;
}

/* The inclusion document of seq in the first n leaves of t. */
static json_t *inclusion_doc(struct mem_tree *t, uint64_t seq, uint64_t n, EVP_PKEY *key,
			     int deleted)
{
	uint8_t proof[MT_MAX_PROOF][HASH_LEN], root[HASH_LEN];
	struct mem_tree view = *t;
	struct cu_err err;
	size_t count = 0;
	json_t *doc = NULL;
	char *note;

	view.n = n;
	note = note_for(t, n, key, root);
	assert_int_equal(mt_inclusion_proof(sub_fn, &view, seq, n, proof, &count), 0);
	cu_err_clear(&err);
	if (pj_inclusion_build(seq, t->leaf[seq], deleted ? NULL : (const uint8_t *)t->data[seq],
			       strlen(t->data[seq]), n, root, (const uint8_t(*)[HASH_LEN])proof,
			       count, note, &doc, &err) != 0)
		fail_msg("pj_inclusion_build: %s", err.msg);
	free(note);
	return doc;
}

static json_t *consistency_doc(struct mem_tree *t, uint64_t m, uint64_t n, EVP_PKEY *key,
			       int with_note)
{
	uint8_t proof[MT_MAX_PROOF][HASH_LEN], r1[HASH_LEN], r2[HASH_LEN];
	struct mem_tree view = *t;
	struct cu_err err;
	size_t count = 0;
	json_t *doc = NULL;
	char *note;

	view.n = n;
	note = note_for(t, n, key, r2);
	assert_int_equal(mt_root(sub_fn, &view, m, r1), 0);
	assert_int_equal(mt_consistency_proof(sub_fn, &view, m, n, proof, &count), 0);
	cu_err_clear(&err);
	if (pj_consistency_build(m, r1, n, r2, (const uint8_t(*)[HASH_LEN])proof, count,
				 with_note ? note : NULL, &doc, &err) != 0)
		fail_msg("pj_consistency_build: %s", err.msg);
	free(note);
	return doc;
}

/* Dumps doc and verifies it; returns the code, message in msg. */
static int verify_doc(json_t *doc, EVP_PKEY *key, struct pj_result *res, char *msg, size_t msgsz)
{
	char *text = json_dumps(doc, JSON_COMPACT);
	struct cu_err err;
	int rc;

	assert_non_null(text);
	cu_err_clear(&err);
	rc = pj_verify_ex(text, strlen(text), key, res, &err);
	snprintf(msg, msgsz, "%s", err.msg);
	free(text);
	if (res) { /* the proven record is test_readable_record's business */
		json_decref(res->record);
		res->record = NULL;
	}
	return rc;
}

static void expect_fail(json_t *doc, EVP_PKEY *key, const char *want)
{
	char msg[512];
	int rc = verify_doc(doc, key, NULL, msg, sizeof(msg));

	if (rc == 0 || !strstr(msg, want)) {
		char *text = json_dumps(doc, JSON_INDENT(1));

		fail_msg("expected failure \"%s\", got rc=%d \"%s\"\n%s", want, rc, msg, text);
	}
}

static void expect_fail_text(const char *text, EVP_PKEY *key, const char *want)
{
	struct cu_err err;
	int rc;

	cu_err_clear(&err);
	rc = pj_verify(text, strlen(text), key, &err);
	if (rc == 0 || !strstr(err.msg, want))
		fail_msg("expected failure \"%s\", got rc=%d \"%s\"", want, rc, err.msg);
}

static void set_str(json_t *doc, const char *key, const char *v)
{
	assert_int_equal(json_object_set_new(doc, key, json_string(v)), 0);
}

/* Flips one hex digit of a hash member. */
static void flip_hex(json_t *doc, const char *key)
{
	char s[65];

	snprintf(s, sizeof(s), "%s", json_string_value(json_object_get(doc, key)));
	s[10] = s[10] == '0' ? '1' : '0';
	set_str(doc, key, s);
}

static void test_inclusion_round_trip(void **state)
{
	struct fixture *f = *state;
	struct pj_result res;
	uint64_t n, seq;
	char msg[512];

	for (n = 1; n <= 17; n++) {
		for (seq = 0; seq < n; seq++) {
			json_t *doc = inclusion_doc(&f->a, seq, n, f->key, 0);

			if (verify_doc(doc, f->key, &res, msg, sizeof(msg)) != 0)
				fail_msg("seq %llu size %llu: %s", (unsigned long long)seq,
					 (unsigned long long)n, msg);
			assert_int_equal(res.kind, PJ_INCLUSION);
			assert_true(res.seq == seq);
			assert_true(res.tree_size == n);
			assert_int_equal(res.deleted, 0);
			assert_int_equal(res.has_checkpoint, 1);
			assert_string_equal(res.origin, ORIGIN);
			json_decref(doc);
		}
	}
}

static void test_inclusion_document_shape(void **state)
{
	struct fixture *f = *state;
	json_t *doc = inclusion_doc(&f->a, 5, 8, f->key, 0);
	const char *keys[] = {"seq", "leaf_hash", "leaf_data", "tree_size",
			      "root_hash", "inclusion", "checkpoint"};
	const char *key;
	json_t *v;
	size_t i = 0;
	uint8_t *bytes = NULL;
	size_t n = 0;
	char hex[65];

	/* Documented members in documented order, nothing else. */
	json_object_foreach(doc, key, v) {
		assert_true(i < sizeof(keys) / sizeof(keys[0]));
		assert_string_equal(key, keys[i]);
		i++;
	}
	assert_int_equal(i, sizeof(keys) / sizeof(keys[0]));
	assert_int_equal(json_integer_value(json_object_get(doc, "seq")), 5);
	assert_int_equal(json_integer_value(json_object_get(doc, "tree_size")), 8);
	assert_int_equal(json_array_size(json_object_get(doc, "inclusion")), 3);
	/* leaf_data is the exact record bytes, leaf_hash their lowercase hex leaf hash. */
	v = json_object_get(doc, "leaf_data");
	assert_int_equal(b64_decode(json_string_value(v), json_string_length(v), 1024, &bytes, &n), 0);
	assert_int_equal(n, strlen(f->a.data[5]));
	assert_memory_equal(bytes, f->a.data[5], n);
	free(bytes);
	hex_encode(f->a.leaf[5], HASH_LEN, hex);
	assert_string_equal(json_string_value(json_object_get(doc, "leaf_hash")), hex);
	assert_non_null(strstr(json_string_value(json_object_get(doc, "checkpoint")),
			       ORIGIN "\n8\n"));
	json_decref(doc);
}

static void test_deleted_record(void **state)
{
	struct fixture *f = *state;
	json_t *doc = inclusion_doc(&f->a, 3, 8, f->key, 1);
	struct pj_result res;
	char msg[512];

	assert_true(json_is_null(json_object_get(doc, "leaf_data")));
	assert_true(json_is_true(json_object_get(doc, "deleted")));
	assert_int_equal(verify_doc(doc, f->key, &res, msg, sizeof(msg)), 0);
	assert_int_equal(res.deleted, 1);
	assert_true(res.seq == 3);

	/* Absent leaf_data is the same as null for a deleted record. */
	json_object_del(doc, "leaf_data");
	assert_int_equal(verify_doc(doc, f->key, &res, msg, sizeof(msg)), 0);

	/* A stub whose leaf hash is changed is not in the tree. */
	flip_hex(doc, "leaf_hash");
	expect_fail(doc, f->key, "inclusion proof does not lead to root_hash");
	json_decref(doc);

	/* deleted with leaf_data: contradictory. */
	doc = inclusion_doc(&f->a, 3, 8, f->key, 0);
	json_object_set_new(doc, "deleted", json_true());
	expect_fail(doc, f->key, "marked deleted but carries leaf_data");
	json_object_set_new(doc, "deleted", json_string("yes"));
	expect_fail(doc, f->key, "\"deleted\" is not true or false");
	/* deleted: false is an ordinary record. */
	json_object_set_new(doc, "deleted", json_false());
	assert_int_equal(verify_doc(doc, f->key, &res, msg, sizeof(msg)), 0);
	/* Content removed without saying so. */
	json_object_set_new(doc, "leaf_data", json_null());
	expect_fail(doc, f->key, "no \"leaf_data\"");
	json_object_del(doc, "leaf_data");
	expect_fail(doc, f->key, "no \"leaf_data\"");
	json_decref(doc);
}

static void test_inclusion_tamper(void **state)
{
	struct fixture *f = *state;
	json_t *doc, *a;
	char msg[512], *note;
	uint8_t root[HASH_LEN];
	int i;

	/* leaf_data changed: the bytes no longer hash to leaf_hash. */
	doc = inclusion_doc(&f->a, 5, 8, f->key, 0);
	{
		char *b64 = b64_encode((const uint8_t *)"record 5 (x)", 12);

		set_str(doc, "leaf_data", b64);
		free(b64);
	}
	expect_fail(doc, f->key, "leaf_data does not hash to leaf_hash");
	set_str(doc, "leaf_data", "not*base64");
	expect_fail(doc, f->key, "\"leaf_data\" is not base64");
	json_decref(doc);

	/* leaf_hash changed. */
	doc = inclusion_doc(&f->a, 5, 8, f->key, 0);
	flip_hex(doc, "leaf_hash");
	expect_fail(doc, f->key, "leaf_data does not hash to leaf_hash");
	json_decref(doc);

	/* leaf_data and leaf_hash swapped for another record that hashes
	 * correctly: the path does not lead to the root. */
	doc = inclusion_doc(&f->a, 5, 8, f->key, 0);
	{
		json_t *other = inclusion_doc(&f->b, 5, 8, f->key, 0);

		json_object_set(doc, "leaf_data", json_object_get(other, "leaf_data"));
		json_object_set(doc, "leaf_hash", json_object_get(other, "leaf_hash"));
		json_decref(other);
	}
	expect_fail(doc, f->key, "inclusion proof does not lead to root_hash");
	json_decref(doc);

	/* seq moved to the sibling position. */
	doc = inclusion_doc(&f->a, 5, 8, f->key, 0);
	json_object_set_new(doc, "seq", json_integer(4));
	expect_fail(doc, f->key, "inclusion proof does not lead to root_hash");
	json_object_set_new(doc, "seq", json_integer(8));
	expect_fail(doc, f->key, "seq 8 is not below tree_size 8");
	json_object_set_new(doc, "seq", json_integer(-1));
	expect_fail(doc, f->key, "\"seq\" is not a non-negative integer");
	json_object_set_new(doc, "seq", json_string("5"));
	expect_fail(doc, f->key, "\"seq\" is not a non-negative integer");
	json_object_set_new(doc, "seq", json_real(5.0));
	expect_fail(doc, f->key, "\"seq\" is not a non-negative integer");
	json_decref(doc);

	/* tree_size changed: the path has the wrong length, or (same shape)
	 * leads to the same root - the RFC 9162 path does not bind the size
	 * (seq 5 of 7 and of 8 walk the same way), which is why the
	 * checkpoint's size must equal tree_size. */
	doc = inclusion_doc(&f->a, 5, 8, f->key, 0);
	json_object_set_new(doc, "tree_size", json_integer(9));
	expect_fail(doc, f->key, "inclusion proof has the wrong number of hashes");
	json_object_set_new(doc, "tree_size", json_integer(7));
	expect_fail(doc, f->key, "checkpoint is for tree size 8, not tree_size 7");
	json_decref(doc);

	/* root_hash changed. */
	doc = inclusion_doc(&f->a, 5, 8, f->key, 0);
	flip_hex(doc, "root_hash");
	expect_fail(doc, f->key, "inclusion proof does not lead to root_hash");
	set_str(doc, "root_hash", "abc");
	expect_fail(doc, f->key, "\"root_hash\" is not 64 hex digits");
	json_decref(doc);

	/* Each proof element changed, one at a time. */
	for (i = 0; i < 3; i++) {
		char s[65];

		doc = inclusion_doc(&f->a, 5, 8, f->key, 0);
		a = json_object_get(doc, "inclusion");
		snprintf(s, sizeof(s), "%s", json_string_value(json_array_get(a, (size_t)i)));
		s[63] = s[63] == 'f' ? 'e' : 'f';
		json_array_set_new(a, (size_t)i, json_string(s));
		expect_fail(doc, f->key, "inclusion proof does not lead to root_hash");
		json_array_set_new(a, (size_t)i, json_string("zz"));
		expect_fail(doc, f->key, "is not 64 hex digits");
		json_array_set_new(a, (size_t)i, json_integer(1));
		expect_fail(doc, f->key, "is not 64 hex digits");
		json_decref(doc);
	}

	/* One hash too many, one too few, far too many. */
	doc = inclusion_doc(&f->a, 5, 8, f->key, 0);
	a = json_object_get(doc, "inclusion");
	json_array_append(a, json_array_get(a, 0));
	expect_fail(doc, f->key, "wrong number of hashes");
	json_array_remove(a, 3);
	json_array_remove(a, 2);
	expect_fail(doc, f->key, "wrong number of hashes");
	for (i = 0; i < MT_MAX_PROOF; i++)
		json_array_append(a, json_array_get(a, 0));
	{
		char *text = json_dumps(doc, JSON_COMPACT);
		struct cu_err err;

		cu_err_clear(&err);
		assert_int_equal(pj_verify(text, strlen(text), f->key, &err), CU_ETOOBIG);
		assert_non_null(strstr(err.msg, "more than 64 hashes"));
		free(text);
	}
	json_object_set_new(doc, "inclusion", json_string("nope"));
	expect_fail(doc, f->key, "\"inclusion\" is not an array");
	json_decref(doc);

	/* Missing members. */
	{
		const char *req[] = {"seq", "tree_size", "leaf_hash", "root_hash"};

		for (i = 0; i < 4; i++) {
			char want[64];

			doc = inclusion_doc(&f->a, 5, 8, f->key, 0);
			json_object_del(doc, req[i]);
			snprintf(want, sizeof(want), "has no \"%s\"", req[i]);
			expect_fail(doc, f->key, want);
			json_decref(doc);
		}
	}

	/* Checkpoint: missing, tampered signature, other key, other size,
	 * other root, not a string, malformed. */
	doc = inclusion_doc(&f->a, 5, 8, f->key, 0);
	json_object_del(doc, "checkpoint");
	expect_fail(doc, f->key, "no \"checkpoint\": root_hash is not signed");
	json_object_set_new(doc, "checkpoint", json_null());
	expect_fail(doc, f->key, "no \"checkpoint\"");
	json_object_set_new(doc, "checkpoint", json_integer(3));
	expect_fail(doc, f->key, "\"checkpoint\" is not a string");
	set_str(doc, "checkpoint", "hello\n");
	expect_fail(doc, f->key, "checkpoint");
	json_decref(doc);

	doc = inclusion_doc(&f->a, 5, 8, f->key, 0);
	{
		char *s = strdup(json_string_value(json_object_get(doc, "checkpoint")));
		size_t at = strlen(s) - 12;

		s[at] = s[at] == 'A' ? 'B' : 'A';
		set_str(doc, "checkpoint", s);
		free(s);
	}
	expect_fail(doc, f->key, "checkpoint signature invalid");
	json_decref(doc);

	/* Verified with the wrong key. */
	doc = inclusion_doc(&f->a, 5, 8, f->key, 0);
	expect_fail(doc, f->other, "checkpoint signature invalid");
	json_decref(doc);
	/* Signed by the wrong key. */
	doc = inclusion_doc(&f->a, 5, 8, f->other, 0);
	expect_fail(doc, f->key, "checkpoint signature invalid");
	json_decref(doc);

	/* A genuine checkpoint, but of another size. */
	doc = inclusion_doc(&f->a, 5, 8, f->key, 0);
	note = note_for(&f->a, 9, f->key, root);
	set_str(doc, "checkpoint", note);
	free(note);
	expect_fail(doc, f->key, "checkpoint is for tree size 9, not tree_size 8");
	json_decref(doc);

	/* A self-consistent proof in another tree of the same size, presented
	 * with a genuine checkpoint of ours: the roots differ. */
	doc = inclusion_doc(&f->b, 5, 8, f->other, 0);
	note = note_for(&f->a, 8, f->key, root);
	set_str(doc, "checkpoint", note);
	free(note);
	expect_fail(doc, f->key, "checkpoint root does not equal root_hash");
	json_decref(doc);

	/* The untampered document still verifies (the helpers are honest). */
	doc = inclusion_doc(&f->a, 5, 8, f->key, 0);
	assert_int_equal(verify_doc(doc, f->key, NULL, msg, sizeof(msg)), 0);
	{
		struct pj_result res;

		assert_int_equal(verify_doc(doc, f->key, &res, msg, sizeof(msg)), 0);
		assert_int_equal(res.had_record, 0);
		/* A member outside the format is refused: no proof covers it. */
		json_object_set_new(doc, "comment", json_string("anything"));
		expect_fail(doc, f->key, "member \"comment\" is not part of an inclusion proof document");
		json_object_del(doc, "comment");
		json_object_set_new(doc, "x\n\x1b[2J", json_true());
		expect_fail(doc, f->key, "member \"(a name with special characters)\"");
		json_object_del(doc, "x\n\x1b[2J");
		/* "record" over bytes that are no custos record cannot be checked. */
		json_object_set_new(doc, "record", json_string("anything"));
		expect_fail(doc, f->key, "leaf_data is not a record custos can decode");
	}
	json_decref(doc);
}

static void test_not_a_document(void **state)
{
	struct fixture *f = *state;
	struct cu_err err;
	char small[4] = "{}";

	expect_fail_text("", f->key, "not valid JSON");
	expect_fail_text("{\"seq\": 1,", f->key, "not valid JSON");
	expect_fail_text("[]", f->key, "not a JSON object");
	expect_fail_text("{}", f->key, "no \"inclusion\" or \"consistency\"");
	expect_fail_text("{\"inclusion\": [], \"consistency\": []}", f->key, "both");
	expect_fail_text("{\"inclusion\": [], \"inclusion\": []}", f->key, "not valid JSON");
	/* Over the cap: refused before reading. */
	cu_err_clear(&err);
	assert_int_equal(pj_verify(small, (size_t)PJ_MAX_DOC + 1, f->key, &err), CU_ETOOBIG);
	/* No key. */
	cu_err_clear(&err);
	assert_int_equal(pj_verify(small, 2, NULL, &err), CU_EINVAL);
}

static void test_builder_refuses(void **state)
{
	struct fixture *f = *state;
	uint8_t proof[MT_MAX_PROOF][HASH_LEN], root[HASH_LEN], r1[HASH_LEN];
	struct mem_tree view = f->a;
	struct cu_err err;
	json_t *doc = NULL;
	size_t count = 0;
	char *note, *note9;

	view.n = 8;
	note = note_for(&f->a, 8, f->key, root);
	note9 = note_for(&f->a, 9, f->key, r1);
	assert_int_equal(mt_inclusion_proof(sub_fn, &view, 5, 8, proof, &count), 0);
#define BUILD(seq, data, size, rt, cnt, nt)                                                  \
	(cu_err_clear(&err),                                                                 \
	 pj_inclusion_build(seq, f->a.leaf[5], (const uint8_t *)(data), 12, size, rt,         \
			    (const uint8_t(*)[HASH_LEN])proof, cnt, nt, &doc, &err))
	/* Bytes that do not hash to the leaf. */
	assert_int_equal(BUILD(5, "record 5 (b)", 8, root, count, note), CU_EINVAL);
	assert_null(doc);
	/* seq outside the tree. */
	assert_int_equal(BUILD(8, f->a.data[5], 8, root, count, note), CU_EINVAL);
	/* Wrong proof (one hash short). */
	assert_int_equal(BUILD(5, f->a.data[5], 8, root, count - 1, note), CU_EINVAL);
	assert_non_null(strstr(err.msg, "does not lead"));
	/* No checkpoint, or one of another size. */
	assert_int_equal(BUILD(5, f->a.data[5], 8, root, count, NULL), CU_EINVAL);
	assert_non_null(strstr(err.msg, "no checkpoint"));
	assert_int_equal(BUILD(5, f->a.data[5], 8, root, count, note9), CU_EINVAL);
	assert_non_null(strstr(err.msg, "checkpoint is for tree size 9"));
	/* And the right inputs work. */
	assert_int_equal(BUILD(5, f->a.data[5], 8, root, count, note), 0);
	assert_non_null(doc);
	json_decref(doc);
	doc = NULL;
#undef BUILD

	/* Consistency builder: wrong roots and sizes. */
	view.n = 8;
	assert_int_equal(mt_root(sub_fn, &view, 3, r1), 0);
	assert_int_equal(mt_consistency_proof(sub_fn, &view, 3, 8, proof, &count), 0);
	cu_err_clear(&err);
	assert_int_equal(pj_consistency_build(3, r1, 8, r1, (const uint8_t(*)[HASH_LEN])proof,
					      count, NULL, &doc, &err),
			 CU_EINVAL);
	cu_err_clear(&err);
	assert_int_equal(pj_consistency_build(9, r1, 8, root, (const uint8_t(*)[HASH_LEN])proof,
					      count, NULL, &doc, &err),
			 CU_EINVAL);
	cu_err_clear(&err);
	assert_int_equal(pj_consistency_build(3, r1, 8, root, (const uint8_t(*)[HASH_LEN])proof,
					      count, note9, &doc, &err),
			 CU_EINVAL);
	assert_null(doc);
	cu_err_clear(&err);
	assert_int_equal(pj_consistency_build(3, r1, 8, root, (const uint8_t(*)[HASH_LEN])proof,
					      count, note, &doc, &err),
			 0);
	json_decref(doc);
	free(note);
	free(note9);
}

static void test_consistency_round_trip(void **state)
{
	struct fixture *f = *state;
	struct pj_result res;
	uint64_t m, n;
	char msg[512];

	for (n = 1; n <= 17; n++) {
		for (m = 1; m <= n; m++) {
			json_t *doc = consistency_doc(&f->a, m, n, f->key, (m + n) % 2);

			if (verify_doc(doc, f->key, &res, msg, sizeof(msg)) != 0)
				fail_msg("%llu -> %llu: %s", (unsigned long long)m,
					 (unsigned long long)n, msg);
			assert_int_equal(res.kind, PJ_CONSISTENCY);
			assert_true(res.first_size == m);
			assert_true(res.tree_size == n);
			assert_int_equal(res.has_checkpoint, (int)((m + n) % 2));
			json_decref(doc);
		}
	}
}

static void test_consistency_tamper(void **state)
{
	struct fixture *f = *state;
	const char *keys[] = {"first_size", "first_root", "second_size", "second_root",
			      "consistency", "checkpoint"};
	json_t *doc, *a;
	const char *key;
	json_t *v;
	size_t i = 0;
	char *note, s[65];
	uint8_t root[HASH_LEN];

	doc = consistency_doc(&f->a, 5, 13, f->key, 1);
	json_object_foreach(doc, key, v) {
		assert_true(i < 6);
		assert_string_equal(key, keys[i]);
		i++;
	}
	assert_int_equal(i, 6);

	flip_hex(doc, "first_root");
	expect_fail(doc, f->key, "consistency proof does not link first_root to second_root");
	json_decref(doc);

	doc = consistency_doc(&f->a, 5, 13, f->key, 0);
	flip_hex(doc, "second_root");
	expect_fail(doc, f->key, "consistency proof does not link first_root to second_root");
	json_decref(doc);

	doc = consistency_doc(&f->a, 5, 13, f->key, 0);
	a = json_object_get(doc, "consistency");
	for (i = 0; i < json_array_size(a); i++) {
		json_t *orig = json_incref(json_array_get(a, i));

		snprintf(s, sizeof(s), "%s", json_string_value(orig));
		s[0] = s[0] == '0' ? '1' : '0';
		json_array_set_new(a, i, json_string(s));
		expect_fail(doc, f->key, "consistency proof does not link");
		json_array_set_new(a, i, orig);
	}
	json_array_append(a, json_array_get(a, 0));
	expect_fail(doc, f->key, "consistency proof has the wrong number of hashes");
	json_decref(doc);

	doc = consistency_doc(&f->a, 5, 13, f->key, 0);
	json_object_set_new(doc, "first_size", json_integer(6));
	expect_fail(doc, f->key, "consistency proof");
	json_object_set_new(doc, "first_size", json_integer(14));
	expect_fail(doc, f->key, "first_size 14 is larger than second_size 13");
	json_decref(doc);

	/* As with inclusion, the proof alone does not bind second_size
	 * (5 -> 12 and 5 -> 13 have the same shape): the checkpoint does. */
	doc = consistency_doc(&f->a, 5, 13, f->key, 1);
	json_object_set_new(doc, "second_size", json_integer(12));
	expect_fail(doc, f->key, "checkpoint is for tree size 13, not second_size 12");
	json_object_del(doc, "checkpoint");
	json_object_set_new(doc, "second_size", json_integer(7));
	expect_fail(doc, f->key, "consistency proof");
	json_object_del(doc, "second_size");
	expect_fail(doc, f->key, "has no \"second_size\"");
	json_decref(doc);

	/* Consistency with the other tree's second root: does not link. */
	doc = consistency_doc(&f->a, 5, 13, f->key, 0);
	note = note_for(&f->b, 13, f->key, root);
	hex_encode(root, HASH_LEN, s);
	set_str(doc, "second_root", s);
	expect_fail(doc, f->key, "does not link");
	json_decref(doc);

	/* Checkpoint present but for another tree / size / key. */
	doc = consistency_doc(&f->a, 5, 13, f->key, 1);
	set_str(doc, "checkpoint", note);
	expect_fail(doc, f->key, "checkpoint root does not equal second_root");
	free(note);
	note = note_for(&f->a, 12, f->key, root);
	set_str(doc, "checkpoint", note);
	expect_fail(doc, f->key, "checkpoint is for tree size 12, not second_size 13");
	free(note);
	note = note_for(&f->a, 13, f->other, root);
	set_str(doc, "checkpoint", note);
	expect_fail(doc, f->key, "checkpoint signature invalid");
	free(note);
	json_decref(doc);
}

/* A proof of one real record (a tree of one leaf: root = leaf, no path),
 * with the readable "record" the way `custos show --proof` adds it. */
static json_t *record_doc(EVP_PKEY *key, struct buf *bytes, uint8_t leaf[HASH_LEN], int deleted)
{
	struct rec_view v;
	struct checkpoint c;
	struct cu_err err;
	json_t *doc = NULL;
	char *note = NULL;

	memset(&v, 0, sizeof(v));
	v.kind = REC_MESSAGE;
	v.origin_ts = 1704103300000;
	v.received_ts = 1704103300123;
	rec_set(&v, RF_PLATFORM, "matrix");
	rec_set(&v, RF_SOURCE, "synapse");
	rec_set(&v, RF_CONVERSATION, "!room:example.org");
	rec_set(&v, RF_SENDER, "@alice:example.org");
	rec_set(&v, RF_EVENT_ID, "$e1");
	rec_set(&v, RF_BODY, "the real text");
	rec_set(&v, RF_PAYLOAD, "{\"body\":\"the real text\"}");
	buf_init(bytes, REC_MAX_BYTES);
	assert_int_equal(rec_encode(&v, bytes), 0);
	assert_int_equal(hash_leaf(bytes->data, bytes->len, leaf), 0);
	memset(&c, 0, sizeof(c));
	snprintf(c.origin, sizeof(c.origin), ORIGIN);
	c.size = 1;
	memcpy(c.root, leaf, HASH_LEN);
	cu_err_clear(&err);
	assert_int_equal(ckpt_sign(&c, key, &note, &err), 0);
	if (pj_inclusion_build(0, leaf, deleted ? NULL : bytes->data, bytes->len, 1, leaf, NULL, 0,
			       note, &doc, &err) != 0)
		fail_msg("pj_inclusion_build: %s", err.msg);
	free(note);
	assert_int_equal(json_object_set_new(doc, "record",
					     pj_record_json(0, leaf, deleted ? NULL : bytes->data,
							    bytes->len)),
			 0);
	return doc;
}

/* The readable part must be exactly what leaf_data says (issue 15 item 9:
 * `.record.body = "forged"` verified), and what verify reports as proven
 * comes from leaf_data. */
static void test_readable_record(void **state)
{
	static const struct {
		const char *member;
		const char *want;
	} edits[] = {
		{"body", "record.body is not what leaf_data holds"},
		{"sender", "record.sender is not what leaf_data holds"},
		{"conversation", "record.conversation is not what leaf_data holds"},
		{"kind", "record.kind is not what leaf_data holds"},
		{"payload", "record.payload is not what leaf_data holds"},
		{"ts", "record.ts is not what leaf_data holds"},
		{"seq", "record.seq is not what leaf_data holds"},
		{"leaf_hash", "record.leaf_hash is not what leaf_data holds"},
		{"encrypted", "record.encrypted is not what leaf_data holds"},
		{"subject", "record.subject is not in leaf_data (a member was added)"},
		{"reply_to", "record.reply_to is not in leaf_data (a member was added)"},
	};
	struct fixture *f = *state;
	uint8_t leaf[HASH_LEN];
	struct pj_result res;
	struct cu_err err;
	struct buf bytes;
	json_t *doc, *rec;
	char *text;
	size_t i;

	doc = record_doc(f->key, &bytes, leaf, 0);
	text = json_dumps(doc, JSON_COMPACT);
	cu_err_clear(&err);
	assert_int_equal(pj_verify_ex(text, strlen(text), f->key, &res, &err), 0);
	free(text);
	assert_int_equal(res.had_record, 1);
	assert_non_null(res.record);
	assert_string_equal(json_string_value(json_object_get(res.record, "body")), "the real text");
	assert_true(json_equal(res.record, json_object_get(doc, "record")));
	json_decref(res.record);

	for (i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		json_t *copy = json_deep_copy(doc);
		json_t *r = json_object_get(copy, "record");
		json_t *old = json_object_get(r, edits[i].member);

		if (!old || json_is_string(old))
			json_object_set_new(r, edits[i].member, json_string("forged"));
		else if (json_is_integer(old))
			json_object_set_new(r, edits[i].member,
					    json_integer(json_integer_value(old) + 1));
		else
			json_object_set_new(r, edits[i].member, json_boolean(!json_is_true(old)));
		expect_fail(copy, f->key, edits[i].want);
		json_decref(copy);
	}
	/* The same value with another JSON type is another value. */
	rec = json_object_get(doc, "record");
	json_object_set_new(rec, "ts", json_real(1704103300000.0));
	expect_fail(doc, f->key, "record.ts is not what leaf_data holds");
	json_object_set_new(rec, "ts", json_integer(1704103300000));
	/* A member left out hides what the record says. */
	json_object_del(rec, "encrypted");
	expect_fail(doc, f->key, "record lacks encrypted, which leaf_data holds");
	json_object_set_new(doc, "record", json_string("the real text"));
	expect_fail(doc, f->key, "\"record\" is not an object");
	json_decref(doc);
	buf_release(&bytes);

	/* A deleted record shows only what the stub proves: no deletion_seq,
	 * no content. */
	doc = record_doc(f->key, &bytes, leaf, 1);
	rec = json_object_get(doc, "record");
	assert_int_equal(json_object_size(rec), 3);
	assert_true(json_is_true(json_object_get(rec, "deleted")));
	text = json_dumps(doc, JSON_COMPACT);
	cu_err_clear(&err);
	assert_int_equal(pj_verify_ex(text, strlen(text), f->key, &res, &err), 0);
	free(text);
	assert_int_equal(res.deleted, 1);
	json_decref(res.record);
	json_object_set_new(rec, "deletion_seq", json_integer(7));
	expect_fail(doc, f->key, "record.deletion_seq is not in leaf_data");
	json_object_del(rec, "deletion_seq");
	json_object_set_new(rec, "body", json_string("the real text"));
	expect_fail(doc, f->key, "record.body is not in leaf_data");
	json_decref(doc);
	buf_release(&bytes);

	/* A consistency document shows nothing but what it proves either. */
	doc = consistency_doc(&f->a, 5, 13, f->key, 1);
	json_object_set_new(doc, "note", json_string("the archive was audited"));
	expect_fail(doc, f->key, "member \"note\" is not part of a consistency proof document");
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inclusion_round_trip),
		cmocka_unit_test(test_inclusion_document_shape),
		cmocka_unit_test(test_deleted_record),
		cmocka_unit_test(test_inclusion_tamper),
		cmocka_unit_test(test_not_a_document),
		cmocka_unit_test(test_builder_refuses),
		cmocka_unit_test(test_consistency_round_trip),
		cmocka_unit_test(test_consistency_tamper),
		cmocka_unit_test(test_readable_record),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
