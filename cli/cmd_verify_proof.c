/* cmd_verify_proof.c - `custos verify-proof --pubkey PEM_FILE [--json]
 * FILE.json|-`: checks an inclusion or consistency proof document
 * (docs/PROOFS.md) completely offline. Needs nothing but the document and
 * the archive's public key: no data directory, no network.
 * Exit 0 verified, 1 not verified (the reason on stderr, or in the JSON),
 * 2 usage. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archiver/keys.h"
#include "archiver/proof_json.h"
#include "cli/cli.h"
#include "common/buf.h"
#include "common/fileio.h"

/* Reads all of stdin into out (capped by out->max). */
static int read_stdin(struct buf *out, struct cu_err *err)
{
	uint8_t chunk[65536];
	ssize_t r;
	int rc;

	for (;;) {
		r = read(STDIN_FILENO, chunk, sizeof(chunk));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return cu_err_errno(err, errno, "read standard input");
		}
		if (r == 0)
			return 0;
		rc = buf_append(out, chunk, (size_t)r);
		if (rc)
			return cu_err_set(err, rc, "standard input larger than %zu bytes", out->max);
	}
}

/* The verdict for people, then, for an inclusion, what is proven: the
 * record decoded from leaf_data, never the document's readable part. */
static void print_ok(const struct pj_result *res)
{
	char *text;

	if (res->kind == PJ_INCLUSION)
		printf("OK: record %llu%s is included in tree of size %llu (checkpoint %s)\n",
		       (unsigned long long)res->seq,
		       res->deleted ? " (deleted: content removed, leaf hash proven)" : "",
		       (unsigned long long)res->tree_size, res->origin);
	else if (res->has_checkpoint)
		printf("OK: tree of size %llu is consistent with (extends) tree of size %llu "
		       "(checkpoint %s)\n",
		       (unsigned long long)res->tree_size, (unsigned long long)res->first_size,
		       res->origin);
	else
		printf("OK: tree of size %llu is consistent with (extends) tree of size %llu "
		       "(no checkpoint: compare second_root with a checkpoint you trust)\n",
		       (unsigned long long)res->tree_size, (unsigned long long)res->first_size);
	if (res->kind != PJ_INCLUSION)
		return;
	if (!res->record) {
		printf("proven: the bytes of leaf_data (not a record custos can decode)\n");
		return;
	}
	text = json_dumps(res->record, JSON_INDENT(2) | JSON_ENSURE_ASCII);
	if (text)
		printf("proven record (decoded from leaf_data%s):\n%s\n",
		       res->had_record ? "; the document's \"record\" is identical" : "", text);
	free(text);
}

static int print_json(const struct pj_result *res, const char *error)
{
	json_t *o = json_object();
	char *text = NULL;
	int rc = -1;

	if (!o)
		return -1;
	if (error) {
		json_object_set_new(o, "ok", json_false());
		json_object_set_new(o, "error", json_string(error));
	} else {
		json_object_set_new(o, "ok", json_true());
		if (res->kind == PJ_INCLUSION) {
			json_object_set_new(o, "kind", json_string("inclusion"));
			json_object_set_new(o, "seq", json_integer((json_int_t)res->seq));
			json_object_set_new(o, "deleted", json_boolean(res->deleted));
		} else {
			json_object_set_new(o, "kind", json_string("consistency"));
			json_object_set_new(o, "first_size",
					    json_integer((json_int_t)res->first_size));
		}
		json_object_set_new(o, "tree_size", json_integer((json_int_t)res->tree_size));
		json_object_set_new(o, "checkpoint_origin",
				    res->has_checkpoint ? json_string(res->origin) : json_null());
		/* The proven content, decoded from leaf_data. */
		if (res->kind == PJ_INCLUSION)
			json_object_set(o, "record", res->record ? res->record : json_null());
	}
	text = json_dumps(o, JSON_COMPACT);
	if (text && printf("%s\n", text) >= 0)
		rc = 0;
	free(text);
	json_decref(o);
	return rc;
}

int cmd_verify_proof(int argc, char **argv)
{
	static const struct option opts[] = {
		{"pubkey", required_argument, NULL, 'k'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *pubfile = NULL, *input;
	struct pj_result res = {0};
	struct cu_err err;
	struct buf doc;
	EVP_PKEY *pub = NULL;
	int c, json = 0, rc = EXIT_FAIL;

	cu_err_clear(&err);
	buf_init(&doc, PJ_MAX_DOC);
	while ((c = getopt_long(argc, argv, "k:h", opts, NULL)) != -1) {
		switch (c) {
		case 'k': pubfile = optarg; break;
		case 'j': json = 1; break;
		case 'h':
			printf("usage: custos verify-proof --pubkey PEM_FILE [--json] FILE.json|-\n"
			       "Checks an inclusion or consistency proof document offline against\n"
			       "the archive's public key (from `custos pubkey`).\n"
			       "Exit 0 verified, 1 not verified, 2 usage.\n");
			return EXIT_OK;
		default: return EXIT_USAGE;
		}
	}
	if (!pubfile)
		return cli_usage("verify-proof", "--pubkey PEM_FILE is required");
	if (argc - optind != 1)
		return cli_usage("verify-proof", "expects one proof file (or - for standard input)");
	input = argv[optind];

	if (key_load_public_file(pubfile, &pub, &err) != 0)
		goto fail;
	if (strcmp(input, "-") == 0) {
		if (read_stdin(&doc, &err) != 0)
			goto fail;
	} else if (fio_read_file(input, &doc, &err) != 0) {
		goto fail;
	}
	if (pj_verify_ex((const char *)doc.data, doc.len, pub, &res, &err) != 0)
		goto fail;
	if (json) {
		if (print_json(&res, NULL) != 0)
			goto out;
	} else {
		print_ok(&res);
	}
	rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
	goto out;
fail:
	if (json)
		print_json(NULL, err.msg[0] ? err.msg : "failed");
	else
		cli_fail("verify-proof", &err);
out:
	json_decref(res.record);
	buf_release(&doc);
	EVP_PKEY_free(pub);
	return rc;
}
