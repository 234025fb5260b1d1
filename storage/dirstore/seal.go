package dirstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/lair-ir/lair/storage"
)

// Publishing works on raw file descriptors (golang.org/x/sys/unix), not
// *os.File: os.Open tries to register every file with the runtime's poller
// (fcntl, epoll_ctl, fcntl again), which for the few small files of a
// typical artifact cost more CPU than hashing and fsyncing them.

// maxPending bounds the descriptors a seal keeps open for their fsync.
const maxPending = 256

// sealer holds the descriptors of an artifact's files and directories
// between hashing and fsync: every file is written before the first
// fsync, so on a journaling file system (ext4, data=ordered) the first
// fsync commits the metadata and data of all of them in one journal
// transaction and the rest find nothing left to commit, where
// fsync-as-you-go would commit once per file and again for the marker.
type sealer struct {
	pending []pendingSync
}

type pendingSync struct {
	fd   int
	path string
}

// add queues the open descriptor fd (of path) for flush; past maxPending
// the queue is flushed first, so a large artifact keeps few descriptors.
func (s *sealer) add(fd int, path string) error {
	if len(s.pending) >= maxPending {
		if err := s.flush(); err != nil {
			unix.Close(fd)
			return err
		}
	}
	s.pending = append(s.pending, pendingSync{fd, path})
	return nil
}

// flush fsyncs and closes every queued descriptor, in queue order.
func (s *sealer) flush() error {
	var first error
	for _, p := range s.pending {
		if err := fsync(p.fd); err != nil && first == nil {
			first = fmt.Errorf("sync %s: %w", p.path, err)
		}
		if err := unix.Close(p.fd); err != nil && first == nil {
			first = fmt.Errorf("close %s: %w", p.path, err)
		}
	}
	s.pending = s.pending[:0]
	return first
}

// drop closes every queued descriptor without syncing (the seal failed).
func (s *sealer) drop() {
	for _, p := range s.pending {
		unix.Close(p.fd)
	}
	s.pending = nil
}

// seal makes the temp key directory kd (its files/ holding what a stage
// wrote) ready to be renamed into place, opening every file and directory
// once: directories become 0755 and files at least 0644 (a shared store
// must be group-readable; stages' temp-file helpers make 0600 files),
// every file is hashed into the manifest while it is read, then the
// marker is written; then every file, directory, the marker and kd are
// fsynced (see sealer), all before seal returns.
func seal(ctx context.Context, key, kd string) (m *storage.Manifest, err error) {
	m = &storage.Manifest{Version: storage.ManifestVersion, Key: key, Files: []storage.File{}}
	var s sealer
	defer func() {
		if err != nil {
			s.drop()
		}
	}()
	files := filepath.Join(kd, "files")
	fd, err := open(files, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, err
	}
	if err := s.dir(ctx, m, fd, files, "", true); err != nil {
		return nil, fmt.Errorf("scan artifact %s in %s: %w", key, files, err)
	}
	// Directories are read in no particular order: sort by slash-joined
	// path as storage.ScanDir does.
	sort.Slice(m.Files, func(i, j int) bool { return m.Files[i].Path < m.Files[j].Path })
	marker := filepath.Join(kd, MarkerName)
	fd, err = writeNew(marker, m.Marshal())
	if err != nil {
		return nil, err
	}
	if err := s.add(fd, marker); err != nil {
		return nil, err
	}
	fd, err = open(kd, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, err
	}
	if err := unix.Fchmod(fd, 0o755); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("chmod %s: %w", kd, err)
	}
	if err := s.add(fd, kd); err != nil {
		return nil, err
	}
	if err := s.flush(); err != nil {
		return nil, err
	}
	return m, nil
}

// dir does seal's work for the open directory fd (path dir, rel below
// files/) and everything under it; fd is queued for its fsync (or closed
// on error). chmod says whether to make it 0755 (its mode was not read).
func (s *sealer) dir(ctx context.Context, m *storage.Manifest, fd int, dir, rel string, chmod bool) error {
	if err := s.dirEntries(ctx, m, fd, dir, rel, chmod); err != nil {
		unix.Close(fd)
		return err
	}
	return s.add(fd, dir)
}

func (s *sealer) dirEntries(ctx context.Context, m *storage.Manifest, fd int, dir, rel string, chmod bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	names, err := readNames(fd)
	if err != nil {
		return fmt.Errorf("read %s: %w", dir, err)
	}
	for _, name := range names {
		p := filepath.Join(dir, name)
		r := name
		if rel != "" {
			r = rel + "/" + name
		}
		// O_NOFOLLOW refuses a symlink, O_NONBLOCK keeps a FIFO from
		// blocking the open: both are then refused below.
		cfd, err := openat(fd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK)
		if errors.Is(err, unix.ELOOP) {
			return fmt.Errorf("%s: not a regular file (artifacts hold plain files only)", p)
		}
		if err != nil {
			return fmt.Errorf("open %s: %w", p, err)
		}
		var st unix.Stat_t
		if err := unix.Fstat(cfd, &st); err != nil {
			unix.Close(cfd)
			return fmt.Errorf("stat %s: %w", p, err)
		}
		perm := st.Mode & 0o777
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			if perm != 0o755 {
				if err := unix.Fchmod(cfd, 0o755); err != nil {
					unix.Close(cfd)
					return fmt.Errorf("chmod %s: %w", p, err)
				}
			}
			if err := s.dir(ctx, m, cfd, p, r, false); err != nil {
				return err
			}
		case unix.S_IFREG:
			sum, size, err := hashFile(cfd, perm)
			if err != nil {
				unix.Close(cfd)
				return fmt.Errorf("%s: %w", p, err)
			}
			m.Files = append(m.Files, storage.File{Path: r, Size: size, SHA256: sum})
			if err := s.add(cfd, p); err != nil {
				return err
			}
		default:
			unix.Close(cfd)
			return fmt.Errorf("%s: not a regular file (artifacts hold plain files only)", p)
		}
	}
	if chmod {
		if err := unix.Fchmod(fd, 0o755); err != nil {
			return fmt.Errorf("chmod %s: %w", dir, err)
		}
	}
	return nil
}

var bufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// hashFile makes the open regular file fd (mode perm) at least 0644 and
// hashes it to its end (the sha256 and the bytes read).
func hashFile(fd int, perm uint32) (string, int64, error) {
	if perm&0o644 != 0o644 {
		if err := unix.Fchmod(fd, perm|0o644); err != nil {
			return "", 0, fmt.Errorf("chmod: %w", err)
		}
	}
	var size int64
	h := sha256.New()
	bp := bufs.Get().(*[]byte)
	defer bufs.Put(bp)
	for {
		n, err := unix.Read(fd, *bp)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return "", 0, fmt.Errorf("read: %w", err)
		}
		if n == 0 {
			break
		}
		h.Write((*bp)[:n])
		size += int64(n)
	}
	return hex.EncodeToString(h.Sum(nil)), size, nil
}

// readNames returns the names in the open directory fd, without . and ..
func readNames(fd int) ([]string, error) {
	var names []string
	buf := make([]byte, 8192)
	for {
		n, err := unix.Getdents(fd, buf)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return names, nil
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
}

// writeNew creates the file p (which must not exist) holding data and
// returns its open descriptor, for the caller to fsync.
func writeNew(p string, data []byte) (int, error) {
	fd, err := open(p, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, 0o644)
	if err != nil {
		return -1, err
	}
	for len(data) > 0 {
		n, err := unix.Write(fd, data)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("write %s: %w", p, err)
		}
		data = data[n:]
	}
	return fd, nil
}

// readFile reads the whole file p.
func readFile(p string) ([]byte, error) {
	fd, err := open(p, unix.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var out []byte
	buf := make([]byte, 16<<10)
	for {
		n, err := unix.Read(fd, buf)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		if n == 0 {
			return out, nil
		}
		out = append(out, buf[:n]...)
	}
}

func open(p string, flags int, mode uint32) (int, error) {
	for {
		fd, err := unix.Open(p, flags|unix.O_CLOEXEC, mode)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return -1, fmt.Errorf("open %s: %w", p, err)
		}
		return fd, nil
	}
}

func openat(dirfd int, name string, flags int) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, name, flags|unix.O_CLOEXEC, 0)
		if !errors.Is(err, unix.EINTR) {
			return fd, err
		}
	}
}

// fsync syncs fd; file systems that refuse fsync (on directories, say)
// are not an error, as in fsutil.SyncTree.
func fsync(fd int) error {
	for {
		err := unix.Fsync(fd)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOTSUP), errors.Is(err, unix.EOPNOTSUPP):
			return nil
		}
		return err
	}
}
