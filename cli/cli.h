/* cli.h - the custos command: git-style dispatch to cmd_*.c, and the few
 * helpers every command shares. Exit codes: 0 success, 1 failure, 2 usage. */
#ifndef CUSTOS_CLI_CLI_H
#define CUSTOS_CLI_CLI_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "common/error.h"

#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define EXIT_DERIVED 3 /* verify: the log is intact, a derived file was damaged */

/* Every command: argv[0] is the command name. Returns the exit code. */
int cmd_init(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_pubkey(int argc, char **argv);
int cmd_export_file(int argc, char **argv);
int cmd_ingest(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_prove(int argc, char **argv);
int cmd_checkpoint(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_verify_proof(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_token(int argc, char **argv);
int cmd_search(int argc, char **argv);
int cmd_reindex(int argc, char **argv);
int cmd_policy(int argc, char **argv);
int cmd_class(int argc, char **argv);
int cmd_hold(int argc, char **argv);
int cmd_retention(int argc, char **argv);
int cmd_erase(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_verify_export(int argc, char **argv);
int cmd_source(int argc, char **argv);
int cmd_matrix_registration(int argc, char **argv);
/* verify --index (cmd_reindex.c): exit code. With json and into, the
 * report becomes into's "index" member instead of being printed. */
int cli_verify_index(const char *datadir, int json, json_t *into);

/* The data directory: the -d value, else $CUSTOS_DATA, else "./data". */
const char *cli_datadir(const char *opt);
/* Prints "custos <cmd>: <message>" to stderr and returns EXIT_FAIL, or
 * EXIT_USAGE for CU_EINVAL-coded usage problems when usage is set. */
int cli_fail(const char *cmd, const struct cu_err *err);
/* Parses a decimal record number or size (no sign); 0 or -1. */
int cli_parse_u64(const char *s, uint64_t *out);
/* Prints a JSON value indented, ASCII-only, with a newline. */
void cli_print_json(const json_t *j);
/* Prints a formatted usage error and returns EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* 1 when stderr is a terminal, so long work can show progress there. */
int cli_progress_enabled(void);
/* Draws "what: done/total (pct%)" on stderr, at most ~10 times a second. */
void cli_progress(const char *what, unsigned long long done, unsigned long long total);
void cli_progress_done(void);

/* Prints an erasure order's derived records (with why and from which)
 * and the related records it keeps, one a line, for the approver. */
void cli_print_derived(const json_t *order);

#endif
