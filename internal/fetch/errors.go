package fetch

import (
	"errors"
	"fmt"
	"net/http"
)

// ChecksumError reports a file whose sha256 differs from the expected one.
type ChecksumError struct {
	URL      string // where it came from ("" for a cached file)
	File     string // the cached file, when Cached
	Expected string
	Actual   string
	Cached   bool // a file already in the cache changed since it was verified
}

func (e *ChecksumError) Error() string {
	if e.Cached {
		return fmt.Sprintf("cached file %s is corrupt: sha256 %s, expected %s (it changed after it was verified; remove it and run again)", e.File, e.Actual, e.Expected)
	}
	return fmt.Sprintf("checksum mismatch for %s: expected sha256 %s, got %s (nothing was cached; the mirror or origin serves a different file)", e.URL, e.Expected, e.Actual)
}

// StatusError is an HTTP answer that is neither success nor retried away.
type StatusError struct {
	URL    string
	Code   int
	Header http.Header
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("GET %s: HTTP %d %s", e.URL, e.Code, http.StatusText(e.Code))
}

// Error is the final error of a download: the URL, the file it was to
// become, the attempts made and the last cause.
type Error struct {
	URL      string
	File     string
	Attempts int // attempts made
	Max      int // attempts allowed
	Err      error
}

func (e *Error) Error() string {
	s := fmt.Sprintf("download %s to %s", e.URL, e.File)
	if e.Max > 1 {
		s += fmt.Sprintf(" (attempt %d of %d)", e.Attempts, e.Max)
	}
	return s + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// retryable reports whether an error is worth another attempt.
func retryable(err error) bool {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code == http.StatusTooManyRequests || se.Code >= 500
	}
	var ce *ChecksumError
	if errors.As(err, &ce) {
		return false
	}
	// Timeouts of the transport (connect, headers) count as
	// DeadlineExceeded; they are worth another try. The caller's own
	// context ending is checked before this.
	return true
}
