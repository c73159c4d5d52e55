/* main.c - `custos <command> [options]`: finds the command and runs it. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define CUSTOS_VERSION "0.1.0"
/* The commit the binary was built from, baked in by the Makefile from
 * `git describe --always --dirty`; a build outside git says so. */
#ifndef CUSTOS_COMMIT
#define CUSTOS_COMMIT "unknown (not built from git)"
#endif

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
};

static const struct command commands[] = {
	{"init", cmd_init, "create a new archive data directory"},
	{"keygen", cmd_keygen, "make a key-encryption key for encryption at rest"},
	{"pubkey", cmd_pubkey, "print the archive's public key (PEM)"},
	{"ingest", cmd_ingest, "append JSON Lines envelopes to the archive"},
	{"show", cmd_show, "show a record, optionally with its inclusion proof"},
	{"prove", cmd_prove, "consistency proof between two tree sizes"},
	{"checkpoint", cmd_checkpoint, "print the current signed checkpoint"},
	{"verify", cmd_verify, "recompute and check everything on disk"},
	{"verify-proof", cmd_verify_proof, "check a proof file offline"},
	{"stats", cmd_stats, "counts and sizes"},
	{"log", cmd_log, "records in seq order as JSON Lines"},
	{"serve", cmd_serve, "run the HTTP API daemon"},
	{"token", cmd_token, "add, list and revoke API bearer tokens"},
	{"search", cmd_search, "full-text search of the archive (docs/SEARCH.md)"},
	{"reindex", cmd_reindex, "rebuild the search index from the segments"},
	{"policy", cmd_policy, "retention policies: add, list, retire"},
	{"class", cmd_class, "label conversations with a class for policies"},
	{"hold", cmd_hold, "legal holds: add, list, show, release"},
	{"retention", cmd_retention, "disposition: plan, approve, execute, certificates"},
	{"erase", cmd_erase, "erasure order for records (needs a second person's approval)"},
	{"export", cmd_export, "court-ready package of records with proofs (docs/EXPORTS.md)"},
	{"verify-export", cmd_verify_export, "check an export package offline"},
	{"export-file", cmd_export_file, "the plain bytes of a package kept in the data directory"},
	{"source", cmd_source, "messenger hook sources and their keys (docs/INTEGRATIONS.md)"},
	{"matrix-registration", cmd_matrix_registration, "write the Matrix AS registration, set its tokens"},
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: custos <command> [options]\n\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-14s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n-d DIR (or CUSTOS_DATA) names the data directory; --json for programs.\n"
		   "Options may come before or after other arguments; -- ends them.\n"
		   "custos --version prints the version and the commit.\n");
}

int main(int argc, char **argv)
{
	size_t i;

	/* SQLite's allocation statistics take a global mutex on every
	 * malloc; nothing here reads them, and ingest and indexing allocate
	 * a lot from several threads. Must precede any other SQLite call. */
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	/* Every command parses with GNU getopt_long, which takes options
	 * anywhere on the line (permutation) unless POSIXLY_CORRECT is set;
	 * then an option after a free-text argument would become text (a
	 * search word). One parsing rule for every command and environment. */
	unsetenv("POSIXLY_CORRECT");
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		if (argc != 2)
			return cli_usage("version", "unexpected argument '%s'", argv[2]);
		printf("custos %s (commit %s)\n", CUSTOS_VERSION, CUSTOS_COMMIT);
		return EXIT_OK;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "custos: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
