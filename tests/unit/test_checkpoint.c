/* test_checkpoint.c - C2SP checkpoints: the exact bytes ckpt_sign writes,
 * round trips, known-good vectors from other implementations (the Go
 * signed-note package's test key and a real sum.golang.org checkpoint),
 * witness cosignatures, and every strictness rule of ckpt_verify. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archiver/checkpoint.h"
#include "archiver/keys.h"
#include "common/encode.h"

#define ORIGIN "archive.example.org/custos"

struct fixture {
	EVP_PKEY *key;   /* the archive key */
	EVP_PKEY *other; /* an unrelated key (a witness, or the wrong key) */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	f->other = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	assert_non_null(f->key);
	assert_non_null(f->other);
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

static void sample(struct checkpoint *c, uint64_t size)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	snprintf(c->origin, sizeof(c->origin), "%s", ORIGIN);
	c->size = size;
	for (i = 0; i < HASH_LEN; i++)
		c->root[i] = (uint8_t)(i * 7 + 1);
}

static char *sign_sample(EVP_PKEY *key, uint64_t size)
{
	struct checkpoint c;
	struct cu_err err;
	char *note = NULL;

	sample(&c, size);
	cu_err_clear(&err);
	assert_int_equal(ckpt_sign(&c, key, &note, &err), 0);
	assert_non_null(note);
	return note;
}

/* Verifies text with key; returns the code and leaves the message in msg. */
static int verify_text(const char *text, EVP_PKEY *key, char *msg, size_t msgsz)
{
	struct checkpoint out;
	struct cu_err err;
	int rc;

	cu_err_clear(&err);
	rc = ckpt_verify(text, strlen(text), key, &out, &err);
	snprintf(msg, msgsz, "%s", err.msg);
	return rc;
}

/* Returns a malloc'd copy of s with the first occurrence of from replaced. */
static char *replace(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	size_t n;
	char *r;

	assert_non_null(at);
	n = strlen(s) - strlen(from) + strlen(to) + 1;
	r = malloc(n);
	assert_non_null(r);
	snprintf(r, n, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
	return r;
}

/* Expects verification of text to fail with a message containing want. */
static void expect_reject(const char *text, EVP_PKEY *key, const char *want)
{
	char msg[512];
	int rc = verify_text(text, key, msg, sizeof(msg));

	if (rc == 0 || !strstr(msg, want))
		fail_msg("expected rejection containing \"%s\", got rc=%d \"%s\" for:\n%s", want,
			 rc, msg, text);
}

static void test_exact_format(void **state)
{
	struct fixture *f = *state;
	struct checkpoint c;
	uint8_t id[4], blob[68], *dec = NULL;
	size_t declen = 0;
	char *note = sign_sample(f->key, 1234567);
	char *root_b64, body[512], *line;
	char idhex[9];

	sample(&c, 1234567);
	root_b64 = b64_encode(c.root, HASH_LEN);
	snprintf(body, sizeof(body), ORIGIN "\n1234567\n%s\n", root_b64);
	/* Body, blank line, then exactly one signature line. */
	assert_int_equal(strncmp(note, body, strlen(body)), 0);
	line = note + strlen(body);
	assert_int_equal(line[0], '\n');
	line++;
	assert_int_equal(strncmp(line, "\xe2\x80\x94 " ORIGIN " ", 4 + strlen(ORIGIN) + 1), 0);
	line += 4 + strlen(ORIGIN) + 1;
	assert_int_equal(strlen(line), 92 + 1); /* base64 of 68 bytes + newline */
	assert_int_equal(line[92], '\n');
	assert_int_equal(b64_decode(line, 92, 68, &dec, &declen), 0);
	assert_int_equal(declen, 68);
	memcpy(blob, dec, 68);
	free(dec);
	/* Key id, then the Ed25519 signature over the body bytes. */
	assert_int_equal(ckpt_key_id(ORIGIN, f->key, id), 0);
	assert_memory_equal(blob, id, 4);
	assert_int_equal(key_verify(f->key, body, strlen(body), blob + 4), 0);
	hex_encode(id, 4, idhex);
	free(root_b64);
	free(note);
}

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	uint64_t sizes[] = {0, 1, 2, 1000, UINT64_MAX};
	struct checkpoint want, got;
	struct cu_err err;
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char *note = sign_sample(f->key, sizes[i]);

		sample(&want, sizes[i]);
		cu_err_clear(&err);
		assert_int_equal(ckpt_verify(note, strlen(note), f->key, &got, &err), 0);
		assert_string_equal(got.origin, want.origin);
		assert_true(got.size == want.size);
		assert_memory_equal(got.root, want.root, HASH_LEN);
		/* ckpt_parse reads the same values without a key. */
		memset(&got, 0, sizeof(got));
		assert_int_equal(ckpt_parse(note, strlen(note), &got, &err), 0);
		assert_true(got.size == want.size);
		assert_memory_equal(got.root, want.root, HASH_LEN);
		free(note);
	}
}

static void test_sign_rejects_bad_origin(void **state)
{
	struct fixture *f = *state;
	const char *bad[] = {"", "with space", "a+b", "tab\there", "umlaut\xc3\xa4", "line\nbreak"};
	struct checkpoint c;
	struct cu_err err;
	char *note = NULL;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sample(&c, 5);
		snprintf(c.origin, sizeof(c.origin), "%s", bad[i]);
		cu_err_clear(&err);
		assert_int_equal(ckpt_sign(&c, f->key, &note, &err), CU_EINVAL);
		assert_null(note);
	}
	/* 255 bytes is the longest origin; it fills the struct exactly. */
	sample(&c, 5);
	memset(c.origin, 'a', 255);
	c.origin[255] = '\0';
	cu_err_clear(&err);
	assert_int_equal(ckpt_sign(&c, f->key, &note, &err), 0);
	{
		struct checkpoint got;

		assert_int_equal(ckpt_verify(note, strlen(note), f->key, &got, &err), 0);
		assert_int_equal(strlen(got.origin), 255);
	}
	free(note);
}

/* The Go signed-note package's test key ("PeterNeumann") and its signed
 * note: our key id and signature encoding must produce the same bytes. */
static void test_go_note_vector(void **state)
{
	static const char vkey_b64[] = "ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
	static const char skey_b64[] = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
	static const char text[] = "If you think cryptography is the answer to your problem,\n"
				   "then you don't know what your problem is.\n";
	static const char want_sig[] = "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FF"
				       "YC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=";
	uint8_t *vkey = NULL, *skey = NULL, id[4], blob[68];
	size_t vlen = 0, slen = 0;
	EVP_PKEY *pub, *priv;
	char *got;

	(void)state;
	assert_int_equal(b64_decode(vkey_b64, strlen(vkey_b64), 64, &vkey, &vlen), 0);
	assert_int_equal(b64_decode(skey_b64, strlen(skey_b64), 64, &skey, &slen), 0);
	assert_int_equal(vlen, 33);
	assert_int_equal(slen, 33);
	assert_int_equal(vkey[0], 0x01); /* algorithm byte: Ed25519 */
	pub = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, vkey + 1, 32);
	priv = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, skey + 1, 32);
	assert_non_null(pub);
	assert_non_null(priv);

	assert_int_equal(ckpt_key_id("PeterNeumann", pub, id), 0);
	assert_int_equal(id[0], 0xc7);
	assert_int_equal(id[1], 0x4f);
	assert_int_equal(id[2], 0x20);
	assert_int_equal(id[3], 0xa3);

	memcpy(blob, id, 4);
	assert_int_equal(key_sign(priv, text, strlen(text), blob + 4), 0);
	got = b64_encode(blob, sizeof(blob));
	assert_string_equal(got, want_sig);
	free(got);
	free(vkey);
	free(skey);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(priv);
}

/* sum.golang.org's public key (name+id+base64(0x01||key)) and one of its
 * real checkpoints: an independent producer that our verifier accepts. */
#define SUMDB_KEY_B64 "Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
#define SUMDB_NOTE                                                                         \
	"go.sum database tree\n"                                                           \
	"6476701\n"                                                                        \
	"mb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n"                                   \
	"\n"                                                                               \
	"\xe2\x80\x94 sum.golang.org Az3grsLX85Gz+s1SiTbgkuqxgItqFq7gsMUEyVnrsa9LM7Us9S+1x" \
	"bFIGu95949rj4nPRYfvimWEPWL+o3GeoWwOoAw=\n"

#define SUMDB_COSIGNED                                                                     \
	"go.sum database tree\n"                                                           \
	"15067302\n"                                                                       \
	"gJyioq6dwR9n+NjEWORfYmH+ubeYm3kH42BBQ0bTpYI=\n"                                   \
	"\n"                                                                               \
	"\xe2\x80\x94 sum.golang.org Az3grp1rvWOs5NKlr/xR4GLN/CDyzzakmt1o61uSxYKpK1SerqOP2C" \
	"lbX/peKUZjYnyomH5Xz7GZG3TpB7OeKn4E2ww=\n"                                         \
	"\xe2\x80\x94 test.example.com qTGhC/xIPQ0AXKHK6Y+9ypRfuvMZWPjRXM8NiOg5M1WREn07VQXy" \
	"uIXM3NRNav3ieVFLUqDRK77PWDmL6w8w84UqeAw=\n"

static EVP_PKEY *sumdb_key(void)
{
	uint8_t *k = NULL, id[4];
	size_t n = 0;
	EVP_PKEY *pub;

	assert_int_equal(b64_decode(SUMDB_KEY_B64, strlen(SUMDB_KEY_B64), 64, &k, &n), 0);
	assert_int_equal(n, 33);
	pub = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, k + 1, 32);
	assert_non_null(pub);
	free(k);
	assert_int_equal(ckpt_key_id("sum.golang.org", pub, id), 0);
	assert_int_equal(id[0], 0x03);
	assert_int_equal(id[1], 0x3d);
	assert_int_equal(id[2], 0xe0);
	assert_int_equal(id[3], 0xae);
	return pub;
}

static void test_sumdb_vector(void **state)
{
	struct fixture *f = *state;
	EVP_PKEY *pub = sumdb_key();
	struct checkpoint c;
	struct cu_err err;
	char *bad;

	cu_err_clear(&err);
	assert_int_equal(ckpt_verify_named(SUMDB_NOTE, strlen(SUMDB_NOTE), pub, "sum.golang.org",
					   &c, &err),
			 0);
	assert_string_equal(c.origin, "go.sum database tree");
	assert_true(c.size == 6476701);

	/* The same note, one digit of the size changed. */
	bad = replace(SUMDB_NOTE, "6476701", "6476702");
	cu_err_clear(&err);
	assert_int_equal(ckpt_verify_named(bad, strlen(bad), pub, "sum.golang.org", &c, &err),
			 CU_ECRYPTO);
	assert_non_null(strstr(err.msg, "checkpoint signature invalid"));
	free(bad);

	/* A real cosigned sum.golang.org checkpoint (from a witness's
	 * documentation): the witness line is ignored. */
	cu_err_clear(&err);
	assert_int_equal(ckpt_verify_named(SUMDB_COSIGNED, strlen(SUMDB_COSIGNED), pub,
					   "sum.golang.org", &c, &err),
			 0);
	assert_true(c.size == 15067302);

	/* With our key instead: no line from it. */
	cu_err_clear(&err);
	assert_int_equal(ckpt_verify_named(SUMDB_NOTE, strlen(SUMDB_NOTE), f->key,
					   "sum.golang.org", &c, &err),
			 CU_ECRYPTO);
	/* ckpt_verify wants the key name to be the origin, which has spaces. */
	cu_err_clear(&err);
	assert_int_equal(ckpt_verify(SUMDB_NOTE, strlen(SUMDB_NOTE), pub, &c, &err), CU_EINVAL);
	EVP_PKEY_free(pub);
}

/* Appends a cosignature line by key under name. */
static char *add_witness(const char *note, EVP_PKEY *key, const char *name)
{
	const char *sep = strstr(note, "\n\n");
	uint8_t blob[68];
	char *b64, *r;
	size_t n;

	assert_non_null(sep);
	assert_int_equal(ckpt_key_id(name, key, blob), 0);
	assert_int_equal(key_sign(key, note, (size_t)(sep - note) + 1, blob + 4), 0);
	b64 = b64_encode(blob, sizeof(blob));
	n = strlen(note) + strlen(name) + strlen(b64) + 8;
	r = malloc(n);
	assert_non_null(r);
	snprintf(r, n, "%s\xe2\x80\x94 %s %s\n", note, name, b64);
	free(b64);
	return r;
}

static void test_witness_line_ignored(void **state)
{
	struct fixture *f = *state;
	char *note = sign_sample(f->key, 77);
	char *cosigned = add_witness(note, f->other, "witness.example.net/w1");
	char *garbled, msg[512];
	const char *ours;

	assert_int_equal(verify_text(cosigned, f->key, msg, sizeof(msg)), 0);

	/* A witness line with a bad signature is still only a witness line. */
	garbled = strdup(cosigned);
	garbled[strlen(garbled) - 10] = garbled[strlen(garbled) - 10] == 'A' ? 'B' : 'A';
	assert_int_equal(verify_text(garbled, f->key, msg, sizeof(msg)), 0);
	free(garbled);

	/* Witness first, ours second: order does not matter. */
	ours = strstr(note, "\n\n") + 2;
	{
		const char *wline = strstr(cosigned, "\xe2\x80\x94 witness");
		size_t n = strlen(cosigned) + 1;
		char *swapped = malloc(n);

		assert_non_null(swapped);
		snprintf(swapped, n, "%.*s%s%.*s", (int)(ours - note), note, wline,
			 (int)strlen(ours), ours);
		assert_int_equal(verify_text(swapped, f->key, msg, sizeof(msg)), 0);

		/* Only the witness line: not signed by us. */
		snprintf(swapped, n, "%.*s%s", (int)(ours - note), note, wline);
		expect_reject(swapped, f->key, "no signature line by key " ORIGIN);
		free(swapped);
	}
	/* The witness key verifying as the archive key: no line from it. */
	expect_reject(cosigned, f->other, "checkpoint signature invalid");
	free(cosigned);
	free(note);
}

static void test_wrong_key(void **state)
{
	struct fixture *f = *state;
	char *note = sign_sample(f->key, 9);

	/* Same name, other key id: not ours. */
	expect_reject(note, f->other, "not by the given public key");
	free(note);
}

static void test_bad_signature(void **state)
{
	struct fixture *f = *state;
	char *note = sign_sample(f->key, 9);
	char *sigline = strstr(note, "\n\n") + 2;
	size_t pos = strlen(note) - 20; /* inside the signature, past the key id */
	char *copy = strdup(note);

	(void)sigline;
	copy[pos] = copy[pos] == 'A' ? 'B' : 'A';
	expect_reject(copy, f->key, "checkpoint signature invalid");
	free(copy);

	/* Truncated signature with the right key id: invalid, not ignored. */
	{
		uint8_t blob[36];
		char *b64, *line, *bad;
		struct checkpoint c;

		sample(&c, 9);
		assert_int_equal(ckpt_key_id(ORIGIN, f->key, blob), 0);
		memset(blob + 4, 0x55, 32);
		b64 = b64_encode(blob, sizeof(blob));
		line = strstr(note, "\n\n") + 2;
		bad = malloc(strlen(note) + 200);
		assert_non_null(bad);
		sprintf(bad, "%.*s\xe2\x80\x94 " ORIGIN " %s\n", (int)(line - note), note, b64);
		expect_reject(bad, f->key, "checkpoint signature invalid");
		free(bad);
		free(b64);
	}
	free(note);
}

static void test_tampered_fields(void **state)
{
	struct fixture *f = *state;
	char *note = sign_sample(f->key, 1000);
	char *bad;
	struct checkpoint c;
	char *root_b64;
	uint8_t root2[HASH_LEN];

	/* Size. */
	bad = replace(note, "\n1000\n", "\n1001\n");
	expect_reject(bad, f->key, "checkpoint signature invalid");
	free(bad);

	/* Root: another valid 32-byte value. */
	sample(&c, 1000);
	root_b64 = b64_encode(c.root, HASH_LEN);
	memcpy(root2, c.root, HASH_LEN);
	root2[0] ^= 1;
	{
		char *other = b64_encode(root2, HASH_LEN);

		bad = replace(note, root_b64, other);
		expect_reject(bad, f->key, "checkpoint signature invalid");
		free(bad);
		free(other);
	}
	free(root_b64);

	/* Origin in the body only: the key name no longer matches it. */
	bad = replace(note, ORIGIN "\n", "archive.example.org/other\n");
	expect_reject(bad, f->key, "no signature line by key archive.example.org/other");
	free(bad);

	/* Origin in both places: the signature covers the origin. */
	{
		char *tmp = replace(note, ORIGIN "\n", "archive.example.org/otherx\n");

		bad = replace(tmp, "\x94 " ORIGIN " ", "\x94 archive.example.org/otherx ");
		free(tmp);
		expect_reject(bad, f->key, "checkpoint signature invalid");
		free(bad);
	}
	free(note);
}

static void test_strict_syntax(void **state)
{
	struct fixture *f = *state;
	char *note = sign_sample(f->key, 1000);
	char *bad, *tmp;
	char body_end[8];
	struct checkpoint c;
	struct cu_err err;

	/* Missing final newline. */
	bad = strdup(note);
	bad[strlen(bad) - 1] = '\0';
	expect_reject(bad, f->key, "does not end with a newline");
	free(bad);

	/* Size: leading zeros, sign, letters, empty, overflow, spaces. */
	bad = replace(note, "\n1000\n", "\n01000\n");
	expect_reject(bad, f->key, "tree size");
	free(bad);
	bad = replace(note, "\n1000\n", "\n+1000\n");
	expect_reject(bad, f->key, "tree size");
	free(bad);
	bad = replace(note, "\n1000\n", "\n10a0\n");
	expect_reject(bad, f->key, "tree size");
	free(bad);
	bad = replace(note, "\n1000\n", "\n\n");
	expect_reject(bad, f->key, "tree size");
	free(bad);
	bad = replace(note, "\n1000\n", "\n18446744073709551616\n");
	expect_reject(bad, f->key, "tree size");
	free(bad);
	bad = replace(note, "\n1000\n", "\n1000 \n");
	expect_reject(bad, f->key, "tree size");
	free(bad);

	/* Root: bad alphabet, wrong length, non-canonical padding bits. */
	sample(&c, 1000);
	tmp = b64_encode(c.root, HASH_LEN);
	{
		char alt[64];

		snprintf(alt, sizeof(alt), "%s", tmp);
		alt[5] = '*';
		bad = replace(note, tmp, alt);
		expect_reject(bad, f->key, "root hash");
		free(bad);

		snprintf(alt, sizeof(alt), "%.40s", tmp); /* 30 bytes */
		bad = replace(note, tmp, alt);
		expect_reject(bad, f->key, "root hash");
		free(bad);

		/* Last data character 'B'..: the low 2 bits must be zero. */
		snprintf(alt, sizeof(alt), "%s", tmp);
		alt[42] = alt[42] == 'A' ? 'B' : (char)(alt[42] + 1);
		bad = replace(note, tmp, alt);
		expect_reject(bad, f->key, "root hash");
		free(bad);

		snprintf(alt, sizeof(alt), "%.43s", tmp); /* padding dropped */
		bad = replace(note, tmp, alt);
		expect_reject(bad, f->key, "root hash");
		free(bad);
	}
	free(tmp);

	/* Origin empty. */
	bad = replace(note, ORIGIN "\n", "\n");
	expect_reject(bad, f->key, "origin line is empty");
	free(bad);

	/* Extension line. */
	snprintf(body_end, sizeof(body_end), "=\n\n");
	bad = replace(note, body_end, "=\next\n\n");
	expect_reject(bad, f->key, "extension lines");
	free(bad);

	/* No blank line / no signature at all. */
	tmp = strdup(note);
	strstr(tmp, "\n\n")[1] = '\0';
	expect_reject(tmp, f->key, "no signature lines");
	strcat(tmp, "\n");
	expect_reject(tmp, f->key, "no signature lines");
	free(tmp);

	/* Hyphen instead of em dash; missing space; '+' in the name. */
	bad = replace(note, "\xe2\x80\x94 ", "- ");
	expect_reject(bad, f->key, "em dash");
	free(bad);
	bad = replace(note, "\xe2\x80\x94 ", "\xe2\x80\x94");
	expect_reject(bad, f->key, "em dash");
	free(bad);
	tmp = add_witness(note, f->other, "w");
	bad = replace(tmp, "\x94 w ", "\x94 w+x ");
	expect_reject(bad, f->key, "key name");
	free(bad);
	/* Even in a witness line, a malformed signature is malformed. */
	bad = replace(tmp, "\x94 w ", "\x94 w !!!!");
	expect_reject(bad, f->key, "signature line 2");
	free(bad);
	free(tmp);

	/* Trailing garbage line after the signatures. */
	tmp = malloc(strlen(note) + 16);
	assert_non_null(tmp);
	sprintf(tmp, "%sgarbage\n", note);
	expect_reject(tmp, f->key, "em dash");
	free(tmp);

	/* Control characters and invalid UTF-8 anywhere. */
	bad = replace(note, "\n1000\n", "\n1000\r\n");
	expect_reject(bad, f->key, "control character");
	free(bad);
	bad = replace(note, ORIGIN, ORIGIN "\xff");
	expect_reject(bad, f->key, "UTF-8");
	free(bad);

	/* A NUL byte inside the declared length. */
	{
		size_t n = strlen(note);

		bad = strdup(note);
		bad[3] = '\0';
		cu_err_clear(&err);
		assert_int_equal(ckpt_verify(bad, n, f->key, &c, &err), CU_EINVAL);
		assert_non_null(strstr(err.msg, "control character"));
		free(bad);
	}

	/* Over the cap. */
	{
		size_t n = CKPT_MAX_LEN + 1;

		bad = malloc(n + 1);
		assert_non_null(bad);
		memset(bad, 'a', n);
		bad[n - 1] = '\n';
		bad[n] = '\0';
		cu_err_clear(&err);
		assert_int_equal(ckpt_verify(bad, n, f->key, &c, &err), CU_ETOOBIG);
		free(bad);
	}
	free(note);
}

static void test_many_witnesses(void **state)
{
	struct fixture *f = *state;
	char *note = sign_sample(f->key, 31337);
	char name[32], msg[512];
	int i;

	/* signed-note asks verifiers to accept at least 16 signatures. */
	for (i = 0; i < 15; i++) {
		char *next;

		snprintf(name, sizeof(name), "witness%d.example.net", i);
		next = add_witness(note, f->other, name);
		free(note);
		note = next;
	}
	assert_true(strlen(note) <= CKPT_MAX_LEN);
	assert_int_equal(verify_text(note, f->key, msg, sizeof(msg)), 0);
	free(note);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_exact_format, setup, teardown),
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sign_rejects_bad_origin, setup, teardown),
		cmocka_unit_test(test_go_note_vector),
		cmocka_unit_test_setup_teardown(test_sumdb_vector, setup, teardown),
		cmocka_unit_test_setup_teardown(test_witness_line_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_signature, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tampered_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_strict_syntax, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_witnesses, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
