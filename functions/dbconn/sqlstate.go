package dbconn

import (
	"errors"
	"strings"

	"github.com/aws/smithy-go"
	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

// dataAPISQLState ends the message of a statement error the Data API
// relays, as in "ERROR: permission denied for table items; SQLState:
// 42501". AWS does not document the format; it is what Aurora PostgreSQL's
// errors look like through the Data API, and the local stand-in
// (internal/dataapi) writes the same for both engines.
const dataAPISQLState = "; SQLState: "

// SQLState returns the SQLSTATE code of a database error, whichever
// backend reported it: pgx's *pgconn.PgError, go-sql-driver/mysql's
// *mysql.MySQLError, or a Data API statement error (DatabaseErrorException,
// or BadRequestException from Aurora Serverless v1) whose message carries
// one. It returns "" for an error with none, so handlers can tell, for
// example, a unique violation (23505) from other failures in every mode.
func SQLState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	var myErr *mysql.MySQLError
	if errors.As(err, &myErr) {
		if myErr.SQLState == [5]byte{} {
			return ""
		}
		return string(myErr.SQLState[:])
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "DatabaseErrorException", "BadRequestException":
			msg := apiErr.ErrorMessage()
			if i := strings.LastIndex(msg, dataAPISQLState); i >= 0 {
				if code := msg[i+len(dataAPISQLState):]; len(code) >= 5 {
					return code[:5]
				}
			}
		}
	}
	return ""
}
