// Package beir reads and writes retrieval datasets in the BEIR layout, the
// format most of the ecosystem (BEIR, mteb, pyserini's BEIR indexes) reads:
//
//	corpus.jsonl       {"_id": ..., "title": ..., "text": ..., [lang field]}
//	queries.jsonl      {"_id": ..., "text": ..., [lang field]}
//	qrels/<split>.tsv  query-id<TAB>corpus-id<TAB>score, with a header line
//
// (each .jsonl may also be .jsonl.gz). Read turns such a folder into
// lair's tables (datasets.Dataset): a passage becomes a candidate with its
// text as text and its title as context, as MIRACL's do; only the queries
// judged in the split are kept, as BEIR's loader does. Languages come from
// a field of each record (Options.LangField) or one code for the whole
// folder (Options.Lang); every row must get one. Write does the reverse
// (lair's tables -> BEIR folder, languages written in a "lang" field), so
// lair's datasets can be evaluated by other tools.
//
// Errors name the file and line: malformed JSON, a record without _id, a
// qrels line with too few fields, a non-integer score, a qrels line naming
// a query or passage that the folder does not have.
package beir
