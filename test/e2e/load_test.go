package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// outcome is one invocation as the caller saw it.
type outcome struct {
	Env, Seq int
	Event    string
	// Cold is the environment's first invocation: the bootstrap starts during it.
	Cold    bool
	Start   time.Time
	Latency time.Duration
	// ErrorType is the function error's errorType, "" on success. A response that is
	// not the function's answer (the emulator's timeout message, a transport error)
	// gets ErrorType "harness" and the reason in Body.
	ErrorType string
	Body      string
}

// OK reports a successful invocation.
func (o outcome) OK() bool { return o.ErrorType == "" }

// load drives environments with events, all environments at once and each one request
// at a time. Each environment gets up to perEnv requests; it stops early when ctx ends
// or stop is closed, finishing the request it is in. Requests go to the emulators on
// loopback only.
type load struct {
	Envs   []*environment
	PerEnv int
	// Event makes the event of request seq of environment env.
	Event func(env, seq int) string
	// Stop, when closed, ends the run between requests. Optional.
	Stop <-chan struct{}
	// Timeout bounds one request: the function's timeout plus slack for the emulator.
	Timeout time.Duration
	// Pause is how long an environment waits between its requests.
	// Optional: without it each environment is invoked back to back.
	Pause time.Duration

	mu       sync.Mutex
	outcomes []outcome
}

// Run drives the environments and returns every outcome, ordered by start time.
func (l *load) Run(ctx context.Context) []outcome {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	defer client.CloseIdleConnections()
	var wg sync.WaitGroup
	for i, e := range l.Envs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := 0; seq < l.PerEnv; seq++ {
				if seq > 0 && l.Pause > 0 {
					select { // until the pause is over or the run ends, checked below
					case <-ctx.Done():
					case <-l.Stop:
					case <-time.After(l.Pause):
					}
				}
				select {
				case <-ctx.Done():
					return
				case <-l.Stop:
					return
				default:
				}
				o := l.invoke(ctx, client, e, l.Event(i, seq))
				o.Env, o.Seq, o.Cold = i, seq, seq == 0
				l.mu.Lock()
				l.outcomes = append(l.outcomes, o)
				l.mu.Unlock()
			}
		}()
	}
	wg.Wait()
	outs := l.Done()
	sort.Slice(outs, func(i, j int) bool { return outs[i].Start.Before(outs[j].Start) })
	return outs
}

// Done returns a copy of the outcomes so far, for a caller that watches a run.
func (l *load) Done() []outcome {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.outcomes)
}

func (l *load) invoke(ctx context.Context, client *http.Client, e *environment, event string) outcome {
	o := outcome{Event: event, Start: time.Now()}
	ctx, cancel := context.WithTimeout(ctx, l.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL, strings.NewReader(event))
	if err != nil {
		return o.harness(err.Error())
	}
	resp, err := client.Do(req)
	if err != nil {
		o.Latency = time.Since(o.Start)
		return o.harness(err.Error())
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	o.Latency = time.Since(o.Start)
	if err != nil {
		return o.harness(err.Error())
	}
	o.Body = string(body)
	if resp.StatusCode != http.StatusOK {
		return o.harness(fmt.Sprintf("HTTP %d: %s", resp.StatusCode, body))
	}
	// The emulator answers 200 with the function's result, or with its error as
	// {"errorMessage","errorType"}; a timeout is plain text.
	var fnErr struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&fnErr); err != nil {
		return o.harness(fmt.Sprintf("not JSON: %.200s", body))
	}
	if fnErr.ErrorType != "" {
		o.ErrorType, o.Body = fnErr.ErrorType, fnErr.ErrorMessage
	}
	return o
}

func (o outcome) harness(reason string) outcome {
	o.ErrorType, o.Body = "harness", reason
	return o
}

// putEvent and listEvent are the sample function's events.
func putEvent(name string) string { return fmt.Sprintf(`{"action":"put","name":%q}`, name) }

const listEvent = `{"action":"list","limit":5}`

// mixedEvents is two puts for every list, each put with a name unique in the run.
func mixedEvents(prefix string) func(env, seq int) string {
	return func(env, seq int) string {
		if seq%3 == 2 {
			return listEvent
		}
		return putEvent(fmt.Sprintf("%s-%02d-%04d", prefix, env, seq))
	}
}

// stats summarizes outcomes.
type stats struct {
	Requests, OK int
	// ErrorTypes counts failed invocations by errorType.
	ErrorTypes map[string]int
	Elapsed    time.Duration
	// P50 and P99 are over successful invocations; Cold* over successful first
	// invocations, Warm over the other successful ones.
	P50, P99, ColdP50, ColdMax, WarmP50 time.Duration
	Cold                                int
}

func summarize(outs []outcome) stats {
	s := stats{Requests: len(outs), ErrorTypes: map[string]int{}}
	if len(outs) == 0 {
		return s
	}
	var all, cold, warm []time.Duration
	first, last := outs[0].Start, outs[0].Start
	for _, o := range outs {
		if end := o.Start.Add(o.Latency); end.After(last) {
			last = end
		}
		if !o.OK() {
			s.ErrorTypes[o.ErrorType]++
			continue
		}
		s.OK++
		all = append(all, o.Latency)
		if o.Cold {
			cold = append(cold, o.Latency)
		} else {
			warm = append(warm, o.Latency)
		}
	}
	s.Elapsed = last.Sub(first)
	s.P50, s.P99 = quantile(all, 0.50), quantile(all, 0.99)
	s.ColdP50, s.WarmP50 = quantile(cold, 0.50), quantile(warm, 0.50)
	s.ColdMax, s.Cold = quantile(cold, 1), len(cold)
	return s
}

// quantile returns the q-quantile of ds by the nearest-rank method, 0 for none.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// PerSecond is requests per second over the run, all of them and the successful ones.
func (s stats) PerSecond() (all, ok float64) {
	if s.Elapsed <= 0 {
		return 0, 0
	}
	sec := s.Elapsed.Seconds()
	return float64(s.Requests) / sec, float64(s.OK) / sec
}
