package tokenizer

import (
	"bytes"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// checkText rejects a tokenizer.json that is not valid UTF-8 or whose
// strings hold lone UTF-16 surrogate escapes. encoding/json would replace
// both with U+FFFD without a word, so two different vocabulary entries
// could silently become the same token (Hugging Face's tokenizers rejects
// such files too).
func checkText(data []byte) error {
	if !utf8.Valid(data) {
		off := 0
		for off < len(data) {
			r, n := utf8.DecodeRune(data[off:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			off += n
		}
		return fmt.Errorf("tokenizer.json is not valid UTF-8 at byte %d (line %d, bytes % x): vocabulary entries and other strings must be UTF-8; re-save the file as UTF-8",
			off, line(data, off), data[off:min(off+4, len(data))])
	}
	inString := false
	pendingHigh := -1 // offset of a high surrogate escape waiting for its low half
	for i := 0; i < len(data); i++ {
		c := data[i]
		if !inString {
			if c == '"' {
				inString = true
			}
			continue
		}
		switch c {
		case '"':
			if pendingHigh >= 0 {
				return loneSurrogate(data, pendingHigh)
			}
			inString = false
		case '\\':
			if i+1 >= len(data) {
				return nil // json.Unmarshal reports the truncation
			}
			if data[i+1] != 'u' || i+6 > len(data) {
				if pendingHigh >= 0 {
					return loneSurrogate(data, pendingHigh)
				}
				i++ // skip the escaped character
				continue
			}
			v, err := strconv.ParseUint(string(data[i+2:i+6]), 16, 16)
			if err != nil {
				return nil // json.Unmarshal reports the bad escape
			}
			switch {
			case v >= 0xD800 && v < 0xDC00:
				if pendingHigh >= 0 {
					return loneSurrogate(data, pendingHigh)
				}
				pendingHigh = i
			case v >= 0xDC00 && v < 0xE000:
				if pendingHigh < 0 {
					return loneSurrogate(data, i)
				}
				pendingHigh = -1
			default:
				if pendingHigh >= 0 {
					return loneSurrogate(data, pendingHigh)
				}
			}
			i += 5
			continue
		}
		if pendingHigh >= 0 {
			return loneSurrogate(data, pendingHigh)
		}
	}
	return nil
}

func loneSurrogate(data []byte, off int) error {
	return fmt.Errorf("tokenizer.json has the escape %s at byte %d (line %d): a lone UTF-16 surrogate is not a character; fix or remove that entry",
		data[off:off+6], off, line(data, off))
}

func line(data []byte, off int) int { return bytes.Count(data[:off], []byte("\n")) + 1 }

// checkBPEMerges rejects a BPE model without merges whose vocabulary holds
// multi-character entries: BPE can only build those by merging, so such a
// file is almost always another model (typically WordPiece, whose
// continuation tokens start with "##") relabelled as BPE, and would
// silently split every word into characters.
func checkBPEMerges(vocab map[string]int64, prefix string) error {
	example, wp := "", 0
	for tok := range vocab {
		if utf8.RuneCountInString(tok) < 2 || isSpecialLike(tok) {
			continue
		}
		if len(tok) > 2 && tok[:2] == "##" && prefix != "##" {
			wp++
		}
		if example == "" || tok < example {
			example = tok
		}
	}
	if example == "" {
		return nil
	}
	hint := ""
	if wp > 0 {
		hint = fmt.Sprintf(" %d entries start with \"##\": this looks like a WordPiece vocabulary; set model.type to \"WordPiece\".", wp)
	}
	return fmt.Errorf("BPE: no merges, but the vocabulary has multi-character entries such as %q that only merges can produce.%s A BPE tokenizer.json needs its merges list (or ignore_merges: true)", example, hint)
}

// isSpecialLike reports tokens such as <s>, </s>, <unk>, <0x0A>, [CLS].
func isSpecialLike(tok string) bool {
	n := len(tok)
	return n >= 3 && ((tok[0] == '<' && tok[n-1] == '>') || (tok[0] == '[' && tok[n-1] == ']'))
}
