package users_test

import (
	"os"
	"testing"

	"github.com/lambdards/lambdards/internal/cdktest"
)

func TestMain(m *testing.M) { os.Exit(cdktest.Run(m)) }
