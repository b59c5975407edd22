package dbconn

import (
	"database/sql/driver"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rdsdata"
	"github.com/aws/aws-sdk-go-v2/service/rdsdata/types"
	"github.com/lambdards/lambdards/dbspec"
)

// args numbers values as database/sql passes them to a driver.
func args(values ...any) []driver.NamedValue {
	out := make([]driver.NamedValue, len(values))
	for i, v := range values {
		out[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return out
}

func TestBind(t *testing.T) {
	at := time.Date(2026, 11, 3, 14, 15, 16, 123456000, time.FixedZone("CET", 3600))
	tests := []struct {
		engine    dbspec.Engine
		query     string
		args      []driver.NamedValue
		wantQuery string
		want      []types.SqlParameter // nil: only the query is checked
		wantErr   string
	}{
		{
			engine: dbspec.Postgres, query: `SELECT $2, $1, '$3' WHERE a = $1`, args: args(int64(1), "x"),
			wantQuery: `SELECT :p2, :p1, '$3' WHERE a = :p1`,
			want: []types.SqlParameter{
				{Name: aws.String("p1"), Value: &types.FieldMemberLongValue{Value: 1}},
				{Name: aws.String("p2"), Value: &types.FieldMemberStringValue{Value: "x"}},
			},
		},
		{
			engine: dbspec.MySQL, query: `INSERT INTO t VALUES (?, ?, ?, ?, ?, '?')`, args: args(nil, true, 2.5, []byte{1}, at),
			wantQuery: `INSERT INTO t VALUES (:p1, :p2, :p3, :p4, :p5, '?')`,
			want: []types.SqlParameter{
				{Name: aws.String("p1"), Value: &types.FieldMemberIsNull{Value: true}},
				{Name: aws.String("p2"), Value: &types.FieldMemberBooleanValue{Value: true}},
				{Name: aws.String("p3"), Value: &types.FieldMemberDoubleValue{Value: 2.5}},
				{Name: aws.String("p4"), Value: &types.FieldMemberBlobValue{Value: []byte{1}}},
				// In UTC, to the microsecond, with its type hint.
				{Name: aws.String("p5"), Value: &types.FieldMemberStringValue{Value: "2026-11-03 13:15:16.123456"}, TypeHint: types.TypeHintTimestamp},
			},
		},
		{
			engine: dbspec.Postgres, query: `SELECT :id`, args: []driver.NamedValue{{Name: "id", Ordinal: 1, Value: int64(7)}},
			wantQuery: `SELECT :id`,
			want:      []types.SqlParameter{{Name: aws.String("id"), Value: &types.FieldMemberLongValue{Value: 7}}},
		},
		{engine: dbspec.Postgres, query: `SELECT $1, $2`, args: args(int64(1)), wantErr: "the statement has $ placeholders up to 2 but 1 arguments"},
		{engine: dbspec.Postgres, query: `SELECT $2`, args: args(int64(1), int64(2)), wantErr: "argument 1 has no $ placeholder"},
		{engine: dbspec.MySQL, query: `SELECT ?`, args: args(int64(1), int64(2)), wantErr: "argument 2 has no ? placeholder"},
		{engine: dbspec.MySQL, query: `SELECT ?, ?, ?`, args: args(int64(1)), wantErr: "the statement has ? placeholders up to 3 but 1 arguments"},
		{
			engine: dbspec.Postgres, query: `SELECT :a, $2`,
			args:    []driver.NamedValue{{Name: "a", Ordinal: 1, Value: int64(1)}, {Ordinal: 2, Value: int64(2)}},
			wantErr: "mixes named and positional arguments",
		},
		{engine: dbspec.Postgres, query: `SELECT $1`, args: args(uint64(1)), wantErr: "argument p1: values of type uint64 are not supported"},
	}
	for _, tt := range tests {
		query, params, err := bind(tt.engine, tt.query, tt.args)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("bind(%s, %q) error = %v, want %q", tt.engine, tt.query, err, tt.wantErr)
			}
			continue
		}
		if err != nil || query != tt.wantQuery {
			t.Errorf("bind(%s, %q) = %q, %v, want %q", tt.engine, tt.query, query, err, tt.wantQuery)
			continue
		}
		if !reflect.DeepEqual(params, tt.want) {
			t.Errorf("bind(%s, %q) parameters = %#v, want %#v", tt.engine, tt.query, params, tt.want)
		}
	}
}

func TestFieldValue(t *testing.T) {
	tests := []struct {
		field    types.Field
		typeName string
		want     driver.Value
		wantErr  string
	}{
		{&types.FieldMemberIsNull{Value: true}, "int8", nil, ""},
		{&types.FieldMemberLongValue{Value: 1 << 60}, "int8", int64(1 << 60), ""},
		{&types.FieldMemberStringValue{Value: "2026-11-03 14:15:16.123456"}, "timestamptz", time.Date(2026, 11, 3, 14, 15, 16, 123456000, time.UTC), ""},
		{&types.FieldMemberStringValue{Value: "2026-11-03 14:15:16"}, "DATETIME", time.Date(2026, 11, 3, 14, 15, 16, 0, time.UTC), ""},
		{&types.FieldMemberStringValue{Value: "2026-11-03"}, "date", time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC), ""},
		{&types.FieldMemberStringValue{Value: "12:30:00"}, "time", "12:30:00", ""},
		{&types.FieldMemberStringValue{Value: "12.50"}, "numeric", "12.50", ""},
		{&types.FieldMemberStringValue{Value: "2026-11-03T14:15:16Z"}, "timestamp", nil, `the Data API returned "2026-11-03T14:15:16Z"`},
		{&types.FieldMemberArrayValue{Value: &types.ArrayValueMemberLongValues{Value: []*int64{aws.Int64(1)}}}, "_int4", nil, "array values are not supported"},
	}
	for _, tt := range tests {
		got, err := fieldValue(tt.field, tt.typeName)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("fieldValue(%#v, %s) error = %v, want %q", tt.field, tt.typeName, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("fieldValue(%#v, %s) = %#v, %v, want %#v", tt.field, tt.typeName, got, err, tt.want)
		}
	}
}

func TestLastInsertId(t *testing.T) {
	mysql := dataAPIResult{&rdsdata.ExecuteStatementOutput{NumberOfRecordsUpdated: 1,
		GeneratedFields: []types.Field{&types.FieldMemberLongValue{Value: 42}}}}
	if id, err := mysql.LastInsertId(); id != 42 || err != nil {
		t.Errorf("LastInsertId() with a generated field = %d, %v, want 42, nil", id, err)
	}
	if n, _ := mysql.RowsAffected(); n != 1 {
		t.Errorf("RowsAffected() = %d, want 1", n)
	}
	postgres := dataAPIResult{&rdsdata.ExecuteStatementOutput{NumberOfRecordsUpdated: 1}}
	if _, err := postgres.LastInsertId(); err == nil || !strings.Contains(err.Error(), "use RETURNING") {
		t.Errorf("LastInsertId() without generated fields error = %v, want a hint to use RETURNING", err)
	}
}
