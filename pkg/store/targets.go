package store

import (
	"context"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// TargetState selects targets as the Targets API's request state does.
type TargetState int

const (
	AnyTargets TargetState = iota
	ActiveTargets
	DroppedTargets
)

// TargetHealth is a target's last scrape outcome, as the Targets API numbers it.
type TargetHealth int

const (
	HealthDown TargetHealth = iota
	HealthUp
	HealthUnknown
)

var healthNames = [...]string{"down", "up", "unknown"}

func (h TargetHealth) String() string {
	if h >= 0 && int(h) < len(healthNames) {
		return healthNames[h]
	}
	return "unknown"
}

// ActiveTarget is a target being scraped.
type ActiveTarget struct {
	DiscoveredLabels, Labels labels.Labels // with the store's external labels
	ScrapePool, ScrapeURL    string
	GlobalURL, LastError     string
	LastScrape               time.Time
	LastScrapeDuration       float64 // seconds
	Health                   TargetHealth
	// Origin are the store's external labels (replica labels aside): where the target is
	// scraped from. Readers set it.
	Origin labels.Labels
}

// DroppedTarget is a discovered target that relabelling dropped.
type DroppedTarget struct {
	DiscoveredLabels labels.Labels
}

// TargetsResponse is a store's targets and warnings.
type TargetsResponse struct {
	Active   []ActiveTarget
	Dropped  []DroppedTarget
	Warnings []string
}

// TargetsClient is a store that serves the Targets API (Info says which do).
type TargetsClient interface {
	Targets(ctx context.Context, state TargetState) (*TargetsResponse, error)
}
