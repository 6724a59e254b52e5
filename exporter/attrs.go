package exporter

import (
	"os/user"
	"path/filepath"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/teamsflow/teamsflow/agent/record"
)

// teamsflow's own span attributes; the rest are OpenTelemetry semantic
// conventions (semconv). README.md lists them all.
const (
	AttrApp         = attribute.Key("teamsflow.app")
	AttrAppEvidence = attribute.Key("teamsflow.app_evidence")
	AttrLabel       = attribute.Key("teamsflow.stream.label")
	AttrLabelReason = attribute.Key("teamsflow.stream.label_reason")
	AttrConfidence  = attribute.Key("teamsflow.stream.confidence")
	AttrStreamID    = attribute.Key("teamsflow.stream.id")
	AttrInterval    = attribute.Key("teamsflow.stream.interval")
	AttrCallID      = attribute.Key("teamsflow.call.id")
	AttrCallStreams = attribute.Key("teamsflow.call.streams")
	AttrCallLabels  = attribute.Key("teamsflow.call.labels")
	AttrEndReason   = attribute.Key("teamsflow.end_reason")
	AttrSSRC        = attribute.Key("teamsflow.rtp.ssrc")
	AttrPayloadType = attribute.Key("teamsflow.rtp.payload_type")
	AttrRTPLost     = attribute.Key("teamsflow.rtp.lost")
	AttrRTPLossPct  = attribute.Key("teamsflow.rtp.loss_pct")
	AttrRTPJitterMs = attribute.Key("teamsflow.rtp.jitter_ms")
	AttrRelayed     = attribute.Key("teamsflow.relayed")
	AttrDSCP        = attribute.Key("teamsflow.ip.dscp")
	AttrDSCPRecv    = attribute.Key("teamsflow.ip.dscp_recv")
	AttrBytesSent   = attribute.Key("teamsflow.flow.bytes_sent")
	AttrBytesRecv   = attribute.Key("teamsflow.flow.bytes_recv")
	AttrPacketsSent = attribute.Key("teamsflow.flow.packets_sent")
	AttrPacketsRecv = attribute.Key("teamsflow.flow.packets_recv")
	AttrRateSentBps = attribute.Key("teamsflow.flow.rate_sent_bps")
	AttrRateRecvBps = attribute.Key("teamsflow.flow.rate_recv_bps")
	AttrInterface   = attribute.Key("teamsflow.interface")
	AttrOwnerSource = attribute.Key("teamsflow.process.owner_source")

	// Call health (agent/health); each only where measured.
	AttrRTTMs          = attribute.Key("teamsflow.stream.rtt_ms")
	AttrFramesPerSec   = attribute.Key("teamsflow.stream.frames_per_sec")
	AttrStreamQuality  = attribute.Key("teamsflow.stream.quality")
	AttrQualityReasons = attribute.Key("teamsflow.stream.quality_reasons")
	AttrQualityCovers  = attribute.Key("teamsflow.stream.quality_covers")
	AttrMOS            = attribute.Key("teamsflow.stream.mos")
	AttrRTPDuplicates  = attribute.Key("teamsflow.rtp.duplicates")
	AttrCodec          = attribute.Key("teamsflow.rtp.codec")
	AttrDSCPExpected   = attribute.Key("teamsflow.ip.dscp_expected")
	AttrPathWarning    = attribute.Key("teamsflow.path.warning")
	AttrCallQuality    = attribute.Key("teamsflow.call.quality")
	AttrCallReasons    = attribute.Key("teamsflow.call.quality_reasons")
	AttrCallWorst      = attribute.Key("teamsflow.call.worst_stream")

	AttrLabelChanges = attribute.Key("teamsflow.stream.label_changes")
	AttrRTPRole      = attribute.Key("teamsflow.rtp.role")
	AttrRTPProtects  = attribute.Key("teamsflow.rtp.protects")
)

// streamAttrs describes a stream at the end of one of its spans.
func streamAttrs(r record.Record, owners *ownerNames) []attribute.KeyValue {
	kv := make([]attribute.KeyValue, 0, 40)
	kv = append(kv, networkAttrs(r)...)
	kv = append(kv, processAttrs(r, owners)...)
	if r.Thread != "" {
		// The thread that opened the socket (Chromium: Chrome_ChildIOT);
		// stream spans only, as a call's root has many.
		kv = append(kv, semconv.ThreadName(r.Thread))
	}
	kv = append(kv,
		AttrApp.String(r.App),
		AttrLabel.String(r.Label),
		AttrLabelReason.String(r.LabelReason),
		AttrConfidence.Float64(r.Confidence),
		AttrLabelChanges.Int64(int64(r.LabelChanges)),
		AttrDSCP.Int(int(r.DSCPSent)),
		AttrDSCPRecv.Int(int(r.DSCPRecv)),
		AttrBytesSent.Int64(clampInt64(r.BytesSent)),
		AttrBytesRecv.Int64(clampInt64(r.BytesRecv)),
		AttrPacketsSent.Int64(clampInt64(r.PacketsSent)),
		AttrPacketsRecv.Int64(clampInt64(r.PacketsRecv)),
		AttrRateSentBps.Float64(r.RateSentBps),
		AttrRateRecvBps.Float64(r.RateRecvBps),
	)
	kv = append(kv, rtpAttrs(r)...)
	kv = append(kv, healthAttrsOf(r)...)
	if len(r.AppEvidence) > 0 {
		kv = append(kv, AttrAppEvidence.StringSlice(r.AppEvidence))
	}
	return appendSet(kv,
		semconv.ServerAddressKey.String(r.ServerName), AttrStreamID.String(r.StreamID),
		AttrCallID.String(r.CallID), AttrEndReason.String(r.EndReason),
		AttrInterface.String(r.Interface), AttrOwnerSource.String(r.OwnerSource))
}

// appendSet appends the string attributes that have a value.
func appendSet(kv []attribute.KeyValue, opt ...attribute.KeyValue) []attribute.KeyValue {
	for _, a := range opt {
		if a.Value.AsString() != "" {
			kv = append(kv, a)
		}
	}
	return kv
}

func networkAttrs(r record.Record) []attribute.KeyValue {
	return []attribute.KeyValue{
		semconv.NetworkTransportKey.String(r.Transport),
		semconv.NetworkTypeKey.String(r.Family),
		semconv.NetworkLocalAddress(r.LocalAddr),
		semconv.NetworkLocalPort(int(r.LocalPort)),
		semconv.NetworkPeerAddress(r.PeerAddr),
		semconv.NetworkPeerPort(int(r.PeerPort)),
	}
}

// processAttrs is empty for records without an owner (capture files).
func processAttrs(r record.Record, owners *ownerNames) []attribute.KeyValue {
	var kv []attribute.KeyValue
	if r.PID != 0 {
		kv = append(kv, semconv.ProcessPID(int(r.PID)))
	}
	if r.PPID != 0 {
		kv = append(kv, semconv.ProcessParentPID(int(r.PPID)))
	}
	switch {
	case r.Exe != "":
		kv = append(kv, semconv.ProcessExecutableName(filepath.Base(r.Exe)), semconv.ProcessExecutablePath(r.Exe))
	case r.Comm != "":
		kv = append(kv, semconv.ProcessExecutableName(r.Comm))
	}
	if r.UID != nil {
		kv = append(kv, semconv.ProcessOwner(owners.name(*r.UID)))
	}
	return kv
}

func rtpAttrs(r record.Record) []attribute.KeyValue {
	var kv []attribute.KeyValue
	if r.SSRC != nil {
		kv = append(kv, AttrSSRC.Int64(int64(*r.SSRC)))
	}
	if r.RTPPayloadType != nil {
		kv = append(kv, AttrPayloadType.Int(int(*r.RTPPayloadType)))
	}
	if r.RTPRole != "" {
		kv = append(kv, AttrRTPRole.String(r.RTPRole))
	}
	if r.RTPProtects != nil {
		kv = append(kv, AttrRTPProtects.Int64(int64(*r.RTPProtects)))
	}
	if r.RTPLost != nil {
		kv = append(kv, AttrRTPLost.Int64(*r.RTPLost))
	}
	if r.RTPLossPct != nil {
		kv = append(kv, AttrRTPLossPct.Float64(*r.RTPLossPct))
	}
	if r.RTPJitterMs != nil {
		kv = append(kv, AttrRTPJitterMs.Float64(*r.RTPJitterMs))
	}
	if r.Relayed || r.SSRC != nil {
		kv = append(kv, AttrRelayed.Bool(r.Relayed))
	}
	return kv
}

// healthAttrsOf is a stream's health: absent where not measured (a sent
// stream's loss and jitter are its receiver's, so rtpAttrs has none).
func healthAttrsOf(r record.Record) []attribute.KeyValue {
	var kv []attribute.KeyValue
	for _, f := range []struct {
		k attribute.Key
		v *float64
	}{{AttrRTTMs, r.RTTMs}, {AttrFramesPerSec, r.FramesPerSec}, {AttrMOS, r.MOS}} {
		if f.v != nil {
			kv = append(kv, f.k.Float64(*f.v))
		}
	}
	if r.RTPDuplicates != nil {
		kv = append(kv, AttrRTPDuplicates.Int64(clampInt64(*r.RTPDuplicates)))
	}
	if r.DSCPExpected != nil {
		kv = append(kv, AttrDSCPExpected.Int(int(*r.DSCPExpected)))
	}
	if len(r.QualityReasons) > 0 {
		kv = append(kv, AttrQualityReasons.StringSlice(r.QualityReasons))
	}
	return appendSet(kv, AttrCodec.String(r.Codec), AttrStreamQuality.String(r.Quality),
		AttrQualityCovers.String(r.QualityCovers), AttrInterfaceKind.String(r.InterfaceKind),
		AttrPathWarning.String(r.PathWarning))
}

// clampInt64 keeps counters within OTLP's signed integers.
func clampInt64(v uint64) int64 {
	return int64(min(v, 1<<63-1))
}

// ownerNames turns UIDs into user names once each: process.owner is a name,
// and looking one up reads /etc/passwd (or NSS) every time otherwise.
type ownerNames struct {
	byUID map[uint32]string
}

func (o *ownerNames) name(uid uint32) string {
	if n, ok := o.byUID[uid]; ok {
		return n
	}
	if o.byUID == nil {
		o.byUID = map[uint32]string{}
	}
	id := strconv.FormatUint(uint64(uid), 10)
	n := id
	if u, err := user.LookupId(id); err == nil {
		n = u.Username
	}
	o.byUID[uid] = n
	return n
}
