package dissect

import (
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// Errors of ClientHelloSNI. ErrTruncated asks for more bytes: the prefix
// ends before the server name extension.
var (
	ErrTruncated      = errors.New("tls: client hello truncated before the server name")
	ErrNotClientHello = errors.New("tls: not a handshake record holding a client hello")
	ErrNoSNI          = errors.New("tls: client hello has no server name")
)

const (
	recordHandshake    = 22
	handshakeHello     = 1
	extServerName      = 0
	recordHeaderLen    = 5
	maxHandshakeLength = 1 << 17 // larger hellos are not plausible, even post-quantum
)

// ClientHelloSNI returns the server name (lower case) from the start of a
// TLS connection. The ClientHello may span several TLS records (large
// post-quantum key shares) and the prefix may stop anywhere: if it stops
// before the name, the error is ErrTruncated and a longer prefix may work.
func ClientHelloSNI(prefix []byte) (string, error) {
	hs, complete, err := handshakeBytes(prefix)
	if err != nil {
		return "", err
	}
	if len(hs) < 4 {
		return "", ErrTruncated
	}
	if hs[0] != handshakeHello {
		return "", ErrNotClientHello
	}
	declared := int(hs[1])<<16 | int(hs[2])<<8 | int(hs[3])
	if declared > maxHandshakeLength {
		return "", fmt.Errorf("tls: client hello length %d is not plausible", declared)
	}
	body := hs[4:]
	whole := len(body) >= declared
	if whole {
		body = body[:declared]
	}
	name, found, err := helloServerName(body)
	switch {
	case found:
		return name, err
	case err != nil && (!whole || !complete):
		return "", ErrTruncated
	case err != nil:
		return "", fmt.Errorf("tls: malformed client hello: %w", err)
	case !whole:
		return "", ErrTruncated
	}
	return "", ErrNoSNI
}

// handshakeBytes joins the payloads of the handshake records at the start
// of a prefix. complete is false when the last record was cut.
func handshakeBytes(b []byte) (hs []byte, complete bool, err error) {
	if len(b) < recordHeaderLen {
		return nil, false, ErrTruncated
	}
	for len(b) >= recordHeaderLen {
		if b[0] != recordHandshake || b[1] != 3 {
			if hs == nil {
				return nil, false, ErrNotClientHello
			}
			return hs, true, nil
		}
		n := int(b[3])<<8 | int(b[4])
		b = b[recordHeaderLen:]
		if n > len(b) {
			return append(hs, b...), false, nil
		}
		hs = append(hs, b[:n]...)
		b = b[n:]
	}
	return hs, len(b) == 0, nil
}

var errShort = errors.New("field runs past the end")

// helloServerName walks a ClientHello body to the server_name extension.
// found reports that the extension was reached (name may still be bad).
func helloServerName(body []byte) (name string, found bool, err error) {
	s := cryptobyte.String(body)
	var random, session, suites, compression, exts cryptobyte.String
	var version uint16
	if !s.ReadUint16(&version) || !s.ReadBytes((*[]byte)(&random), 32) ||
		!s.ReadUint8LengthPrefixed(&session) || !s.ReadUint16LengthPrefixed(&suites) ||
		!s.ReadUint8LengthPrefixed(&compression) {
		return "", false, errShort
	}
	if s.Empty() {
		return "", false, nil // no extensions at all
	}
	if !s.ReadUint16LengthPrefixed(&exts) {
		// A cut prefix still holds whole extensions: read what is there.
		if len(s) < 2 {
			return "", false, errShort
		}
		exts = s[2:]
	}
	for !exts.Empty() {
		var typ uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&data) {
			return "", false, errShort
		}
		if typ == extServerName {
			name, err := serverName(data)
			return name, true, err
		}
	}
	return "", false, nil
}

// serverName reads the host_name entry of a server_name extension.
func serverName(data cryptobyte.String) (string, error) {
	var list cryptobyte.String
	if !data.ReadUint16LengthPrefixed(&list) {
		return "", errors.New("tls: malformed server name extension")
	}
	for !list.Empty() {
		var kind uint8
		var host cryptobyte.String
		if !list.ReadUint8(&kind) || !list.ReadUint16LengthPrefixed(&host) {
			return "", errors.New("tls: malformed server name list")
		}
		if kind == 0 {
			if !validHostName(host) {
				return "", errors.New("tls: server name is not a host name")
			}
			return CanonicalName(string(host)), nil
		}
	}
	return "", ErrNoSNI
}

// validHostName rejects empty names and bytes that cannot appear in a DNS
// name, so that nothing odd reaches records or spans.
func validHostName(h []byte) bool {
	if len(h) == 0 || len(h) > 253 {
		return false
	}
	for _, c := range h {
		ok := c == '-' || c == '.' || c == '_' || (c >= '0' && c <= '9') ||
			(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !ok {
			return false
		}
	}
	return true
}
