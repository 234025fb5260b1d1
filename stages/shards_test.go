package stages

import (
	"fmt"
	"testing"
)

func TestShardOf(t *testing.T) {
	counts := make([]int, 4)
	for i := 0; i < 4000; i++ {
		counts[ShardOf(fmt.Sprintf("%d#%d", i/7, i%7), 4)]++
	}
	for s, c := range counts {
		if c < 850 || c > 1150 {
			t.Errorf("shard %d has %d of 4000 ids: unbalanced %v", s, c, counts)
		}
	}
	if ShardOf("12#3", 5) != ShardOf("12#3", 5) || ShardOf("x", 1) != 0 {
		t.Error("ShardOf not a function of the id")
	}
}
