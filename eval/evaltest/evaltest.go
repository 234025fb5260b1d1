package evaltest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"

	"github.com/lair-ir/lair/datasets"
	"github.com/lair-ir/lair/tables"
)

// Words per language used to make candidate and query texts; each group
// has a topic word that appears in its question and answer in every
// language, so BM25 finds the same-language answer easily.
var words = map[string][]string{
	"en": {"river", "castle", "music", "engine", "forest", "bridge", "planet", "garden", "winter", "doctor", "market", "island"},
	"de": {"fluss", "burg", "musik", "motor", "wald", "brücke", "planet", "garten", "winter", "arzt", "markt", "insel"},
	"zh": {"河流", "城堡", "音乐", "发动机", "森林", "桥梁", "行星", "花园", "冬天", "医生", "市场", "岛屿"},
	"th": {"แม่น้ำ", "ปราสาท", "ดนตรี", "เครื่องยนต์", "ป่าไม้", "สะพาน", "ดาวเคราะห์", "สวน", "ฤดูหนาว", "หมอ", "ตลาด", "เกาะ"},
}

// Dataset is a synthetic parallel QA retrieval dataset: Groups questions,
// each asked in every language, each with one answer sentence per
// language (relevant to all its translations) plus Distractors other
// sentences per language.
type Dataset struct {
	Name       string
	Queries    []tables.Query
	Candidates []tables.Candidate
	Qrels      []tables.Qrel
}

// Make builds a dataset over langs (a subset of en, de, zh, th).
func Make(name string, langs []string, groups, distractors int, seed uint64) *Dataset {
	r := rand.New(rand.NewPCG(seed, 99))
	ds := &Dataset{Name: name}
	for g := 0; g < groups; g++ {
		topic := g % len(words["en"])
		for _, l := range langs {
			w := words[l]
			qid := fmt.Sprintf("q%03d-%s", g, l)
			ds.Queries = append(ds.Queries, tables.Query{Dataset: name, Split: "test", QID: qid, GroupID: fmt.Sprintf("g%03d", g), Lang: l,
				Text: fmt.Sprintf("%s %s %s?", w[topic], w[(topic+g)%len(w)], w[r.IntN(len(w))])})
			cid := fmt.Sprintf("c%03d-%s", g, l)
			ds.Candidates = append(ds.Candidates, tables.Candidate{Dataset: name, CID: cid, Lang: l,
				Text: fmt.Sprintf("%s %s %s.", w[topic], w[(topic+g)%len(w)], w[r.IntN(len(w))]), Context: "ctx", DocID: fmt.Sprintf("d%03d-%s", g, l)})
		}
		for _, l := range langs {
			for _, l2 := range langs {
				ds.Qrels = append(ds.Qrels, tables.Qrel{Dataset: name, QID: fmt.Sprintf("q%03d-%s", g, l), CID: fmt.Sprintf("c%03d-%s", g, l2), Relevance: 1})
			}
		}
	}
	for _, l := range langs {
		w := words[l]
		for i := 0; i < distractors; i++ {
			ds.Candidates = append(ds.Candidates, tables.Candidate{Dataset: name, CID: fmt.Sprintf("x%03d-%s", i, l), Lang: l,
				Text: fmt.Sprintf("%s %s %s.", w[r.IntN(len(w))], w[r.IntN(len(w))], w[r.IntN(len(w))]), Context: "ctx", DocID: "dx"})
		}
	}
	r.Shuffle(len(ds.Candidates), func(i, j int) { ds.Candidates[i], ds.Candidates[j] = ds.Candidates[j], ds.Candidates[i] })
	return ds
}

// Write writes queries.parquet, candidates.parquet and qrels.parquet into dir.
func (ds *Dataset) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := datasets.WriteQueries(dir, ds.Queries, nil); err != nil {
		return err
	}
	if err := datasets.WriteCandidates(dir, ds.Candidates, nil); err != nil {
		return err
	}
	return datasets.WriteQrels(dir, ds.Qrels, nil)
}

// Embed makes embeddings for every query and candidate: a group vector
// plus noise, plus a language vector of weight langBias (so that larger
// langBias gives stronger same-language preference). Unit length.
func (ds *Dataset) Embed(dim int, noise, langBias float64, seed uint64) *tables.Embeddings {
	r := rand.New(rand.NewPCG(seed, 7))
	vec := func() []float64 {
		v := make([]float64, dim)
		for i := range v {
			v[i] = r.NormFloat64()
		}
		return v
	}
	groupVec := map[string][]float64{}
	langVec := map[string][]float64{}
	e := &tables.Embeddings{Dim: dim, ModelKey: "synthetic"}
	add := func(id, role, lang, group string) {
		if groupVec[group] == nil {
			groupVec[group] = vec()
		}
		if langVec[lang] == nil {
			langVec[lang] = vec()
		}
		v := vec()
		var norm float64
		for i := range v {
			v[i] = groupVec[group][i] + noise*v[i] + langBias*langVec[lang][i]
			norm += v[i] * v[i]
		}
		e.IDs = append(e.IDs, id)
		e.Roles = append(e.Roles, role)
		e.Langs = append(e.Langs, lang)
		for _, x := range v {
			e.Vectors = append(e.Vectors, float32(x/math.Sqrt(norm)))
		}
	}
	for _, q := range ds.Queries {
		add(q.QID, tables.RoleQuery, q.Lang, q.GroupID)
	}
	for _, c := range ds.Candidates {
		group := "distractor-" + c.CID
		if c.CID[0] == 'c' {
			group = "g" + c.CID[1:4]
		}
		add(c.CID, tables.RolePassage, c.Lang, group)
	}
	return e
}
