package dbconn_test

import (
	"context"
	"crypto/x509"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/lambdards/lambdards/functions/dbconn"
	"github.com/lambdards/lambdards/internal/testdb"
)

// TestMariaDB runs the MySQL-engine checks that can share one server.
func TestMariaDB(t *testing.T) {
	t.Parallel()
	m := testdb.StartMariaDB(t, testdb.MariaDBOptions{SSL: true, MaxConnections: 10})

	t.Run("TLSModes", func(t *testing.T) {
		ctx := testContext(t)
		base := newUser(t, m, "tls_modes")
		tests := []struct {
			mode    dbconn.TLSMode
			roots   *x509.CertPool
			wantTLS bool
		}{
			{dbconn.TLSDisable, nil, false},
			{dbconn.TLSRequire, nil, true},
			{dbconn.TLSVerifyFull, m.RootCAs(), true},
		}
		for _, tt := range tests {
			cfg := base
			cfg.TLS, cfg.RootCAs = tt.mode, tt.roots
			var name, cipher string
			err := newDB(t, cfg).Do(ctx, func(ctx context.Context, s *sql.DB) error {
				return s.QueryRowContext(ctx, "SHOW SESSION STATUS LIKE 'Ssl_cipher'").Scan(&name, &cipher)
			})
			if err != nil {
				t.Errorf("TLS %s: Do() error = %v", tt.mode, err)
				continue
			}
			if got := cipher != ""; got != tt.wantTLS {
				t.Errorf("TLS %s: Ssl_cipher = %q, want TLS %v", tt.mode, cipher, tt.wantTLS)
			}
		}
	})

	t.Run("VerifyFullRejectsUntrustedCertificate", func(t *testing.T) {
		ctx := testContext(t)
		cfg := newUser(t, m, "untrusted")
		cfg.TLS = dbconn.TLSVerifyFull
		_, err := newDB(t, cfg).Get(ctx)
		if err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
			t.Fatalf("Get() with an untrusted certificate error = %v, want certificate signed by unknown authority", err)
		}
	})

	t.Run("ReuseOneConnection", func(t *testing.T) {
		ctx := testContext(t)
		cfg := newUser(t, m, "reuse")
		db := newDB(t, cfg)
		first := sessionID(t, ctx, db)
		for i := 0; i < 50; i++ {
			if id := sessionID(t, ctx, db); id != first {
				t.Fatalf("call %d ran on connection %d, want %d (the same connection)", i, id, first)
			}
		}
		if got := sessions(t, ctx, m, cfg); len(got) != 1 || got[0] != first {
			t.Errorf("PROCESSLIST sessions of %s = %v, want exactly [%d]", cfg.User, got, first)
		}
	})

	t.Run("ReconnectAfterKill", func(t *testing.T) {
		ctx := testContext(t)
		cfg := newUser(t, m, "killed")
		db := newDB(t, cfg)
		for round := 0; round < 3; round++ {
			before := sessionID(t, ctx, db)
			m.Exec(t, "KILL CONNECTION ?", before)
			waitGone(t, ctx, m, cfg, before)
			after := sessionID(t, ctx, db)
			if after == before {
				t.Fatalf("round %d: connection after KILL = %d, want a new one", round, after)
			}
			if got := sessions(t, ctx, m, cfg); len(got) != 1 || got[0] != after {
				t.Errorf("round %d: sessions of %s = %v, want exactly [%d]", round, cfg.User, got, after)
			}
		}
	})

	t.Run("RetryOnceWhenKilledMidQuery", func(t *testing.T) {
		ctx := testContext(t)
		cfg := newUser(t, m, "killed_mid_query")
		db := newDB(t, cfg)
		first := sessionID(t, ctx, db)
		admin := m.DB(t)
		go func() {
			for ctx.Err() == nil {
				var n int
				err := admin.QueryRowContext(ctx,
					"SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = ? AND INFO LIKE '%SLEEP(30)%'", first).Scan(&n)
				if err == nil && n > 0 {
					admin.ExecContext(ctx, "KILL CONNECTION ?", first)
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
		}()
		calls, id := 0, 0
		err := db.Do(ctx, func(ctx context.Context, s *sql.DB) error {
			calls++
			if calls == 1 {
				_, err := s.ExecContext(ctx, "SELECT SLEEP(30)")
				return err
			}
			return s.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&id)
		})
		if err != nil {
			t.Fatalf("Do() after a mid-query KILL error = %v, want nil", err)
		}
		if calls != 2 || id == first {
			t.Errorf("Do() ran fn %d times, last on connection %d; want 2 times, on a connection other than %d", calls, id, first)
		}
	})

	// Last: it fills the server.
	t.Run("TooManyConnections", func(t *testing.T) {
		ctx := testContext(t)
		cfg := newUser(t, m, "crowd")
		var held []*sql.Conn
		pool, err := sql.Open("mysql", m.UserDSN(cfg.User, cfg.Password, cfg.Database))
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		pool.SetMaxIdleConns(0) // a released *sql.Conn closes its connection
		for len(held) < 20 {
			c, err := pool.Conn(ctx)
			if err != nil {
				var myErr *mysql.MySQLError
				if !errors.As(err, &myErr) || myErr.Number != 1040 {
					t.Fatalf("filling the server: %v, want error 1040 once full", err)
				}
				break
			}
			held = append(held, c)
		}
		if len(held) == 0 || len(held) == 20 {
			t.Fatalf("held %d connections before the server refused, want 1 to 19", len(held))
		}

		db := newDB(t, cfg)
		start := time.Now()
		_, err = db.Get(ctx)
		elapsed := time.Since(start)
		var re *dbconn.RetryableError
		var myErr *mysql.MySQLError
		if !errors.As(err, &re) || !errors.As(err, &myErr) || myErr.Number != 1040 {
			t.Fatalf("Get() on a full server = %v, want a *RetryableError wrapping error 1040", err)
		}
		if want := "database busy: too many connections after 4 attempts in "; !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Get() on a full server error = %q, want prefix %q", err, want)
		}
		if elapsed > 20*time.Second {
			t.Errorf("Get() on a full server took %v, want it bounded by the retry policy", elapsed)
		}

		held[0].Close()
		for ctx.Err() == nil && len(sessions(t, ctx, m, cfg)) >= len(held) {
			time.Sleep(20 * time.Millisecond)
		}
		if _, err := db.Get(ctx); err != nil {
			t.Errorf("Get() after a slot freed up = %v, want nil", err)
		}
		for _, c := range held[1:] {
			c.Close()
		}
	})
}
