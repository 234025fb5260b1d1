// Package bias computes per-query language-bias measures of a ranking
// over a multilingual pool, beyond lair's rank distance:
//
//   - PEER, the Probability of Equal Expected Rank (Yang, Jänich, Mayfield
//     and Lawrie, SIGIR 2024, arXiv 2405.00978): for each relevance grade,
//     a Kruskal-Wallis test of whether the ranks (within the top k) of the
//     documents of that grade differ by language; PEER is the weighted sum
//     of the tests' p-values (1 = no evidence of unequal treatment,
//     near 0 = documents of one language are ranked systematically
//     higher). As in the authors' reference implementation
//     (hltcoe/peer_measure): the test statistic is H = (N-1)·SSG/SSA over
//     the ranks, its p-value the chi-square tail with groups-1 degrees of
//     freedom; documents not in the qrels count as grade 0; relevant
//     documents outside the top k are "tacked at the end with an average
//     rank"; a grade whose documents are all in one language scores 1.
//     Two choices differ from that code and are lair's: the unretrieved
//     documents of a grade share the rank k + (U+1)/2 (the mean of the U
//     positions after the cutoff; the reference code's expression uses the
//     number of ranked documents instead of the cutoff, which places them
//     above retrieved ones), and grade 0 is always a group, so datasets
//     without judged non-relevant documents (LAReQA) work. On LAReQA every
//     language has exactly one relevant candidate per query, so the grade-1
//     test alone is degenerate (H = N-1 whenever all are retrieved): the
//     default weights give grade 0 and grade 1 half each.
//   - Language preference at k: the share of the top k in the query's
//     language divided by that language's share of the pool (1 = no
//     preference, > 1 = the query's language is preferred).
//   - The language of the first relevant hit (aggregated by the caller
//     into a share per candidate language).
//   - Normalised rank distance: lair's rank distance divided by the pool
//     size, so datasets with different pools compare.
//
// The chi-square tail probability uses the regularised incomplete gamma
// function (series and continued fraction), tested against known values.
package bias
