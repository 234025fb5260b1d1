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

func computeClass(r rune) uint16 {
	var c uint16
	if unicode.Is(unicode.White_Space, r) {
		c |= clsSpace
	}
	if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs) ||
		!unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z, unicode.C) {
		c |= clsOther
	}
	if unicode.In(r, unicode.P) {
		c |= clsPunct
	}
	if unicode.In(r, unicode.L, unicode.Nl, unicode.Other_Alphabetic, unicode.M, unicode.Nd, unicode.Pc, unicode.Join_Control) {
		c |= clsWord
	}
	if unicode.Is(unicode.Mn, r) {
		c |= clsMn
	}
	if unicode.In(r, unicode.M) {
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
