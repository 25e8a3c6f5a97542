package main

import (
	"context"
	"fmt"
	"io"

	"github.com/hotline-dev/hotline/bot"
)

// auditVerifyCmd walks every incident's timeline and checks its hash chain;
// any break is reported and makes the command fail.
func auditVerifyCmd(ctx context.Context, args []string, stdout io.Writer) error {
	st, _, err := openConfiguredStore(ctx, "audit verify", args)
	if err != nil {
		return err
	}
	defer st.Close()
	checked, broken, err := verifyAudit(ctx, st, stdout)
	if err != nil {
		return err
	}
	if broken > 0 {
		return fmt.Errorf("%d of %d incidents have a broken timeline: the audit trail was tampered with", broken, checked)
	}
	fmt.Fprintf(stdout, "audit OK: %d incidents, every timeline chain intact\n", checked)
	return nil
}

func verifyAudit(ctx context.Context, st bot.Reader, out io.Writer) (checked, broken int, err error) {
	err = st.EachIncident(ctx, func(inc bot.Incident) error {
		checked++
		events, err := st.Timeline(ctx, inc.ID, 0)
		if err != nil {
			return err
		}
		if err := bot.VerifyChain(events, inc.LastHash); err != nil {
			broken++
			fmt.Fprintf(out, "%s: %v\n", inc.Ref(), err)
		}
		return nil
	})
	return checked, broken, err
}
