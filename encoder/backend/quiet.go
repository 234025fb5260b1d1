package backend

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/gomlx/compute"
)

// newQuiet is compute.NewWithConfig for GoMLX configurations, except that
// the pure-Go backend's "parallelism=N" option is applied here rather than
// by the backend: given that option, the backend prints "Go backend:
// parallelism set to N" on standard output, which lands in the middle of
// lair's stage list. The parallelism is set through the backend's exported
// worker pool instead; a backend without one gets the option as it was.
func newQuiet(config string) (compute.Backend, error) {
	name, opts, _ := strings.Cut(config, ":")
	if name != "go" {
		return newWithConfig(config)
	}
	par := -1
	var rest []string
	for _, o := range strings.Split(opts, ",") {
		k, v, _ := strings.Cut(o, "=")
		if k != "parallelism" {
			rest = append(rest, o)
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return newWithConfig(config) // the backend's own error
		}
		par = n
	}
	if par < 0 {
		return newWithConfig(config)
	}
	b, err := newWithConfig(name + ":" + strings.Join(rest, ","))
	if err != nil {
		return nil, err
	}
	if !setParallelism(b, par) {
		b.Finalize()
		return newWithConfig(config)
	}
	return b, nil
}

// newWithConfig is compute.NewWithConfig with its panics (an unknown
// backend name panics in GoMLX) turned into errors.
func newWithConfig(config string) (b compute.Backend, err error) {
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("%v (set $%s, or the stage's backend, to a configuration such as %q)", r, EnvGoMLX, DefaultGo)
		}
	}()
	return compute.NewWithConfig(config)
}

// setParallelism calls b.Workers.SetMaxParallelism(n) when b has such a
// worker pool (the pure-Go backend does).
func setParallelism(b compute.Backend, n int) bool {
	v := reflect.ValueOf(b)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return false
	}
	w := v.Elem().FieldByName("Workers")
	if !w.IsValid() || !w.CanInterface() {
		return false
	}
	m := w.MethodByName("SetMaxParallelism")
	if !m.IsValid() || m.Type().NumIn() != 1 || m.Type().In(0).Kind() != reflect.Int {
		return false
	}
	m.Call([]reflect.Value{reflect.ValueOf(n)})
	return true
}
