package discord

// The /incident application command: one subcommand per verb of the
// command language, with Discord options where Slack has words. An
// invocation is turned back into the language's text and run by
// commands.Run, so both platforms parse, authorize and answer alike.

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/bwmarrin/discordgo"

	"github.com/hotline-dev/hotline/bot"
	"github.com/hotline-dev/hotline/commands"
)

// CommandName is the application command Hotline registers.
const CommandName = "incident"

// The options the subcommands take.
const (
	optIncident  = "incident"
	optUser      = "user"
	optLevel     = "level"
	optImpact    = "impact"
	optUrgency   = "urgency"
	optPhase     = "phase"
	optText      = "text"
	optSummary   = "summary"
	optTitle     = "title"
	optSeverity  = "severity"
	optSchedule  = "schedule"
	optOverride  = "override"
	optDuration  = "duration"
	optCause     = "cause"
	optFix       = "fix"
	optFollowUps = "followups"
	optCommand   = "command"
)

// subcommand is one verb as Discord shows it.
type subcommand struct {
	verb    string
	en, ja  string // descriptions (≤ 100 characters)
	options []*discordgo.ApplicationCommandOption
}

func incidentOption() *discordgo.ApplicationCommandOption {
	return stringOption(optIncident, "INC-n; in an incident's thread it may be left out", "INC-n（インシデントのスレッド内では省略可）", false)
}

func stringOption(name, en, ja string, required bool, choices ...string) *discordgo.ApplicationCommandOption {
	o := &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: name, Description: en,
		DescriptionLocalizations: map[discordgo.Locale]string{discordgo.Japanese: ja}, Required: required}
	for _, c := range choices {
		o.Choices = append(o.Choices, &discordgo.ApplicationCommandOptionChoice{Name: c, Value: c})
	}
	return o
}

func userOption(name, en, ja string, required bool) *discordgo.ApplicationCommandOption {
	return &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionUser, Name: name, Description: en,
		DescriptionLocalizations: map[discordgo.Locale]string{discordgo.Japanese: ja}, Required: required}
}

var levels = []string{"high", "medium", "low"}

// subcommands lists the verbs in the order Discord shows them; required
// options come first, as Discord demands.
func subcommands() []subcommand {
	one, four := 1.0, 4.0
	return []subcommand{
		{commands.VerbAck, "Acknowledge: you are on it, and the phone calls stop", "確認します（対応開始）。電話での呼び出しが止まります",
			[]*discordgo.ApplicationCommandOption{incidentOption()}},
		{commands.VerbOwn, "Make yourself the owner", "自分が担当者になります",
			[]*discordgo.ApplicationCommandOption{incidentOption()}},
		{commands.VerbAssign, "Make someone else the owner", "担当者を指定します",
			[]*discordgo.ApplicationCommandOption{userOption(optUser, "The new owner", "新しい担当者", true), incidentOption()}},
		{commands.VerbSev, "Set the severity, 1 (worst) to 4", "重大度を設定します（1 が最も重大）",
			[]*discordgo.ApplicationCommandOption{{Type: discordgo.ApplicationCommandOptionInteger, Name: optLevel,
				Description: "1 (worst) to 4", DescriptionLocalizations: map[discordgo.Locale]string{discordgo.Japanese: "1（最も重大）〜 4"},
				Required: true, MinValue: &one, MaxValue: four}, incidentOption()}},
		{commands.VerbClassify, "Set impact and/or urgency; the priority follows", "影響度と緊急度を設定します。優先度はそこから決まります",
			[]*discordgo.ApplicationCommandOption{
				stringOption(optImpact, "How much is affected", "影響度", false, levels...),
				stringOption(optUrgency, "How soon it must be fixed", "緊急度", false, levels...),
				incidentOption()}},
		{commands.VerbStatus, "Say where the work stands", "対応状況を記録します",
			[]*discordgo.ApplicationCommandOption{
				stringOption(optPhase, "investigating, identified or monitoring", "調査中・特定済み・監視中", true,
					bot.ProgressInvestigating, bot.ProgressIdentified, bot.ProgressMonitoring),
				incidentOption()}},
		{commands.VerbNote, "Add a note to the timeline", "タイムラインにメモを残します",
			[]*discordgo.ApplicationCommandOption{stringOption(optText, "The note", "メモ", true), incidentOption()}},
		{commands.VerbEscalate, "Phone the on-call contacts now", "オンコール担当者へ今すぐ電話します",
			[]*discordgo.ApplicationCommandOption{incidentOption()}},
		{commands.VerbResolve, "Resolve, with an optional summary", "解決済みにします（要約は任意）",
			[]*discordgo.ApplicationCommandOption{incidentOption(), stringOption(optSummary, "What fixed it", "要約", false)}},
		{commands.VerbNew, "Declare an incident for this channel's service", "このチャンネルのサービスのインシデントを起票します",
			[]*discordgo.ApplicationCommandOption{stringOption(optTitle, "What is wrong", "件名", true),
				stringOption(optSeverity, "sev1 (worst) to sev4", "重大度", false, "sev1", "sev2", "sev3", "sev4")}},
		{commands.VerbList, "The open incidents, newest first", "対応中のインシデントを新しい順に表示します", nil},
		{commands.VerbShow, "An incident's state", "インシデントの状態を表示します",
			[]*discordgo.ApplicationCommandOption{incidentOption()}},
		{commands.VerbTimeline, "An incident's last timeline events", "インシデントのタイムラインを表示します",
			[]*discordgo.ApplicationCommandOption{incidentOption()}},
		{commands.VerbOnCall, "Who is on call; or put someone on call for a while", "現在の当番を表示、または一時的に交代します",
			[]*discordgo.ApplicationCommandOption{
				stringOption(optSchedule, "The schedule; the first one when left out", "スケジュール", false),
				userOption(optOverride, "Put this user on call (with duration)", "この人を一時的に当番にします（期間も指定）", false),
				stringOption(optDuration, "How long the override lasts: 2h, 30m, 1d", "交代の期間: 2h, 30m, 1d", false)}},
		{commands.VerbPostmortem, "Write the postmortem of a resolved incident", "解決済みインシデントの振り返りを記録します",
			[]*discordgo.ApplicationCommandOption{incidentOption(),
				stringOption(optCause, "What caused it", "原因", false),
				stringOption(optFix, "What fixed it", "対応", false),
				stringOption(optFollowUps, "What is left to do", "今後の対応", false)}},
		{commands.VerbHelp, "The commands, or how to use one", "コマンドの一覧、または使い方", []*discordgo.ApplicationCommandOption{
			stringOption(optCommand, "A command, e.g. assign", "コマンド名（例: assign）", false)}},
	}
}

// Commands are the application commands Hotline registers: /incident with
// one subcommand per verb.
func Commands() []*discordgo.ApplicationCommand {
	guildOnly := []discordgo.InteractionContextType{discordgo.InteractionContextGuild}
	cmd := &discordgo.ApplicationCommand{
		Type: discordgo.ChatApplicationCommand, Name: CommandName,
		Description:              "Work on incidents: acknowledge, own, classify, note, resolve",
		DescriptionLocalizations: &map[discordgo.Locale]string{discordgo.Japanese: "インシデント対応: 確認・担当・分類・メモ・解決"},
		Contexts:                 &guildOnly,
	}
	for _, s := range subcommands() {
		cmd.Options = append(cmd.Options, &discordgo.ApplicationCommandOption{
			Type: discordgo.ApplicationCommandOptionSubCommand, Name: s.verb, Description: s.en,
			DescriptionLocalizations: map[discordgo.Locale]string{discordgo.Japanese: s.ja}, Options: s.options,
		})
	}
	return []*discordgo.ApplicationCommand{cmd}
}

// commandText turns an /incident invocation into the command language's
// text: "/incident assign user:@x incident:INC-3" is "assign INC-3 <@x>".
// Anything Discord would not send (another command, no subcommand, a value
// of the wrong type) is an error the responder reads.
func commandText(data discordgo.ApplicationCommandInteractionData) (string, error) {
	if data.Name != CommandName {
		return "", fmt.Errorf("unknown command /%s", data.Name)
	}
	if len(data.Options) != 1 || data.Options[0].Type != discordgo.ApplicationCommandOptionSubCommand {
		return "", fmt.Errorf("/%s needs a subcommand: /%s help lists them", CommandName, CommandName)
	}
	sub := data.Options[0]
	opts := map[string]*discordgo.ApplicationCommandInteractionDataOption{}
	for _, o := range sub.Options {
		opts[o.Name] = o
	}
	str := func(name string) (string, error) {
		o := opts[name]
		if o == nil {
			return "", nil
		}
		v, ok := o.Value.(string)
		if !ok {
			return "", fmt.Errorf("option %s: want text, got %T", name, o.Value)
		}
		return strings.TrimSpace(v), nil
	}
	var words []string
	add := func(w ...string) {
		for _, s := range w {
			if s != "" {
				words = append(words, s)
			}
		}
	}
	add(sub.Name)
	// The incident comes first, as INC-n, so no later word is read as it.
	ref, err := str(optIncident)
	if err != nil {
		return "", err
	}
	if ref != "" {
		n, err := bot.ParseRef(ref)
		if err != nil {
			return "", err
		}
		add("INC-" + strconv.FormatInt(n, 10))
	}
	user := func(name string) (string, error) {
		v, err := str(name)
		if err != nil || v == "" {
			return "", err
		}
		return "<@" + v + ">", nil
	}
	switch sub.Name {
	case commands.VerbAssign:
		u, err := user(optUser)
		if err != nil {
			return "", err
		}
		add(u)
	case commands.VerbSev:
		if o := opts[optLevel]; o != nil {
			f, ok := o.Value.(float64)
			if !ok || f != float64(int64(f)) {
				return "", fmt.Errorf("option %s: want a whole number, got %v", optLevel, o.Value)
			}
			add(strconv.FormatInt(int64(f), 10))
		}
	case commands.VerbClassify:
		for _, name := range []string{optImpact, optUrgency} {
			v, err := str(name)
			if err != nil {
				return "", err
			}
			if v != "" {
				add(name + "=" + v)
			}
		}
	case commands.VerbStatus:
		v, err := str(optPhase)
		if err != nil {
			return "", err
		}
		add(v)
	case commands.VerbNote, commands.VerbResolve, commands.VerbNew, commands.VerbHelp:
		name := map[string]string{commands.VerbNote: optText, commands.VerbResolve: optSummary, commands.VerbNew: optTitle, commands.VerbHelp: optCommand}[sub.Name]
		v, err := str(name)
		if err != nil {
			return "", err
		}
		add(v)
		if sub.Name == commands.VerbNew {
			sev, err := str(optSeverity)
			if err != nil {
				return "", err
			}
			add(sev)
		}
	case commands.VerbOnCall:
		u, err := user(optOverride)
		if err != nil {
			return "", err
		}
		d, err := str(optDuration)
		if err != nil {
			return "", err
		}
		schedule, err := str(optSchedule)
		if err != nil {
			return "", err
		}
		if u != "" || d != "" {
			add("override", u, d)
		}
		add(schedule)
	case commands.VerbPostmortem:
		for _, name := range []string{optCause, optFix, optFollowUps} {
			v, err := str(name)
			if err != nil {
				return "", err
			}
			if v != "" {
				add(name + "=" + v)
			}
		}
	}
	return strings.Join(words, " "), nil
}
