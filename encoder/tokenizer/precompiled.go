package tokenizer

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/rivo/uniseg"
)

// precompiled is SentencePiece's compiled normalization charsmap: a
// darts-clone double-array trie over UTF-8 keys whose leaf values are
// offsets of NUL-terminated replacement strings.
//
// The lookup follows Hugging Face's Precompiled normalizer (spm_precompiled):
// the text is cut into extended grapheme clusters; a cluster shorter than 6
// bytes is first looked up whole, taking the first (shortest) key of the
// trie that is a prefix of it, which replaces the whole cluster; otherwise
// (or when nothing matches) each character is looked up on its own and kept
// unchanged when it has no entry.
type precompiled struct {
	units      []uint32
	normalized []byte
	// single caches the replacement of each BMP character: -1 none, else
	// index into normalized.
	single []int32
}

func newPrecompiled(b64 string) (*precompiled, error) {
	blob, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("invalid base64: %w", err)
	}
	p := &precompiled{}
	if len(blob) == 0 {
		return p, nil
	}
	if len(blob) < 4 {
		return nil, errors.New("charsmap shorter than its 4-byte header")
	}
	trieSize := int(binary.LittleEndian.Uint32(blob))
	if trieSize%4 != 0 || trieSize > len(blob)-4 {
		return nil, fmt.Errorf("charsmap trie size %d does not fit in %d bytes", trieSize, len(blob)-4)
	}
	p.units = make([]uint32, trieSize/4)
	for i := range p.units {
		p.units[i] = binary.LittleEndian.Uint32(blob[4+4*i:])
	}
	p.normalized = blob[4+trieSize:]
	if !utf8.Valid(p.normalized) {
		return nil, errors.New("charsmap replacement strings are not valid UTF-8")
	}
	p.single = make([]int32, 0x10000)
	var buf [4]byte
	for r := rune(0); r < 0x10000; r++ {
		if r >= 0xD800 && r < 0xE000 {
			p.single[r] = -1
			continue
		}
		n := utf8.EncodeRune(buf[:], r)
		p.single[r] = p.lookup(buf[:n])
	}
	return p, nil
}

// lookup returns the index into normalized of the first trie key that is a
// prefix of key, or -1.
func (p *precompiled) lookup(key []byte) int32 {
	if len(p.units) == 0 {
		return -1
	}
	u := p.units[0]
	pos := uint32(0) ^ offsetOf(u)
	for _, c := range key {
		if c == 0 {
			break
		}
		pos ^= uint32(c)
		if int(pos) >= len(p.units) {
			return -1
		}
		u = p.units[pos]
		if u&((1<<31)|0xFF) != uint32(c) {
			return -1
		}
		pos ^= offsetOf(u)
		if (u>>8)&1 == 1 {
			if int(pos) >= len(p.units) {
				return -1
			}
			v := p.units[pos] & ((1 << 31) - 1)
			if int(v) > len(p.normalized) {
				return -1
			}
			return int32(v)
		}
	}
	return -1
}

func offsetOf(u uint32) uint32 { return (u >> 10) << ((u & (1 << 9)) >> 6) }

func (p *precompiled) replacement(idx int32) string {
	end := int(idx)
	for end < len(p.normalized) && p.normalized[end] != 0 {
		end++
	}
	return string(p.normalized[idx:end])
}

// change is one entry of Hugging Face's transform list: a character and
// its change in length (0: replaces one old char, 1: inserted, -n: replaces
// one old char and removes n more).
type change struct {
	r  rune
	ch int
}

// hfReplace mirrors the replace helper of HF's Precompiled normalizer.
func hfReplace(list []change, oldCount int, repl string) []change {
	newCount := 0
	for _, r := range repl {
		list = append(list, change{r, 0})
		newCount++
	}
	diff := newCount - oldCount
	switch {
	case diff > 0:
		for i := len(list) - 1; i >= 0 && i >= len(list)-diff; i-- {
			list[i].ch = 1
		}
	case diff < 0:
		if len(list) > 0 {
			list[len(list)-1].ch += diff
		}
	}
	return list
}

// hfTransform applies a change list to old chars the way HF's
// NormalizedString::transform aligns them. Like HF, a removal that no
// previous character can absorb shifts the alignment of what follows.
func hfTransform(old []nchar, list []change) []nchar {
	out := make([]nchar, 0, len(list))
	idx := 0
	for _, c := range list {
		var al nchar
		if c.ch > 0 {
			if idx >= 1 && idx-1 < len(old) {
				al = old[idx-1]
			} else if len(old) > 0 && idx >= 1 {
				al = old[len(old)-1]
			}
		} else {
			if idx < len(old) {
				al = old[idx]
			} else if len(old) > 0 {
				al = old[len(old)-1]
			}
			idx += 1 - c.ch
		}
		out = append(out, nchar{c.r, al.s, al.e})
	}
	return out
}

func (p *precompiled) normalize(cs []nchar) []nchar {
	if len(p.units) == 0 || len(cs) == 0 {
		return cs
	}
	src := string(charsString(cs, nil))
	list := make([]change, 0, len(cs))
	modified := false
	ci := 0
	state := -1
	rest := src
	var buf [4]byte
	for len(rest) > 0 {
		var g string
		g, rest, _, state = uniseg.FirstGraphemeClusterInString(rest, state)
		n := utf8.RuneCountInString(g)
		grp := cs[ci : ci+n]
		ci += n
		if len(g) < 6 {
			var idx int32 = -1
			if n == 1 && grp[0].r < 0x10000 {
				idx = p.single[grp[0].r]
			} else {
				idx = p.lookup([]byte(g))
			}
			if idx >= 0 {
				modified = true
				list = hfReplace(list, n, p.replacement(idx))
				continue
			}
		}
		for _, c := range grp {
			var idx int32
			if c.r < 0x10000 {
				idx = p.single[c.r]
			} else {
				k := utf8.EncodeRune(buf[:], c.r)
				idx = p.lookup(buf[:k])
			}
			if idx >= 0 {
				modified = true
				list = hfReplace(list, 1, p.replacement(idx))
			} else {
				list = append(list, change{c.r, 0})
			}
		}
	}
	if !modified {
		return cs
	}
	return hfTransform(cs, list)
}
