package bm25

import (
	"strings"
	"unicode"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
	"golang.org/x/text/unicode/norm"
)

// Analyzer turns text into index terms.
//
// Steps: Unicode NFKC normalization; case folding (Turkish and Azeri use
// their own lower-casing so that "İ" becomes "i"); segmentation into runs
// of letters, marks and digits. Runs of scripts written without spaces
// (Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar) become overlapping
// character bigrams (a run of one character is one unigram); every other
// run is one word.
type Analyzer struct {
	fold cases.Caser
}

// NewAnalyzer returns the analyzer for an ISO 639-1 language code.
func NewAnalyzer(lang string) *Analyzer {
	switch lang {
	case "tr", "az":
		return &Analyzer{fold: cases.Lower(language.Make(lang))}
	}
	return &Analyzer{fold: cases.Fold()}
}

// bigramScript reports whether r belongs to a script written without
// spaces between words.
func bigramScript(r rune) bool {
	if r == 0x30FC || r == 0x3005 { // prolonged sound mark, iteration mark (script Common)
		return true
	}
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Thai, unicode.Lao, unicode.Khmer, unicode.Myanmar)
}

func wordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

// Tokens appends the terms of text to dst and returns it.
func (a *Analyzer) Tokens(dst []string, text string) []string {
	text = a.fold.String(norm.NFKC.String(text))
	var (
		word  strings.Builder
		cjk   []string // characters: a base rune with its combining marks
		inCJK bool
	)
	flushWord := func() {
		if word.Len() > 0 {
			dst = append(dst, word.String())
			word.Reset()
		}
	}
	flushCJK := func() {
		switch {
		case len(cjk) == 1:
			dst = append(dst, cjk[0])
		case len(cjk) > 1:
			for i := 0; i+1 < len(cjk); i++ {
				dst = append(dst, cjk[i]+cjk[i+1])
			}
		}
		cjk = cjk[:0]
	}
	for _, r := range text {
		switch {
		case inCJK && unicode.IsMark(r):
			// combining marks (Thai vowels and tones) stay with their base
			cjk[len(cjk)-1] += string(r)
		case bigramScript(r):
			flushWord()
			cjk = append(cjk, string(r))
			inCJK = true
		case wordRune(r):
			if inCJK {
				flushCJK()
				inCJK = false
			}
			word.WriteRune(r)
		default:
			flushWord()
			flushCJK()
			inCJK = false
		}
	}
	flushWord()
	flushCJK()
	return dst
}
