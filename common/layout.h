/* layout.h - every path in the data directory, relative to it (or, where
 * said, to its folder), spelled once. docs/FORMAT.md "Data directory"
 * describes each file; a new file goes here and there.
 *
 * Use with string concatenation: snprintf(p, n, "%s/" LAYOUT_HEAD, dir).
 * Names only: no code, no state.
 */
#ifndef CUSTOS_COMMON_LAYOUT_H
#define CUSTOS_COMMON_LAYOUT_H

/* configuration (common/config.h) */
#define LAYOUT_CONFIG "custos.json"

/* the log engine (archiver/) */
#define LAYOUT_KEYS_DIR "keys"
#define LAYOUT_ARCHIVE_KEY "keys/archive.key"   /* Ed25519 signing key */
#define LAYOUT_DATA_KEY "keys/data.key"         /* wrapped data key (encrypted at rest) */
#define LAYOUT_SEGMENTS_DIR "segments"          /* seg-NNNNNNNN.cseg (archiver/segment.h) */
#define LAYOUT_HEAD "head"
#define LAYOUT_LOCK "lock"                      /* flock()ed by the single writer */
#define LAYOUT_TREE_DIR "tree"
#define LAYOUT_TREE_LEVEL_FMT "level-%02u"      /* in tree/: one file per level */
#define LAYOUT_IDMAP_DIR "idmap"                /* run-LO-HI (archiver/idmap_run.h) */

/* the search index (search/) */
#define LAYOUT_INDEX_DIR "index"
#define LAYOUT_INDEX_DB "index.db"              /* in index/, with -wal and -shm */
#define LAYOUT_INDEX_LOCK "lock"                /* in index/ */

/* export and transfer packages (export/, retention/) */
#define LAYOUT_EXPORTS_DIR "exports"
#define LAYOUT_TRANSFERS_DIR "transfers"

/* ingest sources, API tokens, the daemon */
#define LAYOUT_SOURCES "sources.json"
#define LAYOUT_SOURCES_LOCK "sources.lock"
#define LAYOUT_TOKENS "tokens.json"
#define LAYOUT_MATRIX_TXNS "matrix-txns.db"
#define LAYOUT_SERVE_PID "serve.pid"
#define LAYOUT_MATRIX_REGISTRATION "matrix-registration.yaml" /* written by the CLI */

#endif
