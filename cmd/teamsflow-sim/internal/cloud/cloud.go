// Package cloud runs the far side of the simulated calls inside the cloud
// namespace: a DNS resolver answering Teams names with CNAME chains, an
// HTTPS server for signalling, a TURN relay and the media peers.
package cloud

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/miekg/dns"
	"github.com/pion/turn/v4"
	"github.com/rs/zerolog"

	"github.com/teamsflow/teamsflow/agent/netns"
	"github.com/teamsflow/teamsflow/agent/testenv/topo"
	"github.com/teamsflow/teamsflow/cmd/teamsflow-sim/internal/plan"
)

// Cloud is the set of running servers.
type Cloud struct {
	dns   *dns.Server
	https *http.Server
	turn  *turn.Server
	Peers *Peers
}

// Start opens every server socket inside ns and serves in the background.
func Start(ns netns.Named, pki *PKI, calls []plan.Call, log zerolog.Logger) (*Cloud, error) {
	c := &Cloud{}
	if err := c.start(ns, pki, calls, log); err != nil {
		_ = c.Stop(context.Background())
		return nil, err
	}
	return c, nil
}

func (c *Cloud) start(ns netns.Named, pki *PKI, calls []plan.Call, log zerolog.Logger) error {
	var dnsConn net.PacketConn
	var tlsLn net.Listener
	err := ns.Do(func() error {
		var err error
		if dnsConn, err = net.ListenPacket("udp4", topo.DNSServer); err != nil {
			return fmt.Errorf("listening for DNS: %w", err)
		}
		ln, err := net.Listen("tcp", ":443")
		if err != nil {
			return fmt.Errorf("listening for HTTPS: %w", err)
		}
		c.https = newHTTPServer(pki.Cert, log.With().Str("server", "https").Logger())
		tlsLn = tls.NewListener(ln, c.https.TLSConfig)
		return nil
	})
	if err != nil {
		if dnsConn != nil {
			_ = dnsConn.Close()
		}
		return err
	}
	c.dns = &dns.Server{PacketConn: dnsConn, Handler: dnsHandler{log.With().Str("server", "dns").Logger()}}
	// Serving errors after Stop are expected; others are logged, and the
	// client's failing lookups or requests then fail the call.
	go func() {
		if err := c.dns.ActivateAndServe(); err != nil {
			log.Debug().Err(err).Msg("DNS server stopped")
		}
	}()
	go func() {
		if err := c.https.Serve(tlsLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error().Err(err).Msg("HTTPS server stopped")
		}
	}()

	if c.turn, err = startTURN(ns, topo.RelayIP, topo.RelayPorts, plan.TURNUser, plan.TURNPass, plan.TURNRealm); err != nil {
		return err
	}
	if c.Peers, err = newPeers(calls, log.With().Str("server", "peer").Logger()); err != nil {
		return err
	}
	answer, silent := plan.PeerEndpoints(calls)
	return c.Peers.listen(ns, answer, silent)
}

// Stop shuts every server down.
func (c *Cloud) Stop(ctx context.Context) error {
	var errs []error
	if c.https != nil {
		errs = append(errs, c.https.Shutdown(ctx))
	}
	if c.Peers != nil {
		errs = append(errs, c.Peers.close())
	}
	if c.dns != nil {
		// Shutdown fails with "server not started" when Start failed
		// before serving began; there is nothing to stop then.
		_ = c.dns.ShutdownContext(ctx)
	}
	if c.turn != nil {
		errs = append(errs, c.turn.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("stopping cloud servers: %w", err)
	}
	return nil
}
