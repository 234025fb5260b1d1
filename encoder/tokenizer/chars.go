package tokenizer

import (
	"sync"
	"unicode"
)

// Character classes with Rust semantics, cached for the BMP.
const (
	clsSpace  uint16 = 1 << iota // White_Space (Rust char::is_whitespace)
	clsOther                     // general category C: Cc, Cf, Cn, Co, Cs
	clsPunct                     // general category P
	clsWord                      // regex \w: Alphabetic, M, Nd, Pc, Join_Control
	clsMn                        // nonspacing mark
	clsMark                      // any mark (Mn, Mc, Me)
	clsNumber                    // general category N
	clsLetter                    // general category L
)

var (
	bmpOnce    sync.Once
	bmpClasses []uint16 // immutable after bmpOnce
)

// runeRange is an inclusive range of code points.
type runeRange struct{ lo, hi rune }

func inRanges(t []runeRange, r rune) bool {
	lo, hi := 0, len(t)
	for lo < hi {
		m := (lo + hi) / 2
		switch {
		case r < t[m].lo:
			hi = m
		case r > t[m].hi:
			lo = m + 1
		default:
			return true
		}
	}
	return false
}

// computeClass uses the tables probed from Hugging Face (hf_tables.go) for
// the classes whose Unicode version matters (HF's unicode_categories and
// unicode-normalization tables are older than Go's), Go's unicode package
// for the rest (Rust's std and Oniguruma are current).
func computeClass(r rune) uint16 {
	var c uint16
	if unicode.Is(unicode.White_Space, r) {
		c |= clsSpace
	}
	if inRanges(hfOther, r) {
		c |= clsOther
	}
	if inRanges(hfPunct, r) {
		c |= clsPunct
	}
	if inRanges(hfWord, r) {
		c |= clsWord
	}
	if inRanges(hfMn, r) {
		c |= clsMn
	}
	if inRanges(hfMark, r) {
		c |= clsMark
	}
	if unicode.In(r, unicode.N) {
		c |= clsNumber
	}
	if unicode.In(r, unicode.L) {
		c |= clsLetter
	}
	return c
}

// charClass returns the class bits of r.
func charClass(r rune) uint16 {
	if r >= 0 && r < 0x10000 {
		bmpOnce.Do(func() {
			t := make([]uint16, 0x10000)
			for i := range t {
				t[i] = computeClass(rune(i))
			}
			bmpClasses = t
		})
		return bmpClasses[r]
	}
	return computeClass(r)
}
