/* cmd_export.c - `custos export -d DIR [--query Q] [--conversation C]
 * [--from DATE] [--to DATE] --format rsmf|dat|edrm|bagit [--container
 * zip|tar] --by NAME [--organization ORG] -o FILE [--json]`: a court-ready
 * package of the selected records with their proofs (docs/EXPORTS.md).
 * The export is recorded in the log (who, query, format, count, package
 * digest), so the command needs the archive's writer lock: it cannot run
 * beside `custos serve` on the same directory (use POST /v1/exports
 * there). */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "archiver/store.h"
#include "cli/cli.h"
#include "export/export.h"
#include "search/index.h"

static void progress(void *arg, const char *phase, uint64_t done, uint64_t total)
{
	(void)arg;
	cli_progress(phase, done, total);
}

static void index_progress(void *arg, uint64_t done, uint64_t total)
{
	(void)arg;
	cli_progress("indexing", done, total);
}

static int print_json(const struct exp_result *r, const char *path)
{
	json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:I}", "export_id",
			      r->export_id, "file", path, "records", (json_int_t)r->records,
			      "skipped_deleted", (json_int_t)r->skipped_deleted, "tree_size",
			      (json_int_t)r->tree_size, "request_seq", (json_int_t)r->request_seq,
			      "produced_seq", (json_int_t)r->produced_seq, "package_bytes",
			      (json_int_t)r->package_bytes, "package_sha256", r->package_sha256, "files",
			      (json_int_t)r->files);
	int rc = -1;

	if (o && json_dumpf(o, stdout, JSON_COMPACT) == 0 && putchar('\n') != EOF)
		rc = 0;
	json_decref(o);
	return rc;
}

int cmd_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"query", required_argument, NULL, 'q'},
		{"conversation", required_argument, NULL, 'c'},
		{"from", required_argument, NULL, 'f'},
		{"to", required_argument, NULL, 't'},
		{"format", required_argument, NULL, 'F'},
		{"container", required_argument, NULL, 'C'},
		{"by", required_argument, NULL, 'b'},
		{"organization", required_argument, NULL, 'O'},
		{"output", required_argument, NULL, 'o'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct exp_request req;
	struct exp_result res;
	struct exp_index xi = {0};
	struct store *st = NULL;
	struct idx *ix = NULL;
	struct cu_err err;
	const char *dir = NULL;
	size_t olen;
	int c, json = 0, rc = EXIT_FAIL;

	cu_err_clear(&err);
	memset(&req, 0, sizeof(req));
	req.from_ms = INT64_MIN;
	req.to_ms = INT64_MAX;
	optind = 1;
	while ((c = getopt_long(argc, argv, "d:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'q': req.query = optarg; break;
		case 'c': req.conversation = optarg; break;
		case 'f':
			if (exp_parse_time(optarg, 0, &req.from_ms))
				return cli_usage("export", "--from takes an RFC 3339 time or a date");
			break;
		case 't':
			if (exp_parse_time(optarg, 1, &req.to_ms))
				return cli_usage("export", "--to takes an RFC 3339 time or a date");
			break;
		case 'F':
			req.format = exp_format_from_name(optarg);
			if (!req.format)
				return cli_usage("export", "--format takes rsmf, dat, edrm or bagit");
			break;
		case 'C':
			req.container = exp_container_from_name(optarg);
			if (!req.container)
				return cli_usage("export", "--container takes zip or tar");
			break;
		case 'b': req.by = optarg; break;
		case 'O': req.organization = optarg; break;
		case 'o': req.out_path = optarg; break;
		case 'j': json = 1; break;
		case 'h':
			printf("usage: custos export [-d DIR] [--query Q] [--conversation C]\n"
			       "                     [--from DATE] [--to DATE]\n"
			       "                     --format rsmf|dat|edrm|bagit [--container zip|tar]\n"
			       "                     --by NAME [--organization ORG] -o FILE [--json]\n"
			       "Writes a package of the selected records with their inclusion proofs,\n"
			       "the signed checkpoint, the archive's key and the chain-of-custody\n"
			       "record, and records the export in the log. DATE is RFC 3339 or a\n"
			       "day (--to DAY includes that day). Check it with custos verify-export.\n");
			return EXIT_OK;
		default:
			return cli_usage("export", "see custos export --help");
		}
	}
	if (optind != argc)
		return cli_usage("export", "unexpected argument '%s'", argv[optind]);
	if (!req.format)
		return cli_usage("export", "--format is required (rsmf, dat, edrm or bagit)");
	if (!req.by || !*req.by)
		return cli_usage("export", "--by NAME is required: who asked for the export");
	if (!req.out_path)
		return cli_usage("export", "-o FILE is required");
	if (!req.query && !req.conversation && req.from_ms == INT64_MIN && req.to_ms == INT64_MAX)
		return cli_usage("export", "name what to export: --query, --conversation, --from or --to");
	if (req.from_ms >= req.to_ms)
		return cli_usage("export", "--from must be before --to");
	olen = strlen(req.out_path);
	if (!req.container)
		req.container = olen > 4 && !strcmp(req.out_path + olen - 4, ".tar") ? EXP_TAR : EXP_ZIP;

	dir = cli_datadir(dir);
	if (store_open(dir, NULL, 0, &st, &err) != 0)
		goto fail;
	if (req.query) {
		if (idx_open(dir, 0, &ix, &err) != 0 ||
		    idx_catch_up(ix, st, cli_progress_enabled() ? index_progress : NULL, NULL, &err) != 0) {
			cli_progress_done();
			goto fail;
		}
		cli_progress_done();
		xi.ix = ix;
		xi.st = st;
		req.query_fn = exp_query_index;
		req.query_arg = &xi;
	}
	req.st = st;
	if (cli_progress_enabled())
		req.progress = progress;
	if (exp_run(&req, &res, &err) != 0) {
		cli_progress_done();
		if (err.code == CU_EINVAL) {
			fprintf(stderr, "custos export: %s\n", err.msg);
			rc = EXIT_USAGE;
			goto out;
		}
		goto fail;
	}
	cli_progress_done();
	if (json) {
		if (print_json(&res, req.out_path) != 0)
			goto out;
	} else {
		printf("exported %llu record(s) to %s (%s, %llu files, %llu bytes)\n",
		       (unsigned long long)res.records, req.out_path, exp_format_name(req.format),
		       (unsigned long long)res.files, (unsigned long long)res.package_bytes);
		printf("export %s: custody record seq %llu, proven against tree size %llu, "
		       "recorded as seq %llu\n", res.export_id, (unsigned long long)res.request_seq,
		       (unsigned long long)res.tree_size, (unsigned long long)res.produced_seq);
		printf("package SHA-256 %s\n", res.package_sha256);
		if (res.skipped_deleted)
			printf("note: %llu matching record(s) not exported: their content was deleted\n",
			       (unsigned long long)res.skipped_deleted);
	}
	rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
	goto out;
fail:
	rc = cli_fail("export", &err);
out:
	idx_close(ix);
	store_close(st);
	return rc;
}
