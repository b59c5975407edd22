package budget

// Prefixed returns the problems of e, each beginning with prefix, for example
// "reader: " for the problems of a database's reader.
func (e *Error) Prefixed(prefix string) *Error {
	if e == nil {
		return nil
	}
	raw := make([]string, len(e.raw))
	for i, p := range e.raw {
		raw[i] = prefix + p
	}
	return newError(raw)
}

// Join returns one error holding the problems of errs in their order, or nil when
// none holds any; nil entries are skipped.
func Join(errs ...*Error) *Error {
	var raw []string
	for _, e := range errs {
		if e != nil {
			raw = append(raw, e.raw...)
		}
	}
	if len(raw) == 0 {
		return nil
	}
	return newError(raw)
}
