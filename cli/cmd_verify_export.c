/* cmd_verify_export.c - `custos verify-export [--pubkey PEM] [--json]
 * FILE`: checks an export package offline (docs/EXPORTS.md
 * "Verification"): no data directory, no network. Without --pubkey the
 * package's own key is used, which proves only that the package is
 * consistent; the output says so and prints the key's fingerprint to
 * compare with the one the archive publishes.
 * Exit 0 verified, 1 not verified (the reason names the file), 2 usage. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archiver/keys.h"
#include "cli/cli.h"
#include "export/export.h"

static void progress(void *arg, const char *phase, uint64_t done, uint64_t total)
{
	(void)arg;
	cli_progress(phase, done, total);
}

static int print_json(const struct exp_verify_result *r, const char *error)
{
	json_t *o;
	int rc = -1;

	if (error)
		o = json_pack("{s:b, s:s}", "ok", 0, "error", error);
	else
		o = json_pack("{s:b, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:s, s:s, s:s, s:b}", "ok", 1,
			      "export_id", r->export_id, "format", exp_format_name(r->format), "container",
			      exp_container_name(r->container), "records", (json_int_t)r->records, "files",
			      (json_int_t)r->files, "tree_size", (json_int_t)r->tree_size, "request_seq",
			      (json_int_t)r->request_seq, "origin", r->origin, "by", r->by,
			      "key_fingerprint", r->key_fingerprint, "key_from_package",
			      r->key_from_package);
	if (o && json_dumpf(o, stdout, JSON_COMPACT) == 0 && putchar('\n') != EOF)
		rc = 0;
	json_decref(o);
	return rc;
}

int cmd_verify_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{"pubkey", required_argument, NULL, 'k'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct exp_verify_result res;
	const char *pubfile = NULL;
	struct cu_err err;
	EVP_PKEY *pub = NULL;
	int c, json = 0, rc = EXIT_FAIL;

	cu_err_clear(&err);
	optind = 1;
	while ((c = getopt_long(argc, argv, "k:h", opts, NULL)) != -1) {
		switch (c) {
		case 'k': pubfile = optarg; break;
		case 'j': json = 1; break;
		case 'h':
			printf("usage: custos verify-export [--pubkey PEM_FILE] [--json] PACKAGE\n"
			       "Checks an export package offline: manifests and digests, the\n"
			       "checkpoint's signature, every record's inclusion proof, the custody\n"
			       "record, and that every file says exactly what the proven records say.\n"
			       "Give the archive's public key (from its operator) with --pubkey;\n"
			       "without it the package's own key is used.\n"
			       "Exit 0 verified, 1 not verified, 2 usage.\n");
			return EXIT_OK;
		default:
			return cli_usage("verify-export", "see custos verify-export --help");
		}
	}
	if (argc - optind != 1)
		return cli_usage("verify-export", "expects one package file");
	if (pubfile && key_load_public_file(pubfile, &pub, &err) != 0)
		goto fail;
	if (exp_verify(argv[optind], pub, &res, cli_progress_enabled() ? progress : NULL, NULL, &err) != 0) {
		cli_progress_done();
		goto fail;
	}
	cli_progress_done();
	if (json) {
		if (print_json(&res, NULL) != 0)
			goto out;
	} else {
		printf("OK: export %s (%s, %s): %llu record(s) in %llu files, all proven against the "
		       "checkpoint of %s at tree size %llu\n", res.export_id, exp_format_name(res.format),
		       exp_container_name(res.container), (unsigned long long)res.records,
		       (unsigned long long)res.files, res.origin, (unsigned long long)res.tree_size);
		printf("requested by %s (custody record seq %llu)\n", res.by,
		       (unsigned long long)res.request_seq);
		printf("archive key SHA-256 %s\n", res.key_fingerprint);
		if (res.key_from_package)
			printf("note: checked with the key inside the package; compare its fingerprint with "
			       "the archive's published key, or give it with --pubkey\n");
	}
	rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
	goto out;
fail:
	if (json)
		print_json(NULL, err.msg[0] ? err.msg : "failed");
	else
		cli_fail("verify-export", &err);
out:
	EVP_PKEY_free(pub);
	return rc;
}
