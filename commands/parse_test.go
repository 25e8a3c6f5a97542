package commands

import (
	"errors"
	"strings"
	"testing"

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
