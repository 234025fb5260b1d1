// Package fusion combines two or more rankings of the same queries over the
// same candidate pools into one ranking, the way hybrid lexical + dense
// systems are built: reciprocal rank fusion (Cormack, Clarke and Büttcher,
// SIGIR 2009) or weighted score fusion after per-query normalisation.
//
// The output is an ordinary rankings file (eval.Ranking rows), so every
// metric, bias measure, TREC file and significance test applies to it.
//
// How it works:
//
//  1. Every input's rows are keyed by (dataset, setting, qid, c_lang). The
//     inputs must cover the same keys with the same pool sizes and the same
//     relevant candidates; any difference is an error that names the file
//     and the key (fusion over different pools or query sets is meaningless).
//  2. For each key, each input contributes its top list: RRF gives a
//     candidate at rank r the weight w/(k+r); score fusion normalises the
//     list's scores (z-score or min-max, per query) and adds w times the
//     normalised score. A candidate missing from an input's top list gets
//     nothing from it under RRF and the list's lowest normalised score under
//     score fusion, as ranx and pyserini do.
//  3. The union of the top lists is ranked by fused score, ties by candidate
//     id ascending (lair's tie rule); the top `depth` are written.
//  4. Every relevant candidate gets a rank: its position in the fused
//     union when some input retrieved it; otherwise (deeper than every
//     input's top list) an estimate from its exact rank in each input,
//     which rankings record for every relevant candidate: for RRF the rank
//     r* at which a candidate ranked r* by every input would get the same
//     fused score, for score fusion the weighted mean of its input ranks,
//     kept below the union and within the pool. Stats.Unretrieved counts
//     these estimates; rank-based measures of a fused run (rank distance)
//     rest on them for deep candidates, so fuse inputs retrieved deep
//     enough (k) when those measures matter.
//
// Reading artifacts: ReadInputs loads whole rankings artifacts; Scan finds
// the inputs' run ids and common datasets without keeping rows, and
// Loaded.ReadSetting then loads one setting at a time, which is how
// retrieve/fuse keeps its memory to one setting's rankings.
package fusion
