package argo

// The subset of the Argo Workflows and Kubernetes types that Export
// writes. Field names and shapes follow argoproj.io/v1alpha1; quantities
// and int-or-string values are strings, as the schema types them.

// Workflow is an argoproj.io/v1alpha1 Workflow.
type Workflow struct {
	APIVersion string       `yaml:"apiVersion" json:"apiVersion"`
	Kind       string       `yaml:"kind" json:"kind"`
	Metadata   ObjectMeta   `yaml:"metadata" json:"metadata"`
	Spec       WorkflowSpec `yaml:"spec" json:"spec"`
}

// ObjectMeta is Kubernetes object metadata.
type ObjectMeta struct {
	Name         string            `yaml:"name,omitempty" json:"name,omitempty"`
	GenerateName string            `yaml:"generateName,omitempty" json:"generateName,omitempty"`
	Namespace    string            `yaml:"namespace,omitempty" json:"namespace,omitempty"`
	Labels       map[string]string `yaml:"labels,omitempty" json:"labels,omitempty"`
	Annotations  map[string]string `yaml:"annotations,omitempty" json:"annotations,omitempty"`
}

// WorkflowSpec is a Workflow's spec.
type WorkflowSpec struct {
	Entrypoint         string     `yaml:"entrypoint" json:"entrypoint"`
	ServiceAccountName string     `yaml:"serviceAccountName,omitempty" json:"serviceAccountName,omitempty"`
	Parallelism        int        `yaml:"parallelism,omitempty" json:"parallelism,omitempty"`
	Arguments          *Arguments `yaml:"arguments,omitempty" json:"arguments,omitempty"`
	Templates          []Template `yaml:"templates" json:"templates"`
}

// Arguments are parameters passed to a workflow or a task.
type Arguments struct {
	Parameters []Parameter `yaml:"parameters,omitempty" json:"parameters,omitempty"`
}

// Inputs are a template's declared parameters.
type Inputs struct {
	Parameters []Parameter `yaml:"parameters,omitempty" json:"parameters,omitempty"`
}

// Parameter is a named string.
type Parameter struct {
	Name        string  `yaml:"name" json:"name"`
	Value       *string `yaml:"value,omitempty" json:"value,omitempty"`
	Description string  `yaml:"description,omitempty" json:"description,omitempty"`
}

// Template is a workflow template: a DAG or a container.
type Template struct {
	Name          string            `yaml:"name" json:"name"`
	Inputs        *Inputs           `yaml:"inputs,omitempty" json:"inputs,omitempty"`
	Metadata      *Metadata         `yaml:"metadata,omitempty" json:"metadata,omitempty"`
	DAG           *DAGTemplate      `yaml:"dag,omitempty" json:"dag,omitempty"`
	RetryStrategy *RetryStrategy    `yaml:"retryStrategy,omitempty" json:"retryStrategy,omitempty"`
	NodeSelector  map[string]string `yaml:"nodeSelector,omitempty" json:"nodeSelector,omitempty"`
	Tolerations   []Toleration      `yaml:"tolerations,omitempty" json:"tolerations,omitempty"`
	Container     *Container        `yaml:"container,omitempty" json:"container,omitempty"`
}

// Metadata is pod metadata of a template.
type Metadata struct {
	Labels      map[string]string `yaml:"labels,omitempty" json:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty" json:"annotations,omitempty"`
}

// DAGTemplate is a template's dag.
type DAGTemplate struct {
	Tasks []DAGTask `yaml:"tasks" json:"tasks"`
}

// DAGTask is one task of a DAG template.
type DAGTask struct {
	Name         string     `yaml:"name" json:"name"`
	Template     string     `yaml:"template" json:"template"`
	Dependencies []string   `yaml:"dependencies,omitempty" json:"dependencies,omitempty"`
	Arguments    *Arguments `yaml:"arguments,omitempty" json:"arguments,omitempty"`
}

// RetryStrategy retries a failed step.
type RetryStrategy struct {
	Limit       string   `yaml:"limit" json:"limit"`
	RetryPolicy string   `yaml:"retryPolicy,omitempty" json:"retryPolicy,omitempty"`
	Backoff     *Backoff `yaml:"backoff,omitempty" json:"backoff,omitempty"`
}

// Backoff spaces retries out.
type Backoff struct {
	Duration    string `yaml:"duration" json:"duration"`
	Factor      string `yaml:"factor,omitempty" json:"factor,omitempty"`
	MaxDuration string `yaml:"maxDuration,omitempty" json:"maxDuration,omitempty"`
}

// Toleration lets a pod run on tainted nodes.
type Toleration struct {
	Key      string `yaml:"key" json:"key"`
	Operator string `yaml:"operator" json:"operator"`
	Effect   string `yaml:"effect,omitempty" json:"effect,omitempty"`
}

// Container is a template's container.
type Container struct {
	Image           string     `yaml:"image" json:"image"`
	ImagePullPolicy string     `yaml:"imagePullPolicy,omitempty" json:"imagePullPolicy,omitempty"`
	Command         []string   `yaml:"command" json:"command"`
	Args            []string   `yaml:"args" json:"args"`
	WorkingDir      string     `yaml:"workingDir,omitempty" json:"workingDir,omitempty"`
	Env             []EnvVar   `yaml:"env,omitempty" json:"env,omitempty"`
	Resources       *Resources `yaml:"resources,omitempty" json:"resources,omitempty"`
}

// EnvVar is a container environment variable.
type EnvVar struct {
	Name      string        `yaml:"name" json:"name"`
	Value     string        `yaml:"value,omitempty" json:"value,omitempty"`
	ValueFrom *EnvVarSource `yaml:"valueFrom,omitempty" json:"valueFrom,omitempty"`
}

// EnvVarSource reads a variable from a Secret.
type EnvVarSource struct {
	SecretKeyRef *SecretKeySelector `yaml:"secretKeyRef,omitempty" json:"secretKeyRef,omitempty"`
}

// SecretKeySelector names one key of a Secret.
type SecretKeySelector struct {
	Name     string `yaml:"name" json:"name"`
	Key      string `yaml:"key" json:"key"`
	Optional *bool  `yaml:"optional,omitempty" json:"optional,omitempty"`
}

// Resources are a container's requests and limits (quantities as strings).
type Resources struct {
	Requests map[string]string `yaml:"requests,omitempty" json:"requests,omitempty"`
	Limits   map[string]string `yaml:"limits,omitempty" json:"limits,omitempty"`
}
