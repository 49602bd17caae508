// Command run is one maintenance run (infra/maintenance) against the table
// the environment names (the same STEWARD_* settings as the functions):
// resume the role deletions left half-done, then carry on the
// once-per-deployment migration while the budget lasts. With -every it
// runs again at that interval until interrupted.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/signal"

	"github.com/stewardhq/steward/infra/maintenance"
	"github.com/stewardhq/steward/pkg/app/boot"
	"github.com/stewardhq/steward/pkg/permissions"
)

func main() {
	budget := flag.Duration("budget", maintenance.DefaultBudget, "time bound of one run")
	every := flag.Duration("every", 0, "run again at this interval (0: once)")
	skip := flag.Bool("skip-backfill", false, "only resume role deletions")
	flag.Parse()
	e := boot.FromEnv("maintenance")
	st, err := e.Store(nil)
	if err != nil {
		boot.Fail(err)
	}
	svc := &maintenance.Service{Store: st, Roles: &permissions.Service{Store: st}, Logger: e.Logger}
	o := maintenance.Options{Budget: *budget, SkipBackfill: *skip}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *every > 0 {
		maintenance.RunTicker(ctx, svc, *every, o)
		return
	}
	rep, err := svc.Run(ctx, o)
	if err != nil {
		boot.Fail(err)
	}
	_ = json.NewEncoder(os.Stdout).Encode(rep)
}
