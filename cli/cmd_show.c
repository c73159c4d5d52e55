/* cmd_show.c - `custos show -d DIR SEQ [--json] [--proof] [--tree-size N]`:
 * one record, for people or (with --json) programs; --proof adds the
 * inclusion proof against the current (or given) signed checkpoint, in the
 * document format `custos verify-proof` checks (docs/PROOFS.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archiver/proof_json.h"
#include "archiver/record_json.h"
#include "archiver/store.h"
#include "cli/cli.h"
#include "common/encode.h"
#include "common/timeutil.h"

static void print_field(const char *label, const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (json_is_string(v))
		printf("%-13s %s\n", label, json_string_value(v));
}

static void print_human(const json_t *o)
{
	char when[40];
	const char *body;

	printf("%-13s %lld\n", "seq", (long long)json_integer_value(json_object_get(o, "seq")));
	if (json_is_true(json_object_get(o, "deleted"))) {
		printf("%-13s deleted (certificate seq %lld); only its hashes remain\n", "status",
		       (long long)json_integer_value(json_object_get(o, "deletion_seq")));
		print_field("leaf hash", o, "leaf_hash");
		return;
	}
	print_field("kind", o, "kind");
	print_field("platform", o, "platform");
	print_field("source", o, "source");
	print_field("conversation", o, "conversation");
	print_field("sender", o, "sender");
	print_field("id", o, "id");
	print_field("reply to", o, "reply_to");
	print_field("thread", o, "thread");
	print_field("target", o, "target");
	time_format_rfc3339(json_integer_value(json_object_get(o, "ts")), when, sizeof(when));
	printf("%-13s %s\n", "sent", when);
	time_format_rfc3339(json_integer_value(json_object_get(o, "received_ts")), when, sizeof(when));
	printf("%-13s %s\n", "received", when);
	if (json_is_true(json_object_get(o, "encrypted")))
		printf("%-13s end-to-end encrypted: the archive holds the ciphertext only\n", "encrypted");
	if (json_is_true(json_object_get(o, "duplicate_keys")))
		printf("%-13s the payload names a member twice; the fields show the last value\n",
		       "duplicate keys");
	print_field("leaf hash", o, "leaf_hash");
	body = json_string_value(json_object_get(o, "body"));
	printf("\n%s\n", body ? body : "");
}

int cmd_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{"proof", no_argument, NULL, 'p'},
		{"tree-size", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	uint8_t proof[MT_MAX_PROOF][HASH_LEN], root[HASH_LEN];
	uint64_t seq, tsize = 0;
	const char *dir = NULL;
	struct store *st = NULL;
	struct store_entry e;
	struct cu_err err;
	struct buf rb;
	json_t *rec = NULL, *doc = NULL;
	char *note = NULL;
	size_t count;
	int json = 0, want_proof = 0, c, rc = EXIT_FAIL;

	cu_err_clear(&err);
	buf_init(&rb, 1);
	while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'j': json = 1; break;
		case 'p': want_proof = 1; break;
		case 't':
			if (cli_parse_u64(optarg, &tsize) != 0 || tsize == 0)
				return cli_usage("show", "--tree-size needs a positive number");
			break;
		case 'h':
			printf("usage: custos show [-d DIR] SEQ [--json] [--proof] [--tree-size N]\n");
			return EXIT_OK;
		default: return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc || cli_parse_u64(argv[optind], &seq) != 0)
		return cli_usage("show", "expects one record number (SEQ)");
	if (store_open(cli_datadir(dir), NULL, STORE_RDONLY, &st, &err) != 0)
		return cli_fail("show", &err);
	if (store_get(st, seq, &rb, &e, &err) != 0) {
		rc = cli_fail("show", &err);
		goto out;
	}
	rec = rec_entry_to_json(&e);
	if (!rec) {
		fprintf(stderr, "custos show: record %llu cannot be decoded\n", (unsigned long long)seq);
		goto out;
	}
	if (want_proof) {
		if (!tsize)
			tsize = store_size(st);
		if (seq >= tsize) {
			rc = cli_usage("show", "--tree-size must be greater than SEQ");
			goto out;
		}
		if (store_root(st, tsize, root, &err) != 0 ||
		    store_inclusion(st, seq, tsize, proof, &count, &err) != 0 ||
		    store_checkpoint(st, tsize, &note, &err) != 0 ||
		    pj_inclusion_build(seq, e.leaf, e.is_stub ? NULL : e.bytes, e.len, tsize, root,
				       (const uint8_t (*)[HASH_LEN])proof, count, note, &doc, &err) != 0) {
			rc = cli_fail("show", &err);
			goto out;
		}
		/* The readable part is derived from the proven bytes, by the
		 * function verify-proof checks it with (no unproven member). */
		if (json_object_set_new(doc, "record",
					pj_record_json(seq, e.leaf, e.is_stub ? NULL : e.bytes, e.len)) != 0) {
			fprintf(stderr, "custos show: record %llu cannot be decoded\n",
				(unsigned long long)seq);
			goto out;
		}
	}
	if (json || want_proof) {
		char *text = json_dumps(doc ? doc : rec, JSON_INDENT(2) | JSON_ENSURE_ASCII);
		if (!text)
			goto out;
		printf("%s\n", text);
		free(text);
		if (!json && want_proof)
			fprintf(stderr, "(the proof is JSON; check it offline with `custos verify-proof`)\n");
	} else {
		print_human(rec);
	}
	rc = EXIT_OK;
out:
	json_decref(rec);
	json_decref(doc);
	free(note);
	buf_release(&rb);
	store_close(st);
	return rc;
}
