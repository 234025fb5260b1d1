package s3server

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Proxy forwards TCP connections from Addr to a target address and
// misbehaves on request: it cuts connections after some bytes, refuses
// them, or slows them down. Clients talk to Endpoint instead of the
// server's.
type Proxy struct {
	// Addr is 127.0.0.1:PORT; Endpoint is http://Addr.
	Addr, Endpoint string

	target string
	ln     net.Listener
	wg     sync.WaitGroup

	mu       sync.Mutex
	every    int   // cut every every-th new connection (0: none)
	after    int64 // ... once it carried this many bytes (both directions)
	refuse   bool  // close new connections at once
	rate     int64 // bytes per second per connection and direction (0: unlimited)
	accepted int
	cut      int
	conns    map[net.Conn]struct{}

	up, down atomic.Int64 // bytes forwarded client->server and back
}

// NewProxy starts a proxy to target (host:port), closed in t.Cleanup.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{Addr: ln.Addr().String(), target: target, ln: ln, conns: map[net.Conn]struct{}{}}
	p.Endpoint = "http://" + p.Addr
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.Close)
	return p
}

// CutEvery makes every n-th new connection (n >= 1; 0 turns it off) close
// both ways once it has carried after bytes, as a dying server or a
// broken network would.
func (p *Proxy) CutEvery(n int, after int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.every, p.after = n, after
}

// Refuse makes the proxy close every new connection at once (on), or
// forward again (off).
func (p *Proxy) Refuse(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refuse = on
}

// SetRate limits every connection to bps bytes per second in each
// direction (0: unlimited).
func (p *Proxy) SetRate(bps int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rate = bps
}

// CutAll closes every open connection now.
func (p *Proxy) CutAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
		p.cut++
	}
}

// Stats returns how many connections were accepted and how many the
// proxy cut, and the bytes forwarded upstream (to the server) and
// downstream.
func (p *Proxy) Stats() (accepted, cut int, up, down int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted, p.cut, p.up.Load(), p.down.Load()
}

// Close stops accepting and closes every connection.
func (p *Proxy) Close() {
	p.ln.Close()
	p.CutAll()
	p.wg.Wait()
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.accepted++
		refuse := p.refuse
		var limit int64 = -1
		if p.every > 0 && p.accepted%p.every == 0 {
			limit = p.after
		}
		rate := p.rate
		if refuse {
			p.cut++
		}
		p.mu.Unlock()
		if refuse {
			c.Close()
			continue
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.handle(c, limit, rate)
		}()
	}
}

func (p *Proxy) handle(c net.Conn, limit, rate int64) {
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c] = struct{}{}
	p.conns[s] = struct{}{}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.conns, c)
		delete(p.conns, s)
		p.mu.Unlock()
		c.Close()
		s.Close()
	}()
	var total atomic.Int64
	var once sync.Once
	closeBoth := func(counted bool) {
		once.Do(func() {
			if counted {
				p.mu.Lock()
				p.cut++
				p.mu.Unlock()
			}
			c.Close()
			s.Close()
		})
	}
	cut := func() { closeBoth(true) }
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn, count *atomic.Int64) {
		defer func() { done <- struct{}{} }()
		buf := make([]byte, 16<<10)
		start := time.Now()
		var sent int64
		for {
			n, err := src.Read(buf)
			if n > 0 {
				chunk := buf[:n]
				if limit >= 0 {
					left := limit - total.Load()
					if left <= 0 {
						cut()
						return
					}
					if int64(len(chunk)) > left {
						chunk = chunk[:left]
					}
				}
				if _, werr := dst.Write(chunk); werr != nil {
					return
				}
				count.Add(int64(len(chunk)))
				sent += int64(len(chunk))
				if limit >= 0 && total.Add(int64(len(chunk))) >= limit {
					cut()
					return
				}
				if rate > 0 {
					// Sleep until sent bytes fit the rate.
					if due := time.Duration(float64(sent) / float64(rate) * float64(time.Second)); due > time.Since(start) {
						time.Sleep(due - time.Since(start))
					}
				}
			}
			if err != nil {
				if !errors.Is(err, io.EOF) {
					closeBoth(false)
				}
				// Half-close so the other side sees the end.
				if tc, ok := dst.(*net.TCPConn); ok {
					tc.CloseWrite()
				}
				return
			}
		}
	}
	go pipe(s, c, &p.up)
	go pipe(c, s, &p.down)
	<-done
	<-done
}
