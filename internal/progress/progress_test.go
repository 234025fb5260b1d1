package progress

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestPlainLogsThrottled(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
	d := New(&buf, Options{Log: log, LogEvery: time.Second})
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	d.now = func() time.Time { return clock }
	p, end := d.Stage("encode[lang=de]")
	p.Start("encode", 100)
	for i := 0; i < 10; i++ {
		clock = clock.Add(300 * time.Millisecond)
		p.Add(5)
	}
	end()
	d.Close()
	got := buf.String()
	lines := strings.Split(strings.TrimSpace(got), "\n")
	// One start line, then one line per full second since the last (at 1.2s and 2.4s).
	if len(lines) != 3 {
		t.Fatalf("got %d lines:\n%s", len(lines), got)
	}
	if !strings.Contains(lines[0], `stage="encode[lang=de]" phase=encode total=100`) {
		t.Errorf("start line: %s", lines[0])
	}
	if !strings.Contains(lines[1], "done=20 total=100 rate=16.7/s eta=5s") {
		t.Errorf("progress line: %s", lines[1])
	}
}

func TestTerminalBlock(t *testing.T) {
	var buf bytes.Buffer
	d := New(&buf, Options{TTY: true, Refresh: time.Hour, Width: 120})
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	d.now = func() time.Time { return clock }
	p, end := d.Stage("train")
	p.Start("steps", 10)
	clock = clock.Add(2 * time.Second)
	p.Add(4)
	d.Write([]byte("a log line\n"))
	out := buf.String()
	if !strings.Contains(out, "a log line\ntrain") || !strings.Contains(out, "[=========               ] 4/10 2.0/s ETA 3s") {
		t.Fatalf("terminal output:\n%q", out)
	}
	buf.Reset()
	end()
	d.Close()
	if got := buf.String(); got != "\x1b[1A\r\x1b[J" {
		t.Fatalf("close should erase the block, wrote %q", got)
	}
}

func TestTerminalLinesNeverWrap(t *testing.T) {
	var buf bytes.Buffer
	d := New(&buf, Options{TTY: true, Refresh: time.Hour, Width: 20})
	p, _ := d.Stage("a-very-long-stage-instance-name[with=matrix,values=too]")
	p.Start("phase", 10)
	d.Write(nil)
	d.Close()
	for _, l := range strings.Split(buf.String(), "\n") {
		if n := len([]rune(l)); n >= 20+len("\x1b[1A\r\x1b[J") {
			t.Fatalf("line of %d runes: %q", n, l)
		}
	}
	if !strings.Contains(buf.String(), "a-very-long-stage-i\n") {
		t.Fatalf("want the line cut at 19 columns: %q", buf.String())
	}
}
