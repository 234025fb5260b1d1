package eval

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestOrderedParallel(t *testing.T) {
	for _, threads := range []int{1, 2, 7} {
		var got []int
		err := orderedParallel(context.Background(), 50, threads, func(i int) int {
			time.Sleep(time.Duration((i*7919)%5) * 100 * time.Microsecond) // finish out of order
			return i * i
		}, func(i, v int) error {
			if v != i*i {
				t.Fatalf("threads %d: result %d is %d, want %d", threads, i, v, i*i)
			}
			got = append(got, i)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range got {
			if v != i {
				t.Fatalf("threads %d: results used in order %v", threads, got)
			}
		}
		if len(got) != 50 {
			t.Fatalf("threads %d: %d results used, want 50", threads, len(got))
		}
	}
	// use's first error stops the run and is returned.
	stop := errors.New("stop")
	n := 0
	err := orderedParallel(context.Background(), 1000, 3, func(i int) int { return i }, func(i, _ int) error {
		n++
		if i == 10 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 11 {
		t.Fatalf("error run: err %v after %d uses, want %v after 11", err, n, stop)
	}
	// a cancelled context stops it too.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := orderedParallel(ctx, 1000, 2, func(i int) int { return i }, func(int, int) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run: err %v", err)
	}
}
