package train

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/lair-ir/lair/encoder/onnxpb"
)

// Export writes the model folder with the current weights into dir: the
// input folder's tokenizer.json, config.json (and any other top-level
// files) copied, and model.onnx with the trained weights written into its
// initializers.
//
// The weights go into a copy of the input's own ONNX bytes
// (onnxpb.ReplaceInitializerData), not into a re-serialised graph: the
// output has the input's initializers (no more, no fewer), the input's
// size and every field of the input's file, so a fine-tuned model can be
// fine-tuned again, and again. Weights kept in external data files (models
// over 2 GB) are written into copies of those files, at their offsets.
// model.onnx is written last, so a folder with a model.onnx is complete.
func (t *Trainer) Export(dir string) error {
	m := t.model
	src, err := os.ReadFile(m.path)
	if err != nil {
		return fmt.Errorf("train: export: %w", err)
	}
	data := make(map[string][]byte, len(m.Trainable))
	for _, v := range m.Trainable {
		name, ok := m.onnxName[v.Name()]
		if !ok {
			return fmt.Errorf("train: export: weight %s has no initializer in %s", v.Path(), m.path)
		}
		vals := tensorsCopy(v)
		b := make([]byte, 4*len(vals))
		for i, x := range vals {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
		}
		data[name] = b
	}
	out, patches, err := onnxpb.ReplaceInitializerData(src, data)
	if err != nil {
		return fmt.Errorf("train: export %s: %w", m.path, err)
	}
	structure, err := onnxpb.DecodeStructure(src)
	if err != nil {
		return fmt.Errorf("train: export %s: %w", m.path, err)
	}
	external, err := structure.Graph.ExternalFiles()
	if err != nil {
		return fmt.Errorf("train: export %s: %w", m.path, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	skip := map[string]bool{"model.onnx": true, "training_log.parquet": true}
	srcDir := filepath.Dir(m.path)
	for _, f := range external {
		// Copy, patch, then move into place.
		dst := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		tmp := dst + ".tmp"
		if err := copyFile(filepath.Join(srcDir, f), tmp); err != nil {
			return fmt.Errorf("train: export external data: %w", err)
		}
		var mine []onnxpb.ExternalPatch
		for _, p := range patches {
			if p.Location == f {
				mine = append(mine, p)
			}
		}
		fname := filepath.Base(tmp)
		for i := range mine {
			mine[i].Location = fname
		}
		if err := onnxpb.PatchExternalData(filepath.Dir(tmp), mine); err != nil {
			return errors.Join(fmt.Errorf("train: export: %w", err), os.Remove(tmp))
		}
		if err := os.Rename(tmp, dst); err != nil {
			return errors.Join(err, os.Remove(tmp))
		}
		if filepath.Dir(filepath.Join(srcDir, f)) == filepath.Clean(m.Dir) {
			skip[filepath.Base(f)] = true
		}
	}
	entries, err := os.ReadDir(m.Dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || skip[name] || name[0] == '.' {
			continue
		}
		if err := copyFile(filepath.Join(m.Dir, name), filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	tmp := filepath.Join(dir, ".model.onnx.tmp")
	if err := os.WriteFile(tmp, out, 0o644); err != nil {
		return errors.Join(fmt.Errorf("train: write %s: %w", tmp, err), os.Remove(tmp))
	}
	if err := os.Rename(tmp, filepath.Join(dir, "model.onnx")); err != nil {
		return errors.Join(err, os.Remove(tmp))
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return out.Close()
}
