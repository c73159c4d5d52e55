/* tokenizer.h - the search tokenizer: splits message text into words,
 * folds case and diacritics, stems German (Snowball via libstemmer) and
 * keeps identifiers whole (docs/SEARCH.md "How text is indexed").
 *
 * One function, tok_run(), turns text into a sequence of tok_word; the
 * FTS5 tokenizer "custos" (registered with tok_register) and the query
 * compiler and snippet builder all use it, so that the index, the query
 * and the highlighting always agree on what a word is.
 *
 * Every word (a maximal run of letters/digits) gets one position and:
 *   exact     the folded, unstemmed form: lower case, ä->ae, ö->oe,
 *             ü->ue, ß->ss, other Latin diacritics removed ("straße" ->
 *             "strasse", "Müller" -> "mueller", "café" -> "cafe");
 *   stem      the German Snowball stem of the word (with ae/oe/ue read as
 *             umlauts first, so "Mueller" and "Müller" share a stem), for
 *             words made of letters only.
 * The index holds the exact forms (and compounds); a table of
 * stem -> exact forms, filled through a tok_sink, lets a query for a word
 * look for every form with the same stem ("Häuser" -> haus, hauses,
 * haeuser ...), while a quoted phrase looks for the exact forms only.
 * Words joined by connector characters (- / . @ : + _ ? = & % # ~ ! $ '),
 * or led by a sigil (@ ! # + $), also form a compound: "12-345/2024",
 * "alice@example.org", "@bob:matrix.org", "+49". The compound's folded
 * text is reported on its first word, so that identifiers are found as
 * typed, while the words inside it stay searchable one by one.
 */
#ifndef CUSTOS_SEARCH_TOKENIZER_H
#define CUSTOS_SEARCH_TOKENIZER_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define TOK_MAX_WORD 64        /* bytes of one folded word; longer words are cut */
#define TOK_MAX_COMPOUND 128   /* bytes of a compound; longer ones keep only their words */
#define TOK_VERSION 2          /* bumped whenever tokens change: the index must be rebuilt */

/* One word of the text, valid only during the callback. */
struct tok_word {
	const char *exact;      /* folded unstemmed form, NUL-terminated */
	size_t exact_len;       /* 1..TOK_MAX_WORD bytes */
	const char *stem;       /* the stem, NUL-terminated; NULL if not stemmable */
	size_t stem_len;        /* bytes of stem; 0 when stem is NULL */
	int stem_differs;       /* 1 if stem differs from exact */
	const char *compound;   /* folded compound text on the compound's first word, else NULL */
	size_t compound_len;    /* bytes of compound; 0 when compound is NULL */
	size_t start, end;      /* byte span of the word in the text */
	size_t cstart, cend;    /* byte span of the whole compound (== start, end if none) */
	unsigned part;          /* 0-based index of the word inside its compound (0 if none) */
	unsigned nparts;        /* words in the compound (1 if none) */
};

/* Called once per word, in text order; a non-zero return stops tok_run
 * and is passed back to its caller. */
typedef int (*tok_word_fn)(void *arg, const struct tok_word *w);

/* Per-thread state: the stemmer and a small cache of stems. Not thread
 * safe; one per thread or SQLite connection. */
struct tok_ctx;

int tok_ctx_new(struct tok_ctx **out, struct cu_err *err) CU_MUST_CHECK;
void tok_ctx_free(struct tok_ctx *tc);

/* Splits text (UTF-8; invalid bytes count as separators) into words and
 * calls fn for each. Returns 0, or the first non-zero value fn returned. */
int tok_run(struct tok_ctx *tc, const char *text, size_t len, tok_word_fn fn, void *arg);

/* Where the FTS5 tokenizer reports the stemmable words of the documents
 * it indexes (so the index can keep its stem table). fn is called from
 * inside SQLite: it must not use the database connection. A word is
 * reported once per generation while the tokenizer still has its stem
 * cached (words repeat: most are not reported again); the owner starts
 * gen at 1 and increments it whenever it may have forgotten words it was
 * told about (a rolled back transaction, deleted stems), so that they are
 * reported again. gen 0 reports every word every time. */
struct tok_pre;
struct tok_doc;

struct tok_sink {
	tok_word_fn fn;
	void *arg;
	uint32_t gen;
	/* Tokens computed ahead (see below) for the next document FTS5
	 * tokenizes: the owner sets pre and doc around an insert; NULL none. */
	const struct tok_pre *pre;
	struct tok_doc *doc;
	/* Tags for the next document: tokens separated by spaces that the
	 * tokenizer adds after the document's words, as they are ("+T": T at
	 * the position of the tag before; the index names a record's
	 * conversation, sender and system kind this way). The owner sets
	 * them around an insert or delete; NULL none. They must be tokens that
	 * folding never makes (the index's start with an upper-case letter),
	 * so no message text can match or forge them. */
	const char *tags;
};

/* Tags every document of the index has after its words (a conversation
 * and a sender): custos_rank leaves them out of a message's length and
 * its matches. */
#define TOK_RANK_TAGS 2

/* ---- tokens computed ahead ----------------------------------------
 * The index tokenizes the bodies of the next records on a second thread
 * while SQLite inserts the current ones (search/pretok.h). tok_pre_run
 * records, for each text, exactly the calls the FTS5 tokenizer would
 * make: xToken's (flags, token, span) and the words it would report to
 * the sink, decided against the sink's generation pre->gen with the
 * tokenizer's stem cache as in document mode. When FTS5 then asks the
 * tokenizer for a document whose bytes are those of sink->doc and the
 * sink's generation is still pre->gen, the calls are replayed instead of
 * tokenizing again; anything else (queries, snippets, another text) is
 * tokenized as usual. A tok_pre's words are marked as reported in the
 * worker's cache: a document left unreplayed means the owner must bump
 * the sink's generation, so that they are reported again. Replayed words
 * reach the sink with their exact form, stem and span only. */

/* One xToken call, and the word reported to the sink after it. */
struct tok_ev {
	uint32_t off;        /* token bytes in tok_pre.bytes (NUL-terminated) */
	uint32_t stem_off;   /* TEV_SINK: the stem's bytes (NUL-terminated) */
	int32_t start, end;  /* byte span passed to xToken */
	uint8_t len;         /* token bytes (<= TOK_MAX_COMPOUND) */
	uint8_t stem_len;    /* TEV_SINK: stem bytes */
	uint8_t flags;       /* TEV_* */
};
#define TEV_COLOCATED 1  /* passed as FTS5_TOKEN_COLOCATED */
#define TEV_SINK 2       /* the token (an exact form) goes to the sink too */

/* One text to tokenize ahead; its events are ev[ev0, ev0 + nev). */
struct tok_doc {
	const char *text;
	size_t len;
	size_t ev0, nev;
	int used;            /* set when FTS5 was given its tokens */
};

struct tok_pre {
	struct tok_doc *docs;
	size_t ndocs, doccap;
	struct tok_ev *ev;
	size_t nev, evcap;
	char *bytes;
	size_t nbytes, bytecap;
	uint32_t gen;        /* the sink generation the marks were made for */
	int failed;          /* out of memory: replay none of it */
	int ready;           /* tok_pre_run went through it */
};

/* Empties pre for texts whose words are reported in generation gen. */
void tok_pre_clear(struct tok_pre *pre, uint32_t gen);
void tok_pre_free(struct tok_pre *pre);
/* Adds a text (it must stay valid until its tokens are replayed).
 * Returns 0 or CU_ENOMEM. */
int tok_pre_text(struct tok_pre *pre, const char *text, size_t len);
/* Tokenizes every text of pre with tc (a context of its own, on the
 * worker thread). On failure sets pre->failed. */
void tok_pre_run(struct tok_ctx *tc, struct tok_pre *pre);

/* Registers the FTS5 tokenizer "custos" and the ranking function
 * custos_rank(fts) on db; sink (may be NULL) must outlive db. In query
 * mode the tokenizer takes its input as already folded tokens separated
 * by single spaces (the query compiler folds the user's words with
 * tok_run), so a query says exactly which forms it looks for. */
int tok_register(sqlite3 *db, const struct tok_sink *sink, struct cu_err *err) CU_MUST_CHECK;

#endif
