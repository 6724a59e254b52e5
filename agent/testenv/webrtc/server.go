package webrtc

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/teamsflow/teamsflow/agent/netns"
)

//go:embed page.html
var page []byte

// Event is something the page did or saw, at a second of its call.
type Event struct {
	At    float64           `json:"at"`
	What  string            `json:"what"`
	State string            `json:"state,omitempty"`
	Error string            `json:"error,omitempty"`
	Roles map[string]string `json:"roles,omitempty"`
	When  time.Time         `json:"when"` // when the harness heard of it
}

// StatsPost is one getStats() report the page sent.
type StatsPost struct {
	At    float64 `json:"at"`
	Final bool    `json:"final"`
	Stats []Stat  `json:"stats"`
	When  time.Time
}

// signalServer serves the page and takes its offer, stats and events over
// plain HTTP, as a web client's signalling would (without TLS here: the
// page is made a secure context by a Chromium flag instead).
type signalServer struct {
	peer *mediaPeer
	srv  *http.Server
	ln   net.Listener

	mu     sync.Mutex
	events []Event
	stats  []StatsPost
	notify chan Event // every event, for the call to follow the page
}

func startSignalServer(nsPath, addr string, peer *mediaPeer) (*signalServer, error) {
	s := &signalServer{peer: peer, notify: make(chan Event, 64)}
	err := netns.Do(nsPath, func() (err error) {
		s.ln, err = net.Listen("tcp4", addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("opening the signalling listener %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page)
	})
	mux.HandleFunc("POST /offer", s.offer)
	mux.HandleFunc("POST /stats", s.statsPost)
	mux.HandleFunc("POST /event", s.event)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(s.ln) }()
	return s, nil
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err == nil {
		err = json.Unmarshal(body, v)
	}
	if err != nil {
		http.Error(w, "bad request: "+err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

func (s *signalServer) offer(w http.ResponseWriter, r *http.Request) {
	var req struct {
		SDP   string            `json:"sdp"`
		Roles map[string]string `json:"roles"`
	}
	if !decode(w, r, &req) {
		return
	}
	sdp, err := s.peer.answer(req.SDP, req.Roles)
	if err != nil {
		s.add(Event{What: "error", Error: "peer answer: " + err.Error()})
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"sdp": sdp})
}

func (s *signalServer) statsPost(w http.ResponseWriter, r *http.Request) {
	var p StatsPost
	if !decode(w, r, &p) {
		return
	}
	p.When = time.Now()
	s.mu.Lock()
	s.stats = append(s.stats, p)
	s.mu.Unlock()
}

func (s *signalServer) event(w http.ResponseWriter, r *http.Request) {
	var e Event
	if !decode(w, r, &e) {
		return
	}
	s.add(e)
}

func (s *signalServer) add(e Event) {
	e.When = time.Now()
	s.mu.Lock()
	s.events = append(s.events, e)
	s.mu.Unlock()
	select {
	case s.notify <- e:
	default: // the call reads every event from the list at the end too
	}
}

// snapshot copies what the page has reported so far.
func (s *signalServer) snapshot() ([]Event, []StatsPost) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...), append([]StatsPost(nil), s.stats...)
}

func (s *signalServer) Close() error { return s.srv.Close() }
