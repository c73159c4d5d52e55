/* xmpp.h - XMPP message stanzas -> records, with expat
 * (docs/INTEGRATIONS.md "XMPP").
 *
 * The Prosody module (etc/prosody/mod_custos.lua) POSTs a JSON hook body:
 *
 *   {"v": 1, "host": "example.org",
 *    "items": [{"id": "<unique id>", "direction": "out" | "in" | "muc",
 *               "time": <ms since the epoch>, "stanza": "<message ...>",
 *               "real_from": "<occupant's real JID, MUC only>"}]}
 *
 * Each item becomes one record whose payload is the stanza text exactly
 * as Prosody serialised it. The item id is the record's event id (the
 * duplicate key), so a resent item is archived once. The module makes
 * that id itself (a UUID per hooked stanza, kept in its spool): nothing a
 * client puts into a stanza (its id attribute, origin-id or stanza-id
 * elements) is a key here; those are kept as data (meta, payload).
 *
 * An item that cannot be turned into a message record (not an item, a
 * stanza over the cap, a record over REC_MAX_BYTES) does not fail the
 * request: it is archived as a record of kind "rejected" holding the
 * item's exact bytes (ingest/rejected.h), and the others go on. A body
 * with a valid HMAC that is not a hook document at all is archived whole
 * the same way when it fits in a record, else refused with CU_ETOOBIG
 * (the module then sends its items one by one).
 *
 * What is read from the stanza: from, to, type, id, xml:lang, <body>,
 * <subject>, <thread>, XEP-0359 <stanza-id>/<origin-id>, XEP-0308
 * <replace> (edit), XEP-0424 <retract> and the older fastening form, and
 * XEP-0425 moderation (redaction), XEP-0444 <reactions> (reaction),
 * XEP-0461 <reply>, XEP-0066 <x><url> (attachment), XEP-0203 <delay>,
 * and encryption: OMEMO (eu.siacs.conversations.axolotl, urn:xmpp:omemo:1
 * and :2), OpenPGP for XMPP and legacy jabber:x:encrypted, which set
 * REC_F_ENCRYPTED and leave the body empty (the fallback text is only a
 * notice; it stays in the payload). A stanza that does not parse is still
 * archived, as "other", with the reason in meta.
 */
#ifndef CUSTOS_INGEST_XMPP_H
#define CUSTOS_INGEST_XMPP_H

#include <jansson.h>
#include <stddef.h>

#include "archiver/hash.h"
#include "archiver/store.h"
#include "common/buf.h"
#include "common/error.h"
#include "ingest/rejected.h"

/* The caps take anything Prosody can legally route (docs/INTEGRATIONS.md
 * "Limits"): its stanza size limits are 256 KiB from clients and 512 KiB
 * from servers and components (c2s_ and s2s_stanza_size_limit), counted
 * on the wire; its serialiser escapes ' " < > & as entities, at worst 6
 * bytes for 1 ('"' -> "&quot;"), so a routed stanza is at most 3 MiB as
 * text (and as a JSON string: the entities need no JSON escape; \t, \n,
 * \r and \\ only double). A stanza cap of 4 MiB leaves a MiB for what
 * Prosody adds (stanza-id, delay, addresses). */
#define XMPP_MAX_ITEMS 1000          /* items in one hook request */
#define XMPP_MAX_STANZA (4u << 20)   /* cap on one stanza */
#define XMPP_MAX_BODY (16u << 20)    /* cap on one hook request (server.max_body_bytes' default) */
#define XMPP_MAX_DEPTH 64            /* element nesting accepted in a stanza */

/* What expat found in one stanza. Strings are malloc'd (NULL if absent). */
struct xmpp_stanza {
	char name[16];          /* local name of the top element ("message") */
	int is_message;         /* 1: a <message/> in a stanza namespace */
	char *from, *to, *type, *id, *lang;
	int has_body;
	struct buf body;        /* text of the first <body/> */
	int has_subject;
	struct buf subject;     /* text of <subject/> */
	char *thread;           /* <thread/> text */
	char *origin_id;        /* XEP-0359 origin-id */
	json_t *stanza_ids;     /* XEP-0359 [{"id", "by"}], or NULL */
	char *replace_id;       /* XEP-0308: id of the corrected message */
	char *retract_id;       /* XEP-0424 (both forms): id of the retracted message */
	int moderated;          /* XEP-0425: the retraction is a moderator's */
	char *moderated_by;
	char *reactions_id;     /* XEP-0444: id of the message reacted to */
	struct buf reactions;   /* the reaction emojis, space separated */
	char *reply_id;         /* XEP-0461: id of the message replied to */
	char *reply_to;         /* XEP-0461: its author's JID */
	char *oob_url;          /* XEP-0066 attachment URL */
	char *delay_stamp;      /* XEP-0203 stamp */
	const char *encryption; /* "omemo", "omemo:1", "omemo:2", "openpgp", "pgp", or NULL */
	char *eme_namespace;    /* XEP-0380 declared encryption namespace */
	char error[128];        /* why the stanza did not parse; "" if it did */
};

void xmpp_stanza_release(struct xmpp_stanza *s);
/* Parses one stanza. Always fills s (release it); returns CU_EINVAL when
 * the XML is not a well-formed single element (s->error says why). */
int xmpp_parse_stanza(const char *xml, size_t len, struct xmpp_stanza *s) CU_MUST_CHECK;

/* One hook item turned into a record; strings of in.rec point into it. */
struct xmpp_msg {
	struct store_input in;
	struct xmpp_stanza st;  /* the parsed stanza */
	char *payload;          /* the stanza bytes */
	char *meta, *auth;      /* compact JSON */
	char *event_id, *conversation, *sender, *recipients;
	int rejected;           /* 1: in is a "rejected" record of the item's bytes */
	struct rej_rec rej;
};

struct xmpp_batch {
	struct xmpp_msg *m;     /* items in request order */
	size_t n;
	size_t rejected;          /* how many of them are "rejected" records */
	uint8_t sha256[HASH_LEN]; /* SHA-256 of the whole hook body */
};

/* Parses a hook body from source (body and source must outlive out: the
 * records point into them). mac_hex is the verified HMAC of the body
 * (kept in every record's auth). A stanza that does not parse is not an
 * error (an "other" record), nor is a bad item (a "rejected" record).
 * CU_ETOOBIG for a body over XMPP_MAX_BODY or XMPP_MAX_ITEMS items, or one
 * that is not a hook document and too large for one record; CU_ENOMEM. */
int xmpp_parse_hook(const char *body, size_t len, const char *source, const char *mac_hex,
		    struct xmpp_batch *out, struct cu_err *err) CU_MUST_CHECK;
void xmpp_batch_release(struct xmpp_batch *b);

#endif
