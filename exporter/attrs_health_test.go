package exporter

import (
	"reflect"
	"testing"

	"go.opentelemetry.io/otel/attribute"

	"github.com/teamsflow/teamsflow/agent/record"
)

func attrMap(kvs []attribute.KeyValue) map[attribute.Key]attribute.Value {
	got := map[attribute.Key]attribute.Value{}
	for _, kv := range kvs {
		got[kv.Key] = kv.Value
	}
	return got
}

// A received stream's span carries every health figure; a sent one has
// no loss, jitter or MOS attribute at all (the far end measures them),
// and figures not measured are absent, never 0.
func TestHealthSpanAttributes(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	ssrc, dups, dscp := uint32(9), uint64(3), uint8(46)
	recv := record.Record{Transport: "udp", Family: "ipv4", Label: "audio", SSRC: &ssrc,
		RTPLost: new(int64), RTPLossPct: f(12.1), RTPJitterMs: f(4.5), RTPDuplicates: &dups, RTTMs: f(48.5),
		Codec: "SILK", Quality: "poor", QualityReasons: []string{"loss 12.1% > 10%"}, QualityCovers: "received",
		MOS: f(3.3), InterfaceKind: "vpn", DSCPExpected: &dscp, PathWarning: "Teams media through a VPN tunnel"}
	got := attrMap(streamAttrs(recv, &ownerNames{}))
	for k, want := range map[attribute.Key]any{
		AttrRTTMs: 48.5, AttrMOS: 3.3, AttrRTPDuplicates: int64(3), AttrCodec: "SILK", AttrStreamQuality: "poor",
		AttrQualityReasons: []string{"loss 12.1% > 10%"}, AttrQualityCovers: "received", AttrInterfaceKind: "vpn",
		AttrDSCPExpected: int64(46), AttrPathWarning: "Teams media through a VPN tunnel", AttrRTPLossPct: 12.1,
	} {
		if v, ok := got[k]; !ok || !reflect.DeepEqual(v.AsInterface(), want) {
			t.Errorf("%s = %v, want %v", k, v.String(), want)
		}
	}
	sent := record.Record{Transport: "udp", Family: "ipv4", Label: "audio", SSRC: &ssrc, RTTMs: f(48.5),
		Codec: "SILK", Quality: "good", QualityCovers: "sent"}
	got = attrMap(streamAttrs(sent, &ownerNames{}))
	for _, k := range []attribute.Key{AttrRTPLost, AttrRTPLossPct, AttrRTPJitterMs, AttrMOS, AttrRTPDuplicates,
		AttrFramesPerSec, AttrQualityReasons, AttrInterfaceKind, AttrPathWarning, AttrDSCPExpected} {
		if v, ok := got[k]; ok {
			t.Errorf("sent stream has %s = %v", k, v.String())
		}
	}
}

// The call's root span carries the call's verdict and worst stream.
func TestCallRootHealthAttributes(t *testing.T) {
	c := &call{streams: map[string]*stream{
		"a": {rec: record.Record{StreamID: "a", Label: "audio", Quality: "poor", QualityCovers: "received", QualityReasons: []string{"loss 12.0% > 10%"}}},
		"b": {rec: record.Record{StreamID: "b", Label: "audio", Quality: "good", QualityCovers: "sent"}},
		"c": {rec: record.Record{StreamID: "c", Label: "signalling"}},
	}}
	got := attrMap(callHealthAttrs(c))
	if got[AttrCallQuality].AsString() != "poor" || got[AttrCallWorst].AsString() != "a" ||
		!reflect.DeepEqual(got[AttrCallReasons].AsStringSlice(), []string{"audio received: loss 12.0% > 10%"}) {
		t.Errorf("root attributes %v", got)
	}
	if kv := callHealthAttrs(&call{streams: map[string]*stream{"c": {rec: record.Record{Label: "signalling"}}}}); kv != nil {
		t.Errorf("a call without judged streams: %v", kv)
	}
}
