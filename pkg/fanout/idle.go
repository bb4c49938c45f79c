package fanout

import (
	"context"
	"time"
)

// idleTimer cancels a Series call whose store has been silent for d: no first frame, or no next
// one. It is reset per frame, not per series, so that a batch of thousands of series decoded from
// one frame costs one comparison each and no timer operations.
type idleTimer struct {
	t      *time.Timer
	d      time.Duration
	frames int
}

// startIdle arms the timer on the call's context; nil (no timeout) is a timer that never fires.
func startIdle(d time.Duration, cancel context.CancelCauseFunc) *idleTimer {
	if d <= 0 {
		return nil
	}
	return &idleTimer{d: d, t: time.AfterFunc(d, func() { cancel(&storeTimeoutError{d: d}) })}
}

// heard tells the timer how many frames the stream has read so far.
func (t *idleTimer) heard(frames int) {
	if t == nil || frames == t.frames {
		return
	}
	t.frames = frames
	t.t.Reset(t.d)
}

func (t *idleTimer) stop() {
	if t != nil {
		t.t.Stop()
	}
}
