package batching

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lair-ir/lair/internal/fsutil"
	"github.com/lair-ir/lair/tables"
)

// FileName is the name of the plan file inside a batches artifact.
const FileName = "batches.arrow"

// Schema is the Arrow schema of batches.arrow. Every record batch of the
// file is one training batch; within a record batch every row is one pair:
//
//	batch_index  int32   position of the batch in the plan, from 0
//	epoch        int32   epoch of the batch, from 0
//	strategy     utf8    kind of the batch: mono | cross | mixed
//	lang_pair    utf8    "de-de" (mono), "de-es" (cross, one ordered pair per batch) or "mixed"
//	pair_id      utf8
//	group_id     utf8
//	source       utf8
//	q_lang       utf8
//	q_text       utf8
//	p_lang       utf8
//	p_text       utf8
//	neg_text     utf8    hard negative, "" when none
//
// The schema metadata records the plan's parameters (lair.strategy,
// lair.alpha, lair.batch_size, lair.epochs, lair.seed, lair.drop_last,
// lair.cross_mode, lair.proportional_by) and lair.format = "batches/v1".
var Schema = arrow.NewSchema([]arrow.Field{
	{Name: "batch_index", Type: arrow.PrimitiveTypes.Int32},
	{Name: "epoch", Type: arrow.PrimitiveTypes.Int32},
	{Name: "strategy", Type: arrow.BinaryTypes.String},
	{Name: "lang_pair", Type: arrow.BinaryTypes.String},
	{Name: "pair_id", Type: arrow.BinaryTypes.String},
	{Name: "group_id", Type: arrow.BinaryTypes.String},
	{Name: "source", Type: arrow.BinaryTypes.String},
	{Name: "q_lang", Type: arrow.BinaryTypes.String},
	{Name: "q_text", Type: arrow.BinaryTypes.String},
	{Name: "p_lang", Type: arrow.BinaryTypes.String},
	{Name: "p_text", Type: arrow.BinaryTypes.String},
	{Name: "neg_text", Type: arrow.BinaryTypes.String},
}, nil)

const formatVersion = "batches/v1"

func (c Config) metadata() arrow.Metadata {
	return arrow.NewMetadata(
		[]string{"lair.format", "lair.strategy", "lair.alpha", "lair.batch_size", "lair.epochs", "lair.seed", "lair.drop_last", "lair.cross_mode", "lair.proportional_by"},
		[]string{formatVersion, string(c.Strategy), strconv.FormatFloat(c.Alpha, 'g', -1, 64), strconv.Itoa(c.BatchSize),
			strconv.Itoa(c.Epochs), strconv.FormatInt(c.Seed, 10), strconv.FormatBool(c.DropLast), c.CrossMode, c.ProportionalBy})
}

// WriteArrow writes the plan as an Arrow IPC file at path, atomically
// (through a temporary file in the same directory).
func WriteArrow(path string, p *Plan) error {
	var buf bytes.Buffer
	if err := EncodeArrow(&buf, p); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return fsutil.WriteFile(path, buf.Bytes(), 0o644)
}

// EncodeArrow writes the plan in Arrow IPC file format to w.
func EncodeArrow(w io.Writer, p *Plan) error {
	schema := arrow.NewSchema(Schema.Fields(), ptr(p.Config.metadata()))
	mem := memory.NewGoAllocator()
	// zstd-compressed buffers (the texts compress about 2x in the quickstart);
	// readers decompress transparently, the schema and format are unchanged.
	fw, err := ipc.NewFileWriter(w, ipc.WithSchema(schema), ipc.WithAllocator(mem), ipc.WithZstd())
	if err != nil {
		return err
	}
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for _, bt := range p.Batches {
		for _, idx := range bt.Pairs {
			pr := p.Pairs[idx]
			b.Field(0).(*array.Int32Builder).Append(int32(bt.Index))
			b.Field(1).(*array.Int32Builder).Append(int32(bt.Epoch))
			for i, s := range []string{bt.Kind, bt.LangPair, pr.PairID, pr.GroupID, pr.Source, pr.QLang, pr.QText, pr.PLang, pr.PText, pr.NegText} {
				b.Field(2 + i).(*array.StringBuilder).Append(s)
			}
		}
		rec := b.NewRecordBatch()
		err := fw.Write(rec)
		rec.Release()
		if err != nil {
			return fmt.Errorf("batch %d: %w", bt.Index, err)
		}
	}
	return fw.Close()
}

func ptr[T any](v T) *T { return &v }

// Row is one pair of a batch read back from batches.arrow.
type Row struct {
	PairID, GroupID, Source string
	QLang, QText            string
	PLang, PText            string
	NegText                 string
}

// ReadBatch is one training batch read back from batches.arrow.
type ReadBatch struct {
	Index    int
	Epoch    int
	Kind     string
	LangPair string
	Rows     []Row
}

// File is a batches.arrow file read into memory.
type File struct {
	Meta    map[string]string // schema metadata (the plan's parameters)
	Batches []ReadBatch
}

// Write writes the batch plan artifact into dir: batches.arrow, plus
// stats.parquet and stats.json (WriteStats).
func Write(dir string, p *Plan) error {
	if err := WriteArrow(filepath.Join(dir, FileName), p); err != nil {
		return err
	}
	return WriteStats(dir, p)
}

// Read reads the plan (batches.arrow) of the batch plan artifact in dir.
func Read(dir string) (*File, error) {
	return ReadArrow(filepath.Join(dir, FileName))
}

// Path is the plan file of the batch plan artifact in dir, for messages.
func Path(dir string) string { return filepath.Join(dir, FileName) }

// ReadArrow reads a batches.arrow file.
func ReadArrow(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out, err := DecodeArrow(f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return out, nil
}

// DecodeArrow reads a batch plan in Arrow IPC file format. Corrupt input
// gives an error, never a panic (arrow-go panics on some malformed
// flatbuffers; the panic is turned into an error).
func DecodeArrow(r ipc.ReadAtSeeker) (out *File, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("corrupt Arrow IPC data: %v", p)
		}
	}()
	fr, err := ipc.NewFileReader(r, ipc.WithAllocator(memory.NewGoAllocator()))
	if err != nil {
		return nil, err
	}
	defer fr.Close()
	schema := fr.Schema()
	if !schema.Equal(Schema) {
		return nil, fmt.Errorf("unexpected schema %v (want the batches/v1 schema: remake the plan with batches/plan)", schema)
	}
	meta := map[string]string{}
	md := schema.Metadata()
	for i, k := range md.Keys() {
		meta[k] = md.Values()[i]
	}
	if meta["lair.format"] != formatVersion {
		return nil, fmt.Errorf("lair.format is %q, want %q", meta["lair.format"], formatVersion)
	}
	out = &File{Meta: meta}
	for i := 0; i < fr.NumRecords(); i++ {
		rec, err := fr.RecordBatch(i)
		if err != nil {
			return nil, fmt.Errorf("record batch %d: %w", i, err)
		}
		n := int(rec.NumRows())
		if n == 0 {
			return nil, fmt.Errorf("record batch %d is empty", i)
		}
		col := func(j int) *array.String { return rec.Column(j).(*array.String) }
		bi, ep := rec.Column(0).(*array.Int32), rec.Column(1).(*array.Int32)
		rb := ReadBatch{Index: int(bi.Value(0)), Epoch: int(ep.Value(0)), Kind: col(2).Value(0), LangPair: col(3).Value(0)}
		if rb.Index != i {
			return nil, fmt.Errorf("record batch %d has batch_index %d", i, rb.Index)
		}
		for k := 0; k < n; k++ {
			if int(bi.Value(k)) != rb.Index || int(ep.Value(k)) != rb.Epoch {
				return nil, fmt.Errorf("record batch %d row %d: batch_index/epoch differ within the batch", i, k)
			}
			rb.Rows = append(rb.Rows, Row{PairID: col(4).Value(k), GroupID: col(5).Value(k), Source: col(6).Value(k),
				QLang: col(7).Value(k), QText: col(8).Value(k), PLang: col(9).Value(k), PText: col(10).Value(k), NegText: col(11).Value(k)})
		}
		out.Batches = append(out.Batches, rb)
	}
	return out, nil
}

// Pairs converts the rows of a read batch to tables.Pair values.
func (b ReadBatch) Pairs() []tables.Pair {
	out := make([]tables.Pair, len(b.Rows))
	for i, r := range b.Rows {
		kind := "cross"
		if r.QLang == r.PLang {
			kind = "mono"
		}
		out[i] = tables.Pair{PairID: r.PairID, GroupID: r.GroupID, Source: r.Source, Kind: kind, QLang: r.QLang, QText: r.QText,
			PLang: r.PLang, PText: r.PText, NegText: r.NegText, Split: "train"}
	}
	return out
}
