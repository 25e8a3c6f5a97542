package commands

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/bot"
)

func TestParse(t *testing.T) {
	tests := []struct {
		text string
		want Command
	}{
		// Empty text asks for the help.
		{"", Command{Verb: VerbHelp}},
		{"   ", Command{Verb: VerbHelp}},
		{"\u3000", Command{Verb: VerbHelp}},
		{"help", Command{Verb: VerbHelp}},
		{"HELP sev", Command{Verb: VerbHelp, Text: VerbSev}},
		{"help close", Command{Verb: VerbHelp, Text: VerbResolve}},
		{"help 確認", Command{Verb: VerbHelp, Text: VerbAck}},

		// ack and its aliases, with every way of naming the incident.
		{"ack", Command{Verb: VerbAck}},
		{"ACK", Command{Verb: VerbAck}},
		{"Ack INC-7", Command{Verb: VerbAck, Ref: 7}},
		{"ack inc-7", Command{Verb: VerbAck, Ref: 7}},
		{"ack #7", Command{Verb: VerbAck, Ref: 7}},
		{"  ack   INC-12  ", Command{Verb: VerbAck, Ref: 12}},
		{"acknowledge INC-3", Command{Verb: VerbAck, Ref: 3}},
		{"確認", Command{Verb: VerbAck}},
		{"確認　INC-5", Command{Verb: VerbAck, Ref: 5}},  // ideographic space
		{"ack ＩＮＣ－７", Command{Verb: VerbAck, Ref: 7}}, // full-width, IME on
		{"ack ＃７", Command{Verb: VerbAck, Ref: 7}},

		// own
		{"own", Command{Verb: VerbOwn}},
		{"own INC-4", Command{Verb: VerbOwn, Ref: 4}},
		{"take", Command{Verb: VerbOwn}},
		{"Take #4", Command{Verb: VerbOwn, Ref: 4}},
		{"担当 INC-4", Command{Verb: VerbOwn, Ref: 4}},

		// assign: every way of naming a user.
		{"assign @tanaka", Command{Verb: VerbAssign, Owner: "tanaka"}},
		{"assign INC-3 @tanaka", Command{Verb: VerbAssign, Ref: 3, Owner: "tanaka"}},
		{"assign #3 @suzuki.k", Command{Verb: VerbAssign, Ref: 3, Owner: "suzuki.k"}},
		{"assign @田中", Command{Verb: VerbAssign, Owner: "田中"}},
		{"assign ＠田中", Command{Verb: VerbAssign, Owner: "田中"}},
		{"assign <@U01TANAKA>", Command{Verb: VerbAssign, Owner: "U01TANAKA"}},
		{"assign INC-3 <@U01TANAKA|tanaka>", Command{Verb: VerbAssign, Ref: 3, Owner: "U01TANAKA"}},
		{"assign <@U01TANAKA|taro yamada>", Command{Verb: VerbAssign, Owner: "U01TANAKA"}},
		{"assign <@1001>", Command{Verb: VerbAssign, Owner: "1001"}},
		{"assign <@!1001>", Command{Verb: VerbAssign, Owner: "1001"}},

		// sev: whatever bot.ParseSeverity accepts.
		{"sev 1", Command{Verb: VerbSev, Severity: bot.Sev1}},
		{"sev INC-4 2", Command{Verb: VerbSev, Ref: 4, Severity: bot.Sev2}},
		{"sev sev3", Command{Verb: VerbSev, Severity: bot.Sev3}},
		{"sev #4 SEV2", Command{Verb: VerbSev, Ref: 4, Severity: bot.Sev2}},
		{"sev critical", Command{Verb: VerbSev, Severity: bot.Sev1}},
		{"sev ４", Command{Verb: VerbSev, Severity: bot.Sev4}},
		{"severity INC-9 4", Command{Verb: VerbSev, Ref: 9, Severity: bot.Sev4}},
		{"SEVERITY 1", Command{Verb: VerbSev, Severity: bot.Sev1}},

		// classify: either or both, any order, = or :.
		{"classify impact=high urgency=low", Command{Verb: VerbClassify, Impact: bot.High, Urgency: bot.Low}},
		{"classify INC-8 urgency=low impact=high", Command{Verb: VerbClassify, Ref: 8, Impact: bot.High, Urgency: bot.Low}},
		{"classify impact:medium", Command{Verb: VerbClassify, Impact: bot.Medium}},
		{"classify urgency=high", Command{Verb: VerbClassify, Urgency: bot.High}},
		{"Classify #8 IMPACT=Low Urgency:MEDIUM", Command{Verb: VerbClassify, Ref: 8, Impact: bot.Low, Urgency: bot.Medium}},
		{"classify impact：high", Command{Verb: VerbClassify, Impact: bot.High}},

		// note keeps what was typed after the first word, Japanese included.
		{"note restarted db01", Command{Verb: VerbNote, Text: "restarted db01"}},
		{"note INC-3 restarted  db01,   watching", Command{Verb: VerbNote, Ref: 3, Text: "restarted  db01,   watching"}},
		{"note #3 line one\nline  two", Command{Verb: VerbNote, Ref: 3, Text: "line one\nline  two"}},
		{"note #hashtag is text", Command{Verb: VerbNote, Text: "#hashtag is text"}},
		{"note INC-x is text too", Command{Verb: VerbNote, Text: "INC-x is text too"}},
		{"note 3 servers down", Command{Verb: VerbNote, Text: "3 servers down"}},
		{"メモ DBを再起動しました　様子を見ます", Command{Verb: VerbNote, Text: "DBを再起動しました　様子を見ます"}},
		{"メモ　INC-3　ディスク使用率 95%", Command{Verb: VerbNote, Ref: 3, Text: "ディスク使用率 95%"}},

		// resolve, with and without a summary.
		{"resolve", Command{Verb: VerbResolve}},
		{"resolve INC-3", Command{Verb: VerbResolve, Ref: 3}},
		{"resolve INC-3 extended the  disk", Command{Verb: VerbResolve, Ref: 3, Text: "extended the  disk"}},
		{"close #3", Command{Verb: VerbResolve, Ref: 3}},
		{"CLOSE false alarm", Command{Verb: VerbResolve, Text: "false alarm"}},
		{"解決 INC-3 ディスク拡張で復旧", Command{Verb: VerbResolve, Ref: 3, Text: "ディスク拡張で復旧"}},

		// status: English or Japanese phases, full-width folded.
		{"status investigating", Command{Verb: VerbStatus, Phase: bot.ProgressInvestigating}},
		{"status INC-4 identified", Command{Verb: VerbStatus, Ref: 4, Phase: bot.ProgressIdentified}},
		{"STATUS #4 Monitoring", Command{Verb: VerbStatus, Ref: 4, Phase: bot.ProgressMonitoring}},
		{"状況 調査中", Command{Verb: VerbStatus, Phase: bot.ProgressInvestigating}},
		{"ステータス　ＩＮＣ－４　特定済み", Command{Verb: VerbStatus, Ref: 4, Phase: bot.ProgressIdentified}},
		{"状況 監視中", Command{Verb: VerbStatus, Phase: bot.ProgressMonitoring}},
		{"status ＭＯＮＩＴＯＲＩＮＧ", Command{Verb: VerbStatus, Phase: bot.ProgressMonitoring}},

		// escalate
		{"escalate", Command{Verb: VerbEscalate}},
		{"escalate INC-7", Command{Verb: VerbEscalate, Ref: 7}},
		{"page #7", Command{Verb: VerbEscalate, Ref: 7}},
		{"呼び出し", Command{Verb: VerbEscalate}},
		{"エスカレ　＃７", Command{Verb: VerbEscalate, Ref: 7}},

		// new: the title as typed; a last word sev1–sev4 is the severity.
		{"new db01 disk full", Command{Verb: VerbNew, Text: "db01 disk full"}},
		{"new db01 disk  full sev2", Command{Verb: VerbNew, Text: "db01 disk  full", Severity: bot.Sev2}},
		{"new checkout errors SEV1", Command{Verb: VerbNew, Text: "checkout errors", Severity: bot.Sev1}},
		{"new API latency high", Command{Verb: VerbNew, Text: "API latency high"}},
		{"new 3 servers down 2", Command{Verb: VerbNew, Text: "3 servers down 2"}},
		{"new INC-3 again", Command{Verb: VerbNew, Text: "INC-3 again"}},
		{"declare payments down", Command{Verb: VerbNew, Text: "payments down"}},
		{"新規 決済エラー多発　ｓｅｖ１", Command{Verb: VerbNew, Text: "決済エラー多発", Severity: bot.Sev1}},
		{"起票 db01 ディスク使用率 95%", Command{Verb: VerbNew, Text: "db01 ディスク使用率 95%"}},

		// list, show, timeline
		{"list", Command{Verb: VerbList}},
		{"一覧", Command{Verb: VerbList}},
		{"ＬＩＳＴ", Command{Verb: VerbList}},
		{"show", Command{Verb: VerbShow}},
		{"show INC-7", Command{Verb: VerbShow, Ref: 7}},
		{"表示 ＩＮＣ－７", Command{Verb: VerbShow, Ref: 7}},
		{"timeline", Command{Verb: VerbTimeline}},
		{"timeline #7", Command{Verb: VerbTimeline, Ref: 7}},
		{"経緯 INC-7", Command{Verb: VerbTimeline, Ref: 7}},
		{"タイムライン", Command{Verb: VerbTimeline}},

		// oncall, and overrides with every way of writing the duration.
		{"oncall", Command{Verb: VerbOnCall}},
		{"oncall infra", Command{Verb: VerbOnCall, Schedule: "infra"}},
		{"on-call ｉｎｆｒａ", Command{Verb: VerbOnCall, Schedule: "infra"}},
		{"当番", Command{Verb: VerbOnCall}},
		{"oncall override @suzuki 2h", Command{Verb: VerbOnCall, Override: true, Owner: "suzuki", Duration: 2 * time.Hour}},
		{"oncall override <@U01SUZUKI|suzuki> 1h30m infra", Command{Verb: VerbOnCall, Override: true, Owner: "U01SUZUKI", Duration: 90 * time.Minute, Schedule: "infra"}},
		{"oncall OVERRIDE @suzuki 1d", Command{Verb: VerbOnCall, Override: true, Owner: "suzuki", Duration: 24 * time.Hour}},
		{"当番 交代 ＠鈴木 ２時間", Command{Verb: VerbOnCall, Override: true, Owner: "鈴木", Duration: 2 * time.Hour}},
		{"当番 代理 @suzuki 30分 db", Command{Verb: VerbOnCall, Override: true, Owner: "suzuki", Duration: 30 * time.Minute, Schedule: "db"}},
		{"当番 交代 @suzuki 1日", Command{Verb: VerbOnCall, Override: true, Owner: "suzuki", Duration: 24 * time.Hour}},

		{"help escalate", Command{Verb: VerbHelp, Text: VerbEscalate}},
		{"help 当番", Command{Verb: VerbHelp, Text: VerbOnCall}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.text)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.text, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.text, got, tt.want)
		}
	}
}

func TestParseRefusals(t *testing.T) {
	tests := []struct {
		text   string
		verb   string // UsageError.Verb
		reason string // substring of UsageError.Reason
	}{
		{"assign", VerbAssign, "name the new owner"},
		{"assign INC-3", VerbAssign, "name the new owner"},
		{"assign tanaka", VerbAssign, `"tanaka" is not a user`},
		{"assign @", VerbAssign, `"@" is not a user`},
		{"assign <@&123>", VerbAssign, "is not a user"},
		{"assign <@U1", VerbAssign, "is not a user"},
		{"assign @here", VerbAssign, "one person"},
		{"assign @tanaka @suzuki", VerbAssign, `unexpected "@suzuki"`},
		{"assign 3 @tanaka", VerbAssign, `"3" is not a user`},

		{"sev", VerbSev, "give a severity"},
		{"sev INC-3", VerbSev, "give a severity"},
		{"sev 7", VerbSev, `"7" is not a severity (sev1–sev4)`},
		{"sev INC-3 extreme", VerbSev, `"extreme" is not a severity`},
		{"sev 1 2", VerbSev, `unexpected "2"`},
		{"severity INC-x 2", VerbSev, `"INC-x" is not an incident`},

		{"classify", VerbClassify, "give impact"},
		{"classify INC-3", VerbClassify, "give impact"},
		{"classify impact high", VerbClassify, `"impact" is not key=value`},
		{"classify impact=huge", VerbClassify, `impact "huge" is not high, medium or low`},
		{"classify urgency=", VerbClassify, `urgency "" is not high, medium or low`},
		{"classify size=high", VerbClassify, `unknown key "size"`},
		{"classify impact=high impact=low", VerbClassify, "impact given twice"},

		{"note", VerbNote, "write the text of the note"},
		{"note INC-3", VerbNote, "write the text of the note"},
		{"note INC-3 \u3000 ", VerbNote, "write the text of the note"},
		{"メモ", VerbNote, "write the text of the note"},

		{"ack INC-3 now", VerbAck, `unexpected "now"`},
		{"ack now", VerbAck, `unexpected "now"`},
		{"ack INC-3 INC-4", VerbAck, `unexpected "INC-4"`},
		{"ack INC-0", VerbAck, `"INC-0" is not an incident`},
		{"ack #0", VerbAck, `"#0" is not an incident`},
		{"ack INC-", VerbAck, `"INC-" is not an incident`},
		{"ack #7a", VerbAck, `"#7a" is not an incident`},
		{"own INC-3 @suzuki", VerbOwn, `unexpected "@suzuki"`},
		{"help sev now", VerbHelp, `unexpected "now"`},

		{"status", VerbStatus, "give the phase"},
		{"status INC-3", VerbStatus, "give the phase"},
		{"status resolved", VerbStatus, `"resolved" is not a phase`},
		{"状況 対応中", VerbStatus, `"対応中" is not a phase`},
		{"status monitoring now", VerbStatus, `unexpected "now"`},
		{"status INC-x monitoring", VerbStatus, `"INC-x" is not an incident`},

		{"escalate now", VerbEscalate, `unexpected "now"`},
		{"escalate INC-3 INC-4", VerbEscalate, `unexpected "INC-4"`},

		{"new", VerbNew, "write the title"},
		{"new sev2", VerbNew, "write the title"},
		{"新規　", VerbNew, "write the title"},

		{"list all", VerbList, `unexpected "all"`},
		{"show INC-3 now", VerbShow, `unexpected "now"`},
		{"show INC-0", VerbShow, `"INC-0" is not an incident`},
		{"timeline INC-3 20", VerbTimeline, `unexpected "20"`},

		{"oncall infra db", VerbOnCall, `unexpected "db"`},
		{"oncall override", VerbOnCall, "name who takes over"},
		{"oncall override suzuki 2h", VerbOnCall, `"suzuki" is not a user`},
		{"oncall override @here 2h", VerbOnCall, "name one person, not @here"},
		{"oncall override @suzuki", VerbOnCall, "give how long"},
		{"oncall override @suzuki 2", VerbOnCall, `"2" is not a duration`},
		{"oncall override @suzuki soon", VerbOnCall, `"soon" is not a duration`},
		{"oncall override @suzuki 0h", VerbOnCall, "more than 0"},
		{"oncall override @suzuki -2h", VerbOnCall, "more than 0"},
		{"oncall override @suzuki 15d", VerbOnCall, "at most 14d"},
		{"oncall override @suzuki 2h infra db", VerbOnCall, `unexpected "db"`},

		{"foo", "", `unknown command "foo"`},
		{"help foo", "", `unknown command "foo"`},
		{"INC-7 ack", "", "start with the command, then the incident: /incident ack INC-7"},
		{"#7", "", "start with the command, then the incident: /incident <command> #7"},
	}
	for _, tt := range tests {
		cmd, err := Parse(tt.text)
		var ue *UsageError
		if !errors.As(err, &ue) {
			t.Errorf("Parse(%q) = %+v, %v; want a *UsageError", tt.text, cmd, err)
			continue
		}
		if ue.Verb != tt.verb || !strings.Contains(ue.Reason, tt.reason) {
			t.Errorf("Parse(%q): verb %q reason %q; want verb %q reason containing %q", tt.text, ue.Verb, ue.Reason, tt.verb, tt.reason)
		}
		wantUsage := Usage(tt.verb)
		if tt.verb == "" {
			wantUsage = allUsages()
		}
		if ue.Usage != wantUsage {
			t.Errorf("Parse(%q): usage %q, want %q", tt.text, ue.Usage, wantUsage)
		}
		if cmd != (Command{}) {
			t.Errorf("Parse(%q) refused but returned %+v", tt.text, cmd)
		}
	}
}

func TestUsageErrorText(t *testing.T) {
	_, err := Parse("sev 7")
	want := "sev: \"7\" is not a severity (sev1–sev4)\nusage: /incident sev [INC-n] 1-4"
	if err == nil || err.Error() != want {
		t.Errorf("sev 7: %v\nwant:\n%s", err, want)
	}

	_, err = Parse("foo")
	if err == nil {
		t.Fatal("foo: no error")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "unknown command \"foo\"\nusage:\n") {
		t.Errorf("foo: %q, want it to start with the reason and a usage block", msg)
	}
	for _, v := range verbOrder {
		if !strings.Contains(msg, "\n  "+Usage(v)) {
			t.Errorf("foo: the command list lacks %q:\n%s", Usage(v), msg)
		}
	}
}

// FuzzParse: no input panics, and every refusal is a *UsageError that names
// a usage.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "ack INC-7", "assign <@U1|a b>", "classify impact=high urgency:low", "メモ　テスト", "note #", "<", "assign <@", "sev ＩＮＣ－", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		cmd, err := Parse(text)
		if err != nil {
			var ue *UsageError
			if !errors.As(err, &ue) || ue.Usage == "" {
				t.Fatalf("Parse(%q): %v is not a *UsageError with a usage", text, err)
			}
			return
		}
		if Usage(cmd.Verb) == "" {
			t.Fatalf("Parse(%q): unknown verb %q", text, cmd.Verb)
		}
	})
}
