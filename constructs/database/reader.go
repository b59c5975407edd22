package database

import (
	"fmt"
	"strings"
)

// Reader is a database's reader, as functions that read from it see it: where they
// connect without a proxy, and the connections it takes. A pool budgets it as a target
// of its own (package budget).
type Reader struct {
	// Endpoint is the cluster's reader endpoint: the host functions connect to without a
	// proxy. Aurora points it at a reader, and at the writer while the cluster has no
	// reader available (Amazon Aurora User Guide, "Reader endpoints for Amazon Aurora").
	Endpoint *string
	// MaxConnections is the reader's max_connections. When lambdards builds the cluster
	// it is the writer's, pinned in the instance parameter group they share.
	MaxConnections int
	// ReservedConnections are the connections the engine keeps on the reader for
	// superusers and AWS automation, as on the writer.
	ReservedConnections int
	// Description names the reader for reports.
	Description string
}

// Readable is a Database that may have a reader. Serverless and Imported are; an RDS
// instance is not (its Multi-AZ standby takes no connections).
type Readable interface {
	Database
	// Reader returns the database's reader, or nil when it has none.
	Reader() *Reader
}

// ReaderOf returns db's reader, or nil when db has none.
func ReaderOf(db Database) *Reader {
	if r, ok := db.(Readable); ok {
		return r.Reader()
	}
	return nil
}

var (
	_ Readable = (*Serverless)(nil)
	_ Readable = (*Imported)(nil)
)

// Reader returns the cluster's Serverless v2 reader (ServerlessProps.Reader), or nil.
// Its max_connections is the writer's: both instances take the instance parameter group
// that pins it, and a Serverless v2 reader's max_connections, like the writer's, derives
// from the cluster's maximum capacity (Amazon Aurora User Guide, "Maximum connections
// for Aurora Serverless v2").
func (s *Serverless) Reader() *Reader {
	if !s.hasReader {
		return nil
	}
	if s.reader == nil {
		// One round trip to node, the first time it is asked.
		s.reader = &Reader{
			Endpoint:            s.Cluster.ClusterReadEndpoint().Hostname(),
			MaxConnections:      s.maxConnections,
			ReservedConnections: s.reserved,
			Description:         strings.TrimSuffix(s.description, " + reader") + ", its reader",
		}
	}
	return s.reader
}

// Reader returns the existing cluster's reader (ClusterAttributes.ReaderEndpoint), or
// nil.
func (im *Imported) Reader() *Reader { return im.reader }

// importedReader is the reader that a's attributes describe, or nil.
func (a ClusterAttributes) importedReader(im *Imported) *Reader {
	if a.ReaderEndpoint == "" {
		return nil
	}
	n, how := a.ReaderMaxConnections, "given"
	if n == 0 {
		n, how = im.maxConnections, "the writer's"
	}
	return &Reader{
		Endpoint:            &a.ReaderEndpoint,
		MaxConnections:      n,
		ReservedConnections: im.reserved,
		Description: fmt.Sprintf("existing Aurora %s %s, its reader (max_connections %d %s: assumed, not pinned by lambdards)",
			a.Engine, a.Identifier, n, how),
	}
}

// checkReader reports invalid reader attributes.
func (a ClusterAttributes) checkReader() []string {
	var errs []string
	if a.ReaderMaxConnections < 0 {
		errs = append(errs, fmt.Sprintf("{ReaderMaxConnections} %d: must be 0 (the writer's) or positive", a.ReaderMaxConnections))
	}
	if a.ReaderMaxConnections > 0 && a.ReaderEndpoint == "" {
		errs = append(errs, "{ReaderMaxConnections}: set without {ReaderEndpoint}; give the cluster's reader endpoint too, or remove it")
	}
	return errs
}
