/* record.h - the archive record: canonical metadata, search text, the
 * original payload exactly as the source sent it, the source's
 * authentication and a random salt (docs/FORMAT.md "Record").
 *
 * A record is encoded once, when it is appended, into "record bytes"; the
 * leaf hash is SHA-256(0x00 || record bytes). struct rec_view is a decoded
 * view whose string fields point into the record bytes (no copies), so the
 * bytes must outlive the view. A field that points into the payload when
 * encoded is stored as a reference to those bytes (docs/FORMAT.md).
 */
#ifndef CUSTOS_ARCHIVER_RECORD_H
#define CUSTOS_ARCHIVER_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "archiver/hash.h"
#include "common/buf.h"
#include "common/error.h"

#define REC_VERSION 1
#define REC_SALT_LEN 32
#define REC_HEADER_LEN 60       /* fixed part before the fields */
/* Cap on one encoded record. It must hold anything a messenger can legally
 * send (docs/INTEGRATIONS.md "Limits"): the largest is an XMPP stanza at
 * Prosody's s2s limit of 512 KiB whose every byte Prosody's serialiser
 * escapes 6x ('"' -> "&quot;"): a 3 MiB payload, plus the same text
 * unescaped as body and the metadata. 8 MiB leaves twice the margin; a
 * segment frame (SEG_FRAME_MAX_RAW, 32 MiB) takes a full batch plus one. */
#define REC_MAX_BYTES (8u << 20)
#define REC_TAG_REF 0x40u        /* tag bit: the field is a slice of the payload */

/* What a record is. Values are on disk: never renumber. */
enum rec_kind {
	REC_MESSAGE = 1,      /* a chat message */
	REC_EDIT = 2,         /* a correction/replacement of an earlier message */
	REC_REDACTION = 3,    /* a deletion/retraction by the sender or a moderator */
	REC_REACTION = 4,     /* an emoji reaction */
	REC_MEMBERSHIP = 5,   /* join/leave/invite/kick/ban */
	REC_STATE = 6,        /* room name, topic and other state */
	REC_ATTACHMENT = 7,   /* attachment metadata */
	REC_REJECTED = 8,     /* bytes an authenticated hook sent that could not be
			       * archived as a message (ingest/rejected.h) */
	REC_AUDIT = 16,       /* a person's request to the archive */
	REC_HOLD = 17,        /* legal hold placed or released */
	REC_POLICY = 18,      /* retention policy change */
	REC_PLAN = 19,        /* disposition plan */
	REC_APPROVAL = 20,    /* approval of a plan or erasure */
	REC_DELETION = 21,    /* signed deletion certificate */
	REC_EXPORT = 22,      /* an export was produced */
	REC_CHECKPOINT = 23,  /* a checkpoint was issued */
	REC_ADMIN = 24,       /* token and configuration changes */
	REC_OTHER = 63,       /* anything else a source sends */
};

/* Sets of kinds as bit masks: bit k stands for kind k (every kind is
 * below 64). */
#define REC_KIND_BIT(k) (UINT64_C(1) << (k))
#define REC_KINDS_ALL UINT64_MAX
/* The archive's own records (kinds 16..31: audit, holds, policies, plans,
 * approvals, certificates, exports, checkpoints, admin changes), as
 * opposed to what the messengers sent (every other kind, REC_OTHER and
 * REC_REJECTED included). This is the one definition: retention, search,
 * visibility and export all decide "the archive's own" with it, never with
 * a comparison of their own (a `kind >= REC_AUDIT` once made kind 63 an
 * archive record nothing could dispose of or erase). */
#define REC_KIND_ARCHIVE_MIN 16
#define REC_KIND_ARCHIVE_MAX 31
#define REC_KINDS_ARCHIVE (REC_KIND_BIT(REC_KIND_ARCHIVE_MAX + 1) - REC_KIND_BIT(REC_KIND_ARCHIVE_MIN))

/* 1 if kind is one of the archive's own (REC_KINDS_ARCHIVE). */
static inline int rec_kind_is_archive(unsigned kind)
{
	return kind < 64 && (REC_KINDS_ARCHIVE & REC_KIND_BIT(kind)) != 0;
}

/* Flags (bit set) in a record. */
#define REC_F_ENCRYPTED 0x0001u  /* payload is end-to-end encrypted: no readable body */
#define REC_F_SIGNED    0x0002u  /* auth holds a verified source signature/MAC */
#define REC_F_DUP_KEYS  0x0004u  /* the source's JSON had a member twice in one
				  * object: the payload keeps both, the fields
				  * show the last (rec_json_load) */

/* Field tags of the TLV part, in the order they are encoded. On disk. */
enum rec_field {
	RF_PLATFORM = 1,     /* "matrix", "xmpp", "threema", "generic", "custos" */
	RF_SOURCE = 2,       /* which hook/server sent it (the ingest source name) */
	RF_CONVERSATION = 3, /* room id, MUC JID, Threema chat, ... */
	RF_SENDER = 4,
	RF_RECIPIENTS = 5,   /* JSON array of strings, compact */
	RF_EVENT_ID = 6,     /* the platform's event/message id */
	RF_REPLY_TO = 7,
	RF_THREAD = 8,
	RF_TARGET = 9,       /* edit/redaction/reaction target event id */
	RF_BODY = 10,        /* plain text used for search */
	RF_PAYLOAD_TYPE = 11,/* media type of payload: application/json, application/xml ... */
	RF_PAYLOAD = 12,     /* the original bytes exactly as received */
	RF_AUTH = 13,        /* JSON: how the source authenticated the payload */
	RF_META = 14,        /* JSON object: further canonical metadata */
	RF_MAX_ = 15
};

/* A borrowed byte string (not NUL-terminated). len == 0 means absent. */
struct rec_str {
	const char *ptr;
	size_t len;
};

/* A record's content. For encoding, the caller fills it in (seq and salt are
 * set by the store at append time); for decoding, rec_decode fills it in
 * with pointers into the record bytes. */
struct rec_view {
	uint64_t seq;                   /* global sequence number, dense from 0 */
	uint8_t kind;                   /* enum rec_kind */
	uint16_t flags;                 /* REC_F_* */
	int64_t origin_ts;              /* ms since epoch, the source's timestamp */
	int64_t received_ts;            /* ms since epoch, when custos received it */
	uint8_t salt[REC_SALT_LEN];     /* random, makes the leaf hash unguessable */
	struct rec_str f[RF_MAX_];      /* fields by enum rec_field; f[0] unused */
};

/* Appends the record bytes of v to out. CU_ETOOBIG over REC_MAX_BYTES. */
int rec_encode(const struct rec_view *v, struct buf *out) CU_MUST_CHECK;
/* The size rec_encode would produce for v (fields that point into the
 * payload counted as references), to refuse an oversized record before
 * it reaches a commit. */
size_t rec_encoded_size(const struct rec_view *v);
/* Decodes record bytes; CU_ECORRUPT with a message naming what is wrong. */
int rec_decode(const uint8_t *p, size_t len, struct rec_view *v, struct cu_err *err) CU_MUST_CHECK;

/* Convenience: set a field from a NUL-terminated string (NULL = absent). */
void rec_set(struct rec_view *v, enum rec_field f, const char *s);
const char *rec_kind_name(unsigned kind);
/* Returns the kind for a name ("message", "edit" ...) or 0 if unknown. */
unsigned rec_kind_from_name(const char *name);
const char *rec_field_name(unsigned field);

#endif
