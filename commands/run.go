package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/hotline-dev/hotline/bot"
	"github.com/hotline-dev/hotline/commands/chattext"
)

// Incidents is what running a command needs from the bot; *bot.Bot is one.
type Incidents interface {
	Acknowledge(ctx context.Context, number int64, by bot.Actor) (bot.Incident, error)
	Assign(ctx context.Context, number int64, owner string, by bot.Actor) (bot.Incident, error)
	Classify(ctx context.Context, number int64, c bot.Classification, by bot.Actor) (bot.Incident, error)
	Note(ctx context.Context, number int64, text string, by bot.Actor) (bot.Incident, error)
	Resolve(ctx context.Context, number int64, summary string, by bot.Actor) (bot.Incident, error)
}

// Invocation is one "/incident ..." as a chat adapter received it.
type Invocation struct {
	Text  string // after "/incident"
	Actor bot.Actor
	// Thread is the number of the incident whose thread the command was run
	// in, 0 when none.
	Thread int64
	Locale string // ja | en; anything else is English
	// Service is the id of the service whose channel the command was run
	// in, "" when the channel belongs to none; new declares incidents of it.
	Service string
	// Phone serves escalate and oncall; nil: no phone escalation is
	// configured and they say so.
	Phone Phone
	// At is when the command was received, the "now" of oncall; zero: the
	// wall clock.
	At time.Time
	// Authorizer decides who may run what; nil: anyone who can run commands
	// may run every one.
	Authorizer *Authorizer
	// Groups lists the actor's platform groups ("slack:S0ONCALL",
	// "discord:<role id>") for the Authorizer. It is called only when a
	// rule with groups decides, so an adapter may look them up lazily; nil:
	// the actor is in no group.
	Groups func(ctx context.Context) ([]string, error)
}

// Reply is what the adapter posts back. Ephemeral replies (help, refusals)
// are shown only to the responder who ran the command.
type Reply struct {
	Text      string
	Ephemeral bool
	Incident  *bot.Incident // the incident as changed; nil when nothing changed
}

// Run parses and runs one command and says what came of it. Refusals are
// ephemeral replies that change nothing; an unexpected error is logged and
// answered without its details, which may hold internals.
func Run(ctx context.Context, inc Incidents, in Invocation) Reply {
	ja := isJapanese(in.Locale)
	cmd, err := Parse(in.Text)
	if err != nil {
		return refusal(err.Error())
	}
	if cmd.Verb == VerbHelp {
		if cmd.Text != "" {
			return refusal(helpFor(cmd.Text, in.Locale))
		}
		return refusal(Help(in.Locale))
	}
	if ok, why := in.Authorizer.Allowed(ctx, cmd.Verb, in.Actor, in.Locale, in.Groups); !ok {
		return refusal(why)
	}
	switch cmd.Verb {
	case VerbList:
		return list(ctx, inc, ja)
	case VerbOnCall:
		return onCall(ctx, inc, cmd, in, ja)
	case VerbNew:
		return declare(ctx, inc, cmd, in, ja)
	}
	number := cmd.Ref
	if number == 0 {
		number = in.Thread
	}
	if number == 0 {
		return refusal(noIncident(cmd.Verb, ja))
	}
	switch cmd.Verb {
	case VerbShow:
		return show(ctx, inc, number, ja)
	case VerbTimeline:
		return timeline(ctx, inc, number, ja)
	case VerbEscalate:
		if in.Phone == nil {
			return refusal(noPhone(ja))
		}
	}
	if in.Actor.ID == "" {
		// An adapter bug: every change needs an actor for its timeline event.
		slog.ErrorContext(ctx, "incident command without an actor", "verb", cmd.Verb, "incident", number, "platform", in.Actor.Source)
		return refusal(somethingWrong(ja))
	}
	if cmd.Verb == VerbPostmortem {
		return postmortem(ctx, inc, cmd, number, in.Actor, ja)
	}
	changed, err := apply(ctx, inc, in.Phone, cmd, number, in.Actor)
	if err != nil {
		return failure(ctx, err, cmd.Verb, number, in.Actor, ja)
	}
	return Reply{Text: done(cmd, number, changed, in.Actor.ID, ja), Incident: &changed}
}

func apply(ctx context.Context, inc Incidents, phone Phone, cmd Command, number int64, by bot.Actor) (bot.Incident, error) {
	switch cmd.Verb {
	case VerbAck:
		return inc.Acknowledge(ctx, number, by)
	case VerbOwn:
		return inc.Assign(ctx, number, by.ID, by)
	case VerbAssign:
		return inc.Assign(ctx, number, cmd.Owner, by)
	case VerbSev:
		return inc.Classify(ctx, number, bot.Classification{Severity: cmd.Severity}, by)
	case VerbClassify:
		return inc.Classify(ctx, number, bot.Classification{Impact: cmd.Impact, Urgency: cmd.Urgency}, by)
	case VerbNote:
		return inc.Note(ctx, number, cmd.Text, by)
	case VerbResolve:
		return inc.Resolve(ctx, number, cmd.Text, by)
	case VerbStatus:
		s, ok := inc.(StatusSetter)
		if !ok {
			return bot.Incident{}, errNoPort(cmd.Verb, "StatusSetter")
		}
		return s.SetStatus(ctx, number, cmd.Phase, by)
	case VerbEscalate:
		return phone.CallNow(ctx, number, by)
	}
	return bot.Incident{}, fmt.Errorf("run: verb %q has no operation", cmd.Verb)
}

// done is the reply to a change that went through.
func done(cmd Command, number int64, inc bot.Incident, who string, ja bool) string {
	ref := fmt.Sprintf("INC-%d", number)
	switch cmd.Verb {
	case VerbAck:
		return pick(ja, fmt.Sprintf("%s acknowledged by %s", ref, who), fmt.Sprintf("%s を %s が確認しました", ref, who))
	case VerbOwn:
		return pick(ja, fmt.Sprintf("%s is now owned by %s", ref, who), fmt.Sprintf("%s を %s が担当します", ref, who))
	case VerbAssign:
		return pick(ja, fmt.Sprintf("%s assigned to %s by %s", ref, cmd.Owner, who), fmt.Sprintf("%s の担当者を %s が %s にしました", ref, who, cmd.Owner))
	case VerbSev:
		return pick(ja, fmt.Sprintf("%s severity set to %s by %s", ref, cmd.Severity, who), fmt.Sprintf("%s の重大度を %s が %s にしました", ref, who, cmd.Severity))
	case VerbClassify:
		var en, jp []string
		if cmd.Impact != "" {
			en, jp = append(en, "impact "+string(cmd.Impact)), append(jp, "影響度 "+string(cmd.Impact))
		}
		if cmd.Urgency != "" {
			en, jp = append(en, "urgency "+string(cmd.Urgency)), append(jp, "緊急度 "+string(cmd.Urgency))
		}
		if inc.Priority != "" {
			en, jp = append(en, "priority "+string(inc.Priority)), append(jp, "優先度 "+string(inc.Priority))
		}
		return pick(ja, fmt.Sprintf("%s classified by %s: %s", ref, who, strings.Join(en, ", ")),
			fmt.Sprintf("%s を %s が分類しました: %s", ref, who, strings.Join(jp, "、")))
	case VerbNote:
		return pick(ja, fmt.Sprintf("Note added to %s by %s", ref, who), fmt.Sprintf("%s に %s がメモを追加しました", ref, who))
	case VerbResolve:
		return pick(ja, fmt.Sprintf("%s resolved by %s", ref, who), fmt.Sprintf("%s を %s が解決しました", ref, who))
	case VerbStatus:
		return pick(ja, fmt.Sprintf("%s status set to %s by %s", ref, cmd.Phase, who), fmt.Sprintf("%s の対応状況を %s が「%s」にしました", ref, who, phaseNames[cmd.Phase]))
	case VerbEscalate:
		return pick(ja, fmt.Sprintf("%s: calling the on-call contacts now, as %s asked", ref, who), fmt.Sprintf("%s について %s の依頼でオンコール担当者に電話します", ref, who))
	}
	return ref
}

// Explain is the reply to an action on INC-number that an adapter ran
// outside Run (a form's submission): the bot's refusal as the responder
// should read it, or a logged generic answer.
func Explain(ctx context.Context, err error, verb string, number int64, by bot.Actor, locale string) Reply {
	return failure(ctx, err, verb, number, by, isJapanese(locale))
}

// failure turns the bot's refusals into what the responder should read and
// hides anything else behind a generic answer.
func failure(ctx context.Context, err error, verb string, number int64, by bot.Actor, ja bool) Reply {
	var invalid *bot.InvalidError
	switch {
	case errors.As(err, &invalid):
		return refusal(invalid.Reason)
	case errors.Is(err, bot.ErrNotFound):
		return refusal(pick(ja, fmt.Sprintf("INC-%d does not exist", number), fmt.Sprintf("INC-%d は存在しません", number)))
	case errors.Is(err, bot.ErrConflict):
		// The bot words its refusals "INC-7 is already acknowledged: conflict";
		// a store's "conflict: <constraint>" is an internal matter.
		if reason, ok := strings.CutSuffix(err.Error(), ": "+bot.ErrConflict.Error()); ok {
			return refusal(reason)
		}
	}
	slog.ErrorContext(ctx, "incident command failed", "verb", verb, "incident", number, "platform", by.Source, "actor", by.ID, "err", err)
	return refusal(somethingWrong(ja))
}

// errNoPort is the error of a verb whose port the Incidents value given to
// Run lacks: a wiring bug, logged by failure.
func errNoPort(verb, port string) error {
	return fmt.Errorf("%s: the Incidents given to Run is no commands.%s", verb, port)
}

func noPhone(ja bool) string {
	return pick(ja, "no phone escalation is configured here", "電話でのエスカレーションは設定されていません")
}

func refusal(text string) Reply { return Reply{Text: text, Ephemeral: true} }

func noIncident(verb string, ja bool) string {
	if ja {
		return verb + ": インシデントを INC-<n> で指定するか、そのインシデントのスレッドで実行してください\n使い方: " + Usage(verb)
	}
	return (&UsageError{Verb: verb, Reason: "name the incident: INC-<n>, or run the command in its thread", Usage: Usage(verb)}).Error()
}

func somethingWrong(ja bool) string {
	return pick(ja, "something went wrong; try again", "問題が発生しました。もう一度お試しください")
}

func pick(ja bool, en, jp string) string { return chattext.Pick(ja, en, jp) }
