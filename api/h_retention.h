/* h_retention.h - the retention endpoints (docs/API.md "Retention and
 * holds") over retention/ret.h, and the daemon's retention scheduler:
 *   holds (officer), policies and classes (admin), dispositions, erasure
 *   orders and transfer offers (officer), certificates (auditor, officer).
 * The scheduler runs ret_run_automatic shortly after start and then every
 * retention.interval_seconds of the configuration file. */
#ifndef CUSTOS_API_H_RETENTION_H
#define CUSTOS_API_H_RETENTION_H

#include "common/error.h"

struct api_req;
struct api_server;

int h_holds_list(struct api_req *r);
int h_holds_add(struct api_req *r);
int h_hold_get(struct api_req *r);
int h_hold_release(struct api_req *r);
int h_policies_list(struct api_req *r);
int h_policies_add(struct api_req *r);
int h_policy_retire(struct api_req *r);
int h_classes_set(struct api_req *r);
int h_classes_list(struct api_req *r);
int h_dispositions_plan(struct api_req *r);
int h_dispositions_list(struct api_req *r);
int h_plan_approve(struct api_req *r);
int h_plan_reject(struct api_req *r);
int h_plan_execute(struct api_req *r);
int h_certificates_list(struct api_req *r);
int h_certificate_get(struct api_req *r);
int h_erasures_add(struct api_req *r);
int h_offers_list(struct api_req *r);
int h_offer_answer(struct api_req *r);

/* Reads the "retention" object of the configuration file and starts the
 * scheduler thread. A bad "retention" object is an error (a typo must not
 * silently keep the default); a failing run later is only logged. */
int api_retention_start(struct api_server *srv, struct cu_err *err) CU_MUST_CHECK;
/* Stops the scheduler (waits for a run under way) and closes the index
 * handle the retention endpoints share: call before the store is closed.
 * Safe when api_retention_start was never called or failed. */
void api_retention_stop(void);

#endif
