package progress

import (
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lair-ir/lair/pipeline"
)

// Display renders the progress of running stages.
//
// On a terminal it redraws a block of lines (one per running stage) below
// the log output; log lines written through Display (it is an io.Writer)
// appear above the block. Elsewhere it logs a line when a phase starts and
// at most every LogEvery while it runs.
type Display struct {
	w        io.Writer
	tty      bool
	log      *slog.Logger
	logEvery time.Duration
	width    int
	now      func() time.Time

	mu     sync.Mutex
	bars   map[string]*bar
	drawn  int // lines of the block now on screen
	stop   chan struct{}
	closed bool
}

// Options configure a Display.
type Options struct {
	TTY bool
	// Log receives plain progress lines when TTY is false; nil discards.
	Log *slog.Logger
	// LogEvery throttles plain progress lines (default 10s).
	LogEvery time.Duration
	// Refresh is how often the terminal block is redrawn (default 150ms).
	Refresh time.Duration
	// Width is the terminal's width in columns: longer lines are cut so
	// that none wraps (a wrapped line would break the redraw). 0: 80.
	Width int
}

// New returns a Display writing to w. Close it when the run ends.
func New(w io.Writer, opts Options) *Display {
	d := &Display{w: w, tty: opts.TTY, log: opts.Log, logEvery: opts.LogEvery, now: time.Now,
		bars: map[string]*bar{}, stop: make(chan struct{})}
	if d.logEvery <= 0 {
		d.logEvery = 10 * time.Second
	}
	d.width = opts.Width
	if d.width <= 0 {
		d.width = 80
	}
	if d.tty {
		refresh := opts.Refresh
		if refresh <= 0 {
			refresh = 150 * time.Millisecond
		}
		go d.loop(refresh)
	}
	return d
}

func (d *Display) loop(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-t.C:
			d.mu.Lock()
			d.redraw()
			d.mu.Unlock()
		}
	}
}

// Stage starts showing a stage instance and returns its reporter and a
// func that removes it when the stage ends.
func (d *Display) Stage(name string) (pipeline.Progress, func()) {
	b := &bar{d: d, name: name, started: d.now()}
	d.mu.Lock()
	d.bars[name] = b
	d.mu.Unlock()
	return b, func() {
		d.mu.Lock()
		delete(d.bars, name)
		d.mu.Unlock()
	}
}

// Write writes log output above the progress block.
func (d *Display) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.clear()
	n, err := d.w.Write(p)
	if d.tty && !d.closed {
		d.redraw()
	}
	return n, err
}

// Close stops redrawing and clears the block.
func (d *Display) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	d.closed = true
	close(d.stop)
	d.clear()
}

// clear erases the block; d.mu is held.
func (d *Display) clear() {
	if !d.tty || d.drawn == 0 {
		return
	}
	// Up d.drawn lines, then clear to the end of the screen.
	fmt.Fprintf(d.w, "\x1b[%dA\r\x1b[J", d.drawn)
	d.drawn = 0
}

// redraw repaints the block; d.mu is held.
func (d *Display) redraw() {
	if !d.tty || d.closed {
		return
	}
	d.clear()
	names := make([]string, 0, len(d.bars))
	for n := range d.bars {
		names = append(names, n)
	}
	sort.Strings(names)
	var sb strings.Builder
	for _, n := range names {
		line := []rune(d.bars[n].line(d.now()))
		if len(line) >= d.width {
			line = line[:max(1, d.width-1)]
		}
		sb.WriteString(string(line))
		sb.WriteByte('\n')
	}
	io.WriteString(d.w, sb.String())
	d.drawn = len(names)
}

// bar is the progress of one stage instance.
type bar struct {
	d       *Display
	name    string
	started time.Time

	// guarded by d.mu
	phase      string
	total      int64
	done       int64
	phaseStart time.Time
	lastLog    time.Time
}

// Start implements pipeline.Progress.
func (b *bar) Start(phase string, total int64) {
	b.d.mu.Lock()
	b.phase, b.total, b.done = phase, total, 0
	b.phaseStart = b.d.now()
	b.lastLog = b.phaseStart
	log := !b.d.tty && b.d.log != nil
	b.d.mu.Unlock()
	if log {
		if total > 0 {
			b.d.log.Info("progress", "stage", b.name, "phase", phase, "total", total)
		} else {
			b.d.log.Info("progress", "stage", b.name, "phase", phase)
		}
	}
}

// Add implements pipeline.Progress.
func (b *bar) Add(n int64) {
	b.d.mu.Lock()
	b.done += n
	now := b.d.now()
	var args []any
	if !b.d.tty && b.d.log != nil && now.Sub(b.lastLog) >= b.d.logEvery {
		b.lastLog = now
		args = []any{"stage", b.name, "phase", b.phase, "done", b.done}
		if b.total > 0 {
			args = append(args, "total", b.total)
		}
		rate, eta := b.rateETA(now)
		args = append(args, "rate", fmt.Sprintf("%.1f/s", rate))
		if eta > 0 {
			args = append(args, "eta", eta.Round(time.Second).String())
		}
	}
	b.d.mu.Unlock()
	if args != nil {
		b.d.log.Info("progress", args...)
	}
}

func (b *bar) rateETA(now time.Time) (float64, time.Duration) {
	el := now.Sub(b.phaseStart).Seconds()
	if el <= 0 || b.done <= 0 {
		return 0, 0
	}
	rate := float64(b.done) / el
	if b.total <= 0 || b.done >= b.total {
		return rate, 0
	}
	return rate, time.Duration(float64(b.total-b.done) / rate * float64(time.Second))
}

// line formats the bar for the terminal; d.mu is held.
func (b *bar) line(now time.Time) string {
	name := b.name
	if len(name) > 32 {
		name = name[:31] + "…"
	}
	s := fmt.Sprintf("%-32s ", name)
	elapsed := now.Sub(b.started).Round(time.Second)
	if b.phase == "" {
		return s + fmt.Sprintf("running %s", elapsed)
	}
	rate, eta := b.rateETA(now)
	if b.total > 0 {
		const width = 24
		frac := float64(b.done) / float64(b.total)
		frac = max(0, min(1, frac))
		fill := int(frac * width)
		s += fmt.Sprintf("%-12s [%s%s] %d/%d %.1f/s", trunc(b.phase, 12), strings.Repeat("=", fill), strings.Repeat(" ", width-fill), b.done, b.total, rate)
		if eta > 0 {
			s += " ETA " + eta.Round(time.Second).String()
		}
		return s
	}
	return s + fmt.Sprintf("%-12s %d %.1f/s %s", trunc(b.phase, 12), b.done, rate, elapsed)
}

func trunc(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
