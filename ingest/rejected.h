/* rejected.h - records of kind "rejected" (docs/FORMAT.md "Rejected
 * records"): bytes that a hook authenticated as coming from its messenger
 * server but that custos cannot archive as a message (a Prosody module
 * item that is not an item, a Matrix event larger than any legal event, a
 * transaction body that is not JSON, a Threema callback with a valid MAC
 * but a malformed field). Refusing them would make the server resend them
 * for ever and hold back everything behind them; dropping them would lose
 * what was said. So they are archived as received, with the reason.
 *
 * Unauthenticated bytes are never archived this way: a request whose
 * signature, MAC or token does not check out is refused (401/403), so
 * nobody can write into the archive through this path.
 *
 * The payload is the bytes as received, up to REJ_MAX_PAYLOAD (more than
 * anything a messenger can legally send, docs/INTEGRATIONS.md "Limits");
 * beyond that the first REJ_MAX_PAYLOAD bytes are kept and meta says
 * "truncated", with the length and SHA-256 of the whole. The event id is
 * "rejected:<SHA-256 of all the bytes>", so a resend is archived once.
 */
#ifndef CUSTOS_INGEST_REJECTED_H
#define CUSTOS_INGEST_REJECTED_H

#include <stddef.h>

#include "archiver/store.h"
#include "common/error.h"

/* Room left in a record for meta, auth and the short fields. */
#define REJ_MAX_PAYLOAD (REC_MAX_BYTES - (256u << 10))

/* The strings a rejected record owns. */
struct rej_rec {
	char *meta, *event_id;
};

/* Fills in as a rejected record of platform/source. raw[0..len) is the
 * payload and auth (JSON text, or NULL) its authentication: both are
 * pointed at, not copied, so they must outlive the commit. what names the
 * thing ("xmpp item", "matrix event" ...), reason why it was set aside.
 * flags: REC_F_SIGNED when the hook verified a MAC over the bytes.
 * 0, or CU_ENOMEM. Release r with rej_release. */
int rej_fill(struct store_input *in, struct rej_rec *r, const char *platform, const char *source,
	     const char *payload_type, const char *raw, size_t len, const char *what, const char *reason,
	     const char *auth, unsigned flags) CU_MUST_CHECK;
void rej_release(struct rej_rec *r);

#endif
