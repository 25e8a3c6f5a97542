package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/hotline-dev/hotline/bot"
)

// declare opens an incident by hand in the service of the channel.
func declare(ctx context.Context, inc Incidents, cmd Command, in Invocation, ja bool) Reply {
	if in.Service == "" {
		return refusal(pick(ja, "this channel belongs to no service; use /incident new in a service's channel",
			"このチャンネルはどのサービスにも属していません。サービスのチャンネルで /incident new を実行してください"))
	}
	if in.Actor.ID == "" {
		slog.ErrorContext(ctx, "incident command without an actor", "verb", VerbNew, "platform", in.Actor.Source)
		return refusal(somethingWrong(ja))
	}
	d, ok := inc.(Declarer)
	if !ok {
		return failure(ctx, errNoPort(VerbNew, "Declarer"), VerbNew, 0, in.Actor, ja)
	}
	res, err := d.Declare(ctx, in.Service, cmd.Text, cmd.Severity, in.Actor)
	if err != nil {
		return failure(ctx, err, VerbNew, 0, in.Actor, ja)
	}
	if res.Action != bot.IngestOpened {
		// A fresh fingerprint always opens an incident; anything else is a
		// bug worth hearing about, not a reply to make up.
		return failure(ctx, errors.New("declare: ingest "+string(res.Action)+", not opened"), VerbNew, 0, in.Actor, ja)
	}
	i := res.Incident
	return Reply{Text: pick(ja,
		fmt.Sprintf("%s declared by %s: %s [%s]", i.Ref(), in.Actor.ID, i.Title, i.Severity),
		fmt.Sprintf("%s を %s が起票しました: %s [%s]", i.Ref(), in.Actor.ID, i.Title, i.Severity)), Incident: &i}
}
