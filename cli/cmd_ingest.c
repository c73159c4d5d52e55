/* cmd_ingest.c - `custos ingest -d DIR [--source NAME] [--batch N]
 * [--check] [--json] FILE|-`: appends JSON Lines of generic envelopes.
 *
 * Input is taken in batches of N lines; each batch is parsed completely
 * before any of it is written and becomes one group commit (one frame, one
 * fsync). A bad line rejects its whole batch and stops the command; earlier
 * batches are durable. Re-running after fixing the line is safe: messages
 * already archived are recognised by (platform, source, id) and skipped.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archiver/envelope.h"
#include "archiver/store.h"
#include "cli/cli.h"
#include "cli/lines.h"

#define DEFAULT_BATCH 4096
#define MAX_BATCH 100000

struct ingest_totals {
	unsigned long long accepted, duplicates, lines;
	unsigned long long first_seq, last_seq; /* of accepted records */
	int any;
};

static int is_blank(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;
	return 1;
}

static int commit_batch(struct store *st, struct env_msg *msgs, struct store_input *in, size_t n,
			struct ingest_totals *t, struct cu_err *err)
{
	size_t i;
	int rc;

	for (i = 0; i < n; i++)
		in[i] = msgs[i].in;
	rc = st ? store_append(st, in, n, err) : 0;
	for (i = 0; i < n; i++) {
		if (st && in[i].duplicate) {
			t->duplicates++;
		} else if (st) {
			if (!t->any)
				t->first_seq = in[i].seq;
			t->any = 1;
			t->last_seq = in[i].seq;
			t->accepted++;
		}
		env_release(&msgs[i]);
	}
	return rc;
}

int cmd_ingest(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"source", required_argument, NULL, 's'},
		{"batch", required_argument, NULL, 'b'},
		{"check", no_argument, NULL, 'c'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *source = "generic", *file, *line;
	struct ingest_totals t = {0};
	struct env_msg *msgs = NULL;
	struct store_input *in = NULL;
	struct store *st = NULL;
	struct line_reader lr = {0};
	struct cu_err err;
	unsigned long batch = DEFAULT_BATCH, nb = 0;
	FILE *f = NULL;
	size_t len;
	char *end;
	int check = 0, json = 0, c, rc = EXIT_FAIL, r;

	cu_err_clear(&err);
	while ((c = getopt_long(argc, argv, "d:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 's': source = optarg; break;
		case 'b':
			batch = strtoul(optarg, &end, 10);
			if (*end || batch == 0 || batch > MAX_BATCH)
				return cli_usage("ingest", "--batch takes 1..%d", MAX_BATCH);
			break;
		case 'c': check = 1; break;
		case 'j': json = 1; break;
		case 'h':
			printf("usage: custos ingest [-d DIR] [--source NAME] [--batch N] [--check] [--json] FILE|-\n"
			       "Appends JSON Lines of generic envelopes (docs/FORMAT.md). --check only\n"
			       "validates. Each batch of N lines (default %d) is validated whole, then\n"
			       "written as one durable group commit.\n", DEFAULT_BATCH);
			return EXIT_OK;
		default: return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc)
		return cli_usage("ingest", "expects exactly one FILE (or - for standard input)");
	file = argv[optind];
	if (!*source || strlen(source) > 128)
		return cli_usage("ingest", "--source must be 1..128 characters");
	f = strcmp(file, "-") ? fopen(file, "rb") : stdin;
	if (!f) {
		perror(file);
		return EXIT_FAIL;
	}
	msgs = calloc(batch, sizeof(*msgs));
	in = calloc(batch, sizeof(*in));
	if (!msgs || !in || lines_init(&lr, f, ENV_MAX_BYTES) != 0) {
		fprintf(stderr, "custos ingest: out of memory\n");
		goto out;
	}
	if (!check && store_open(cli_datadir(dir), NULL, 0, &st, &err) != 0) {
		rc = cli_fail("ingest", &err);
		goto out;
	}
	for (;;) {
		r = lines_next(&lr, &line, &len);
		if (r == -1) {
			fprintf(stderr, "custos ingest: %s: read error\n", file);
			goto fail_batch;
		}
		if (r == -2) {
			fprintf(stderr, "custos ingest: %s: line %llu: longer than %u bytes\n", file,
				lr.lineno, ENV_MAX_BYTES);
			goto fail_batch;
		}
		if (r == 1 && is_blank(line, len))
			continue;
		if (r == 1) {
			t.lines++;
			if (env_parse(line, len, source, NULL, &msgs[nb], &err) != 0) {
				fprintf(stderr, "custos ingest: %s: line %llu: %s\n", file, lr.lineno, err.msg);
				goto fail_batch;
			}
			nb++;
		}
		if (nb == batch || (r == 0 && nb > 0)) {
			if (commit_batch(st, msgs, in, nb, &t, &err) != 0) {
				nb = 0;
				rc = cli_fail("ingest", &err);
				goto summary;
			}
			nb = 0;
			cli_progress("ingest", t.lines, 0);
		}
		if (r == 0)
			break;
	}
	rc = EXIT_OK;
	goto summary;
fail_batch:
	while (nb > 0)
		env_release(&msgs[--nb]);
	if (!check && t.lines > 1)
		fprintf(stderr, "custos ingest: nothing of the rejected batch was written; %llu messages "
			"from earlier batches are archived (re-running skips them as duplicates)\n",
			t.accepted + t.duplicates);
summary:
	cli_progress_done();
	if (json) {
		printf("{\"accepted\": %llu, \"duplicates\": %llu, \"lines\": %llu, \"ok\": %s",
		       t.accepted, t.duplicates, t.lines, rc == EXIT_OK ? "true" : "false");
		if (t.any)
			printf(", \"first_seq\": %llu, \"last_seq\": %llu", t.first_seq, t.last_seq);
		printf("}\n");
	} else if (check) {
		if (rc == EXIT_OK)
			printf("%llu envelopes valid\n", t.lines);
	} else {
		printf("archived %llu messages, %llu duplicates skipped", t.accepted, t.duplicates);
		if (t.any)
			printf(" (seq %llu..%llu)", t.first_seq, t.last_seq);
		printf("\n");
	}
out:
	lines_release(&lr);
	store_close(st);
	free(msgs);
	free(in);
	if (f && f != stdin)
		fclose(f);
	return rc;
}
