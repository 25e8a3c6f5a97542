package commands

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/hotline-dev/hotline/bot"
)

// onCall answers who is on call, or stores an override.
func onCall(ctx context.Context, inc Incidents, cmd Command, in Invocation, ja bool) Reply {
	if in.Phone == nil {
		return refusal(noPhone(ja))
	}
	schedules := in.Phone.Schedules()
	if len(schedules) == 0 {
		return refusal(pick(ja, "no on-call schedules are configured", "当番表（schedules）が設定されていません"))
	}
	if cmd.Schedule != "" && !slices.Contains(schedules, cmd.Schedule) {
		return refusal(pick(ja, fmt.Sprintf("unknown schedule %q; the schedules are: %s", cmd.Schedule, strings.Join(schedules, ", ")),
			fmt.Sprintf("当番表 %q はありません。当番表: %s", cmd.Schedule, strings.Join(schedules, "、"))))
	}
	at := in.At
	if at.IsZero() {
		at = time.Now()
	}
	if cmd.Override {
		return override(ctx, inc, cmd, in, schedules, at, ja)
	}
	if cmd.Schedule != "" {
		schedules = []string{cmd.Schedule}
	}
	var lines []string
	for _, s := range schedules {
		shift, err := in.Phone.OnCall(ctx, s, at)
		if err != nil {
			return failure(ctx, fmt.Errorf("on call for %s: %w", s, err), VerbOnCall, 0, in.Actor, ja)
		}
		lines = append(lines, shiftLine(shift, ja))
	}
	return refusal(strings.Join(lines, "\n"))
}

func shiftLine(s OnCall, ja bool) string {
	who := s.Contact
	if who == "" {
		return pick(ja, s.Schedule+": nobody is on call", s.Schedule+": 当番はいません")
	}
	line := s.Schedule + ": " + who
	if !s.Until.IsZero() {
		line += pick(ja, " until "+stamp(s.Until, ja), "（"+stamp(s.Until, ja)+" まで）")
	}
	if s.Override {
		line += pick(ja, " (override)", "（交代）")
	}
	return line
}

// override puts the named contact on call from at for cmd.Duration.
func override(ctx context.Context, inc Incidents, cmd Command, in Invocation, schedules []string, at time.Time, ja bool) Reply {
	schedule := cmd.Schedule
	if schedule == "" {
		if len(schedules) > 1 {
			return refusal(pick(ja, "name the schedule: "+strings.Join(schedules, ", ")+"\nusage: "+Usage(VerbOnCall),
				"当番表を指定してください: "+strings.Join(schedules, "、")+"\n使い方: "+Usage(VerbOnCall)))
		}
		schedule = schedules[0]
	}
	contact, ok := in.Phone.Contact(cmd.Owner)
	if !ok {
		return refusal(pick(ja, fmt.Sprintf("@%s is not a contact: name someone from the contacts list", cmd.Owner),
			fmt.Sprintf("@%s は連絡先（contacts）に登録されていません", cmd.Owner)))
	}
	if in.Actor.ID == "" {
		slog.ErrorContext(ctx, "incident command without an actor", "verb", VerbOnCall, "platform", in.Actor.Source)
		return refusal(somethingWrong(ja))
	}
	o, ok := inc.(Overrider)
	if !ok {
		return failure(ctx, errNoPort(VerbOnCall, "Overrider"), VerbOnCall, 0, in.Actor, ja)
	}
	saved, err := o.AddOverride(ctx, bot.Override{Schedule: schedule, Contact: contact, Start: at, End: at.Add(cmd.Duration), CreatedBy: in.Actor.ID})
	if err != nil {
		return failure(ctx, err, VerbOnCall, 0, in.Actor, ja)
	}
	return Reply{Text: pick(ja,
		fmt.Sprintf("%s is on call for %s until %s (override by %s)", saved.Contact, saved.Schedule, stamp(saved.End, ja), in.Actor.ID),
		fmt.Sprintf("%s が %s の当番を %s まで交代します（%s が設定）", saved.Contact, saved.Schedule, stamp(saved.End, ja), in.Actor.ID))}
}
