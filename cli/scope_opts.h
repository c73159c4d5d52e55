/* scope_opts.h - the scope options that `custos hold add` and `custos
 * policy add` share (docs/RETENTION.md "Scopes"): --conversation and
 * --sender take exact ids, --conversation-pattern and --sender-pattern
 * take shell patterns; each may be given up to RET_HOLD_MAX_SCOPE times.
 * Also prints a scope and a record count the same way in both commands.
 * Single-threaded CLI code; the lists point into argv. */
#ifndef CUSTOS_CLI_SCOPE_OPTS_H
#define CUSTOS_CLI_SCOPE_OPTS_H

#include <jansson.h>
#include <stdint.h>

#include "retention/retention.h"

/* getopt_long values of the four options (outside the ASCII letters). */
enum { SCOPE_OPT_CONV = 0x200, SCOPE_OPT_CONV_PAT, SCOPE_OPT_SENDER, SCOPE_OPT_SENDER_PAT };

#define SCOPE_LONG_OPTS                                                                         \
	{"conversation", required_argument, NULL, SCOPE_OPT_CONV},                              \
	{"conversation-pattern", required_argument, NULL, SCOPE_OPT_CONV_PAT},                  \
	{"sender", required_argument, NULL, SCOPE_OPT_SENDER},                                   \
	{"sender-pattern", required_argument, NULL, SCOPE_OPT_SENDER_PAT}

struct scope_opts {
	const char *v[4][RET_HOLD_MAX_SCOPE]; /* by option, in SCOPE_OPT_* order */
	size_t n[4];
};

/* Takes option c (one of SCOPE_OPT_*) with its argument. 1 when c is a
 * scope option and was taken, 0 when c is another option, -1 (a usage
 * message printed for cmd) when a list is full. */
int scope_opts_take(struct scope_opts *so, int c, const char *arg, const char *cmd);
/* The scope the options give (pointing into so). */
void scope_opts_get(const struct scope_opts *so, struct ret_scope *out);
/* Prints a stored or listed scope object's lists (" conversation=X
 * conversation-pattern=P ..."). */
void scope_opts_print(const json_t *scope);
/* A warning on stderr when a hold or policy covers no archived record:
 * always when `always` (a hold covering nothing protects nothing),
 * otherwise only with the likely cause, an exact id holding *, ? or [
 * that was meant as a pattern (a policy may well cover only records to
 * come). Nothing otherwise: stdout stays what scripts read. */
void scope_opts_report(const char *what, const char *name, uint64_t records, const struct ret_scope *sc,
		       int always);

#endif
