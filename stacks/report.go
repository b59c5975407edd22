package stacks

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ReportFile is the budget report's file name in the cloud assembly directory.
const ReportFile = "lambdards-budget.json"

// Report prints the connection budget as a table to w and writes it as JSON to dir.
func (a *App) Report(dir string, w io.Writer) error {
	res, err := a.Pool.Budget()
	if err != nil {
		return err
	}
	fmt.Fprint(w, res.Table())
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ReportFile), append(b, '\n'), 0o644)
}
