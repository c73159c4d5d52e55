/* h_exports.h - the export endpoints (docs/EXPORTS.md "Jobs", docs/API.md):
 *   POST /v1/exports              start an export job (officer), 202
 *   GET  /v1/exports/{job}        its state and progress
 *   GET  /v1/exports/{job}/file   the finished package
 * The jobs themselves are export/job.h; these handlers parse, reply and
 * audit. */
#ifndef CUSTOS_API_H_EXPORTS_H
#define CUSTOS_API_H_EXPORTS_H

struct api_req;

int h_exports_start(struct api_req *r);
int h_exports_status(struct api_req *r);
int h_exports_file(struct api_req *r);
/* Makes the job set at start, which starts the sweeper of expired
 * packages (exports.package_ttl_seconds): call once the store is open. */
struct api_server;
struct cu_err;
int api_exports_start(struct api_server *srv, struct cu_err *err);
/* Cancels running exports and waits for them: call before the store is
 * closed at shutdown. Safe to call when no export ever ran. */
void api_exports_stop(void);

#endif
