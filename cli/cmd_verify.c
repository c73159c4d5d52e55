/* cmd_verify.c - `custos verify -d DIR [--json]`: recomputes everything
 * from the bytes on disk (archiver/verify.h). Exit 0 when intact, 1 with
 * the first mismatch named when the log is not, 3 when the log is intact
 * but a derived file (tree level, duplicate-map run) was damaged: verify
 * then has it rebuilt from the segments by opening the archive for
 * writing, unless a writer holds it (which rebuilds it when it next
 * starts). No evidence is lost in that case, but a disk that changes
 * bytes is something the operator must know about. */
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "archiver/store.h"
#include "archiver/verify.h"
#include "cli/cli.h"
#include "common/encode.h"

static void progress(void *ctx, uint64_t done, uint64_t total)
{
	(void)ctx;
	cli_progress("verify (bytes)", done, total);
}

/* Opens the archive for writing, which rebuilds damaged derived files
 * (with a warning each). 1 if it did, 0 if the archive is in use or cannot
 * be opened (the reason in why). */
static int repair_derived(const char *dir, char *why, size_t len)
{
	struct store *st = NULL;
	struct cu_err err;

	cu_err_clear(&err);
	if (store_open(dir, NULL, 0, &st, &err) != 0) {
		snprintf(why, len, "%s", err.msg);
		return 0;
	}
	store_close(st);
	return 1;
}

int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{"kek", required_argument, NULL, 'k'},
		{"index", no_argument, NULL, 'i'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct verify_result res;
	const char *dir = NULL, *kek = NULL;
	struct cu_err err;
	char root[2 * HASH_LEN + 1], why[512] = "";
	int json = 0, index = 0, index_failed = 0, repaired = 0, c, rc;

	cu_err_clear(&err);
	while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'j': json = 1; break;
		case 'k': kek = optarg; break;
		case 'i': index = 1; break;
		case 'h':
			printf("usage: custos verify [-d DIR] [--json] [--kek FILE] [--index]\n"
			       "--index also reconciles the search index with the log (records\n"
			       "missing from or extra in the index).\n"
			       "Exit 0 intact; 1 the log is not intact (or the index check failed);\n"
			       "3 the log is intact but a derived file (tree level, duplicate-map run)\n"
			       "was damaged: it is rebuilt from the segments (now, unless a writer\n"
			       "holds the archive).\n");
			return EXIT_OK;
		default: return EXIT_USAGE;
		}
	}
	if (optind != argc)
		return cli_usage("verify", "unexpected argument '%s'", argv[optind]);
	if (verify_archive_kek(cli_datadir(dir), kek, &res, progress, NULL, &err) != 0)
		return cli_fail("verify", &err);
	cli_progress_done();
	hex_encode(res.root, HASH_LEN, root);
	if (res.intact && res.derived_damaged)
		repaired = repair_derived(cli_datadir(dir), why, sizeof(why));
	if (json) {
		json_t *o = json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I}", "intact", res.intact,
				      "segments", (json_int_t)res.segments, "sealed", (json_int_t)res.sealed,
				      "frames", (json_int_t)res.frames, "records", (json_int_t)res.records,
				      "deleted", (json_int_t)res.stubs, "bytes", (json_int_t)res.bytes);
		char *text;
		if (res.intact) {
			json_object_set_new(o, "tree_size", json_integer((json_int_t)res.records));
			json_object_set_new(o, "root_hash", json_string(root));
			json_object_set_new(o, "torn_tail_bytes", json_integer((json_int_t)res.torn_bytes));
			json_object_set_new(o, "encrypted", json_boolean(res.encrypted));
			json_object_set_new(o, "records_not_decrypted", json_integer((json_int_t)res.unread_records));
			json_object_set_new(o, "derived_damaged", json_integer(res.derived_damaged));
			if (res.derived_damaged) {
				json_object_set_new(o, "derived_reason", json_string(res.derived_reason));
				json_object_set_new(o, "derived_rebuilt", json_boolean(repaired));
			}
		} else {
			json_object_set_new(o, "error", json_pack("{s:s, s:I, s:I, s:s}",
				"segment", res.segment, "frame_offset", (json_int_t)res.frame_offset,
				"seq", (json_int_t)res.seq, "reason", res.reason));
		}
		if (index && cli_verify_index(cli_datadir(dir), json, o) != EXIT_OK)
			index_failed = 1;
		text = json_dumps(o, JSON_INDENT(2));
		if (text)
			printf("%s\n", text);
		free(text);
		json_decref(o);
	} else if (res.intact) {
		printf("intact: %llu records (%llu deleted) in %llu segments (%llu sealed), %llu frames\n"
		       "tree size %llu, root %s\n",
		       (unsigned long long)res.records, (unsigned long long)res.stubs,
		       (unsigned long long)res.segments, (unsigned long long)res.sealed,
		       (unsigned long long)res.frames, (unsigned long long)res.records, root);
		if (res.unread_records)
			printf("note: encrypted at rest and no key given: %llu records were checked through "
			       "their stored leaf hashes (frames, chain, tree, seals), not decrypted\n",
			       (unsigned long long)res.unread_records);
		if (res.torn_bytes)
			printf("note: a torn tail of %llu bytes from an interrupted, unacknowledged write "
			       "follows; it is cut when the archive is next opened for writing\n",
			       (unsigned long long)res.torn_bytes);
		if (res.derived_damaged && repaired)
			printf("DERIVED FILES DAMAGED: %u, the first: %s\n"
			       "they were rebuilt from the segments now (no record was affected; check "
			       "the disk)\n", res.derived_damaged, res.derived_reason);
		else if (res.derived_damaged)
			printf("DERIVED FILES DAMAGED: %u, the first: %s\n"
			       "not rebuilt now (%s): the writer rebuilds them from the segments when it "
			       "next opens the archive (no record was affected; check the disk)\n",
			       res.derived_damaged, res.derived_reason, why);
	} else {
		printf("NOT INTACT: %s", res.segment[0] ? res.segment : "archive");
		if (res.frame_offset >= 0)
			printf(", frame at offset %lld", (long long)res.frame_offset);
		if (res.seq >= 0)
			printf(", seq %lld", (long long)res.seq);
		printf(": %s\n", res.reason);
	}
	rc = !res.intact || index_failed ? EXIT_FAIL : res.derived_damaged ? EXIT_DERIVED : EXIT_OK;
	if (index && !json && cli_verify_index(cli_datadir(dir), 0, NULL) != EXIT_OK)
		rc = EXIT_FAIL;
	return rc;
}
