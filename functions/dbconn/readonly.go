package dbconn

import (
	"errors"
	"fmt"

	"github.com/go-sql-driver/mysql"

	"github.com/lambdards/lambdards/functions/dbenv"
)

// Target is the instance a function connects to: the database's writer, or its reader.
type Target string

// Targets.
const (
	// TargetWriter is the writer: through RDS Proxy's default endpoint, or the database.
	TargetWriter Target = dbenv.TargetWriter
	// TargetReader is a reader: through RDS Proxy's read-only endpoint, or the Aurora
	// cluster's reader endpoint. Config.Host names it. Every write fails there with the
	// database's read-only error, which Do returns as a *ReadOnlyError.
	TargetReader Target = dbenv.TargetReader
)

// EnvTarget is the environment variable FromEnv reads Config.Target from.
const EnvTarget = dbenv.Target

// ReadOnlyError is a statement the database refused because the connection is
// read-only: a reader (or a writer being demoted during a failover) answered. It is not
// retried: the same statement would fail again.
type ReadOnlyError struct {
	// Target is the configuration's target.
	Target Target
	// Err is the database's error.
	Err error
}

func (e *ReadOnlyError) Error() string {
	if e.Target == TargetReader {
		return fmt.Sprintf("dbconn: the database refused a write on a read-only connection: this function reads from the "+
			"reader (%s=%s), which takes no writes; write from a function that connects to the writer: %v", EnvTarget, TargetReader, e.Err)
	}
	return fmt.Sprintf("dbconn: the database refused a write on a read-only connection: %v", e.Err)
}

// Unwrap returns the database's error.
func (e *ReadOnlyError) Unwrap() error { return e.Err }

// MySQL's read-only errors (MySQL 8.0 Reference Manual, "Server Error Message
// Reference"). An Aurora MySQL reader runs with read_only, which refuses writes with
// ER_OPTION_PREVENTS_STATEMENT.
const (
	mysqlOptionPreventsStatement = 1290 // ER_OPTION_PREVENTS_STATEMENT: "running with the --read-only option"
	mysqlReadOnlyTransaction     = 1792 // ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION
	mysqlReadOnlyMode            = 1836 // ER_READ_ONLY_MODE
)

// IsReadOnly reports whether err is the database's refusal of a write on a read-only
// connection: SQLSTATE 25006 (read_only_sql_transaction), which PostgreSQL returns on a
// hot standby such as an Aurora PostgreSQL reader ("cannot execute INSERT in a read-only
// transaction") and MySQL for a read-only transaction, or MySQL's read_only errors.
func IsReadOnly(err error) bool {
	if err == nil {
		return false
	}
	var ro *ReadOnlyError
	if errors.As(err, &ro) {
		return true
	}
	var myErr *mysql.MySQLError
	if errors.As(err, &myErr) {
		switch myErr.Number {
		case mysqlOptionPreventsStatement, mysqlReadOnlyTransaction, mysqlReadOnlyMode:
			return true
		}
	}
	return SQLState(err) == "25006"
}

// readOnly wraps a read-only error in a *ReadOnlyError, and leaves other errors alone.
func (d *DB) readOnly(err error) error {
	var ro *ReadOnlyError
	if err == nil || errors.As(err, &ro) || !IsReadOnly(err) {
		return err
	}
	return &ReadOnlyError{Target: d.cfg.Target, Err: err}
}

// targetProblems returns the problems of Config.Target.
func (c Config) targetProblems(n names) []string {
	switch c.Target {
	case TargetWriter:
		return nil
	case TargetReader:
		if c.Mode == ModeDataAPI {
			// The Data API runs statements on the cluster's writer only (Amazon Aurora
			// User Guide, "Using the Amazon RDS Data API", limitations).
			return []string{fmt.Sprintf("%s = %s with %s = %s: the Data API runs every statement on the writer; unset %s",
				n["Target"], TargetReader, n["Mode"], ModeDataAPI, n["Target"])}
		}
		return nil
	}
	return []string{fmt.Sprintf("%s = %q, want %s or %s", n["Target"], c.Target, TargetWriter, TargetReader)}
}
