/* cmd_prove.c - `custos prove -d DIR --from M [--to N] [--json]`: the
 * RFC 9162 consistency proof that the archive at size N extends the one at
 * size M, with the signed checkpoint of size N (docs/PROOFS.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "archiver/proof_json.h"
#include "archiver/store.h"
#include "cli/cli.h"

int cmd_prove(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"from", required_argument, NULL, 'f'},
		{"to", required_argument, NULL, 't'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	uint8_t proof[MT_MAX_PROOF][HASH_LEN], r1[HASH_LEN], r2[HASH_LEN];
	uint64_t from = 0, to = 0;
	const char *dir = NULL;
	struct store *st = NULL;
	struct cu_err err;
	json_t *doc = NULL;
	char *note = NULL, *text;
	size_t count;
	int c, rc = EXIT_FAIL;

	cu_err_clear(&err);
	while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'f':
			if (cli_parse_u64(optarg, &from) || !from)
				return cli_usage("prove", "--from needs a positive tree size");
			break;
		case 't':
			if (cli_parse_u64(optarg, &to) || !to)
				return cli_usage("prove", "--to needs a positive tree size");
			break;
		case 'j': break; /* JSON is the only output: the proof is for programs */
		case 'h':
			printf("usage: custos prove [-d DIR] --from OLD_SIZE [--to NEW_SIZE] --json\n");
			return EXIT_OK;
		default: return EXIT_USAGE;
		}
	}
	if (!from || optind != argc)
		return cli_usage("prove", "expects --from OLD_SIZE");
	if (store_open(cli_datadir(dir), NULL, STORE_RDONLY, &st, &err) != 0)
		return cli_fail("prove", &err);
	if (!to)
		to = store_size(st);
	if (from > to) {
		rc = cli_usage("prove", "--from %llu is larger than --to %llu", (unsigned long long)from, (unsigned long long)to);
		goto out;
	}
	if (store_root(st, from, r1, &err) || store_root(st, to, r2, &err) ||
	    store_consistency(st, from, to, proof, &count, &err) ||
	    store_checkpoint(st, to, &note, &err) ||
	    pj_consistency_build(from, r1, to, r2, (const uint8_t (*)[HASH_LEN])proof, count, note,
				 &doc, &err)) {
		rc = cli_fail("prove", &err);
		goto out;
	}
	text = json_dumps(doc, JSON_INDENT(2));
	if (text) {
		printf("%s\n", text);
		free(text);
		rc = EXIT_OK;
	}
out:
	json_decref(doc);
	free(note);
	store_close(st);
	return rc;
}
