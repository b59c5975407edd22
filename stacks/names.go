package stacks

import "strings"

// KeyName names a setting, given the Go field that the constructs' messages name it by
// (package internal/fields), as the app's users set it: by its context key. A function's
// fields (DatabaseUser, Weight, ...) are the fields of the functions key's JSON. So a rule
// written once, in the construct that owns the setting, speaks to the app's users in their
// own words.
func KeyName(goName string) string {
	if key, ok := keyNames[goName]; ok {
		return key
	}
	if strings.Contains(goName, "=") {
		return goName // a setting with a value the keys word no otherwise: the name and the value
	}
	return strings.ToLower(goName[:1]) + goName[1:]
}

// keyNames are the settings whose context key is not their Go field in lower camel case.
var keyNames = map[string]string{
	"MaxCapacity":               "maxAcu",
	"MinCapacity":               "minAcu",
	"MonitoringIntervalSeconds": "monitoringInterval",
	// The pool's Mode is the app's connection key.
	"Mode":         "connection",
	"Mode=proxy":   "connection = proxy",
	"Mode=direct":  "connection = direct",
	"Mode=dataapi": "connection = dataapi",
	"Proxy=false":  "connection = direct or dataapi",
}
