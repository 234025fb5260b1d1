package faulttest

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lair-ir/lair/internal/s3server"
)

const (
	bucket   = "lair-faults"
	storeURL = "s3://" + bucket + "/team"
)

// TestS3TwoMachines: machine A runs a DAG against the S3 store; machine B,
// with its own working directory and caches, runs the same DAG and gets
// every instance from the store (cached), with the same bytes; then B
// runs a changed DAG: unchanged instances stay cached, changed ones run.
func TestS3TwoMachines(t *testing.T) {
	srv := s3server.Start(t, s3server.Options{Buckets: []string{bucket}})
	a := newMachine(t, "a", srv.Env()...)
	b := newMachine(t, "b", srv.Env()...)
	a.write("dag.yaml", chainDAG)
	b.write("dag.yaml", chainDAG)

	wantStatuses(t, a.mustLair("run", "dag.yaml", "--store", storeURL), 5, "ran")
	keys := checkPublished(t, filepath.Join(srv.Root, bucket, "team"))
	if len(keys) != 5 {
		t.Fatalf("%d keys published in the bucket, want 5: %v", len(keys), keys)
	}
	wantStatuses(t, a.mustLair("run", "dag.yaml", "--store", storeURL), 5, "cached")

	rb := b.mustLair("run", "dag.yaml", "--store", storeURL)
	wantStatuses(t, rb, 5, "cached")
	// What B's run links to is byte-for-byte what A's run made.
	for _, inst := range []string{"p", "t[seed=1]", "m[seed=2]"} {
		ta, tb := readTree(t, filepath.Join(a.dir, ".lair", "runs", "latest", inst)), readTree(t, filepath.Join(b.dir, ".lair", "runs", "latest", inst))
		if len(ta) == 0 || !equalTrees(ta, tb) {
			t.Errorf("%s: machine B's artifact differs from machine A's (%d vs %d files)", inst, len(ta), len(tb))
		}
	}

	// A changed parameter: the pairs and nothing else stay cached.
	rb = b.mustLair("run", "dag.yaml", "--store", storeURL, "--set", "hidden=24")
	got := stageLines(rb.stdout)
	if got["p"] != "cached" || got["t[seed=1]"] != "ran" || got["m[seed=1]"] != "ran" {
		t.Errorf("changed hidden: %v\n%s", got, rb)
	}
	if keys := checkPublished(t, filepath.Join(srv.Root, bucket, "team")); len(keys) != 9 {
		t.Errorf("%d keys published, want 9 (5 + 4 changed)", len(keys))
	}
	// A, which never ran the changed DAG, gets it from the store.
	wantStatuses(t, a.mustLair("run", "dag.yaml", "--store", storeURL, "--set", "hidden=24"), 5, "cached")
	s3Verify(t, a, storeURL)

	// One flipped byte in the bucket: a third machine's `lair verify`
	// names the key and the file and quarantines it; the next run
	// rebuilds that instance only, and the store verifies clean again.
	victim := keys[0]
	var damaged string
	filepath.WalkDir(filepath.Join(srv.Root, bucket, "team", victim), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() != "_COMPLETE" && damaged == "" {
			damaged = p
		}
		return nil
	})
	data, err := os.ReadFile(damaged)
	if err != nil || len(data) == 0 {
		t.Fatalf("no file to damage under %s: %v", victim, err)
	}
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(damaged, data, 0o644); err != nil {
		t.Fatal(err)
	}
	c := newMachine(t, "c", srv.Env()...)
	c.write("dag.yaml", chainDAG)
	v := c.lair("verify", "--store", storeURL)
	if !strings.Contains(v.stdout+v.stderr, victim) || !strings.Contains(v.stdout+v.stderr, filepath.Base(damaged)) {
		t.Errorf("lair verify does not name %s and %s:\n%s", victim, filepath.Base(damaged), v)
	}
	if _, err := os.Stat(filepath.Join(srv.Root, bucket, "team", victim, "_COMPLETE")); err == nil {
		t.Errorf("the damaged key %s is still published after lair verify", victim)
	}
	rc := c.mustLair("run", "dag.yaml", "--store", storeURL)
	ran := 0
	for _, st := range stageLines(rc.stdout) {
		if st == "ran" {
			ran++
		}
	}
	if ran != 1 {
		t.Errorf("after quarantining one key, %d instances ran, want 1:\n%s", ran, rc)
	}
	checkPublished(t, filepath.Join(srv.Root, bucket, "team"))
	s3Verify(t, c, storeURL)
	t.Logf("lair verify on a damaged key: %s", lastLines(v.stdout, 3))
}

// s3Verify runs `lair verify` on an S3 store and wants it clean.
func s3Verify(t testing.TB, m *machine, store string) {
	t.Helper()
	if r := m.lair("verify", "--store", store); r.code != 0 || !strings.Contains(r.stdout, " 0 corrupt") {
		t.Errorf("lair verify --store %s: %s", store, r)
	}
}

// TestS3BadSettings: wrong secret, unknown access key, missing bucket,
// unreachable endpoint (nothing listening; a proxy that drops every
// connection) each fail with one clear error before any stage runs.
func TestS3BadSettings(t *testing.T) {
	srv := s3server.Start(t, s3server.Options{Buckets: []string{bucket}})
	dropper := s3server.NewProxy(t, srv.Addr)
	dropper.Refuse(true)
	closed := closedEndpoint(t)
	for _, tc := range []struct {
		name  string
		env   []string
		store string
		want  []string // every one must appear in stderr (case-insensitive)
	}{
		{"wrong secret", s3server.EnvFor(srv.Endpoint, srv.AccessKey, "not-the-secret"), storeURL,
			[]string{storeURL, "AWS_SECRET_ACCESS_KEY"}},
		{"unknown access key", s3server.EnvFor(srv.Endpoint, "nobody", "not-the-secret"), storeURL,
			[]string{storeURL, "AWS_ACCESS_KEY_ID"}},
		{"missing bucket", srv.Env(), "s3://no-such-bucket/x",
			[]string{"s3://no-such-bucket/x", "bucket", "does not exist"}},
		{"nothing listening", s3server.EnvFor(closed, srv.AccessKey, srv.SecretKey), storeURL,
			[]string{storeURL, strings.TrimPrefix(closed, "http://"), "AWS_ENDPOINT_URL"}},
		{"connections dropped", s3server.EnvFor(dropper.Endpoint, srv.AccessKey, srv.SecretKey), storeURL,
			[]string{storeURL, dropper.Addr, "AWS_ENDPOINT_URL"}},
	} {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			m := newMachine(t, "m", tc.env...)
			m.write("dag.yaml", chainDAG)
			r := m.lair("run", "dag.yaml", "--store", tc.store)
			if r.code == 0 {
				t.Fatalf("run succeeded:\n%s", r)
			}
			if len(stageLines(r.stdout)) != 0 || strings.Contains(r.stdout, " ran") {
				t.Errorf("stages ran or were reported before the store was checked:\n%s", r)
			}
			msg := strings.TrimSpace(r.stderr)
			for _, w := range tc.want {
				if !strings.Contains(strings.ToLower(msg), strings.ToLower(w)) {
					t.Errorf("error does not say %q:\n%s", w, msg)
				}
			}
			if n := strings.Count(msg, "\n") + 1; n > 3 {
				t.Errorf("error is %d lines, want one clear message:\n%s", n, msg)
			}
			if r.took > 60*time.Second {
				t.Errorf("took %s to fail", r.took)
			}
			// The same for a cluster step.
			st := m.lair("stage", "run", "dag.yaml", "p", "--store", tc.store)
			if st.code == 0 || strings.TrimSpace(st.stdout) != "" {
				t.Errorf("lair stage run: %s", st)
			}
			if objs, _ := srv.Objects(bucket, ""); len(objs) != 0 {
				t.Errorf("objects written: %v", objs)
			}
			t.Logf("%s (%s): %s", tc.name, r.took.Round(time.Millisecond), msg)
		})
	}
}

// closedEndpoint returns an http:// endpoint on 127.0.0.1 where nothing
// listens.
func closedEndpoint(t *testing.T) string {
	p := s3server.NewProxy(t, "127.0.0.1:1")
	addr := p.Addr
	p.Close()
	return "http://" + addr
}

// TestS3KilledUpload: a run (`lair run`, and a cluster step, `lair stage
// run`) is SIGKILLed while it uploads a 10 MB artifact (through a proxy
// slowed to 512 KB/s, after 1 MB went up). The bucket then holds no marker
// for it; another machine does not see it and runs the stage again; the
// killed machine's next run completes, and every published artifact
// re-hashes to its manifest.
func TestS3KilledUpload(t *testing.T) {
	for _, argv := range [][]string{
		{"run", "dag.yaml", "--store", storeURL},
		{"stage", "run", "dag.yaml", "big", "--store", storeURL},
	} {
		t.Run(argv[0], func(t *testing.T) { killedUpload(t, argv) })
	}
}

func killedUpload(t *testing.T, argv []string) {
	srv := s3server.Start(t, s3server.Options{Buckets: []string{bucket}})
	proxy := s3server.NewProxy(t, srv.Addr)
	a := newMachine(t, "a", s3server.EnvFor(proxy.Endpoint, srv.AccessKey, srv.SecretKey)...)
	const dag = `name: big
stages:
  big: {uses: model/generate, with: {arch: static, hidden: 128, vocab_size: 20000, seed: 7}}
`
	a.write("dag.yaml", dag)
	proxy.SetRate(512 << 10)
	cmd := a.command(argv...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		_, _, up, _ := proxy.Stats()
		if up > 1<<20 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("lair %s uploaded %d bytes in 2 minutes", strings.Join(argv, " "), up)
		}
		time.Sleep(20 * time.Millisecond)
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	cmd.Wait()
	_, _, up, _ := proxy.Stats()
	t.Logf("lair %s killed after %d bytes went up", strings.Join(argv, " "), up)
	proxy.SetRate(0)
	proxy.CutAll()

	if keys := checkPublished(t, filepath.Join(srv.Root, bucket, "team")); len(keys) != 0 {
		t.Fatalf("a killed upload left published keys: %v", keys)
	}
	b := newMachine(t, "b", srv.Env()...)
	b.write("dag.yaml", dag)
	wantStatuses(t, b.mustLair("run", "dag.yaml", "--store", storeURL), 1, "ran")
	keys := checkPublished(t, filepath.Join(srv.Root, bucket, "team"))
	if len(keys) != 1 {
		t.Fatalf("published %v, want one key", keys)
	}
	ra := a.mustLair(argv...)
	if !strings.Contains(ra.stdout, "cached") && !strings.Contains(ra.stdout, "ran") {
		t.Errorf("machine A after its kill: %s", ra)
	}
	if k := checkPublished(t, filepath.Join(srv.Root, bucket, "team")); len(k) != 1 || k[0] != keys[0] {
		t.Errorf("after A's rerun: %v, want %v", k, keys)
	}
	s3Verify(t, b, storeURL)
	objs, _ := srv.Objects(bucket, "team/")
	t.Logf("bucket after the kill and reruns: %d objects", len(objs))
}

// TestS3FlakyServer: every third connection to the server is cut after
// 32 KB. Runs retry (or fail with a clear error and succeed when run
// again); the store never holds a damaged artifact, and a second machine
// reading directly from the server gets every instance cached.
func TestS3FlakyServer(t *testing.T) {
	srv := s3server.Start(t, s3server.Options{Buckets: []string{bucket}})
	proxy := s3server.NewProxy(t, srv.Addr)
	a := newMachine(t, "a", s3server.EnvFor(proxy.Endpoint, srv.AccessKey, srv.SecretKey)...)
	const dag = `name: flaky
params:
  seeds: [1, 2, 3, 4]
stages:
  p: {uses: pairs/file, with: {path: pairs.jsonl, license: CC0-1.0}}
  t: {uses: model/tiny, needs: [p], with: {hidden: 32}, matrix: {seed: "${params.seeds}"}}
  m:
    uses: model/generate
    with: {arch: static, hidden: 64}
    matrix: {seed: "${params.seeds}"}
`
	a.write("dag.yaml", dag)
	proxy.CutEvery(3, 32<<10)
	var ok bool
	for attempt := 1; attempt <= 3 && !ok; attempt++ {
		r := a.lair("run", "dag.yaml", "--store", storeURL)
		ok = r.code == 0
		if !ok {
			if !strings.Contains(r.stderr+r.stdout, storeURL) && !strings.Contains(r.stderr+r.stdout, proxy.Addr) {
				t.Errorf("attempt %d failed without naming the store or endpoint:\n%s", attempt, r)
			}
			t.Logf("attempt %d failed: %s", attempt, lastLines(r.stderr, 3))
		}
		checkPublished(t, filepath.Join(srv.Root, bucket, "team"))
	}
	accepted, cut, up, down := proxy.Stats()
	t.Logf("proxy: %d connections, %d cut, %d bytes up, %d down", accepted, cut, up, down)
	if !ok {
		t.Fatal("three runs through the flaky proxy all failed")
	}
	if cut == 0 {
		t.Fatal("the proxy cut nothing: the test proved nothing")
	}
	keys := checkPublished(t, filepath.Join(srv.Root, bucket, "team"))
	if len(keys) != 9 {
		t.Errorf("%d keys published, want 9", len(keys))
	}
	b := newMachine(t, "b", srv.Env()...)
	b.write("dag.yaml", dag)
	s3Verify(t, b, storeURL)
	wantStatuses(t, b.mustLair("run", "dag.yaml", "--store", storeURL), 9, "cached")
	// Downloads through the flaky proxy as well: a third machine.
	c := newMachine(t, "c", s3server.EnvFor(proxy.Endpoint, srv.AccessKey, srv.SecretKey)...)
	c.write("dag.yaml", dag)
	var rc result
	for attempt := 1; attempt <= 6; attempt++ {
		if rc = c.lair("run", "dag.yaml", "--store", storeURL); rc.code == 0 {
			break
		}
		t.Logf("download attempt %d failed: %s", attempt, lastLines(rc.stderr, 3))
	}
	if rc.code != 0 {
		t.Fatalf("downloads through the flaky proxy: %s", rc)
	}
	for _, inst := range []string{"t[seed=3]", "m[seed=4]"} {
		if !equalTrees(readTree(t, filepath.Join(b.dir, ".lair", "runs", "latest", inst)), readTree(t, filepath.Join(c.dir, ".lair", "runs", "latest", inst))) {
			t.Errorf("%s fetched through the flaky proxy differs", inst)
		}
	}
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, " | ")
}

func readTree(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real // runs/latest/<instance> links to the store
	}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			return nil
		}
		sum, _, err := hashFile(p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = sum
		return nil
	})
	return out
}

func equalTrees(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestS3GCOtherMachine: machine A runs a DAG whose last instance uploads
// slowly (10 MB through a proxy slowed to 512 KB/s) after reusing five
// cached instances. Meanwhile machine B, which has no run records at all,
// runs `lair gc` on the bucket: it must keep every key A's run uses (A's
// lease in the bucket names them) and say whose they are. A's run then
// succeeds and its rerun is fully cached. Once A's run has ended, B's gc
// deletes everything (B's records reference nothing), so the lease went
// with the run.
func TestS3GCOtherMachine(t *testing.T) {
	srv := s3server.Start(t, s3server.Options{Buckets: []string{bucket}})
	proxy := s3server.NewProxy(t, srv.Addr)
	a := newMachine(t, "a", s3server.EnvFor(proxy.Endpoint, srv.AccessKey, srv.SecretKey)...)
	b := newMachine(t, "b", srv.Env()...)
	a.write("dag.yaml", chainDAG)
	wantStatuses(t, a.mustLair("run", "dag.yaml", "--store", storeURL), 5, "ran")
	root := filepath.Join(srv.Root, bucket, "team")
	before := checkPublished(t, root)
	if len(before) != 5 {
		t.Fatalf("published %v, want 5 keys", before)
	}

	a.write("dag2.yaml", chainDAG+`  big: {uses: model/generate, with: {arch: static, hidden: 128, vocab_size: 20000, seed: 7}}
`)
	proxy.SetRate(512 << 10)
	_, _, up0, _ := proxy.Stats() // the first run's uploads
	cmd := a.command("run", "dag2.yaml", "--store", storeURL)
	var aout strings.Builder
	cmd.Stdout, cmd.Stderr = &aout, &aout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, _, up, _ := proxy.Stats(); up > up0+1<<20 {
			break
		}
		if time.Now().After(deadline) {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			cmd.Wait()
			t.Fatalf("machine A's run uploaded nothing in 2 minutes:\n%s", aout.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	g := b.mustLair("gc", "--store", storeURL)
	during := checkPublished(t, root)
	proxy.SetRate(0)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("machine A's run during B's gc: %v\n%s", err, aout.String())
	}
	if len(during) != len(before) {
		t.Errorf("B's gc during A's run deleted keys A uses: %d of %d left\n%s", len(during), len(before), g)
	}
	if !strings.Contains(g.stdout, "keeping the 6 keys of the running run pid") || !strings.Contains(g.stdout, "lair run dag2.yaml") {
		t.Errorf("B's gc does not say whose keys it keeps:\n%s", g)
	}
	t.Logf("gc on machine B during A's run: %s", lastLines(g.stdout, 2))
	wantStatuses(t, a.mustLair("run", "dag2.yaml", "--store", storeURL), 6, "cached")

	g = b.mustLair("gc", "--store", storeURL)
	if keys := checkPublished(t, root); len(keys) != 0 || !strings.Contains(g.stdout, "deleted 6 of 6") {
		t.Errorf("B's gc after A's runs ended left %v:\n%s", keys, g)
	}
	if objs, _ := srv.Objects(bucket, "team/.leases/"); len(objs) != 0 {
		t.Errorf("leases left in the bucket after every run and gc ended: %v", objs)
	}
}
