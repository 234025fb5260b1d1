// Package lareqa reads the LAReQA retrieval datasets XQuAD-R and MLQA-R.
//
// Each language file is SQuAD 1.1 JSON in which every paragraph also carries
// "sentences" and "sentence_breaks" ([start, end) code-point offsets into the
// context). Build turns the files into lair's tables in three steps:
//
//  1. every sentence becomes a candidate (cid "<dataset>/<lang>/<n>", n counting
//     sentences of that language file from 0; its paragraph is the context;
//     the sentence text is taken from "sentences", which is authoritative);
//  2. every question becomes a query (qid "<dataset>/<lang>/<question id>",
//     group_id the question id, which is shared by its translations);
//  3. a question's answer sentence is the one whose break contains
//     answer_start; every query of a group is relevant to the answer sentence
//     of that group in every selected language.
//
// No sentence is deduplicated: identical sentences in different paragraphs
// stay separate candidates, which gives exactly the published counts
// (XQuAD-R 13,014 candidates, MLQA-R 20,534). Answers whose text runs past
// their sentence's end are counted (stats.parquet, answers_crossing_break)
// and logged; they still count as answered by the sentence holding their start.
package lareqa
