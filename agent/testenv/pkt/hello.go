package pkt

import (
	"crypto/tls"
	"net"
	"testing"
	"time"
)

// ClientHello is the TLS records of a real ClientHello from crypto/tls
// naming serverName, as a client sends them: Go's hello carries a
// post-quantum key share, so it is larger than one TCP segment.
func ClientHello(t testing.TB, serverName string) []byte {
	t.Helper()
	c, s := net.Pipe()
	defer c.Close()
	defer s.Close()
	go func() { _ = tls.Client(c, &tls.Config{ServerName: serverName}).Handshake() }()
	_ = s.SetReadDeadline(time.Now().Add(5 * time.Second))
	var out []byte
	buf := make([]byte, 4096)
	for !helloComplete(out) {
		n, err := s.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil && !helloComplete(out) {
			t.Fatalf("reading a ClientHello from crypto/tls: %v", err)
		}
	}
	return out
}

// helloComplete tells whether the handshake records in b hold the whole
// first handshake message (its 4-byte header declares its length).
func helloComplete(b []byte) bool {
	var hs []byte
	for len(b) >= 5 && b[0] == 0x16 {
		n := int(b[3])<<8 | int(b[4])
		if len(b) < 5+n {
			break
		}
		hs, b = append(hs, b[5:5+n]...), b[5+n:]
	}
	return len(hs) >= 4 && len(hs)-4 >= int(hs[1])<<16|int(hs[2])<<8|int(hs[3])
}
