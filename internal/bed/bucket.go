package bed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// The bucket is what sidecars with object storage upload and a Store
// Gateway serves: TSDB blocks whose meta.json carries a `thanos` section
// with the producer's external labels. It holds two sets of blocks of
// europe replica 0: a copy of the blocks its Prometheus has (so a Querier
// merges the same data from two kinds of store), and the olderSpan of
// history before them that the Prometheus no longer has.

const olderSpan = 2 * time.Hour

func (r *run) bucketDir() string { return filepath.Join(r.dir, "bucket") }

// bucketSource is the member whose blocks the bucket holds.
func (r *run) bucketSource() *member { return r.members[0] }

// thanosMeta is the `thanos` section of meta.json as Thanos's
// pkg/block/metadata reads it.
type thanosMeta struct {
	Version    int               `json:"version"`
	Labels     map[string]string `json:"labels"`
	Downsample struct {
		Resolution int64 `json:"resolution"`
	} `json:"downsample"`
	Source string `json:"source"`
}

func (m *member) externalLabels() map[string]string {
	return map[string]string{"cluster": m.cluster, "replica": m.replicaLbl}
}

// writeMeta writes dst/meta.json: the TSDB meta from src plus the thanos
// section a sidecar adds when it uploads the block.
func writeMeta(src, dst string, lbls map[string]string) (minTime int64, err error) {
	b, err := os.ReadFile(src)
	if err != nil {
		return 0, err
	}
	var meta map[string]json.RawMessage
	if err := json.Unmarshal(b, &meta); err != nil {
		return 0, fmt.Errorf("%s: %w", src, err)
	}
	if err := json.Unmarshal(meta["minTime"], &minTime); err != nil {
		return 0, fmt.Errorf("%s: minTime: %w", src, err)
	}
	t := thanosMeta{Version: 1, Labels: lbls, Source: "sidecar"}
	if meta["thanos"], err = json.Marshal(t); err != nil {
		return 0, err
	}
	out, err := json.MarshalIndent(meta, "", "\t")
	if err != nil {
		return 0, err
	}
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, out, 0o644); err != nil {
		return 0, err
	}
	return minTime, os.Rename(tmp, dst)
}

// copyToBucket links the member's blocks into the bucket under their own
// ULIDs, as its sidecar would have uploaded them. Block files never change
// once written, so hard links are copies.
func (r *run) copyToBucket(m *member) error {
	metas, err := filepath.Glob(filepath.Join(m.tsdb(), "*", "meta.json"))
	if err != nil {
		return err
	}
	if len(metas) == 0 {
		return errors.New("no blocks")
	}
	for _, meta := range metas {
		src := filepath.Dir(meta)
		dst := filepath.Join(r.bucketDir(), filepath.Base(src))
		err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(src, p)
			switch {
			case fi.IsDir():
				return os.MkdirAll(filepath.Join(dst, rel), 0o755)
			case rel == "meta.json":
				return nil
			}
			return os.Link(p, filepath.Join(dst, rel))
		})
		if err != nil {
			return err
		}
		if _, err := writeMeta(meta, filepath.Join(dst, "meta.json"), m.externalLabels()); err != nil {
			return err
		}
	}
	return nil
}

// olderBlocks makes the older history of the bucket source into blocks in
// the bucket and returns the oldest sample time.
func (r *run) olderBlocks(ctx context.Context, m *member) (int64, error) {
	tmp := filepath.Join(r.dir, "bucket-older")
	if err := os.RemoveAll(tmp); err != nil {
		return 0, err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	err := r.blocks(ctx, "bucket-older", filepath.Join(tmp, "older.om"), filepath.Join(tmp, "blocks"), func(w io.Writer) error {
		return olderHistory(w, m.spec.site, r.historyStart, olderSpan)
	})
	if err != nil {
		return 0, err
	}
	metas, err := filepath.Glob(filepath.Join(tmp, "blocks", "*", "meta.json"))
	if err != nil {
		return 0, err
	}
	if len(metas) == 0 {
		return 0, errors.New("promtool made no blocks of the older history")
	}
	oldest := int64(-1)
	for _, meta := range metas {
		minT, err := writeMeta(meta, meta, m.externalLabels())
		if err != nil {
			return 0, err
		}
		if oldest < 0 || minT < oldest {
			oldest = minT
		}
		if err := os.Rename(filepath.Dir(meta), filepath.Join(r.bucketDir(), filepath.Base(filepath.Dir(meta)))); err != nil {
			return 0, err
		}
	}
	return oldest, nil
}

// storeGateway fills the bucket and runs a Thanos Store Gateway over it.
func (r *run) storeGateway(ctx context.Context) error {
	src := r.bucketSource()
	if err := os.MkdirAll(r.bucketDir(), 0o755); err != nil {
		return err
	}
	oldest, err := r.olderBlocks(ctx, src)
	if err != nil {
		return fmt.Errorf("older history for the bucket: %w", err)
	}
	r.bucketStart = oldest
	select {
	case err := <-r.bucketCopied:
		if err != nil {
			return err
		}
	case <-ctx.Done():
		return ctx.Err()
	}
	objstore := fmt.Sprintf("type: FILESYSTEM\nconfig:\n  directory: %q\n", r.bucketDir())
	sg, err := r.ps.start("store-gateway", r.bin("thanos"), "store",
		"--objstore.config", objstore,
		"--data-dir", filepath.Join(r.dir, "store"),
		"--grpc-address", "127.0.0.1:"+strconv.Itoa(r.storeGRPC),
		"--http-address", "127.0.0.1:"+strconv.Itoa(r.storeHTTP),
	)
	if err != nil {
		return err
	}
	// Ready comes only after the initial sync, when the blocks are loaded.
	c := &http.Client{Timeout: 2 * time.Second}
	if err := r.poll(ctx, "store gateway ready", []*child{sg}, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		_, err := get(ctx, c, "http://127.0.0.1:"+strconv.Itoa(r.storeHTTP)+"/-/ready")
		return err == nil, err
	}); err != nil {
		return err
	}
	r.log.printf("store gateway ready (pid %d)", sg.PID)
	return nil
}
