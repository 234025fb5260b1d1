package argo

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/lair-ir/lair/pipeline"
)

// Defaults of Options.
const (
	DefaultImage      = "lair:latest"
	DefaultSecret     = "lair-s3"
	DefaultWorkingDir = "/opt/lair"
	DefaultRetries    = 3
)

// Options change the exported manifest.
type Options struct {
	// Image is the container image holding lair and the dags/ folder
	// (built from the repository's Dockerfile). Default DefaultImage.
	Image string
	// GPUImage is the image of GPU steps (default Image): the repository's
	// image ships the CPU build of ONNX Runtime, so GPU inference needs an
	// image with a CUDA build and LAIR_ORT_LIB pointing at it.
	GPUImage string
	// Store is the store URL every step uses (s3://bucket/prefix). It is a
	// workflow parameter, so `argo submit -p store=...` can change it.
	Store string
	// DAGPath is the DAG file's path inside the image, relative to
	// WorkingDir. Default: the path the plan was loaded from.
	DAGPath string
	// Set are the DAG parameter overrides the plan was loaded with; every
	// step gets them too, so that it plans the same keys.
	Set map[string]string
	// Secret names the Kubernetes Secret with AWS_ACCESS_KEY_ID and
	// AWS_SECRET_ACCESS_KEY (and optionally AWS_REGION, AWS_ENDPOINT_URL,
	// AWS_ENDPOINT_URL_S3, AWS_SESSION_TOKEN). Default DefaultSecret.
	Secret string
	// GPUStages are DAG stage names to run on GPU nodes in addition to
	// stage types whose Device is "gpu-optional".
	GPUStages []string
	// GPUNodeSelector is the node selector of GPU steps. Default
	// {"nvidia.com/gpu.present": "true"} (set by NVIDIA's GPU feature
	// discovery).
	GPUNodeSelector map[string]string
	// Retries is the retry limit of each step (default DefaultRetries;
	// negative: no retries). Backoff starts at 30s and doubles, capped by
	// 30m in all.
	Retries int
	// CPU and Memory are each step's resource requests (default "1" and
	// "2Gi").
	CPU, Memory string
	// Parallelism caps concurrent steps (0: Argo's default, unlimited).
	Parallelism int
	// Namespace and ServiceAccount of the workflow (empty: left out).
	Namespace, ServiceAccount string
}

// TaskNames maps every instance name of plan to its DNS-1123 task name.
// Names are the instance names lower-cased with every run of other
// characters turned into '-'; when that is ambiguous within the plan, or
// longer than 63 characters, a hash of the instance name is appended.
func TaskNames(plan *pipeline.Plan) map[string]string {
	base := map[string]string{}
	count := map[string]int{}
	for _, in := range plan.Instances {
		b := sanitize(in.Name)
		base[in.Name] = b
		count[b]++
	}
	out := map[string]string{}
	for _, in := range plan.Instances {
		b := base[in.Name]
		if count[b] > 1 || len(b) > 63 || b == "" {
			sum := sha256.Sum256([]byte(in.Name))
			suffix := hex.EncodeToString(sum[:])[:8]
			b = strings.TrimRight(truncate(b, 63-len(suffix)-1), "-")
			if b == "" {
				b = "x"
			}
			b += "-" + suffix
		}
		out[in.Name] = b
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// sanitize lower-cases s and turns each run of characters outside [a-z0-9]
// into one '-', trimming '-' at both ends.
func sanitize(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	return b.String()
}

const (
	entrypoint      = "lair"
	stepTemplate    = "stage"
	gpuStepTemplate = "stage-gpu"
)

func str(s string) *string { return &s }

// IsGPU reports whether instance in runs on a GPU node under opts: its
// stage is named in opts.GPUStages; or its resolved "device" parameter
// says "cuda" or "gpu" (and "cpu" keeps it off GPU nodes), so a DAG-level
// `device` param passed down with ${params.device} decides; or, without
// such a parameter, its stage type's Device is "gpu-optional".
func IsGPU(in *pipeline.Instance, opts Options) bool {
	for _, s := range opts.GPUStages {
		if s == in.Stage {
			return true
		}
	}
	if d, ok := in.Params["device"].(string); ok {
		switch strings.ToLower(d) {
		case "cuda", "gpu":
			return true
		case "cpu":
			return false
		}
	}
	return in.Type != nil && in.Type.Device == "gpu-optional"
}

// Build makes the Workflow for plan.
func Build(plan *pipeline.Plan, opts Options) (*Workflow, error) {
	if opts.Image == "" {
		opts.Image = DefaultImage
	}
	if opts.GPUImage == "" {
		opts.GPUImage = opts.Image
	}
	if opts.Secret == "" {
		opts.Secret = DefaultSecret
	}
	if opts.DAGPath == "" {
		opts.DAGPath = plan.DAG.Path
	}
	if opts.Retries == 0 {
		opts.Retries = DefaultRetries
	}
	if opts.CPU == "" {
		opts.CPU = "1"
	}
	if opts.Memory == "" {
		opts.Memory = "2Gi"
	}
	if opts.GPUNodeSelector == nil {
		opts.GPUNodeSelector = map[string]string{"nvidia.com/gpu.present": "true"}
	}
	if opts.Store == "" {
		return nil, fmt.Errorf("export argo: a store URL is required (--store s3://bucket/prefix): the steps exchange artifacts through it")
	}
	if strings.HasPrefix(opts.DAGPath, "/") || strings.Contains(opts.DAGPath, "..") {
		return nil, fmt.Errorf("export argo: DAG path %q: want a path relative to the image's working directory %s, e.g. dags/quickstart.yaml", opts.DAGPath, DefaultWorkingDir)
	}
	stageKnown := map[string]bool{}
	for _, in := range plan.Instances {
		stageKnown[in.Stage] = true
	}
	for _, s := range opts.GPUStages {
		if !stageKnown[s] {
			return nil, fmt.Errorf("export argo: GPU stage %q is not a stage of DAG %s", s, plan.DAG.Path)
		}
	}

	names := TaskNames(plan)
	var tasks []DAGTask
	anyGPU, anyCPU := false, false
	for _, in := range plan.Instances {
		tmpl := stepTemplate
		if IsGPU(in, opts) {
			tmpl = gpuStepTemplate
			anyGPU = true
		} else {
			anyCPU = true
		}
		var deps []string
		seen := map[string]bool{}
		for _, up := range in.Inputs {
			if n := names[up.Name]; !seen[n] {
				seen[n] = true
				deps = append(deps, n)
			}
		}
		sort.Strings(deps)
		tasks = append(tasks, DAGTask{
			Name:         names[in.Name],
			Template:     tmpl,
			Dependencies: deps,
			Arguments: &Arguments{Parameters: []Parameter{
				{Name: "instance", Value: str(in.Name)},
				{Name: "key", Value: str(in.Key)},
			}},
		})
	}

	dagName := plan.DAG.Name
	if dagName == "" {
		dagName = strings.TrimSuffix(lastElem(plan.DAG.Path), ".yaml")
	}
	gen := truncate(sanitize("lair-"+dagName), 50) + "-"
	wf := &Workflow{
		APIVersion: "argoproj.io/v1alpha1",
		Kind:       "Workflow",
		Metadata: ObjectMeta{
			GenerateName: gen,
			Namespace:    opts.Namespace,
			Labels:       map[string]string{"lair.dev/dag": truncate(strings.Trim(sanitize(dagName), "-"), 63)},
			Annotations: map[string]string{
				"lair.dev/dag-file":   opts.DAGPath,
				"lair.dev/dag-sha256": plan.DAG.Hash,
				"lair.dev/instances":  fmt.Sprint(len(plan.Instances)),
			},
		},
		Spec: WorkflowSpec{
			Entrypoint:         entrypoint,
			ServiceAccountName: opts.ServiceAccount,
			Parallelism:        opts.Parallelism,
			Arguments: &Arguments{Parameters: []Parameter{
				{Name: "store", Value: str(opts.Store), Description: "artifact store URL shared by every step"},
				{Name: "image", Value: str(opts.Image), Description: "lair image (built from the repository's Dockerfile)"},
			}},
		},
	}
	wf.Spec.Templates = append(wf.Spec.Templates, Template{Name: entrypoint, DAG: &DAGTemplate{Tasks: tasks}})
	if anyCPU {
		wf.Spec.Templates = append(wf.Spec.Templates, stepTmpl(stepTemplate, opts, false))
	}
	if anyGPU {
		wf.Spec.Arguments.Parameters = append(wf.Spec.Arguments.Parameters,
			Parameter{Name: "gpu-image", Value: str(opts.GPUImage), Description: "lair image for GPU steps"})
		wf.Spec.Templates = append(wf.Spec.Templates, stepTmpl(gpuStepTemplate, opts, true))
	}
	return wf, nil
}

func lastElem(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// StepArgs returns the arguments of the lair command of a step; instance,
// key and store are Argo expressions in the manifest.
func StepArgs(dagPath string, set map[string]string, instance, key, store string) []string {
	args := []string{"stage", "run", dagPath, instance, "--store", store, "--key", key}
	var names []string
	for k := range set {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		args = append(args, "--set", k+"="+set[k])
	}
	return args
}

func stepTmpl(name string, opts Options, gpu bool) Template {
	optional := true
	secret := func(key string, opt bool) EnvVar {
		sel := &SecretKeySelector{Name: opts.Secret, Key: key}
		if opt {
			sel.Optional = &optional
		}
		return EnvVar{Name: key, ValueFrom: &EnvVarSource{SecretKeyRef: sel}}
	}
	res := &Resources{Requests: map[string]string{"cpu": opts.CPU, "memory": opts.Memory}}
	t := Template{
		Name: name,
		Inputs: &Inputs{Parameters: []Parameter{
			{Name: "instance", Description: "lair stage instance name, as in the DAG plan"},
			{Name: "key", Description: "content address the exporter planned for it"},
		}},
		Metadata: &Metadata{Annotations: map[string]string{
			"lair.dev/instance": "{{inputs.parameters.instance}}",
			"lair.dev/key":      "{{inputs.parameters.key}}",
		}},
		Container: &Container{
			Image:           "{{workflow.parameters.image}}",
			ImagePullPolicy: "IfNotPresent",
			Command:         []string{"lair"},
			Args:            StepArgs(opts.DAGPath, opts.Set, "{{inputs.parameters.instance}}", "{{inputs.parameters.key}}", "{{workflow.parameters.store}}"),
			WorkingDir:      DefaultWorkingDir,
			Env: []EnvVar{
				secret("AWS_ACCESS_KEY_ID", false),
				secret("AWS_SECRET_ACCESS_KEY", false),
				secret("AWS_SESSION_TOKEN", true),
				secret("AWS_REGION", true),
				secret("AWS_ENDPOINT_URL", true),
				secret("AWS_ENDPOINT_URL_S3", true),
			},
			Resources: res,
		},
	}
	if opts.Retries > 0 {
		t.RetryStrategy = &RetryStrategy{
			Limit:       fmt.Sprint(opts.Retries),
			RetryPolicy: "Always",
			Backoff:     &Backoff{Duration: "30s", Factor: "2", MaxDuration: "30m"},
		}
	}
	if gpu {
		t.Container.Image = "{{workflow.parameters.gpu-image}}"
		res.Limits = map[string]string{"nvidia.com/gpu": "1"}
		t.NodeSelector = opts.GPUNodeSelector
		t.Tolerations = []Toleration{{Key: "nvidia.com/gpu", Operator: "Exists", Effect: "NoSchedule"}}
	}
	return t
}

// Export writes the Workflow for plan as YAML.
func Export(w io.Writer, plan *pipeline.Plan, opts Options) error {
	wf, err := Build(plan, opts)
	if err != nil {
		return err
	}
	b, err := Marshal(wf)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// Marshal encodes a workflow as YAML, with a header comment.
func Marshal(wf *Workflow) ([]byte, error) {
	b, err := yaml.MarshalWithOptions(wf, yaml.Indent(2), yaml.IndentSequence(true))
	if err != nil {
		return nil, fmt.Errorf("export argo: %w", err)
	}
	head := "# Generated by `lair export argo`; submit with `argo submit`.\n"
	return append([]byte(head), b...), nil
}

// Parse decodes a manifest written by Export (for tests and tools).
func Parse(data []byte) (*Workflow, error) {
	var wf Workflow
	if err := yaml.UnmarshalWithOptions(data, &wf, yaml.Strict()); err != nil {
		return nil, fmt.Errorf("argo manifest: %w", err)
	}
	return &wf, nil
}
