package exporter

import (
	"testing"

	"go.opentelemetry.io/otel/attribute"

	"github.com/teamsflow/teamsflow/agent/record"
)

// A span says how often its stream's label changed after settling, and a
// repair stream's span says its role and the SSRC it protects.
func TestLabelChangesAndRTPRoleAttributes(t *testing.T) {
	ssrc, of, pt := uint32(0xB1), uint32(0xB0), uint8(97)
	r := record.Record{Transport: "udp", Family: "ipv4", Label: "video", LabelReason: "rate", LabelChanges: 2,
		SSRC: &ssrc, RTPPayloadType: &pt, RTPRole: "rtx", RTPProtects: &of}
	got := map[attribute.Key]attribute.Value{}
	for _, kv := range streamAttrs(r, &ownerNames{}) {
		got[kv.Key] = kv.Value
	}
	if v := got[AttrLabelChanges]; v.AsInt64() != 2 {
		t.Errorf("%s = %v, want 2", AttrLabelChanges, v.String())
	}
	if v := got[AttrRTPRole]; v.AsString() != "rtx" {
		t.Errorf("%s = %q, want rtx", AttrRTPRole, v.String())
	}
	if v := got[AttrRTPProtects]; v.AsInt64() != 0xB0 {
		t.Errorf("%s = %v, want %d", AttrRTPProtects, v.String(), 0xB0)
	}
	r.RTPRole, r.RTPProtects = "media", nil
	got = map[attribute.Key]attribute.Value{}
	for _, kv := range streamAttrs(r, &ownerNames{}) {
		got[kv.Key] = kv.Value
	}
	if _, ok := got[AttrRTPProtects]; ok || got[AttrRTPRole].AsString() != "media" {
		t.Errorf("media stream: role %q, protects present %v", got[AttrRTPRole].String(), ok)
	}
}
