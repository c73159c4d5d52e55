/* scope_opts.c - the shared scope options of `custos hold` and `custos
 * policy` (cli/scope_opts.h). */
#include "cli/scope_opts.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const char *const OPT_NAMES[4] = {"conversation", "conversation-pattern", "sender", "sender-pattern"};
static const char *const JSON_KEYS[4] = {"conversations", "conversation_patterns", "senders", "sender_patterns"};

int scope_opts_take(struct scope_opts *so, int c, const char *arg, const char *cmd)
{
	int k = c - SCOPE_OPT_CONV;

	if (k < 0 || k > 3)
		return 0;
	if (so->n[k] == RET_HOLD_MAX_SCOPE) {
		cli_usage(cmd, "at most %d --%s", RET_HOLD_MAX_SCOPE, OPT_NAMES[k]);
		return -1;
	}
	so->v[k][so->n[k]++] = arg;
	return 1;
}

void scope_opts_get(const struct scope_opts *so, struct ret_scope *out)
{
	out->conversations = so->v[0];
	out->nconversations = so->n[0];
	out->conversation_patterns = so->v[1];
	out->nconversation_patterns = so->n[1];
	out->senders = so->v[2];
	out->nsenders = so->n[2];
	out->sender_patterns = so->v[3];
	out->nsender_patterns = so->n[3];
}

void scope_opts_print(const json_t *scope)
{
	const json_t *v;
	size_t i;
	int k;

	for (k = 0; k < 4; k++) {
		v = json_object_get(scope, JSON_KEYS[k]);
		for (i = 0; i < json_array_size(v); i++)
			printf(" %s=%s", OPT_NAMES[k], json_string_value(json_array_get(v, i)));
	}
}

/* 1 when an exact id holds a character a shell pattern would treat specially. */
static int looks_like_pattern(const char *const *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strpbrk(v[i], "*?["))
			return 1;
	return 0;
}

void scope_opts_report(const char *what, const char *name, uint64_t records, const struct ret_scope *sc,
		       int always)
{
	int pat = looks_like_pattern(sc->conversations, sc->nconversations) ||
		  looks_like_pattern(sc->senders, sc->nsenders);

	if (records || (!always && !pat))
		return;
	fprintf(stderr, "warning: %s %s covers no archived record%s\n", what, name,
		pat ? "; --conversation and --sender take exact ids, compared byte for byte:"
		      " for a pattern use --conversation-pattern or --sender-pattern"
		    : "");
}
