package reports

import (
	"fmt"
	"strings"
)

// MetricSpec is a plotted metric: an evaluation setting and a metric.
type MetricSpec struct{ Setting, Metric string }

// String is "multi map" (the form ParseMetricSpec reads).
func (m MetricSpec) String() string { return m.Setting + " " + m.Metric }

// ParseMetricSpec reads "SETTING METRIC" (e.g. "multi map", "cross
// r@10") or a bare language-bias metric ("rd", "same_lang_first"), which
// is measured in the multi setting.
func ParseMetricSpec(s string) (MetricSpec, error) {
	f := strings.Fields(s)
	switch {
	case len(f) == 1 && (f[0] == "rd" || f[0] == "same_lang_first"):
		return MetricSpec{"multi", f[0]}, nil
	case len(f) == 2 && (f[0] == "mono" || f[0] == "cross" || f[0] == "multi"):
		return MetricSpec{f[0], f[1]}, nil
	}
	return MetricSpec{}, fmt.Errorf("metric %q: want SETTING METRIC (mono|cross|multi, e.g. \"multi map\") or rd / same_lang_first", s)
}
