/* test_export.c - exports over a real archive: the bulk prover gives the
 * same paths as store_inclusion for every tree shape around the 256-leaf
 * blocks; selection (conversation, time range, later edits and reactions
 * of selected messages, the archive's own records left out, deleted
 * records counted); every format and container round-trips through
 * exp_verify, and fails with another key; the custody and "produced"
 * records; RSMF's 10,000-event files; the read caps against bombs; the
 * text helpers (UTF-8 cleaning, file names, MIME headers, metadata). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archiver/keys.h"
#include "archiver/record.h"
#include "archiver/store.h"
#include "common/encode.h"
#include "common/fileio.h"
#include "common/timeutil.h"
#include "api/h_exports.h"
#include "export/atrest.h"
#include "export/export.h"
#include "export/export_int.h"
#include "export/job.h"
#include "export/mime.h"
#include "export/pkgfiles.h"
#include "tests/unit/test_util.h"

#define T0 1714564800000LL /* 2024-05-01T12:00:00Z */
#define DAY 86400000LL

struct fx {
	struct tu_archive a; /* a.top: the temporary directory, a.dir: the archive in it */
	unsigned ids;        /* event ids handed out */
};

static struct fx *F;

/* Appends one record; returns its seq. */
static uint64_t add(const char *plat, const char *conv, const char *sender, int64_t ts, const char *id,
		    const char *body, unsigned kind, const char *target, const char *reply_to)
{
	struct tu_rec r = {.platform = plat, .conversation = conv, .sender = sender, .event_id = id, .body = body,
			   .target = target, .reply_to = reply_to, .ts = ts, .kind = kind};

	return tu_append(F->a.st, &r, NULL);
}

static uint64_t msg(const char *conv, const char *sender, int64_t ts, const char *body)
{
	char id[32];

	snprintf(id, sizeof(id), "$ev%u", F->ids++);
	return add("matrix", conv, sender, ts, id, body, REC_MESSAGE, NULL, NULL);
}

/* Many filler messages in one group commit (fast). */
static void fill(unsigned n, const char *conv, int64_t ts)
{
	struct store_input *in = calloc(n, sizeof(*in));
	char (*ids)[32] = calloc(n, 32);
	struct cu_err err;
	unsigned i;

	assert_non_null(in);
	assert_non_null(ids);
	for (i = 0; i < n; i++) {
		snprintf(ids[i], 32, "$fill%u", F->ids++);
		in[i].rec.kind = REC_MESSAGE;
		in[i].rec.origin_ts = ts + i;
		rec_set(&in[i].rec, RF_PLATFORM, "xmpp");
		rec_set(&in[i].rec, RF_SOURCE, "test");
		rec_set(&in[i].rec, RF_CONVERSATION, conv);
		rec_set(&in[i].rec, RF_SENDER, i % 2 ? "a@x.org" : "b@x.org");
		rec_set(&in[i].rec, RF_EVENT_ID, ids[i]);
		rec_set(&in[i].rec, RF_BODY, "Füllnachricht");
	}
	cu_err_clear(&err);
	if (store_append(F->a.st, in, n, &err) != 0)
		fail_msg("append: %s", err.msg);
	free(in);
	free(ids);
}

static int setup(void **state)
{
	(void)state;
	F = calloc(1, sizeof(*F));
	assert_non_null(F);
	tu_archive_new(&F->a, "export", "export.test/log", 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	assert_int_equal(tu_archive_free(&F->a), 0);
	free(F);
	exp_read_caps.members = EXP_READ_MAX_MEMBERS;
	exp_read_caps.member_bytes = EXP_READ_MAX_MEMBER;
	exp_read_caps.total_bytes = EXP_READ_MAX_TOTAL;
	return 0;
}

static void path_in_tmp(const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", F->a.top, name);
}

static void req_init(struct exp_request *r, enum exp_format f, const char *out)
{
	memset(r, 0, sizeof(*r));
	r->st = F->a.st;
	r->from_ms = INT64_MIN;
	r->to_ms = INT64_MAX;
	r->format = f;
	r->by = "officer anna";
	r->out_path = out;
}

static void run_ok(const struct exp_request *r, struct exp_result *res)
{
	struct cu_err err;

	cu_err_clear(&err);
	if (exp_run(r, res, &err) != 0)
		fail_msg("exp_run: %s", err.msg);
}

static void verify_ok(const char *path, struct exp_verify_result *vr)
{
	struct cu_err err;

	cu_err_clear(&err);
	if (exp_verify(path, store_key(F->a.st), vr, NULL, NULL, &err) != 0)
		fail_msg("exp_verify %s: %s", path, err.msg);
}

/* ---- the prover ---- */

static void check_prover(uint64_t n)
{
	uint8_t a[MT_MAX_PROOF][HASH_LEN], b[MT_MAX_PROOF][HASH_LEN];
	struct exp_prover *bulk = NULL, *one = NULL;
	uint64_t *seqs = malloc(n * sizeof(*seqs));
	struct cu_err err;
	size_t cnt = 0, i, ca, cb;

	assert_non_null(seqs);
	/* Every 3rd leaf, the ends, and both sides of each block edge. */
	for (i = 0; i < n; i++)
		if (i % 3 == 0 || i == n - 1 || i % 256 == 255 || i % 256 == 0)
			seqs[cnt++] = i;
	cu_err_clear(&err);
	if (exp_prover_new(F->a.st, n, seqs, cnt, 1, NULL, NULL, NULL, &bulk, &err) != 0 ||
	    exp_prover_new(F->a.st, n, seqs, cnt, 0, NULL, NULL, NULL, &one, &err) != 0)
		fail_msg("prover n=%llu: %s", (unsigned long long)n, err.msg);
	for (i = 0; i < cnt; i++) {
		assert_int_equal(exp_prover_path(bulk, i, a, &ca, &err), 0);
		assert_int_equal(exp_prover_path(one, i, b, &cb, &err), 0);
		if (ca != cb || memcmp(a, b, ca * HASH_LEN))
			fail_msg("n=%llu seq %llu: bulk and store paths differ", (unsigned long long)n,
				 (unsigned long long)seqs[i]);
	}
	exp_prover_free(bulk);
	exp_prover_free(one);
	free(seqs);
}

static void test_prover_matches_store(void **state)
{
	static const uint64_t sizes[] = {1, 2, 3, 255, 256, 257, 511, 512, 513, 768, 1000, 1024, 1300};
	uint64_t have = 0;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		if (sizes[i] > have) {
			fill((unsigned)(sizes[i] - have), "room@muc.x.org", T0 + (int64_t)have);
			have = sizes[i];
		}
		assert_int_equal(store_size(F->a.st), have);
		check_prover(sizes[i]);
	}
}

static void test_prover_rejects_bad_seqs(void **state)
{
	uint64_t seqs[2] = {3, 3};
	struct exp_prover *p = NULL;
	struct cu_err err;

	(void)state;
	fill(10, "room@muc.x.org", T0);
	cu_err_clear(&err);
	assert_int_equal(exp_prover_new(F->a.st, 10, seqs, 2, 1, NULL, NULL, NULL, &p, &err), CU_EINVAL);
	seqs[1] = 10;
	assert_int_equal(exp_prover_new(F->a.st, 10, seqs, 2, 1, NULL, NULL, NULL, &p, &err), CU_EINVAL);
	assert_null(p);
}

/* ---- selection ---- */

/* A query hook that "matches" the seqs in arg (terminated by UINT64_MAX). */
static int fake_query(void *arg, const char *q, int (*addfn)(void *ctx, uint64_t seq), void *ctx,
		      struct cu_err *err)
{
	const uint64_t *s = arg;

	(void)q;
	(void)err;
	for (; *s != UINT64_MAX; s++)
		if (addfn(ctx, *s) != 0)
			return CU_ENOMEM;
	return 0;
}

static void test_selection(void **state)
{
	struct exp_request r;
	struct exp_set s;
	struct cu_err err;
	uint64_t m1, m2, other, own, edit_late, react, unrelated_edit, stub_seq, del_seq;
	uint64_t qseqs[4];
	size_t erased = 0;

	(void)state;
	m1 = msg("!a:x", "@anna:x", T0, "erste");
	m2 = msg("!a:x", "@ben:x", T0 + 1000, "zweite");
	other = msg("!b:x", "@anna:x", T0 + 2000, "anderer Raum");
	own = add("custos", "!a:x", "officer", T0 + 3000, "aud1", "audit", REC_AUDIT, NULL, NULL);
	edit_late = add("matrix", "!a:x", "@ben:x", T0 + 5 * DAY, "$e9", "zweite (korrigiert)", REC_EDIT,
			"$ev1", NULL);
	react = add("matrix", "!a:x", "@anna:x", T0 + 6 * DAY, "$r9", "+1", REC_REACTION, "$ev0", NULL);
	unrelated_edit = add("matrix", "!b:x", "@anna:x", T0 + 6 * DAY, "$e10", "x", REC_EDIT, "$ev1", NULL);
	(void)own;
	(void)other;
	(void)unrelated_edit;

	/* Conversation !a:x on the first day: both messages, and the later
	 * edit and reaction that refer to them; not the edit in !b:x that
	 * names the same id, not the archive's own record. */
	req_init(&r, EXP_BAGIT, "unused");
	r.conversation = "!a:x";
	r.from_ms = T0;
	r.to_ms = T0 + DAY;
	exp_set_init(&s);
	cu_err_clear(&err);
	assert_int_equal(exp_select(&r, &s, &err), 0);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.recs[0].seq, m1);
	assert_int_equal(s.recs[1].seq, m2);
	assert_int_equal(s.recs[2].seq, edit_late);
	assert_int_equal(s.recs[3].seq, react);
	exp_set_release(&s);

	/* Time range alone, excluding the first message. */
	req_init(&r, EXP_BAGIT, "unused");
	r.from_ms = T0 + 500;
	r.to_ms = T0 + 1500;
	exp_set_init(&s);
	assert_int_equal(exp_select(&r, &s, &err), 0);
	assert_int_equal(s.n, 2); /* m2 and its edit */
	assert_int_equal(s.recs[0].seq, m2);
	assert_int_equal(s.recs[1].seq, edit_late);
	exp_set_release(&s);

	/* A query; a deleted record it matches is counted, not exported. */
	stub_seq = msg("!a:x", "@ben:x", T0 + 7 * DAY, "wird gelöscht");
	del_seq = add("custos", "retention", "officer", T0 + 7 * DAY, "del1", "deletion", REC_DELETION,
		      NULL, NULL);
	assert_int_equal(store_erase(F->a.st, &stub_seq, 1, del_seq, &erased, &err), 0);
	assert_int_equal(erased, 1);
	qseqs[0] = stub_seq;
	qseqs[1] = m1;
	qseqs[2] = m1; /* duplicates from the index are harmless */
	qseqs[3] = UINT64_MAX;
	req_init(&r, EXP_BAGIT, "unused");
	r.query = "whatever";
	r.query_fn = fake_query;
	r.query_arg = qseqs;
	exp_set_init(&s);
	assert_int_equal(exp_select(&r, &s, &err), 0);
	assert_int_equal(s.n, 2); /* m1 and the reaction to it */
	assert_int_equal(s.recs[0].seq, m1);
	assert_int_equal(s.recs[1].seq, react);
	assert_int_equal(s.meta.skipped_deleted, 1);
	exp_set_release(&s);

	/* A query without the index is refused. */
	r.query_fn = NULL;
	exp_set_init(&s);
	assert_int_equal(exp_select(&r, &s, &err), CU_EINVAL);
	exp_set_release(&s);
}

/* ---- round trips ---- */

static void sample_conversation(void)
{
	add("matrix", "!room:x", "@anna:x", T0, "$1", "Der Antrag <b>&</b> ist da.", REC_MESSAGE, NULL, NULL);
	add("matrix", "!room:x", "@ben:x", T0 + 60000, "$2", "Danke,\nich prüfe.", REC_MESSAGE, NULL, "$1");
	add("matrix", "!room:x", "@ben:x", T0 + 120000, "$3", "Danke, geprüft.", REC_EDIT, "$2", NULL);
	add("matrix", "!room:x", "@anna:x", T0 + 180000, "$4", "\xF0\x9F\x91\x8D", REC_REACTION, "$2", NULL);
	add("matrix", "!room:x", "@anna:x", T0 + DAY, "$5", "nächster Tag \xFF kaputt", REC_MESSAGE, NULL, NULL);
	add("matrix", "!room:x", "@anna:x", T0 + DAY + 1000, "$6", "", REC_REDACTION, "$5", NULL);
	add("threema", "ECHOECHO", "ABCDEFGH", T0 + 5000, "t1", "Hallo \xc3\xbe DAT", REC_MESSAGE, NULL, NULL);
}

static void test_round_trip_every_format(void **state)
{
	static const enum exp_format fmts[] = {EXP_RSMF, EXP_DAT, EXP_EDRM, EXP_BAGIT};
	static const enum exp_container conts[] = {EXP_ZIP, EXP_TAR};
	struct exp_verify_result vr;
	struct exp_request r;
	struct exp_result res;
	struct cu_err err;
	EVP_PKEY *other = NULL;
	char out[400], keypath[400];
	size_t i, j;

	(void)state;
	sample_conversation();
	path_in_tmp("other.key", keypath, sizeof(keypath));
	cu_err_clear(&err);
	assert_int_equal(key_generate(keypath, &err), 0);
	assert_int_equal(key_load_private(keypath, &other, &err), 0);
	for (i = 0; i < 4; i++) {
		for (j = 0; j < 2; j++) {
			uint64_t before = store_size(F->a.st);

			snprintf(out, sizeof(out), "%s/p-%s.%s", F->a.top, exp_format_name(fmts[i]),
				 exp_container_name(conts[j]));
			req_init(&r, fmts[i], out);
			r.container = conts[j];
			r.from_ms = T0;
			run_ok(&r, &res);
			assert_int_equal(res.records, 7);
			assert_int_equal(res.request_seq, before);
			assert_int_equal(res.tree_size, before + 1);
			assert_int_equal(res.produced_seq, before + 1);
			assert_int_equal(store_size(F->a.st), before + 2);
			verify_ok(out, &vr);
			assert_int_equal(vr.records, 7);
			assert_int_equal(vr.format, fmts[i]);
			assert_int_equal(vr.container, conts[j]);
			assert_int_equal(vr.request_seq, res.request_seq);
			assert_string_equal(vr.export_id, res.export_id);
			assert_string_equal(vr.by, "officer anna");
			assert_string_equal(vr.origin, "export.test/log");
			assert_int_equal(vr.files, res.files);
			/* Another archive's key: refused. */
			cu_err_clear(&err);
			assert_int_equal(exp_verify(out, other, &vr, NULL, NULL, &err), CU_ECRYPTO);
			assert_non_null(strstr(err.msg, "--pubkey"));
			/* No key: the package's own, and it says so. */
			assert_int_equal(exp_verify(out, NULL, &vr, NULL, NULL, &err), 0);
			assert_true(vr.key_from_package);
		}
	}
	EVP_PKEY_free(other);
}

/* The "produced" record names the package's digest and size. */
static void test_produced_record(void **state)
{
	struct exp_request r;
	struct exp_result res;
	struct store_entry e;
	struct rec_view v;
	struct buf rb, file;
	struct cu_err err;
	uint8_t h[HASH_LEN];
	char out[400], hex[65];
	json_t *meta;

	(void)state;
	sample_conversation();
	path_in_tmp("p.zip", out, sizeof(out));
	req_init(&r, EXP_DAT, out);
	r.conversation = "!room:x";
	run_ok(&r, &res);
	buf_init(&file, 1u << 30);
	cu_err_clear(&err);
	assert_int_equal(fio_read_file(out, &file, &err), 0);
	assert_int_equal(hash_sha256(file.data, file.len, h), 0);
	hex_encode(h, HASH_LEN, hex);
	assert_string_equal(hex, res.package_sha256);
	assert_int_equal(file.len, res.package_bytes);
	buf_init(&rb, 1);
	assert_int_equal(store_get(F->a.st, res.produced_seq, &rb, &e, &err), 0);
	assert_int_equal(rec_decode(e.bytes, e.len, &v, &err), 0);
	assert_int_equal(v.kind, REC_EXPORT);
	meta = json_loadb(v.f[RF_META].ptr, v.f[RF_META].len, 0, NULL);
	assert_non_null(meta);
	assert_string_equal(json_string_value(json_object_get(meta, "phase")), "produced");
	assert_string_equal(json_string_value(json_object_get(meta, "package_sha256")), hex);
	assert_string_equal(json_string_value(json_object_get(meta, "by")), "officer anna");
	assert_string_equal(json_string_value(json_object_get(meta, "format")), "dat");
	assert_int_equal(json_integer_value(json_object_get(meta, "count")), 6);
	assert_int_equal(json_integer_value(json_object_get(meta, "request_seq")), res.request_seq);
	json_decref(meta);
	buf_release(&rb);
	buf_release(&file);
}

static void test_refusals(void **state)
{
	struct exp_request r;
	struct exp_result res;
	struct cu_err err;
	struct stat sb;
	char out[400];
	uint64_t before;
	FILE *f;

	(void)state;
	sample_conversation();
	before = store_size(F->a.st);
	path_in_tmp("none.zip", out, sizeof(out));
	/* Nothing matches: no custody record, no file. */
	req_init(&r, EXP_BAGIT, out);
	r.conversation = "!nobody:x";
	cu_err_clear(&err);
	assert_int_equal(exp_run(&r, &res, &err), CU_ENOTFOUND);
	assert_int_equal(store_size(F->a.st), before);
	assert_int_not_equal(stat(out, &sb), 0);
	/* No selection at all, no requester, an empty range. */
	req_init(&r, EXP_BAGIT, out);
	assert_int_equal(exp_run(&r, &res, &err), CU_EINVAL);
	r.conversation = "!room:x";
	r.by = "";
	assert_int_equal(exp_run(&r, &res, &err), CU_EINVAL);
	r.by = "x";
	r.from_ms = T0;
	r.to_ms = T0;
	assert_int_equal(exp_run(&r, &res, &err), CU_EINVAL);
	/* An existing file is never replaced, and the log is not touched. */
	f = fopen(out, "w");
	assert_non_null(f);
	fputs("keep me\n", f);
	fclose(f);
	req_init(&r, EXP_BAGIT, out);
	r.conversation = "!room:x";
	cu_err_clear(&err);
	assert_int_equal(exp_run(&r, &res, &err), CU_EEXIST);
	assert_int_equal(store_size(F->a.st), before);
	assert_int_equal(stat(out, &sb), 0);
	assert_int_equal(sb.st_size, 8);
}

/* Lists the member names of a package. */
static int list_members(const char *path, char names[][200], int max)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ae;
	int n = 0;

	archive_read_support_format_zip(a);
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_filename(a, path, 65536), ARCHIVE_OK);
	while (archive_read_next_header(a, &ae) == ARCHIVE_OK && n < max) {
		const char *s = strchr(archive_entry_pathname(ae), '/');

		snprintf(names[n++], 200, "%s", s ? s + 1 : archive_entry_pathname(ae));
		archive_read_data_skip(a);
	}
	archive_read_free(a);
	return n;
}

static int has_member(char names[][200], int n, const char *want)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(names[i], want))
			return 1;
	return 0;
}

static void test_rsmf_event_cap(void **state)
{
	static char names[64][200];
	struct exp_verify_result vr;
	struct exp_request r;
	struct exp_result res;
	char out[400], slug[80];
	int n;

	(void)state;
	/* 10,050 messages of one conversation on one day: two files. */
	fill(EXP_RSMF_MAX_EVENTS + 50, "gross@muc.x.org", T0);
	msg("!small:x", "@a:x", T0, "one");
	path_in_tmp("r.zip", out, sizeof(out));
	req_init(&r, EXP_RSMF, out);
	r.from_ms = T0;
	run_ok(&r, &res);
	assert_int_equal(res.records, EXP_RSMF_MAX_EVENTS + 51);
	n = list_members(out, names, 64);
	assert_int_equal(exp_slug("xmpp", "gross@muc.x.org", slug), 0);
	{
		char p1[200], p2[200], p3[200];

		snprintf(p1, sizeof(p1), "rsmf/%s/2024-05-01_01.rsmf", slug);
		snprintf(p2, sizeof(p2), "rsmf/%s/2024-05-01_02.rsmf", slug);
		snprintf(p3, sizeof(p3), "rsmf/%s/2024-05-01_03.rsmf", slug);
		assert_true(has_member(names, n, p1));
		assert_true(has_member(names, n, p2));
		assert_false(has_member(names, n, p3));
	}
	assert_int_equal(exp_slug("matrix", "!small:x", slug), 0);
	{
		char p[200];

		snprintf(p, sizeof(p), "rsmf/%s/2024-05-01.rsmf", slug);
		assert_true(has_member(names, n, p));
	}
	verify_ok(out, &vr);
	assert_int_equal(vr.records, EXP_RSMF_MAX_EVENTS + 51);
}

/* ---- reading caps ---- */

static void test_read_caps(void **state)
{
	struct exp_request r;
	struct exp_result res;
	struct cu_err err;
	char out[400], bomb[400];
	struct archive *a;
	struct archive_entry *ae;
	char *zeros;
	size_t k;

	(void)state;
	sample_conversation();
	path_in_tmp("c.zip", out, sizeof(out));
	req_init(&r, EXP_DAT, out);
	r.conversation = "!room:x";
	run_ok(&r, &res);
	exp_read_caps.members = 5;
	cu_err_clear(&err);
	assert_int_equal(exp_verify(out, NULL, NULL, NULL, NULL, &err), CU_ETOOBIG);
	assert_non_null(strstr(err.msg, "more than 5 files"));
	exp_read_caps.members = EXP_READ_MAX_MEMBERS;
	exp_read_caps.member_bytes = 100;
	cu_err_clear(&err);
	assert_int_equal(exp_verify(out, NULL, NULL, NULL, NULL, &err), CU_ETOOBIG);
	exp_read_caps.member_bytes = EXP_READ_MAX_MEMBER;

	/* A zip bomb: 64 MiB of zeros in a few KiB, no size in the header
	 * (streamed), stops at the cap. */
	path_in_tmp("bomb.zip", bomb, sizeof(bomb));
	a = archive_write_new();
	archive_write_set_format_zip(a);
	assert_int_equal(archive_write_open_filename(a, bomb), ARCHIVE_OK);
	ae = archive_entry_new();
	archive_entry_set_pathname(ae, "custos-export-x/data.bin");
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_perm(ae, 0644);
	archive_entry_unset_size(ae);
	assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
	zeros = calloc(1, 1 << 20);
	for (k = 0; k < 64; k++)
		assert_int_equal(archive_write_data(a, zeros, 1 << 20), 1 << 20);
	free(zeros);
	archive_entry_free(ae);
	archive_write_close(a);
	archive_write_free(a);
	exp_read_caps.member_bytes = 4u << 20;
	cu_err_clear(&err);
	assert_int_equal(exp_verify(bomb, NULL, NULL, NULL, NULL, &err), CU_ETOOBIG);
	exp_read_caps.member_bytes = EXP_READ_MAX_MEMBER;
}

/* Garbage, truncations and single flipped bytes give a clean verdict. */
static void test_damaged_packages(void **state)
{
	struct exp_request r;
	struct exp_result res;
	struct cu_err err;
	struct buf file;
	char out[400];
	size_t i, step, passes = 0;

	(void)state;
	sample_conversation();
	path_in_tmp("d.zip", out, sizeof(out));
	req_init(&r, EXP_BAGIT, out);
	r.conversation = "!room:x";
	run_ok(&r, &res);
	buf_init(&file, 1u << 30);
	cu_err_clear(&err);
	assert_int_equal(fio_read_file(out, &file, &err), 0);
	assert_int_equal(exp_verify_buffer(file.data, file.len, store_key(F->a.st), NULL, &err), 0);
	assert_int_not_equal(exp_verify_buffer(file.data, file.len / 2, NULL, NULL, &err), 0);
	assert_int_not_equal(exp_verify_buffer("PK\3\4garbage", 11, NULL, NULL, &err), 0);
	assert_int_not_equal(exp_verify_buffer("", 0, NULL, NULL, &err), 0);
	step = file.len / 300 + 1;
	for (i = 0; i < file.len; i += step) {
		file.data[i] ^= 0x01;
		cu_err_clear(&err);
		if (exp_verify_buffer(file.data, file.len, store_key(F->a.st), NULL, &err) == 0)
			passes++; /* zip metadata (times, attributes) carries no evidence */
		else
			assert_true(err.msg[0] != '\0');
		file.data[i] ^= 0x01;
	}
	/* Most bytes of a package are its members' compressed content. */
	assert_true(passes < file.len / step / 3);
	buf_release(&file);
}

/* ---- jobs (the daemon's POST /v1/exports) ---- */

static json_t *wait_job(struct exp_jobs *jobs, uint64_t id)
{
	json_t *st = NULL;
	int i;

	for (i = 0; i < 2000; i++) {
		json_decref(st);
		st = exp_jobs_status(jobs, id);
		assert_non_null(st);
		if (strcmp(json_string_value(json_object_get(st, "state")), "running"))
			return st;
		usleep(5000);
	}
	fail_msg("job %llu did not finish", (unsigned long long)id);
	return NULL;
}

/* A job as the daemon starts one: the API parses the body into the
 * request (api/h_exports.c), the job checks and runs it. */
static int start_body(struct exp_jobs *jobs, const char *body, const char *by, uint64_t *id, struct cu_err *err)
{
	struct exp_job_request req;
	int rc = api_exports_parse_body(body, strlen(body), &req, err);

	if (!rc) {
		rc = exp_jobs_start(jobs, &req, by, 0, id, err);
		api_exports_body_release(&req);
	}
	return rc;
}

static void start_ok(struct exp_jobs *jobs, const char *body, uint64_t *id)
{
	struct cu_err err;

	cu_err_clear(&err);
	if (start_body(jobs, body, "officer anna", id, &err) != 0)
		fail_msg("start %s: %s", body, err.msg);
}

static void test_jobs(void **state)
{
	static const char *const bad[] = {
		"nope", "[]", "{\"format\":\"pdf\",\"conversation\":\"c\"}", "{\"format\":\"dat\"}",
		"{\"format\":\"dat\",\"conversation\":\"c\",\"x\":1}",
		"{\"format\":\"dat\",\"from\":\"yesterday\"}",
		"{\"format\":\"dat\",\"from\":\"2024-05-02\",\"to\":\"2024-05-01\"}",
		"{\"format\":\"dat\",\"conversation\":\"\"}",
		"{\"format\":\"dat\",\"container\":\"rar\",\"conversation\":\"c\"}",
	};
	struct exp_job_env env;
	struct exp_verify_result vr;
	struct exp_jobs *jobs = NULL;
	struct cu_err err;
	struct stat sb;
	json_t *st;
	uint64_t id = 0, id2, size = 0;
	char *path = NULL, sha[65];
	size_t i;

	(void)state;
	sample_conversation();
	memset(&env, 0, sizeof(env));
	env.st = F->a.st;
	env.datadir = F->a.dir;
	env.max_kept = 2;
	cu_err_clear(&err);
	assert_int_equal(exp_jobs_new(&env, &jobs, &err), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cu_err_clear(&err);
		if (start_body(jobs, bad[i], "x", &id, &err) != CU_EINVAL || !err.msg[0])
			fail_msg("body %s was not refused", bad[i]);
	}
	start_ok(jobs, "{\"format\":\"bagit\",\"conversation\":\"!room:x\",\"to\":\"2024-05-01\"}", &id);
	assert_int_equal(id, 1);
	st = wait_job(jobs, id);
	assert_string_equal(json_string_value(json_object_get(st, "state")), "done");
	assert_string_equal(json_string_value(json_object_get(st, "requested_by")), "officer anna");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "result"), "records")), 4);
	assert_string_equal(json_string_value(json_object_get(json_object_get(st, "request"), "to")),
			    "2024-05-01");
	json_decref(st);
	assert_int_equal(exp_jobs_file(jobs, id, &path, &size, sha, &err), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal((uint64_t)sb.st_size, size);
	assert_non_null(strstr(path, "/exports/"));
	verify_ok(path, &vr);
	assert_string_equal(vr.by, "officer anna");
	free(path);
	/* A query without an index: the job fails and says why. */
	start_ok(jobs, "{\"format\":\"dat\",\"query\":\"Antrag\"}", &id2);
	st = wait_job(jobs, id2);
	assert_string_equal(json_string_value(json_object_get(st, "state")), "failed");
	assert_true(strlen(json_string_value(json_object_get(json_object_get(st, "error"), "message"))) > 0);
	json_decref(st);
	assert_int_equal(exp_jobs_file(jobs, id2, &path, &size, sha, &err), CU_ESTATE);
	assert_null(exp_jobs_status(jobs, 99));
	assert_int_equal(exp_jobs_file(jobs, 99, &path, &size, sha, &err), CU_ENOTFOUND);
	/* Only the newest max_kept finished jobs are remembered. */
	start_ok(jobs, "{\"format\":\"edrm\",\"conversation\":\"ECHOECHO\",\"container\":\"tar\"}", &id2);
	json_decref(wait_job(jobs, id2));
	st = exp_jobs_status(jobs, 1);
	assert_non_null(st); /* three finished, forgotten when the next starts */
	json_decref(st);
	start_ok(jobs, "{\"format\":\"dat\",\"conversation\":\"ECHOECHO\"}", &id2);
	json_decref(wait_job(jobs, id2));
	assert_null(exp_jobs_status(jobs, 1));
	st = exp_jobs_status(jobs, id2);
	assert_string_equal(json_string_value(json_object_get(st, "state")), "done");
	json_decref(st);
	exp_jobs_free(jobs);
}

/* ---- helpers ---- */

static void test_utf8_clean(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(exp_utf8_clean(&b, "a\xC3\xA4\xF0\x9F\x91\x8D", 7), 0);
	assert_int_equal(b.len, 7);
	buf_reset(&b);
	/* overlong '/', a surrogate, a stray continuation byte, NUL, truncated */
	assert_int_equal(exp_utf8_clean(&b, "\xC0\xAF|\xED\xA0\x80|\x80|\0|\xE2\x82", 13), 0);
	assert_string_equal((char *)b.data,
			    "\xEF\xBF\xBD\xEF\xBF\xBD|\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD|\xEF\xBF\xBD|"
			    "\xEF\xBF\xBD|\xEF\xBF\xBD\xEF\xBF\xBD");
	buf_release(&b);
}

static void test_slug(void **state)
{
	char s[80], t[80];

	(void)state;
	assert_int_equal(exp_slug("matrix", "!room:example.org", s), 0);
	assert_int_equal(strncmp(s, "room_example.org-", 17), 0);
	assert_int_equal(strlen(s), 17 + 8);
	assert_int_equal(exp_slug("matrix", "../../etc/passwd", s), 0);
	assert_null(strchr(s, '/'));
	assert_true(s[0] != '.');
	assert_int_equal(exp_slug("matrix", "", s), 0);
	assert_int_equal(s[0], 'c');
	/* Same name on two platforms: two files. */
	assert_int_equal(exp_slug("xmpp", "!room:example.org", t), 0);
	assert_int_equal(exp_slug("matrix", "!room:example.org", s), 0);
	assert_string_not_equal(s, t);
	assert_int_equal(exp_slug("matrix", "\xC3\xA4mter-\xC3\xBC" "bersicht und noch viel mehr Text, "
				  "der weit über achtundvierzig Zeichen hinausgeht", s), 0);
	assert_true(strlen(s) <= 48 + 9);
}

/* A sink that collects one file in memory. */
struct memsink {
	struct exp_sink sink;
	struct buf b;
};

static int ms_begin(struct exp_sink *s, const char *path, struct cu_err *err)
{
	(void)path;
	(void)err;
	buf_reset(&((struct memsink *)s)->b);
	return 0;
}

static int ms_write(struct exp_sink *s, const void *p, size_t n, struct cu_err *err)
{
	(void)err;
	return buf_append(&((struct memsink *)s)->b, p, n);
}

static int ms_end(struct exp_sink *s, struct cu_err *err)
{
	(void)s;
	(void)err;
	return buf_append(&((struct memsink *)s)->b, "", 1);
}

static void test_mime_header(void **state)
{
	struct memsink ms;
	struct exp_file f;
	struct cu_err err;
	const char *p, *line;
	char long_ascii[1024], *decoded;
	size_t i, dl;

	(void)state;
	memset(&ms, 0, sizeof(ms));
	ms.sink.begin = ms_begin;
	ms.sink.write = ms_write;
	ms.sink.end = ms_end;
	buf_init(&ms.b, 1 << 20);
	cu_err_clear(&err);
	/* Long ASCII: folded at spaces, every line within 78 columns. */
	for (i = 0, long_ascii[0] = '\0'; i < 40; i++)
		strcat(long_ascii, "@user:example.org, ");
	assert_int_equal(exp_file_open(&f, &ms.sink, "x", &err), 0);
	mime_header(&f, "X-RSMF-Participants", long_ascii);
	assert_int_equal(exp_file_close(&f), 0);
	for (line = (char *)ms.b.data; *line; line = p + 2) {
		p = strstr(line, "\r\n");
		assert_non_null(p);
		assert_true(p - line <= 78);
		if (line != (char *)ms.b.data)
			assert_int_equal(line[0], ' ');
	}
	/* Non-ASCII: encoded-words that decode to the text. */
	assert_int_equal(exp_file_open(&f, &ms.sink, "x", &err), 0);
	mime_header(&f, "Subject", "Straße gesperrt – Bauamt übernimmt, Ämter informiert, "
				   "alle Beteiligten wurden benachrichtigt");
	assert_int_equal(exp_file_close(&f), 0);
	{
		struct buf all;
		const char *q = (const char *)ms.b.data;

		buf_init(&all, 4096);
		while ((q = strstr(q, "=?UTF-8?B?")) != NULL) {
			const char *e = strstr(q + 10, "?=");
			uint8_t *d = NULL;

			assert_non_null(e);
			assert_int_equal(b64_decode(q + 10, (size_t)(e - q - 10), 1024, &d, &dl), 0);
			assert_int_equal(buf_append(&all, d, dl), 0);
			free(d);
			q = e + 2;
		}
		assert_int_equal(buf_append(&all, "", 1), 0);
		decoded = (char *)all.data;
		assert_string_equal(decoded, "Straße gesperrt – Bauamt übernimmt, Ämter informiert, "
					     "alle Beteiligten wurden benachrichtigt");
		buf_release(&all);
	}
	/* Display names with quotes are escaped. */
	assert_int_equal(exp_file_open(&f, &ms.sink, "x", &err), 0);
	mime_address(&f, "a \"b\" \\c");
	assert_int_equal(exp_file_close(&f), 0);
	assert_string_equal((char *)ms.b.data, "\"a \\\"b\\\" \\\\c\" <>");
	buf_release(&ms.b);
}

static void test_meta_round_trip(void **state)
{
	struct exp_meta m, back;
	struct cu_err err;
	char *text, *bad;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.version = EXP_META_VERSION;
	snprintf(m.export_id, sizeof(m.export_id), "20240501T120000Z-0a1b2c3d");
	m.created_ms = T0;
	m.by = "officer \"anna\"";
	m.query = "Antrag from:@anna";
	m.conversation = NULL;
	m.organization = "Stadt Beispiel";
	m.has_from = 1;
	m.from_ms = T0 - DAY;
	m.format = EXP_RSMF;
	m.container = EXP_TAR;
	m.count = 42;
	m.selection[0] = 0xab;
	text = exp_meta_to_json(&m);
	assert_non_null(text);
	cu_err_clear(&err);
	assert_int_equal(exp_meta_from_json(text, strlen(text), &back, &err), 0);
	assert_string_equal(back.export_id, m.export_id);
	assert_string_equal(back.by, m.by);
	assert_string_equal(back.query, m.query);
	assert_null(back.conversation);
	assert_true(back.has_from);
	assert_false(back.has_to);
	assert_int_equal(back.from_ms, m.from_ms);
	assert_int_equal(back.format, EXP_RSMF);
	assert_int_equal(back.container, EXP_TAR);
	assert_int_equal(back.count, 42);
	assert_memory_equal(back.selection, m.selection, HASH_LEN);
	exp_meta_release(&back);
	/* A newer format version, or an id that is not a safe name, is refused. */
	bad = strdup(text);
	memcpy(strstr(bad, "\"custos_export\":1"), "\"custos_export\":2", 17);
	assert_int_equal(exp_meta_from_json(bad, strlen(bad), &back, &err), CU_ECORRUPT);
	free(bad);
	bad = strdup(text);
	memcpy(strstr(bad, "20240501T120000Z"), "../../../../etc/", 16);
	assert_int_equal(exp_meta_from_json(bad, strlen(bad), &back, &err), CU_ECORRUPT);
	free(bad);
	free(text);
}

/* Writes p (n bytes) through an atrest writer into path. */
static void atrest_put(const char *path, const struct crypt_key *key, const uint8_t *p, size_t n)
{
	struct atrest_writer w;
	struct cu_err err;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	atrest_writer_init(&w, fd, key, path);
	assert_int_equal(atrest_write(&w, p, n / 3, &err), 0);
	assert_int_equal(atrest_write(&w, p + n / 3, n - n / 3, &err), 0);
	assert_int_equal(atrest_finish(&w, &err), 0);
	atrest_writer_release(&w);
	close(fd);
}

/* Packages at rest: encrypted in chunks; a changed, cut or reordered file
 * or another key is refused; without a key the bytes are plain. */
static void test_atrest(void **state)
{
	struct crypt_key k, k2;
	struct cu_err err;
	struct buf back, raw;
	char path[400];
	size_t n = 2 * ATREST_CHUNK + 12345, i;
	uint8_t *p = malloc(n), save[8];
	FILE *fp;

	(void)state;
	assert_non_null(p);
	for (i = 0; i < n; i++)
		p[i] = (uint8_t)("Geheimnisvoll "[i % 14]);
	memset(k.key, 7, sizeof(k.key));
	memset(k2.key, 8, sizeof(k2.key));
	snprintf(path, sizeof(path), "%s/pkg.tar", F->a.top);
	buf_init(&back, 4 * ATREST_CHUNK);
	buf_init(&raw, 4 * ATREST_CHUNK);

	atrest_put(path, &k, p, n);
	cu_err_clear(&err);
	assert_int_equal(fio_read_file(path, &raw, &err), 0);
	assert_null(memmem(raw.data, raw.len, "Geheimnisvoll", 13));
	cu_err_clear(&err);
	assert_int_equal(atrest_read_buf(path, &k, &back, &err), 0);
	assert_int_equal(back.len, n);
	assert_memory_equal(back.data, p, n);
	cu_err_clear(&err);
	assert_int_equal(atrest_read_buf(path, &k2, &back, &err), CU_ECRYPTO);
	/* a flipped byte in the second chunk */
	raw.data[ATREST_MAGIC_LEN + 4 + ATREST_CHUNK + 28 + 4 + 100] ^= 1;
	fp = fopen(path, "wb");
	assert_int_equal(fwrite(raw.data, 1, raw.len, fp), raw.len);
	fclose(fp);
	cu_err_clear(&err);
	assert_int_equal(atrest_read_buf(path, &k, &back, &err), CU_ECRYPTO);
	raw.data[ATREST_MAGIC_LEN + 4 + ATREST_CHUNK + 28 + 4 + 100] ^= 1;
	/* cut after the first chunk: no final chunk */
	fp = fopen(path, "wb");
	assert_int_equal(fwrite(raw.data, 1, ATREST_MAGIC_LEN + 4 + ATREST_CHUNK + 28, fp),
			 ATREST_MAGIC_LEN + 4 + ATREST_CHUNK + 28);
	fclose(fp);
	cu_err_clear(&err);
	assert_int_equal(atrest_read_buf(path, &k, &back, &err), CU_ECRYPTO);
	/* bytes after the final chunk */
	fp = fopen(path, "wb");
	assert_int_equal(fwrite(raw.data, 1, raw.len, fp), raw.len);
	memcpy(save, "trailing", 8);
	assert_int_equal(fwrite(save, 1, 8, fp), 8);
	fclose(fp);
	cu_err_clear(&err);
	assert_int_equal(atrest_read_buf(path, &k, &back, &err), CU_ECRYPTO);
	/* the cap */
	back.max = n - 1;
	atrest_put(path, &k, p, n);
	cu_err_clear(&err);
	assert_int_equal(atrest_read_buf(path, &k, &back, &err), CU_ETOOBIG);
	back.max = 4 * ATREST_CHUNK;
	/* without a key: the plain bytes, through the same calls */
	atrest_put(path, NULL, p, n);
	buf_reset(&raw);
	cu_err_clear(&err);
	assert_int_equal(fio_read_file(path, &raw, &err), 0);
	assert_int_equal(raw.len, n);
	assert_memory_equal(raw.data, p, n);
	cu_err_clear(&err);
	assert_int_equal(atrest_read_buf(path, NULL, &back, &err), 0);
	assert_memory_equal(back.data, p, n);
	buf_release(&back);
	buf_release(&raw);
	free(p);
}

static void touch(const char *dir, const char *name)
{
	char path[600];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("package bytes", fp);
	fclose(fp);
}

static int exists_in(const char *dir, const char *name)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

/* Packages and their record lists: an erasure removes exactly the
 * packages holding a deleted record (and those it cannot read the list
 * of), with their lists and temporary files; expiry by creation time. */
static void test_package_lists(void **state)
{
	static const uint64_t s1[] = {1, 5, 9}, s2[] = {2}, del[] = {7, 5};
	struct crypt_key k;
	struct cu_err err;
	char dir[400], path[500];
	json_t *removed = json_array();

	(void)state;
	memset(k.key, 3, sizeof(k.key));
	snprintf(dir, sizeof(dir), "%s/exports", F->a.top);
	assert_int_equal(fio_mkdir(dir, 0700, &err), 0);
	snprintf(path, sizeof(path), "%s/p1.zip", dir);
	assert_int_equal(exp_pkg_list_write(path, &k, time_now_ms(), s1, 3, &err), 0);
	touch(dir, "p1.zip");
	touch(dir, "p1.zip.tmp-abcdef");
	snprintf(path, sizeof(path), "%s/p2.tar", dir);
	assert_int_equal(exp_pkg_list_write(path, &k, time_now_ms() - 10 * DAY, s2, 1, &err), 0);
	touch(dir, "p2.tar");
	touch(dir, "p3.zip"); /* no list: it may hold anything */

	assert_int_equal(exp_pkg_sweep(dir, "exports", &k, del, 2, INT64_MIN, 1, removed, &err), 0);
	assert_int_equal(json_array_size(removed), 2);
	assert_string_equal(json_string_value(json_array_get(removed, 0)), "exports/p1.zip");
	assert_string_equal(json_string_value(json_array_get(removed, 1)), "exports/p3.zip");
	assert_true(exists_in(dir, "p1.zip")); /* dry run */
	json_array_clear(removed);
	assert_int_equal(exp_pkg_sweep(dir, "exports", &k, del, 2, INT64_MIN, 0, removed, &err), 0);
	assert_int_equal(json_array_size(removed), 2);
	assert_false(exists_in(dir, "p1.zip") || exists_in(dir, "p1.zip.records") ||
		     exists_in(dir, "p1.zip.tmp-abcdef") || exists_in(dir, "p3.zip"));
	assert_true(exists_in(dir, "p2.tar") && exists_in(dir, "p2.tar.records"));
	/* a list read with another key is unreadable: the package goes */
	json_array_clear(removed);
	k.key[0] ^= 1;
	assert_int_equal(exp_pkg_sweep(dir, "exports", &k, del, 2, INT64_MIN, 1, removed, &err), 0);
	assert_int_equal(json_array_size(removed), 1);
	k.key[0] ^= 1;
	/* expiry: created ten days ago */
	json_array_clear(removed);
	assert_int_equal(exp_pkg_sweep(dir, "exports", &k, NULL, 0, time_now_ms() - 20 * DAY, 0, removed, &err), 0);
	assert_int_equal(json_array_size(removed), 0);
	assert_int_equal(exp_pkg_sweep(dir, "exports", &k, NULL, 0, time_now_ms() - 7 * DAY, 0, removed, &err), 0);
	assert_int_equal(json_array_size(removed), 1);
	assert_false(exists_in(dir, "p2.tar") || exists_in(dir, "p2.tar.records"));
	json_decref(removed);
}

/* An erasure while an export writes: the export fails and leaves neither
 * package nor list (the erasure's sweep may have run before the package
 * existed). The progress callback is the erasure, in the middle. */
struct erase_mid {
	uint64_t victim, cert;
	int done;
};

static void erase_on_write(void *arg, const char *phase, uint64_t done, uint64_t total)
{
	struct erase_mid *m = arg;
	struct cu_err err;
	size_t n = 0;

	(void)done;
	(void)total;
	if (m->done || strcmp(phase, "writing") != 0)
		return;
	m->done = 1;
	cu_err_clear(&err);
	assert_int_equal(store_erase(F->a.st, &m->victim, 1, m->cert, &n, &err), 0);
	assert_int_equal(n, 1);
}

static void test_erased_while_exporting(void **state)
{
	struct exp_request r;
	struct exp_result res;
	struct erase_mid m = {0, 0, 0};
	struct cu_err err;
	char out[400], list[420];

	(void)state;
	m.cert = msg("!cert:x.org", "@c:x.org", T0, "stands in for a certificate");
	m.victim = msg("!r:x.org", "@a:x.org", T0 + 1, "Loeschkandidat");
	msg("!r:x.org", "@a:x.org", T0 + 2, "stays");
	path_in_tmp("during.zip", out, sizeof(out));
	snprintf(list, sizeof(list), "%s%s", out, EXP_PKG_LIST_SUFFIX);
	req_init(&r, EXP_DAT, out);
	r.conversation = "!r:x.org";
	r.record_list = 1;
	r.progress = erase_on_write;
	r.progress_arg = &m;
	cu_err_clear(&err);
	assert_int_equal(exp_run(&r, &res, &err), CU_ESTATE);
	assert_non_null(strstr(err.msg, "erased while the export ran"));
	assert_int_equal(access(out, F_OK), -1);
	assert_int_equal(access(list, F_OK), -1);
	/* Run again: the erased record is not selected any more. */
	m.done = 1;
	r.progress = NULL;
	run_ok(&r, &res);
	assert_int_equal(res.records, 1);
	assert_int_equal(access(list, F_OK), 0);
}

/* A package kept at rest on an encrypted archive, large enough that a
 * member (data/records.jsonl, 20 MiB of about 80) goes through the spool
 * file: the file holds no plaintext, decrypts to a package that verifies,
 * and its SHA-256 is that of the plain package. */
static void test_encrypted_package_with_spool(void **state)
{
	struct exp_request r;
	struct exp_result res;
	struct exp_verify_result vr;
	struct crypt_key k;
	struct cu_err err;
	struct buf plain, raw;
	uint8_t d[32];
	char out[400], hex[65], *big = malloc(1u << 20);
	unsigned i;

	(void)state;
	assert_non_null(big);
	memset(k.key, 9, sizeof(k.key));
	for (i = 0; i + 1 < (1u << 20); i++)
		big[i] = "Spoolgeheimnis "[i % 15];
	big[(1u << 20) - 1] = '\0';
	for (i = 0; i < 20; i++)
		msg("!big:x.org", "@a:x.org", T0 + i, big);
	free(big);
	path_in_tmp("big.tar", out, sizeof(out));
	req_init(&r, EXP_BAGIT, out);
	r.container = EXP_TAR;
	r.conversation = "!big:x.org";
	r.at_rest = &k;
	r.record_list = 1;
	run_ok(&r, &res);
	buf_init(&raw, 256u << 20);
	buf_init(&plain, 256u << 20);
	cu_err_clear(&err);
	assert_int_equal(fio_read_file(out, &raw, &err), 0);
	assert_null(memmem(raw.data, raw.len, "Spoolgeheimnis", 14));
	assert_int_equal(atrest_read_buf(out, &k, &plain, &err), 0);
	assert_int_equal(plain.len, res.package_bytes);
	assert_int_equal(hash_sha256(plain.data, plain.len, d), 0);
	hex_encode(d, 32, hex);
	assert_string_equal(hex, res.package_sha256);
	assert_int_equal(exp_verify_buffer(plain.data, plain.len, store_key(F->a.st), &vr, &err), 0);
	assert_int_equal(vr.records, 20);
	buf_release(&raw);
	buf_release(&plain);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_prover_matches_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prover_rejects_bad_seqs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_selection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_round_trip_every_format, setup, teardown),
		cmocka_unit_test_setup_teardown(test_produced_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rsmf_event_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_caps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_packages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_jobs, setup, teardown),
		cmocka_unit_test(test_utf8_clean),
		cmocka_unit_test(test_slug),
		cmocka_unit_test(test_mime_header),
		cmocka_unit_test(test_meta_round_trip),
		cmocka_unit_test_setup_teardown(test_atrest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_package_lists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_erased_while_exporting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_encrypted_package_with_spool, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
