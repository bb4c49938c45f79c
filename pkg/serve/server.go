package serve

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"
)

// Serve answers on ln until ctx ends, then shuts down: it stops accepting, lets requests in
// flight finish for up to grace, then cancels the rest and waits for their handlers to return,
// so that the caller may close the stores right after.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, grace time.Duration) error {
	// Requests outlive ctx by the grace period: their context ends only when it is over.
	reqCtx, cancelRequests := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRequests()
	var track inflight
	srv := &http.Server{
		Handler:           track.wrap(h),
		BaseContext:       func(net.Listener) context.Context { return reqCtx },
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()

	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	if errors.Is(err, context.DeadlineExceeded) {
		cancelRequests()
		err = srv.Close()
	}
	// Close does not wait for handlers, and they use the stores.
	track.stop()
	if serr := <-done; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// inflight counts running handlers. Once stopped, it waits for them and turns away any that a
// connection accepted just before shutdown would still start.
type inflight struct {
	mu      sync.Mutex
	idle    *sync.Cond
	active  int
	stopped bool
}

func (t *inflight) wrap(h http.Handler) http.Handler {
	t.idle = sync.NewCond(&t.mu)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.mu.Lock()
		if t.stopped {
			t.mu.Unlock()
			writeError(w, &apiError{typ: errUnavailable, err: errors.New("the server is shutting down")})
			return
		}
		t.active++
		t.mu.Unlock()
		defer func() {
			t.mu.Lock()
			if t.active--; t.active == 0 {
				t.idle.Broadcast()
			}
			t.mu.Unlock()
		}()
		h.ServeHTTP(w, r)
	})
}

func (t *inflight) stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopped = true
	for t.active > 0 {
		t.idle.Wait()
	}
}
