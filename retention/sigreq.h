/* sigreq.h - the records of one signed ingest request and its evidence
 * record (api/ingest_sig.c), as retention must see them: the evidence
 * record holds the whole signed body, so the text of every message of the
 * request; it must go when they go (docs/RETENTION.md "Signed requests").
 *
 * Told apart only by what the archive itself wrote after checking the
 * signature, never by what a client chose: every record of a request
 * carries the same RF_AUTH (the verified signature and the body's
 * SHA-256), and the evidence record is the one of kind other whose event
 * id is "body:" and the hex SHA-256 of its own payload (no message of the
 * request can hold the hash of the body it is part of). The request's
 * records are committed together, the evidence record last (h_ingest.c,
 * one commit submission: contiguous in the log).
 *
 * Pure functions of one record; any thread.
 */
#ifndef CUSTOS_RETENTION_SIGREQ_H
#define CUSTOS_RETENTION_SIGREQ_H

#include <stdint.h>

#include "archiver/hash.h"
#include "archiver/record.h"
#include "archiver/store.h"
#include "common/error.h"

struct ret_state;
struct ret_recinfo;

/* 1 if v is a record of a signed request (flag REC_F_SIGNED and an auth):
 * key = SHA-256 of its RF_AUTH, the same for every record of the request
 * and its evidence record. 0 otherwise (key untouched). */
int ret_sigreq_key(const struct rec_view *v, uint8_t key[HASH_LEN]);

/* 1 if v is the evidence record of a signed request (see above). */
int ret_sigreq_is_evidence(const struct rec_view *v);

/* Which request a walk of the log in seq order is in (zeroed to start). */
struct ret_sigreq_cur {
	uint8_t key[HASH_LEN];
	int valid;
};

/* Moves c on by the next live record v: 1 if v is a record of a signed
 * request other than the one before it (the caller starts gathering for a
 * new request), 0 if v belongs to the same request as the record before
 * it, -1 if v is no record of a signed request (which ends any request:
 * its records are contiguous). */
int ret_sigreq_next(struct ret_sigreq_cur *c, const struct rec_view *v);

/* A disposition walks the log in seq order and decides each live record;
 * the evidence record of a request goes with the last record of its
 * request, in the same plan and under that record's policy, and only if
 * every live record of the request goes in that plan (it must neither
 * outlive them nor go before them). An evidence record with no live record
 * of its request before it (they went earlier) falls under the policies by
 * its own fields (platform generic, its source). */
struct ret_sigreq_follow {
	struct ret_sigreq_cur cur;
	int in_req;              /* the record begun is one of the current request */
	int all_in;              /* every live record of the request so far goes */
	int saved;
	const void *policy;      /* of the latest due record of the request that goes */
	int64_t due;
};

/* Call for each live record v of the walk before deciding it. 1: v is the
 * evidence record of the request before it; it goes iff f->all_in, with
 * f->policy and f->due. 0: decide v by its own rules, and call
 * ret_sigreq_went when it goes. */
int ret_sigreq_begin(struct ret_sigreq_follow *f, const struct rec_view *v);
/* The record begun goes, under policy (the caller's), due at due. */
void ret_sigreq_went(struct ret_sigreq_follow *f, const void *policy, int64_t due);

/* The holds covering record v (ri: its fields, ri->seq its seq), as
 * ret_holds_covering says; and since a legal hold on any record of a
 * request holds its evidence record too (it is that record's signed proof
 * and holds its text), for an evidence record the holds covering the
 * first held record of its request, found walking back over the live
 * records of the request (contiguous before it; erased ones passed over;
 * at most RET_SIGREQ_WALK_MAX records looked at). Returns how many (ids
 * in ids, at most max; *held_seq = the held record's seq, ri->seq when v
 * itself is held), 0 if none, or a negative error. Every place that asks
 * whether a record may go (erasure order, plan execution) asks this.
 * Call with the retention lock held (the state). */
#define RET_SIGREQ_WALK_MAX 1000000
int ret_sigreq_holds(struct store *st, const struct ret_state *s, const struct ret_recinfo *ri,
		     const struct rec_view *v, uint64_t *ids, size_t max, uint64_t *held_seq, struct cu_err *err);

#endif
