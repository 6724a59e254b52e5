// Package e2e judges teamsflow's labels by what a real WebRTC client sends:
// headless Chromium calls a pion peer on a Teams relay address (the harness
// in agent/testenv/webrtc) while the real agent watches the client's
// namespace, and its tests compare each SSRC's label in the agent's reads,
// its final records and its exported spans with the page's own getStats().
// The package has tests only.
package e2e
