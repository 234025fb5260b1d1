package leakage

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestReportRoundTrip(t *testing.T) {
	dir := t.TempDir()
	r := &Report{Pass: true, Pairs: 7}
	if err := WriteReport(dir, r); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "check.json")); err != nil {
		t.Fatalf("layout: %v", err)
	}
	got, err := ReadReport(dir)
	if err != nil || !reflect.DeepEqual(got, r) {
		t.Errorf("ReadReport = %+v, %v; want %+v", got, err, r)
	}
	os.WriteFile(filepath.Join(dir, "check.json"), []byte("{"), 0o644)
	if _, err := ReadReport(dir); err == nil {
		t.Error("a malformed check.json read without error")
	}
}
