/* routes.c - the routing table: method, path pattern, handler and the
 * roles allowed. docs/openapi.json describes exactly these routes (a test
 * compares them with `custos serve --list-routes`). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "api/handlers.h"
#include "ingest/matrix.h"

const struct api_route api_routes[] = {
	/* method  pattern                                   handler          roles                        name           body flags */
	{"GET",    "/healthz",                               h_healthz,       0,                           "healthz",     0, 0},
	{"GET",    "/metrics",                               h_metrics,       ROLE_ADMIN | ROLE_AUDITOR,   "metrics",     0, API_ROUTE_METRICS_PUBLIC},
	{"POST",   "/v1/ingest",                             h_ingest,        ROLE_INGEST,                 "ingest",      1, 0},
	{"GET",    "/v1/search",                             h_search,        ROLE_OFFICER,                "search",      0, 0},
	{"GET",    "/v1/records/{seq}",                      h_record,        ROLE_OFFICER,                "record",      0, 0},
	{"GET",    "/v1/conversations/{id*}/messages",       h_context,       ROLE_OFFICER,                "context",     0, 0},
	{"GET",    "/v1/checkpoint",                         h_checkpoint,    ROLE_AUDITOR | ROLE_OFFICER, "checkpoint",  0, 0},
	{"GET",    "/v1/proof/consistency",                  h_consistency,   ROLE_AUDITOR | ROLE_OFFICER, "consistency", 0, 0},
	{"GET",    "/v1/audit",                              h_audit,         ROLE_AUDITOR,                "audit",       0, 0},
	{"POST",   "/v1/verify",                             h_verify_start,  ROLE_AUDITOR,                "verify",      1, 0},
	{"GET",    "/v1/verify/{job}",                       h_verify_status, ROLE_AUDITOR,                "verify_job",  0, 0},
	{"POST",   "/v1/exports",                            h_exports_start, ROLE_OFFICER,                "export_start", 1, 0},
	{"GET",    "/v1/exports/{job}",                      h_exports_status, ROLE_OFFICER,               "export_job",  0, 0},
	{"GET",    "/v1/exports/{job}/file",                 h_exports_file,  ROLE_OFFICER,                "export_file", 0, 0},
	{"GET",    "/v1/tokens",                             h_tokens_list,   ROLE_ADMIN,                  "tokens",      0, 0},
	{"POST",   "/v1/tokens",                             h_tokens_add,    ROLE_ADMIN,                  "token_add",   1, 0},
	{"DELETE", "/v1/tokens/{name}",                      h_tokens_revoke, ROLE_ADMIN,                  "token_revoke", 0, 0},
	/* retention and holds (api/handlers.h, docs/RETENTION.md) */
	{"GET",    "/v1/holds",                              h_holds_list,    ROLE_OFFICER,                "holds",       0, 0},
	{"POST",   "/v1/holds",                              h_holds_add,     ROLE_OFFICER,                "hold_add",    1, 0},
	{"GET",    "/v1/holds/{id}",                         h_hold_get,      ROLE_OFFICER,                "hold",        0, 0},
	{"POST",   "/v1/holds/{id}/release",                 h_hold_release,  ROLE_OFFICER,                "hold_release", 1, 0},
	{"GET",    "/v1/policies",                           h_policies_list, ROLE_ADMIN,                  "policies",    0, 0},
	{"POST",   "/v1/policies",                           h_policies_add,  ROLE_ADMIN,                  "policy_add",  1, 0},
	{"POST",   "/v1/policies/{name}/retire",             h_policy_retire, ROLE_ADMIN,                  "policy_retire", 0, 0},
	{"GET",    "/v1/classes",                            h_classes_list,  ROLE_ADMIN,                  "classes",     0, 0},
	{"PUT",    "/v1/classes",                            h_classes_set,   ROLE_ADMIN,                  "class_set",   1, 0},
	{"GET",    "/v1/dispositions",                       h_dispositions_list, ROLE_OFFICER,            "plans",       0, 0},
	{"POST",   "/v1/dispositions",                       h_dispositions_plan, ROLE_OFFICER,            "plan",        1, 0},
	{"POST",   "/v1/dispositions/{id}/approve",          h_plan_approve,  ROLE_OFFICER,                "plan_approve", 0, 0},
	{"POST",   "/v1/dispositions/{id}/reject",           h_plan_reject,   ROLE_OFFICER,                "plan_reject", 1, 0},
	{"POST",   "/v1/dispositions/{id}/execute",          h_plan_execute,  ROLE_OFFICER,                "plan_execute", 0, 0},
	{"POST",   "/v1/erasures",                           h_erasures_add,  ROLE_OFFICER,                "erasure",     1, 0},
	{"GET",    "/v1/certificates",                       h_certificates_list, ROLE_AUDITOR | ROLE_OFFICER, "certificates", 0, 0},
	{"GET",    "/v1/certificates/{id}",                  h_certificate_get, ROLE_AUDITOR | ROLE_OFFICER, "certificate", 0, 0},
	{"GET",    "/v1/offers",                             h_offers_list,   ROLE_OFFICER,                "offers",      0, 0},
	{"POST",   "/v1/offers/{id}/answer",                 h_offer_answer,  ROLE_OFFICER,                "offer_answer", 1, 0},
	/* messenger hooks (api/handlers.h): each authenticates its caller itself */
	{"PUT",    "/_matrix/app/v1/transactions/{txn}",     h_matrix_txn,    0,                           "matrix_txn",  1, API_ROUTE_HOOK_LARGE_BODY},
	{"PUT",    "/transactions/{txn}",                    h_matrix_txn,    0,                           "matrix_txn_legacy", 1, API_ROUTE_HOOK_LARGE_BODY},
	{"POST",   "/_matrix/app/v1/ping",                   h_matrix_ping,   0,                           "matrix_ping", 0, 0},
	{"GET",    "/users/{user}",                          h_matrix_get,    0,                           "matrix_user_legacy", 0, 0},
	{"GET",    "/rooms/{alias}",                         h_matrix_get,    0,                           "matrix_room_legacy", 0, 0},
	{"GET",    "/_matrix/{path*}",                       h_matrix_get,    0,                           "matrix_get",  0, 0},
	{"PUT",    "/_matrix/{path*}",                       h_matrix_other,  0,                           "matrix_other_put", 0, 0},
	{"POST",   "/_matrix/{path*}",                       h_matrix_other,  0,                           "matrix_other_post", 0, 0},
	{"DELETE", "/_matrix/{path*}",                       h_matrix_other,  0,                           "matrix_other_delete", 0, 0},
	{"POST",   "/v1/hooks/xmpp/{source}",                h_xmpp_hook,     0,                           "xmpp_hook",   1, 0},
	{"POST",   "/v1/hooks/threema/{source}",             h_threema_hook,  0,                           "threema_hook", 1, 0},
	/* Any other method on the Matrix paths: M_UNRECOGNIZED (404, or 405
	 * on a known path) in Matrix form, as the AS API says. Method "*"
	 * matches every method; these come last, so a route naming the
	 * method wins. Not listed by --list-routes (no OpenAPI operation). */
	{"*",      "/_matrix",                               h_matrix_other,  0,                           "matrix_other_root", 0, 0},
	{"*",      "/_matrix/",                              h_matrix_other,  0,                           "matrix_other_root_slash", 0, 0},
	{"*",      "/_matrix/{path*}",                       h_matrix_other,  0,                           "matrix_other_any", 0, 0},
	{"*",      "/transactions/{txn}",                    h_matrix_other,  0,                           "matrix_txn_legacy_other", 0, 0},
	{"*",      "/users/{user}",                          h_matrix_other,  0,                           "matrix_user_legacy_other", 0, 0},
	{"*",      "/rooms/{alias}",                         h_matrix_other,  0,                           "matrix_room_legacy_other", 0, 0},
};
const size_t api_nroutes = sizeof(api_routes) / sizeof(api_routes[0]);

_Static_assert(sizeof(api_routes) / sizeof(api_routes[0]) <= API_MAX_ROUTES,
	       "raise API_MAX_ROUTES");

/* A Matrix transaction takes what a homeserver can legally send
 * (MX_MAX_BODY), whatever server.max_body_bytes says: a refusal would be
 * resent for ever, holding back every later event. Only for a caller with
 * a registered hs_token: anyone else keeps the ordinary cap, so that
 * nobody can make the server hold 64 MiB per connection before the
 * handler refuses them. */
size_t api_route_large_body(struct api_req *r)
{
	if (r->lim.max_body_bytes < MX_MAX_BODY && h_matrix_caller_known(r))
		return MX_MAX_BODY;
	return 0;
}

/* Matches path against pattern; on success stores the captures. */
static int match_pattern(const char *pattern, const char *path, char *caps[API_MAX_PARAMS])
{
	const char *p = pattern, *s = path;
	int ncap = 0;

	while (*p) {
		if (*p == '{') {
			const char *close = strchr(p, '}');
			int greedy = close && close > p && close[-1] == '*';
			const char *rest = close ? close + 1 : p + strlen(p);
			const char *end;

			if (!close || ncap >= API_MAX_PARAMS)
				goto fail;
			if (greedy) {
				/* The rest of the pattern is literal: it must be the
				 * path's suffix, and the capture is what is between. */
				size_t rl = strlen(rest), sl = strlen(s);

				if (strchr(rest, '{') || sl <= rl || strcmp(s + sl - rl, rest))
					goto fail;
				end = s + sl - rl;
			} else {
				end = s + strcspn(s, "/");
			}
			if (end == s)
				goto fail;
			caps[ncap] = strndup(s, (size_t)(end - s));
			if (!caps[ncap])
				goto fail;
			ncap++;
			s = end;
			p = rest;
			continue;
		}
		if (*p != *s)
			goto fail;
		p++;
		s++;
	}
	if (*s)
		goto fail;
	return 1;
fail:
	while (ncap > 0)
		free(caps[--ncap]), caps[ncap] = NULL;
	return 0;
}

int api_route_match(const char *method, const char *path, struct api_match *m)
{
	char *caps[API_MAX_PARAMS] = {0};
	size_t i, alen = 0;
	int path_hit = 0, k;

	memset(m, 0, sizeof(*m));
	for (i = 0; i < api_nroutes; i++) {
		if (!match_pattern(api_routes[i].pattern, path, caps))
			continue;
		if (!strcmp(api_routes[i].method, method) || !strcmp(api_routes[i].method, "*")) {
			m->route = &api_routes[i];
			for (k = 0; k < API_MAX_PARAMS; k++)
				m->params[k] = caps[k];
			return 0;
		}
		for (k = 0; k < API_MAX_PARAMS; k++)
			free(caps[k]), caps[k] = NULL;
		path_hit = 1;
		alen += (size_t)snprintf(m->allow + alen, alen < sizeof(m->allow) ? sizeof(m->allow) - alen : 0,
					 "%s%s", alen ? ", " : "", api_routes[i].method);
		if (alen >= sizeof(m->allow))
			alen = sizeof(m->allow) - 1;
	}
	return path_hit ? CU_ESTATE : CU_ENOTFOUND;
}

void api_match_release(struct api_match *m)
{
	int k;

	for (k = 0; k < API_MAX_PARAMS; k++) {
		free(m->params[k]);
		m->params[k] = NULL;
	}
}

void api_routes_print(FILE *f)
{
	size_t i;
	unsigned bit;

	for (i = 0; i < api_nroutes; i++) {
		const struct api_route *rt = &api_routes[i];
		int first = 1;

		const char *c;

		if (!strcmp(rt->method, "*"))
			continue; /* fallbacks, not operations */
		/* OpenAPI spelling: {id*} is printed as {id} */
		fprintf(f, "%s ", rt->method);
		for (c = rt->pattern; *c; c++)
			if (!(*c == '*' && c[1] == '}'))
				fputc(*c, f);
		fputc(' ', f);
		if (!rt->roles)
			fputs("public", f);
		for (bit = 1; bit <= ROLE_ADMIN; bit <<= 1)
			if (rt->roles & bit) {
				fprintf(f, "%s%s", first ? "" : ",", tok_role_name(bit));
				first = 0;
			}
		fputc('\n', f);
	}
}
