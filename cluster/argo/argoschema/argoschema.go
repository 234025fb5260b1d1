package argoschema

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"io"
	"sync"

	"github.com/goccy/go-yaml"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed argo-workflows-v4.0.5-schema.json.gz
var schemaGz []byte

// Facts about the embedded schema.
const (
	Module  = "github.com/argoproj/argo-workflows/v4"
	Version = "v4.0.5"
	Path    = "api/jsonschema/schema.json"
	SHA256  = "98df6174460702d2c178cd54c6fb3f597985c9969bb5ae79ad7e55e2d47c0b39"

	schemaID    = "https://raw.githubusercontent.com/argoproj/argo-workflows/HEAD/api/jsonschema/schema.json"
	workflowDef = "#/definitions/io.argoproj.workflow.v1alpha1.Workflow"
)

var (
	once     sync.Once
	workflow *jsonschema.Schema
	loadErr  error
)

// Workflow returns the compiled schema of an argoproj.io/v1alpha1 Workflow.
func Workflow() (*jsonschema.Schema, error) {
	once.Do(func() { workflow, loadErr = load() })
	return workflow, loadErr
}

func load() (*jsonschema.Schema, error) {
	zr, err := gzip.NewReader(bytes.NewReader(schemaGz))
	if err != nil {
		return nil, fmt.Errorf("argo schema: %w", err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("argo schema: %w", err)
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != SHA256 {
		return nil, fmt.Errorf("argo schema: sha256 %x, want %s (see SCHEMA.md)", sum, SHA256)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("argo schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(schemaID, doc); err != nil {
		return nil, fmt.Errorf("argo schema: %w", err)
	}
	s, err := c.Compile(schemaID + workflowDef)
	if err != nil {
		return nil, fmt.Errorf("argo schema: %w", err)
	}
	return s, nil
}

// ValidateYAML checks a Workflow manifest (YAML or JSON) against the schema.
func ValidateYAML(manifest []byte) error {
	s, err := Workflow()
	if err != nil {
		return err
	}
	js, err := yaml.YAMLToJSON(manifest)
	if err != nil {
		return fmt.Errorf("argo manifest is not YAML: %w", err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		return fmt.Errorf("argo manifest: %w", err)
	}
	if err := s.Validate(v); err != nil {
		return fmt.Errorf("argo manifest does not match the Argo Workflows %s schema: %w", Version, err)
	}
	return nil
}
