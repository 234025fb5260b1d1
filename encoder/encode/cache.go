package encode

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/lair-ir/lair/internal/fsutil"
)

// Settings are everything besides the text that determines an embedding;
// together they name one cache shard.
type Settings struct {
	ModelHash string `json:"model_hash"`
	Role      string `json:"role"`
	Prefix    string `json:"prefix"`
	MaxLength int    `json:"max_length"`
	Pooling   string `json:"pooling"`
	Normalize bool   `json:"normalize"`
}

// Key returns the shard name: a hash of the settings.
func (s Settings) Key() string {
	b, _ := json.Marshal(s)
	h := sha256.Sum256(append([]byte("lair-embeddings-v1\n"), b...))
	return hex.EncodeToString(h[:12])
}

// TextKey is the cache key of one text within a shard: the first 16 bytes
// of its SHA-256 (a collision needs ~2^64 texts).
type TextKey [16]byte

// KeyOf returns the TextKey of text.
func KeyOf(text string) TextKey {
	h := sha256.Sum256([]byte(text))
	var k TextKey
	copy(k[:], h[:16])
	return k
}

// Cache is one shard of the embedding cache: the vectors of one model under
// one Settings, in <root>/<model hash[:16]>/<settings key>/.
//
// A shard is a folder of immutable segment files. Each Add writes one new
// segment (temporary file, fsync, rename), so concurrent writers never
// corrupt each other and a killed run leaves no partial segment; a reader
// sees whole segments only. Once a shard has more than maxSegments
// segments, Add merges them into one and removes the merged files.
//
// Segment format (little-endian): "LAIREMB1", dim uint32, count uint32, then
// count records of (16-byte text key, dim float32), then a CRC-32 (IEEE) of
// everything before it.
type Cache struct {
	dir string
	dim int
	log *slog.Logger
}

const (
	segMagic    = "LAIREMB1"
	maxSegments = 8
)

// OpenCache opens (creating) the shard for s under root.
func OpenCache(root string, s Settings, log *slog.Logger) (*Cache, error) {
	if s.ModelHash == "" {
		return nil, errors.New("embedding cache: empty model hash")
	}
	mh := s.ModelHash
	if len(mh) > 16 {
		mh = mh[:16]
	}
	dir := filepath.Join(root, mh, s.Key())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("embedding cache: %w", err)
	}
	meta := filepath.Join(dir, "settings.json")
	if _, err := os.Stat(meta); err != nil {
		b, _ := json.MarshalIndent(s, "", "  ")
		if err := fsutil.WriteFile(meta, append(b, '\n'), 0o644); err != nil {
			return nil, fmt.Errorf("embedding cache: %w", err)
		}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Cache{dir: dir, log: log}, nil
}

// Dir returns the shard's folder.
func (c *Cache) Dir() string { return c.dir }

func (c *Cache) segments() ([]string, error) {
	m, err := filepath.Glob(filepath.Join(c.dir, "seg-*.emb"))
	sort.Strings(m)
	return m, err
}

// Load returns every cached vector of the shard and their dimension (0
// when the shard is empty). A damaged segment is reported in the log and
// skipped: its texts are simply encoded again.
func (c *Cache) Load() (map[TextKey][]float32, int, error) {
	segs, err := c.segments()
	if err != nil {
		return nil, 0, err
	}
	out := map[TextKey][]float32{}
	dim := 0
	for _, p := range segs {
		b, err := os.ReadFile(p)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // merged away by a concurrent writer
			}
			return nil, 0, err
		}
		d, err := DecodeSegment(b, func(k TextKey, v []float32) { out[k] = v })
		if err != nil {
			c.log.Warn("embedding cache: skipping a damaged segment", "file", p, "err", err)
			continue
		}
		if dim != 0 && d != dim {
			c.log.Warn("embedding cache: skipping a segment of another dimension", "file", p, "dim", d, "want", dim)
			continue
		}
		dim = d
	}
	c.dim = dim
	return out, dim, nil
}

// Add writes the vectors (row-major, len(keys)*dim values) as a new segment.
func (c *Cache) Add(keys []TextKey, vecs []float32, dim int) error {
	if len(keys) == 0 {
		return nil
	}
	if len(vecs) != len(keys)*dim {
		return fmt.Errorf("embedding cache: %d keys but %d values of dimension %d", len(keys), len(vecs), dim)
	}
	if err := c.writeSegment(EncodeSegment(keys, vecs, dim)); err != nil {
		return err
	}
	segs, err := c.segments()
	if err != nil || len(segs) <= maxSegments {
		return err
	}
	return c.compact(segs)
}

func (c *Cache) writeSegment(b []byte) error {
	var r [8]byte
	if _, err := rand.Read(r[:]); err != nil {
		return err
	}
	name := filepath.Join(c.dir, "seg-"+hex.EncodeToString(r[:])+".emb")
	if err := fsutil.WriteFile(name, b, 0o644); err != nil {
		return fmt.Errorf("embedding cache: %w", err)
	}
	return nil
}

// compact merges segs into one new segment, then removes them.
func (c *Cache) compact(segs []string) error {
	all := map[TextKey][]float32{}
	dim := 0
	var merged []string
	for _, p := range segs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		d, err := DecodeSegment(b, func(k TextKey, v []float32) { all[k] = v })
		if err != nil || (dim != 0 && d != dim) {
			continue
		}
		dim = d
		merged = append(merged, p)
	}
	keys := make([]TextKey, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return string(keys[i][:]) < string(keys[j][:]) })
	vecs := make([]float32, 0, len(keys)*dim)
	for _, k := range keys {
		vecs = append(vecs, all[k]...)
	}
	if err := c.writeSegment(EncodeSegment(keys, vecs, dim)); err != nil {
		return err
	}
	for _, p := range merged {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// EncodeSegment serialises one segment.
func EncodeSegment(keys []TextKey, vecs []float32, dim int) []byte {
	n := len(keys)
	b := make([]byte, 0, 16+n*(16+4*dim)+4)
	b = append(b, segMagic...)
	b = binary.LittleEndian.AppendUint32(b, uint32(dim))
	b = binary.LittleEndian.AppendUint32(b, uint32(n))
	for i, k := range keys {
		b = append(b, k[:]...)
		for _, v := range vecs[i*dim : (i+1)*dim] {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
	}
	return binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

// DecodeSegment parses one segment, calling f for every record (v is a
// fresh slice), and returns the dimension.
func DecodeSegment(b []byte, f func(TextKey, []float32)) (int, error) {
	if len(b) < 20 || string(b[:8]) != segMagic {
		return 0, errors.New("not an embedding cache segment (bad magic or too short)")
	}
	dim := int(binary.LittleEndian.Uint32(b[8:]))
	n := int(binary.LittleEndian.Uint32(b[12:]))
	if dim <= 0 || dim > 1<<16 {
		return 0, fmt.Errorf("bad dimension %d", dim)
	}
	rec := 16 + 4*dim
	if n < 0 || (len(b)-20)/rec < n || 16+n*rec+4 != len(b) {
		return 0, fmt.Errorf("segment of %d bytes cannot hold %d records of dimension %d", len(b), n, dim)
	}
	body := b[:len(b)-4]
	if crc32.ChecksumIEEE(body) != binary.LittleEndian.Uint32(b[len(b)-4:]) {
		return 0, errors.New("checksum mismatch")
	}
	p := 16
	all := make([]float32, n*dim)
	for i := 0; i < n; i++ {
		var k TextKey
		copy(k[:], b[p:p+16])
		p += 16
		v := all[i*dim : (i+1)*dim : (i+1)*dim]
		for j := range v {
			v[j] = math.Float32frombits(binary.LittleEndian.Uint32(b[p:]))
			p += 4
		}
		f(k, v)
	}
	return dim, nil
}
