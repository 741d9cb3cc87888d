package dist

import (
	"errors"
	"testing"

	"ergo.services/ergo/gen"
	"github.com/stretchr/testify/require"

	"github.com/gobeam/gobeam/etf"
)

func TestReasonsRoundTrip(t *testing.T) {
	for _, term := range []etf.Term{
		etf.Atom("normal"), etf.Atom("shutdown"), etf.Atom("noproc"), etf.Atom("noconnection"),
		etf.Tuple{etf.Atom("shutdown"), etf.Tuple{etf.Atom("timeout"), int64(5000)}},
		[]byte("boom"),
	} {
		require.Equal(t, term, ReasonTerm(ReasonFromTerm(term)))
	}
	// kill is a signal, the process that receives it dies with reason killed.
	require.Equal(t, gen.TerminateReasonKill, ReasonFromTerm(etf.Atom("kill")))
	require.Equal(t, etf.Atom("killed"), ReasonTerm(gen.TerminateReasonKill))
	require.Equal(t, []byte("plain"), ReasonTerm(errors.New("plain")))
}
