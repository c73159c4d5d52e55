/* test_store.c - the archive store: append, read, iterate, duplicates,
 * rotation and seals, crash recovery of a torn tail, fault injection at
 * every write and fsync of an append, and erase with stubs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archiver/crypt.h"
#include "archiver/merkle.h"
#include "archiver/store.h"
#include "archiver/verify.h"
#include "common/fileio.h"
#include "tests/unit/test_util.h"

static char dir[300];
static char top[256]; /* the temporary directory holding dir */

static void make_dir(void)
{
	struct cu_err err;

	tu_tmpdir(top, sizeof(top), "store");
	snprintf(dir, sizeof(dir), "%s/a", top);
	cu_err_clear(&err);
	assert_int_equal(store_init(dir, "test.example/log", &err), 0);
}

static void remove_dir(void)
{
	assert_int_equal(tu_rm_rf(top), 0);
}

/* Appends n messages with ids "<tag>-<i>" and a body containing the id. */
static int append_n(struct store *st, const char *tag, int from, int n, uint64_t *first)
{
	struct store_input *in = calloc((size_t)n, sizeof(*in));
	char (*ids)[32] = calloc((size_t)n, 32), (*bodies)[64] = calloc((size_t)n, 64);
	struct cu_err err;
	int i, rc;

	cu_err_clear(&err);
	for (i = 0; i < n; i++) {
		snprintf(ids[i], 32, "%s-%d", tag, from + i);
		snprintf(bodies[i], 64, "secretword%s%d message body", tag, from + i);
		in[i].rec.kind = REC_MESSAGE;
		in[i].rec.origin_ts = 1700000000000 + from + i;
		rec_set(&in[i].rec, RF_PLATFORM, "matrix");
		rec_set(&in[i].rec, RF_SOURCE, "test");
		rec_set(&in[i].rec, RF_CONVERSATION, "!room:example.org");
		rec_set(&in[i].rec, RF_SENDER, "@alice:example.org");
		rec_set(&in[i].rec, RF_EVENT_ID, ids[i]);
		rec_set(&in[i].rec, RF_BODY, bodies[i]);
	}
	rc = store_append(st, in, (size_t)n, &err);
	if (rc == 0 && first)
		*first = in[0].seq;
	free(in);
	free(ids);
	free(bodies);
	return rc;
}

static void check_reader(struct store *st, uint64_t n);

static int verify_ok(void)
{
	struct verify_result res;
	struct cu_err err;

	cu_err_clear(&err);
	if (verify_archive(dir, &res, NULL, NULL, &err) != 0)
		return 0;
	if (!res.intact)
		fprintf(stderr, "verify: %s %lld %lld: %s\n", res.segment, (long long)res.frame_offset,
			(long long)res.seq, res.reason);
	return res.intact;
}

static void test_append_read_iterate(void **state)
{
	struct store *st;
	struct store_iter *it;
	struct store_entry e;
	struct rec_view v;
	struct cu_err err;
	struct buf b;
	uint64_t first, seq;
	int n = 0;

	(void)state;
	make_dir();
	cu_err_clear(&err);
	assert_int_equal(store_open(dir, NULL, 0, &st, &err), 0);
	assert_int_equal(append_n(st, "a", 0, 10, &first), 0);
	assert_int_equal(first, 0);
	assert_int_equal(append_n(st, "a", 10, 5, &first), 0);
	assert_int_equal(first, 10);
	assert_int_equal(store_size(st), 15);
	buf_init(&b, 1);
	assert_int_equal(store_get(st, 12, &b, &e, &err), 0);
	assert_int_equal(rec_decode(e.bytes, e.len, &v, &err), 0);
	assert_int_equal(v.seq, 12);
	assert_memory_equal(v.f[RF_EVENT_ID].ptr, "a-12", 4);
	assert_int_equal(store_get(st, 15, &b, &e, &err), CU_ENOTFOUND);
	buf_release(&b);
	assert_int_equal(store_find_id(st, "matrix", "test", "a-3", &seq), 0);
	assert_int_equal(seq, 3);
	assert_int_equal(store_iter_open(st, 4, &it, &err), 0);
	while (store_iter_next(it, &e, &err) == 1)
		assert_int_equal(e.seq, 4 + (uint64_t)n++);
	store_iter_close(it);
	assert_int_equal(n, 11);
	/* a frame of many zstd blocks, read by a reader block by block */
	assert_int_equal(append_n(st, "big", 0, 6000, &first), 0);
	check_reader(st, store_size(st));
	store_close(st);
	assert_true(verify_ok());
	remove_dir();
}

/* A batch refused half-way (its last record is over the cap), after zstd
 * was already given part of its frame: nothing of it is stored, its keys
 * are not kept as duplicates, and the next batch makes a valid frame. */
static void test_refused_batch_midway(void **state)
{
	struct store *st;
	struct store_input *in;
	struct cu_err err;
	char *huge;
	uint64_t first;
	size_t n = 3000, i;

	(void)state;
	make_dir();
	cu_err_clear(&err);
	assert_int_equal(store_open(dir, NULL, 0, &st, &err), 0);
	assert_int_equal(append_n(st, "a", 0, 10, NULL), 0);
	in = calloc(n, sizeof(*in));
	huge = malloc(REC_MAX_BYTES + 1);
	assert_non_null(in);
	assert_non_null(huge);
	memset(huge, 'x', REC_MAX_BYTES);
	huge[REC_MAX_BYTES] = 0;
	for (i = 0; i < n; i++) {
		char *id = malloc(32);
		snprintf(id, 32, "r-%zu", i);
		in[i].rec.kind = REC_MESSAGE;
		rec_set(&in[i].rec, RF_PLATFORM, "matrix");
		rec_set(&in[i].rec, RF_SOURCE, "test");
		rec_set(&in[i].rec, RF_CONVERSATION, "!room:example.org");
		rec_set(&in[i].rec, RF_SENDER, "@alice:example.org");
		rec_set(&in[i].rec, RF_EVENT_ID, id);
		/* 3000 records of ~400 bytes: zstd is fed before the last one */
		rec_set(&in[i].rec, RF_BODY, i + 1 == n ? huge : huge + REC_MAX_BYTES - 400);
	}
	assert_int_not_equal(store_append(st, in, n, &err), 0);
	assert_int_equal(store_size(st), 10);
	/* the same messages without the oversized one are all new, not duplicates */
	cu_err_clear(&err);
	assert_int_equal(store_append(st, in, n - 1, &err), 0);
	for (i = 0; i + 1 < n; i++)
		assert_int_equal(in[i].duplicate, 0);
	assert_int_equal(in[0].seq, 10);
	assert_int_equal(append_n(st, "b", 0, 5, &first), 0);
	assert_int_equal(first, 10 + n - 1);
	check_reader(st, store_size(st));
	store_close(st);
	assert_true(verify_ok());
	for (i = 0; i < n; i++)
		free((void *)(uintptr_t)in[i].rec.f[RF_EVENT_ID].ptr);
	free(in);
	free(huge);
	remove_dir();
}

static void test_duplicates(void **state)
{
	struct store *st;
	struct store_input in[3];
	struct cu_err err;

	(void)state;
	make_dir();
	cu_err_clear(&err);
	assert_int_equal(store_open(dir, NULL, 0, &st, &err), 0);
	assert_int_equal(append_n(st, "d", 0, 5, NULL), 0);
	/* Same ids again, and a repeat inside one batch. */
	memset(in, 0, sizeof(in));
	for (int i = 0; i < 3; i++) {
		rec_set(&in[i].rec, RF_PLATFORM, "matrix");
		rec_set(&in[i].rec, RF_SOURCE, "test");
		rec_set(&in[i].rec, RF_BODY, "x");
	}
	rec_set(&in[0].rec, RF_EVENT_ID, "d-2");
	rec_set(&in[1].rec, RF_EVENT_ID, "new");
	rec_set(&in[2].rec, RF_EVENT_ID, "new");
	assert_int_equal(store_append(st, in, 3, &err), 0);
	assert_int_equal(in[0].duplicate, 1);
	assert_int_equal(in[0].seq, 2);
	assert_int_equal(in[1].duplicate, 0);
	assert_int_equal(in[1].seq, 5);
	assert_int_equal(in[2].duplicate, 1);
	assert_int_equal(in[2].seq, 5);
	assert_int_equal(store_size(st), 6);
	store_close(st);
	/* After a reopen, and after the id map is deleted (derived data). */
	snprintf(err.msg, sizeof(err.msg), "%s/idmap", dir);
	assert_int_equal(tu_rm_rf(err.msg), 0);
	cu_err_clear(&err);
	assert_int_equal(store_open(dir, NULL, 0, &st, &err), 0);
	assert_int_equal(append_n(st, "d", 3, 4, NULL), 0); /* d-3, d-4 dup; d-5, d-6 new */
	assert_int_equal(store_size(st), 8);
	store_close(st);
	remove_dir();
}

static void test_rotation_and_proofs(void **state)
{
	struct store_config cfg = {.segment_max_bytes = 4000};
	uint8_t proof[MT_MAX_PROOF][HASH_LEN], root[HASH_LEN], root2[HASH_LEN];
	struct store_entry e;
	struct store *st;
	struct cu_err err;
	struct buf b;
	size_t count;
	int i;

	(void)state;
	make_dir();
	cu_err_clear(&err);
	assert_int_equal(store_open(dir, &cfg, 0, &st, &err), 0);
	for (i = 0; i < 40; i++)
		assert_int_equal(append_n(st, "r", i * 20, 20, NULL), 0);
	assert_int_equal(store_size(st), 800);
	assert_int_equal(store_seal(st, &err), 0);
	assert_int_equal(store_root(st, 800, root, &err), 0);
	buf_init(&b, 1);
	for (i = 0; i < 800; i += 37) {
		assert_int_equal(store_get(st, (uint64_t)i, &b, &e, &err), 0);
		assert_int_equal(store_inclusion(st, (uint64_t)i, 800, proof, &count, &err), 0);
		assert_int_equal(mt_verify_inclusion(e.leaf, (uint64_t)i, 800,
						     (const uint8_t (*)[HASH_LEN])proof, count, root), 0);
	}
	assert_int_equal(store_root(st, 300, root2, &err), 0);
	assert_int_equal(store_consistency(st, 300, 800, proof, &count, &err), 0);
	assert_int_equal(mt_verify_consistency(300, 800, root2, root,
					       (const uint8_t (*)[HASH_LEN])proof, count), 0);
	buf_release(&b);
	store_close(st);
	assert_true(verify_ok());
	/* Reopen: same root, appends continue in a new segment. */
	assert_int_equal(store_open(dir, &cfg, 0, &st, &err), 0);
	assert_int_equal(store_root(st, 800, root2, &err), 0);
	assert_memory_equal(root, root2, HASH_LEN);
	assert_int_equal(append_n(st, "r", 800, 10, NULL), 0);
	store_close(st);
	assert_true(verify_ok());
	remove_dir();
}

static char *seg_path(int no)
{
	static char p[512];

	snprintf(p, sizeof(p), "%s/segments/seg-%08d.cseg", dir, no);
	return p;
}

static void test_torn_tail_recovery(void **state)
{
	struct store *st;
	struct cu_err err;
	struct stat sb;
	uint8_t junk[100];
	int fd;

	(void)state;
	make_dir();
	cu_err_clear(&err);
	assert_int_equal(store_open(dir, NULL, 0, &st, &err), 0);
	assert_int_equal(append_n(st, "t", 0, 50, NULL), 0);
	store_close(st);
	assert_int_equal(stat(seg_path(1), &sb), 0);
	/* A crash mid-write leaves half a frame: garbage after the last frame. */
	memset(junk, 0, sizeof(junk));
	memcpy(junk, "CUFR\x01\x01", 6);
	junk[10] = 0x10; /* claims a 4 KiB payload that is not there */
	fd = open(seg_path(1), O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	assert_true(verify_ok()); /* reported as a torn tail, not corruption */
	assert_int_equal(store_open(dir, NULL, 0, &st, &err), 0);
	assert_int_equal(store_size(st), 50);
	assert_int_equal(append_n(st, "t", 50, 5, NULL), 0);
	store_close(st);
	assert_true(verify_ok());
	remove_dir();
}

/* Every write and fsync of an append fails in turn: the append reports the
 * error, nothing of it is acknowledged, the archive stays intact, and the
 * next append succeeds. */
static void test_fault_injection_append(void **state)
{
	const char *ops[] = {"write", "fsync"};
	struct store *st;
	struct cu_err err;
	char spec[64];
	int op, k, errnos[] = {5, 28}, e;

	(void)state;
	for (op = 0; op < 2; op++)
		for (e = 0; e < 2; e++)
			for (k = 1; k <= 4; k++) {
				make_dir();
				cu_err_clear(&err);
				assert_int_equal(store_open(dir, NULL, 0, &st, &err), 0);
				assert_int_equal(append_n(st, "f", 0, 20, NULL), 0);
				snprintf(spec, sizeof(spec), "%s:%d:%d", ops[op], k, errnos[e]);
				setenv("CUSTOS_FAULT", spec, 1);
				fio_fault_reset();
				int rc = append_n(st, "f", 20, 20, NULL);
				unsetenv("CUSTOS_FAULT");
				fio_fault_reset();
				if (rc != 0) {
					assert_true(rc == CU_EIO || rc == CU_ENOSPC);
					assert_int_equal(store_size(st), 20);
				}
				/* Retry succeeds (dups of acknowledged ones are skipped). */
				assert_int_equal(append_n(st, "f", 20, 20, NULL), 0);
				assert_int_equal(store_size(st), 40);
				store_close(st);
				assert_true(verify_ok());
				assert_int_equal(store_open(dir, NULL, 0, &st, &err), 0);
				assert_int_equal(store_size(st), 40);
				store_close(st);
				remove_dir();
			}
}

/* 1 if the decompressed segments contain needle. */
static int segments_contain(const char *needle)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd),
		 "python3 -c 'import sys,glob,subprocess\n"
		 "found=False\n"
		 "for f in glob.glob(\"%s/segments/*\"):\n"
		 "  d=open(f,\"rb\").read(); i=d.find(b\"CUFR\")\n"
		 "  while i>=0:\n"
		 "    n=int.from_bytes(d[i+8:i+12],\"big\")\n"
		 "    out=subprocess.run([\"zstd\",\"-dc\"],input=d[i+48:i+48+n],capture_output=True).stdout\n"
		 "    found = found or (b\"%s\" in out)\n"
		 "    i=d.find(b\"CUFR\", i+48+n)\n"
		 "sys.exit(0 if found else 1)'", dir, needle);
	return system(cmd) == 0;
}

static void erase_scenario(int encrypted);

/* store_reader_get gives what store_get gives (the salt aside), read in
 * seq order, backwards, and from frames the cache holds in part. */
static void check_reader(struct store *st, uint64_t n)
{
	struct store_entry e, f;
	struct store_reader *r;
	struct buf a, b;
	struct cu_err err;
	uint64_t seq, k;
	int pass;

	cu_err_clear(&err);
	buf_init(&a, 1);
	buf_init(&b, 1);
	for (pass = 0; pass < 3; pass++) {
		assert_int_equal(store_reader_new(st, &r, &err), 0);
		for (k = 0; k < n; k++) {
			seq = pass == 1 ? n - 1 - k : pass == 2 ? (k * 7) % n : k;
			if (store_reader_get(r, seq, &a, &e, &err) != 0)
				fail_msg("reader %llu: %s", (unsigned long long)seq, err.msg);
			assert_int_equal(store_get(st, seq, &b, &f, &err), 0);
			assert_int_equal(e.seq, seq);
			assert_int_equal(e.is_stub, f.is_stub);
			if (f.is_stub) {
				assert_int_equal(e.deletion_seq, f.deletion_seq);
				continue;
			}
			assert_int_equal(e.len, f.len);
			assert_memory_equal(e.bytes, f.bytes, 28);
			assert_memory_equal(e.bytes + 28 + REC_SALT_LEN, f.bytes + 28 + REC_SALT_LEN,
					    f.len - 28 - REC_SALT_LEN);
		}
		assert_int_equal(store_reader_get(r, n, &a, &e, &err), CU_ENOTFOUND);
		store_reader_free(r);
	}
	buf_release(&a);
	buf_release(&b);
}

static void test_erase(void **state)
{
	(void)state;
	erase_scenario(0);
}

/* The same on an archive encrypted at rest: stubs are re-encrypted, and
 * the deleted text is gone from the (decrypted) segments too. */
static void test_erase_encrypted(void **state)
{
	(void)state;
	erase_scenario(1);
}

static void erase_scenario(int encrypted)
{
	struct store_config cfg = {.segment_max_bytes = 3000};
	uint8_t root[HASH_LEN], root2[HASH_LEN];
	uint64_t del[] = {3, 4, 25, 77, 78, 79};
	struct store_reader *rd;
	struct store_entry e;
	struct store *st;
	struct cu_err err;
	struct buf b;
	size_t erased;

	make_dir();
	cu_err_clear(&err);
	buf_init(&b, 1);
	if (encrypted) {
		char kek[400];
		struct crypt_key k;
		snprintf(kek, sizeof(kek), "%s/kek", top);
		assert_int_equal(crypt_kek_generate(kek, &err), 0);
		assert_int_equal(crypt_kek_load(kek, &k, &err), 0);
		assert_int_equal(crypt_dek_create(dir, &k, &err), 0);
		setenv("CUSTOS_KEK_FILE", kek, 1);
	}
	assert_int_equal(store_open(dir, &cfg, 0, &st, &err), 0);
	for (int i = 0; i < 8; i++)
		assert_int_equal(append_n(st, "e", i * 10, 10, NULL), 0);
	assert_int_equal(append_n(st, "cert", 0, 1, NULL), 0); /* stands in for the certificate, seq 80 */
	assert_int_equal(store_root(st, 81, root, &err), 0);
	assert_true(encrypted || segments_contain("secretworde25"));
	check_reader(st, 81);
	/* a reader holding a frame does not serve it once it was rewritten */
	assert_int_equal(store_reader_new(st, &rd, &err), 0);
	assert_int_equal(store_reader_get(rd, 24, &b, &e, &err), 0);
	if (store_erase(st, del, 6, 80, &erased, &err) != 0)
		fail_msg("erase: %s", err.msg);
	assert_int_equal(store_reader_get(rd, 25, &b, &e, &err), 0);
	assert_true(e.is_stub);
	store_reader_free(rd);
	check_reader(st, 81);
	assert_int_equal(erased, 6);
	/* Again: already stubs, nothing more to do. */
	assert_int_equal(store_erase(st, del, 6, 80, &erased, &err), 0);
	assert_int_equal(erased, 0);
	assert_int_equal(store_erase(st, (uint64_t[]){80}, 1, 80, &erased, &err), CU_EINVAL);
	assert_int_equal(store_get(st, 25, &b, &e, &err), 0);
	assert_true(e.is_stub);
	assert_int_equal(e.deletion_seq, 80);
	assert_int_equal(store_get(st, 26, &b, &e, &err), 0);
	assert_false(e.is_stub);
	buf_release(&b);
	assert_int_equal(store_root(st, 81, root2, &err), 0);
	assert_memory_equal(root, root2, HASH_LEN);
	if (!encrypted) {
		assert_false(segments_contain("secretworde25"));
		assert_false(segments_contain("secretworde78"));
		assert_true(segments_contain("secretworde26"));
	}
	/* Appends continue after rewriting the active segment. */
	assert_int_equal(append_n(st, "e", 80, 10, NULL), 0);
	store_close(st);
	assert_true(verify_ok());
	if (encrypted) { /* the log decrypted still has no trace */
		struct store_iter *it;
		int seen = 0;
		assert_int_equal(store_open(dir, &cfg, STORE_RDONLY, &st, &err), 0);
		assert_int_equal(store_iter_open(st, 0, &it, &err), 0);
		while (store_iter_next(it, &e, &err) == 1) {
			assert_true(e.is_stub == (e.seq == 25 || e.seq == 3 || e.seq == 4 ||
						  (e.seq >= 77 && e.seq <= 79)));
			seen++;
		}
		assert_int_equal(seen, 91);
		store_iter_close(it);
		store_close(st);
		unsetenv("CUSTOS_KEK_FILE");
	}
	remove_dir();
}

/* A failed write or fsync during the rewrite leaves the old segment; the
 * archive verifies, and running the erase again finishes the job. */
static void test_erase_faults(void **state)
{
	uint64_t del[] = {5, 15};
	struct store *st;
	struct cu_err err;
	char spec[64];
	size_t erased;
	int k, op;

	(void)state;
	for (op = 0; op < 2; op++)
		for (k = 1; k <= 5; k++) {
			make_dir();
			cu_err_clear(&err);
			assert_int_equal(store_open(dir, NULL, 0, &st, &err), 0);
			assert_int_equal(append_n(st, "x", 0, 10, NULL), 0);
			assert_int_equal(append_n(st, "x", 10, 10, NULL), 0);
			snprintf(spec, sizeof(spec), "%s:%d:5", op ? "fsync" : "write", k);
			setenv("CUSTOS_FAULT", spec, 1);
			fio_fault_reset();
			(void)!store_erase(st, del, 2, 19, &erased, &err);
			unsetenv("CUSTOS_FAULT");
			fio_fault_reset();
			store_close(st);
			assert_true(verify_ok());
			cu_err_clear(&err);
			assert_int_equal(store_open(dir, NULL, 0, &st, &err), 0);
			assert_int_equal(store_erase(st, del, 2, 19, &erased, &err), 0);
			store_close(st);
			assert_true(verify_ok());
			assert_false(segments_contain("secretwordx15"));
			remove_dir();
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_read_iterate),
		cmocka_unit_test(test_refused_batch_midway),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_rotation_and_proofs),
		cmocka_unit_test(test_torn_tail_recovery),
		cmocka_unit_test(test_fault_injection_append),
		cmocka_unit_test(test_erase),
		cmocka_unit_test(test_erase_encrypted),
		cmocka_unit_test(test_erase_faults),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
