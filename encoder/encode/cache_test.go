package encode

import (
	"reflect"
	"testing"
)

func TestSegmentRoundTrip(t *testing.T) {
	keys := []TextKey{KeyOf("a"), KeyOf("b")}
	vecs := []float32{1, 2, 3, -4, 5.5, 6}
	b := EncodeSegment(keys, vecs, 3)
	var gotK []TextKey
	var gotV []float32
	dim, err := DecodeSegment(b, func(k TextKey, v []float32) { gotK = append(gotK, k); gotV = append(gotV, v...) })
	if err != nil || dim != 3 || !reflect.DeepEqual(gotK, keys) || !reflect.DeepEqual(gotV, vecs) {
		t.Fatalf("got %v %v %d %v", gotK, gotV, dim, err)
	}
	for _, bad := range [][]byte{b[:len(b)-1], append(append([]byte{}, b[:20]...), b[21:]...), []byte("LAIREMB2" + string(b[8:]))} {
		if _, err := DecodeSegment(bad, func(TextKey, []float32) {}); err == nil {
			t.Errorf("damaged segment of %d bytes decoded", len(bad))
		}
	}
	flipped := append([]byte{}, b...)
	flipped[30] ^= 1
	if _, err := DecodeSegment(flipped, func(TextKey, []float32) {}); err == nil {
		t.Error("a flipped bit went unnoticed")
	}
}

func FuzzDecodeSegment(f *testing.F) {
	f.Add(EncodeSegment([]TextKey{KeyOf("x")}, []float32{1, 2}, 2))
	f.Add([]byte("LAIREMB1"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		n := 0
		dim, err := DecodeSegment(b, func(k TextKey, v []float32) {
			if len(v) == 0 {
				t.Fatal("empty vector")
			}
			n++
		})
		if err == nil && len(b) != 20+n*(16+4*dim) {
			t.Fatalf("accepted %d bytes for %d records of dim %d", len(b), n, dim)
		}
	})
}

func TestSettingsKey(t *testing.T) {
	a := Settings{ModelHash: "m", Role: "query", Prefix: "Q: ", MaxLength: 128, Pooling: "mean", Normalize: true}
	b := a
	b.Prefix = "Q:"
	if a.Key() == b.Key() {
		t.Fatal("prefix does not change the key")
	}
	b = a
	b.MaxLength = 64
	if a.Key() == b.Key() {
		t.Fatal("max length does not change the key")
	}
}
