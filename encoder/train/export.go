package train

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Export writes the model folder with the current weights into dir: the
// input folder's tokenizer.json, config.json (and any other top-level
// files, except model.onnx) copied, and model.onnx with the trained weights
// written into its initializers.
func (t *Trainer) Export(dir string) error {
	m := t.model
	if err := m.ONNX.ScopeToONNX(m.Store.RootScope()); err != nil {
		return fmt.Errorf("train: copy weights into the ONNX graph: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp := filepath.Join(dir, ".model.onnx.tmp")
	if err := m.ONNX.SaveToFile(tmp); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("train: write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "model.onnx")); err != nil {
		return err
	}
	entries, err := os.ReadDir(m.Dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || name == "model.onnx" || name == "training_log.parquet" || name[0] == '.' {
			continue
		}
		if err := copyFile(filepath.Join(m.Dir, name), filepath.Join(dir, name)); err != nil {
			return err
		}
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
