/* cmd_reindex.c - `custos reindex -d DIR [--json]`: rebuilds the search
 * index from the segments alone, with progress on a terminal; and
 * cli_verify_index(), the store<->index reconciliation behind
 * `custos verify --index`. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "archiver/store.h"
#include "cli/cli.h"
#include "common/layout.h"
#include "common/timeutil.h"
#include "search/index.h"

static void progress(void *arg, uint64_t done, uint64_t total)
{
	cli_progress((const char *)arg, done, total);
}

int cmd_reindex(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL;
	struct store *st = NULL;
	struct cu_err err;
	uint64_t t0, records;
	double secs;
	int json = 0, c, rc;

	cu_err_clear(&err);
	optind = 1;
	while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'j': json = 1; break;
		case 'h':
			printf("usage: custos reindex [-d DIR] [--json]\n"
			       "Rebuilds the search index (DIR/index) from the segments. The index\n"
			       "must not be in use: stop custos serve first.\n");
			return EXIT_OK;
		default:
			return cli_usage("reindex", "see custos reindex --help");
		}
	}
	if (optind != argc)
		return cli_usage("reindex", "unexpected argument '%s'", argv[optind]);
	dir = cli_datadir(dir);
	if (store_open(dir, NULL, STORE_RDONLY, &st, &err) != 0)
		return cli_fail("reindex", &err);
	t0 = time_mono_ns();
	rc = idx_reindex(dir, st, cli_progress_enabled() ? progress : NULL, (void *)"reindex", &err);
	cli_progress_done();
	records = store_size(st);
	store_close(st);
	if (rc)
		return cli_fail("reindex", &err);
	secs = (double)(time_mono_ns() - t0) / 1e9;
	if (json)
		printf("{\"records\":%llu,\"seconds\":%.3f}\n", (unsigned long long)records, secs);
	else
		printf("indexed %llu records in %.1f s\n", (unsigned long long)records, secs);
	return EXIT_OK;
}

static void print_seqs(const char *what, uint64_t n, const uint64_t *seqs)
{
	uint64_t i;

	if (!n)
		return;
	printf("  %s:", what);
	for (i = 0; i < n && i < IDX_REPORT_LIST; i++)
		printf(" %llu", (unsigned long long)seqs[i]);
	printf("%s\n", n > IDX_REPORT_LIST ? " ..." : "");
}

static json_t *seq_array(uint64_t n, const uint64_t *seqs)
{
	json_t *a = json_array();
	uint64_t i;

	for (i = 0; a && i < n && i < IDX_REPORT_LIST; i++)
		json_array_append_new(a, json_integer((json_int_t)seqs[i]));
	return a;
}

int cli_verify_index(const char *datadir, int json, json_t *into)
{
	struct idx_report rep;
	struct store *st = NULL;
	struct idx *ix = NULL;
	struct cu_err err;
	struct stat sb;
	char path[PATH_MAX];
	const char *integrity;
	int ok, rc = EXIT_FAIL;

	cu_err_clear(&err);
	snprintf(path, sizeof(path), "%s/" LAYOUT_INDEX_DIR "/" LAYOUT_INDEX_DB, datadir);
	if (stat(path, &sb) != 0) {
		cu_err_set(&err, CU_ENOTFOUND, "no search index in %s (custos reindex builds it)", datadir);
		return cli_fail("verify", &err);
	}
	if (store_open(datadir, NULL, STORE_RDONLY, &st, &err) != 0)
		goto out;
	/* a writer connection (without changing anything) so that FTS5's
	 * integrity-check can run; read-only if that is not allowed */
	if (idx_open(datadir, IDX_NOREBUILD, &ix, &err) != 0) {
		cu_err_clear(&err);
		if (idx_open(datadir, IDX_RDONLY, &ix, &err) != 0)
			goto out;
	}
	if (idx_reconcile(ix, st, &rep, cli_progress_enabled() && !json ? progress : NULL,
			  (void *)"verify index", &err) != 0) {
		cli_progress_done();
		goto out;
	}
	cli_progress_done();
	ok = rep.missing == 0 && rep.extra == 0 && rep.mismatched == 0 && rep.fts_ok != 0;
	integrity = rep.fts_ok == 1 ? "ok" : rep.fts_ok == 0 ? "failed" : "not run (read-only)";
	if (json) {
		json_t *o = json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:o, s:I, s:o, s:s}",
				      "ok", ok, "log_records", (json_int_t)rep.store_size,
				      "indexed_below", (json_int_t)rep.hwm,
				      "lag", (json_int_t)(rep.store_size > rep.hwm ? rep.store_size - rep.hwm : 0),
				      "checked", (json_int_t)rep.checked,
				      "missing", (json_int_t)rep.missing,
				      "missing_seqs", seq_array(rep.missing, rep.missing_seq),
				      "extra", (json_int_t)rep.extra,
				      "extra_seqs", seq_array(rep.extra, rep.extra_seq),
				      "mismatched", (json_int_t)rep.mismatched,
				      "mismatched_seqs", seq_array(rep.mismatched, rep.mismatched_seq),
				      "fts_integrity", integrity);

		if (!o) {
			cu_err_set(&err, CU_ENOMEM, "cannot build JSON");
			goto out;
		}
		if (into) { /* one document: verify's, with this as its "index" */
			json_object_set_new(into, "index", o);
		} else {
			json_dumpf(o, stdout, JSON_COMPACT);
			fputc('\n', stdout);
			json_decref(o);
		}
	} else {
		printf("index: %llu records in the log, indexed up to %llu",
		       (unsigned long long)rep.store_size, (unsigned long long)rep.hwm);
		if (rep.store_size > rep.hwm)
			printf(" (%llu not yet indexed)", (unsigned long long)(rep.store_size - rep.hwm));
		printf("\nindex: checked %llu records: %llu missing, %llu extra, %llu mismatched; "
		       "FTS5 integrity %s\n", (unsigned long long)rep.checked,
		       (unsigned long long)rep.missing, (unsigned long long)rep.extra,
		       (unsigned long long)rep.mismatched, integrity);
		print_seqs("missing from the index", rep.missing, rep.missing_seq);
		print_seqs("in the index but not in the log", rep.extra, rep.extra_seq);
		print_seqs("index differs from the record", rep.mismatched, rep.mismatched_seq);
		printf("index: %s\n", ok ? "OK" : "FAILED (custos reindex rebuilds it)");
	}
	rc = ok ? EXIT_OK : EXIT_FAIL;
	fflush(stdout);
	idx_close(ix);
	store_close(st);
	return rc;
out:
	idx_close(ix);
	store_close(st);
	return cli_fail("verify", &err);
}
