package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/lambdards/lambdards/dbspec"
	"github.com/lambdards/lambdards/functions/dbconn"
	"github.com/lambdards/lambdards/functions/provision/dbuser"
	"github.com/lambdards/lambdards/internal/fields"
)

// Request types (AWS CloudFormation User Guide, "Custom resource request
// types": Create, Update, Delete).
const (
	requestCreate = "Create"
	requestUpdate = "Update"
	requestDelete = "Delete"
)

// Event is the CloudFormation custom-resource request as the CDK Provider
// framework hands it to its onEvent function. Fields the handler does not
// use are not decoded.
type Event struct {
	RequestType string `json:"RequestType"`
	// StackID and LogicalResourceID identify the resource; together they
	// are the owner recorded on the user.
	StackID               string          `json:"StackId,omitempty"`
	LogicalResourceID     string          `json:"LogicalResourceId,omitempty"`
	PhysicalResourceID    string          `json:"PhysicalResourceId,omitempty"`
	ResourceProperties    json.RawMessage `json:"ResourceProperties"`
	OldResourceProperties json.RawMessage `json:"OldResourceProperties,omitempty"`
}

// owner is the resource's identity, recorded as the user's owner:
// StackId/LogicalResourceId. When a function moves to another stack, the
// new stack's resource takes the user over, and the old stack's Delete
// leaves it alone. "" (either field missing) records no owner.
func (ev Event) owner() string {
	if ev.StackID == "" || ev.LogicalResourceID == "" {
		return ""
	}
	return ev.StackID + "/" + ev.LogicalResourceID
}

// Response is what the Provider framework expects back from onEvent.
type Response struct {
	PhysicalResourceID string            `json:"PhysicalResourceId"`
	Data               map[string]string `json:"Data,omitempty"`
}

// Properties are the resource properties, all strings as CloudFormation
// passes them. The package documentation describes each.
type Properties struct {
	Engine            string `json:"Engine"`
	Host              string `json:"Host"`
	Port              string `json:"Port"`
	ClusterArn        string `json:"ClusterArn"`
	DatabaseName      string `json:"DatabaseName"`
	SecretArn         string `json:"SecretArn"`
	PasswordSecretArn string `json:"PasswordSecretArn"`
	User              string `json:"User"`
}

// target is a checked set of properties.
type target struct {
	engine dbspec.Engine
	// host and port are set when the provisioner connects to the
	// database; cluster and region when it goes through the Data API.
	host            string
	port            int
	cluster, region string
	database        string
	secret          string
	// passwordSecret is the function's own secret, or "" for IAM
	// authentication.
	passwordSecret string
	user           dbspec.User
}

// physicalID names the user on its database: engine:database:user.
func (t target) physicalID() string {
	return string(t.engine) + ":" + t.database + ":" + t.user.Name
}

// PropertiesError reports every problem in a request's properties.
type PropertiesError struct {
	Problems []string
}

func (e *PropertiesError) Error() string {
	return "provision: invalid resource properties: " + strings.Join(e.Problems, "; ")
}

// parseProperties decodes and checks resource properties, reporting every
// problem at once.
func parseProperties(raw json.RawMessage) (target, error) {
	var p Properties
	if err := json.Unmarshal(raw, &p); err != nil {
		return target{}, &PropertiesError{Problems: []string{fmt.Sprintf("not a JSON object of string properties: %v", err)}}
	}
	t := target{
		engine:         dbspec.Engine(p.Engine),
		host:           p.Host,
		cluster:        p.ClusterArn,
		database:       p.DatabaseName,
		secret:         p.SecretArn,
		passwordSecret: p.PasswordSecretArn,
	}
	var problems []string
	engineOK := t.engine == dbspec.Postgres || t.engine == dbspec.MySQL
	if !engineOK {
		problems = append(problems, fmt.Sprintf("Engine = %q, want %s or %s", p.Engine, dbspec.Postgres, dbspec.MySQL))
	}
	if t.cluster != "" {
		problems = append(problems, dataAPIProblems(p, &t)...)
	} else {
		if t.host == "" {
			problems = append(problems, "Host is not set, want the database endpoint (or ClusterArn, to go through the RDS Data API)")
		}
		port, err := strconv.Atoi(p.Port)
		if err != nil || port < 1 || port > 65535 {
			problems = append(problems, fmt.Sprintf("Port = %q, want a TCP port, 1 to 65535", p.Port))
		}
		t.port = port
	}
	if t.database == "" {
		problems = append(problems, "DatabaseName is not set, want the database the user gets access to")
	} else if err := dbuser.ValidateDatabase(t.database); err != nil {
		problems = append(problems, "DatabaseName: "+strings.Join(problemsOf(err), "; "))
	}
	if t.secret == "" {
		problems = append(problems, "SecretArn is not set, want the master user's secret")
	}
	dec := json.NewDecoder(strings.NewReader(p.User))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t.user); err != nil {
		problems = append(problems, fmt.Sprintf("User is not a JSON object of name, access, schema and tables: %v", err))
	} else if _, err := dec.Token(); err != io.EOF {
		problems = append(problems, "User has trailing data after its JSON object")
	} else if err := t.user.Validate(); err != nil {
		for _, problem := range problemsOf(err) {
			problems = append(problems, "User."+problem)
		}
	}
	if len(problems) > 0 {
		return target{}, &PropertiesError{Problems: problems}
	}
	return t, nil
}

// dataAPIProblems checks the properties of a provisioner that reaches the
// database through the RDS Data API, and sets t.region from ClusterArn.
// Host and Port are not used then, and not checked: a construct may pass
// them either way.
func dataAPIProblems(p Properties, t *target) []string {
	var problems []string
	a, err := arn.Parse(p.ClusterArn)
	if err != nil || a.Service != "rds" || !strings.HasPrefix(a.Resource, "cluster:") {
		problems = append(problems, fmt.Sprintf("ClusterArn = %q, want the Aurora DB cluster's ARN, arn:aws:rds:REGION:ACCOUNT:cluster:NAME", p.ClusterArn))
	} else {
		// The Data API is called in the cluster's Region.
		t.region = a.Region
	}
	if t.engine == dbspec.MySQL {
		problems = append(problems, "ClusterArn is set with Engine mysql: the provisioner cannot reach MySQL through the RDS Data API. "+
			"Apply and Drop on MySQL wait for each other on a named lock (GET_LOCK), which belongs to one database session, "+
			"and the Data API may run each statement outside a transaction on another session, while MySQL's CREATE USER and GRANT "+
			"end any transaction with an implicit commit (AWS recommends running each MySQL DDL statement in a call of its own: "+
			"Amazon Aurora User Guide, \"Calling the Amazon RDS Data API with the AWS CLI\"); "+
			"give Host and Port instead and run the provisioner where it reaches the database")
	}
	return problems
}

// problemsOf returns the problems in a *dbspec.ValidationError, with the
// settings named as the resource's User property names them (dbspec.User's
// fields), or err's message.
func problemsOf(err error) []string {
	var verr *dbspec.ValidationError
	if !errors.As(err, &verr) {
		return []string{err.Error()}
	}
	out := make([]string, len(verr.Problems))
	for i, p := range verr.Problems {
		out[i] = fields.Render(p, userField)
	}
	return out
}

// userField names a dbspec.User setting by its field: the user's name is Name.
func userField(goName string) string {
	if goName == "DatabaseUser" {
		return "Name"
	}
	return goName
}

// Handler serves the Provider framework's requests.
type Handler struct {
	// Secrets reads the master user's credentials (unless the Data API
	// reads them) and the functions' own.
	Secrets SecretSource
	// DataAPIEndpoint is the RDS Data API's base URL, for a local
	// stand-in.
	// Default: the AWS SDK's choice: AWS_ENDPOINT_URL_RDS_DATA when set,
	// else the cluster's Region's endpoint.
	DataAPIEndpoint string
	// Credentials sign Data API requests.
	// Default: nil, the AWS SDK's default chain (in Lambda: the
	// function's role).
	Credentials aws.CredentialsProvider
	// Log gets one record per request.
	// Default: slog.Default().
	Log *slog.Logger
}

// Handle serves one request.
func (h *Handler) Handle(ctx context.Context, ev Event) (Response, error) {
	log := h.Log
	if log == nil {
		log = slog.Default()
	}
	switch ev.RequestType {
	case requestCreate, requestUpdate:
		t, err := parseProperties(ev.ResourceProperties)
		if err != nil {
			return Response{}, err
		}
		if ev.RequestType == requestUpdate {
			if err := refuseMove(ev, t); err != nil {
				return Response{}, err
			}
		}
		opts := &dbuser.Options{Owner: ev.owner()}
		if opts.Password, err = h.password(ctx, t); err != nil {
			return Response{}, fmt.Errorf("provision: %s of user %s: %w", ev.RequestType, t.physicalID(), err)
		}
		err = h.withMaster(ctx, t, func(ctx context.Context, db *sql.DB) error {
			return dbuser.Apply(ctx, db, t.engine, t.database, t.user, opts)
		})
		if err != nil {
			return Response{}, fmt.Errorf("provision: %s of user %s: %w", ev.RequestType, t.physicalID(), err)
		}
		log.Info("applied database user", "request", ev.RequestType, "id", t.physicalID(), "properties", ev.ResourceProperties)
		if ev.RequestType == requestUpdate && ev.PhysicalResourceID != t.physicalID() {
			// CloudFormation "recognizes the update as a replacement and
			// sends a delete request to the old resource" (AWS
			// CloudFormation User Guide, "Delete request for CloudFormation
			// custom resources", PhysicalResourceId), after the stack
			// update has succeeded; that drops the old user.
			log.Info("replacing database user; CloudFormation deletes the old one", "old", ev.PhysicalResourceID, "new", t.physicalID())
		}
		return Response{PhysicalResourceID: t.physicalID(), Data: map[string]string{"Username": t.user.Name}}, nil

	case requestDelete:
		// The Provider framework rejects a Delete response whose id
		// differs from the request's.
		resp := Response{PhysicalResourceID: ev.PhysicalResourceID}
		t, err := parseProperties(ev.ResourceProperties)
		if err != nil {
			// No Create or Update can have succeeded with these
			// properties, so there is no user to drop; failing would
			// leave the stack undeletable.
			log.Warn("nothing to drop: the properties are invalid", "id", ev.PhysicalResourceID, "error", err)
			return resp, nil
		}
		err = h.withMaster(ctx, t, func(ctx context.Context, db *sql.DB) error {
			return dbuser.Drop(ctx, db, t.engine, t.user.Name, ev.owner())
		})
		if errors.Is(err, dbuser.ErrOwnedElsewhere) {
			// The function moved to another stack, whose resource has
			// taken the user over.
			log.Info("left database user to its new owner", "id", ev.PhysicalResourceID, "owner", ev.owner(), "reason", err)
			return resp, nil
		}
		if errors.Is(err, dbuser.ErrNotManaged) {
			log.Warn("left database user alone", "id", ev.PhysicalResourceID, "reason", err)
			return resp, nil
		}
		if err != nil {
			return Response{}, fmt.Errorf("provision: Delete of user %s: %w", t.physicalID(), err)
		}
		log.Info("dropped database user", "id", ev.PhysicalResourceID)
		return resp, nil
	}
	return Response{}, fmt.Errorf("provision: RequestType = %q, want %s, %s or %s", ev.RequestType, requestCreate, requestUpdate, requestDelete)
}

// refuseMove refuses an Update that keeps the user's name but changes its
// id. CloudFormation would send a Delete for the old id after it, and
// dropping that name would take the user from the new database too (on
// MySQL) or fail (on PostgreSQL, where it holds privileges there).
func refuseMove(ev Event, t target) error {
	if len(ev.OldResourceProperties) == 0 || ev.PhysicalResourceID == t.physicalID() {
		return nil
	}
	old, err := parseProperties(ev.OldResourceProperties)
	if err != nil || old.user.Name != t.user.Name {
		return nil
	}
	return fmt.Errorf("provision: Update moves user %q from %s to %s under the same name; CloudFormation would then drop the user the new database needs: give it a new name", t.user.Name, ev.PhysicalResourceID, t.physicalID())
}

// password returns the password the user signs in with: the one in the
// function's own secret, or "" for IAM authentication. The secret must name
// the declared user: the function signs in as the secret's user. Its errors
// never quote the secret.
func (h *Handler) password(ctx context.Context, t target) (string, error) {
	if t.passwordSecret == "" {
		return "", nil
	}
	creds, err := h.Secrets.Credentials(ctx, t.passwordSecret)
	if err != nil {
		return "", fmt.Errorf("PasswordSecretArn: %w", err)
	}
	if creds.Username != t.user.Name {
		return "", fmt.Errorf("PasswordSecretArn: secret %s holds the password of another database user than %q, the declared user; "+
			"the function would sign in as that other user: store the declared user's name in the secret's username", t.passwordSecret, t.user.Name)
	}
	if err := dbuser.CheckPassword(creds.Password); err != nil {
		return "", fmt.Errorf("PasswordSecretArn: the password in secret %s: %s (generate it with quotes and backslashes excluded)",
			t.passwordSecret, strings.Join(problemsOf(err), "; "))
	}
	return creds.Password, nil
}

// withMaster runs fn with a connection pool logged in as the master user
// and closes the pool afterwards: deploys are rare, and the master's
// connections should not outlive them. The pool goes straight to the
// database (not through RDS Proxy) over TLS, or, with ClusterArn, through
// the RDS Data API, which signs in with the master secret itself. Busy
// databases, lost connections and a cluster resuming from auto-pause are
// retried as dbconn.DB.Do does; Apply and Drop may run twice.
func (h *Handler) withMaster(ctx context.Context, t target, fn func(context.Context, *sql.DB) error) error {
	var cfg dbconn.Config
	if t.cluster != "" {
		cfg = dbconn.Config{
			Mode:        dbconn.ModeDataAPI,
			Engine:      t.engine,
			Database:    t.database,
			ClusterARN:  t.cluster,
			SecretARN:   t.secret,
			Region:      t.region,
			Endpoint:    h.DataAPIEndpoint,
			Credentials: h.Credentials,
		}
	} else {
		creds, err := h.Secrets.Credentials(ctx, t.secret)
		if err != nil {
			return err
		}
		cfg = dbconn.Config{
			Engine:   t.engine,
			Host:     t.host,
			Port:     t.port,
			User:     creds.Username,
			Database: t.database,
			Auth:     dbconn.AuthPassword,
			Password: creds.Password,
			// Encrypted but unverified: see the package documentation.
			TLS: dbconn.TLSRequire,
		}
	}
	db, err := dbconn.New(cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.Do(ctx, fn)
}
