// Package bm25 is lair's lexical baseline: Okapi BM25 with a
// Unicode-aware analyzer, as a Scorer for package search, so that BM25
// runs produce the same rankings (and every metric applies) as dense
// retrieval.
//
// score(q, d) = sum over unique query terms t of
//
//	idf(t) * tf(t,d) * (k1+1) / (tf(t,d) + k1*(1 - b + b*|d|/avgdl))
//	idf(t) = ln(1 + (N - df(t) + 0.5)/(df(t) + 0.5))       (Lucene / Anserini)
//
// In the mono and cross settings the statistics (N, df, avgdl) are those
// of the pool's language; in the multi setting those of the pooled
// candidates of all languages. Since BM25 only matches shared terms, a
// query almost never scores a candidate of another script, which is why
// BM25 shows a strong language bias in the multi setting.
//
// Shards. A collection too large for one index is indexed shard by shard
// with global statistics: every shard counts its documents, total length
// and per-term document frequencies (CollectStats); the counts are summed
// over shards (Stats.Add: integer sums, exact whatever the cut); each
// shard's index then takes N, df and avgdl = tokens/N from the sum
// (BuildTermsStats, NewShardScorer). idf and avgdl are computed from the
// same integers, in the same order, as for the whole collection, so every
// shard scores its documents bit for bit as one index over the whole
// collection would, and the per-shard top lists merge into the unsharded
// list (search.TopK, search.MergeTop), ties included.
package bm25
