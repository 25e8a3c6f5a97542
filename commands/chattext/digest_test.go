package chattext_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/hotline-dev/hotline/bot"
	"github.com/hotline-dev/hotline/commands/chattext"
)

func TestDigestSelect(t *testing.T) {
	ev := func(kinds string) []bot.Event {
		var out []bot.Event
		for i, k := range strings.Split(kinds, " ") {
			kind := bot.EventAlert
			if k == "N" {
				kind = bot.EventNote
			}
			out = append(out, bot.Event{Seq: i + 1, Kind: kind})
		}
		return out
	}
	seqs := func(es []bot.Event) []int {
		var out []int
		for _, e := range es {
			out = append(out, e.Seq)
		}
		return out
	}
	tests := []struct {
		name    string
		events  string
		limit   int
		want    []int
		omitted int
	}{
		{"fits", "A N A", 3, []int{1, 2, 3}, 0},
		{"state changes kept, earliest alerts fill", "A A A N A N", 4, []int{1, 2, 4, 6}, 2},
		{"only changes, newest kept", "N N N N", 2, []int{3, 4}, 2},
		{"changes crowd out alerts", "A N A N A", 2, []int{2, 4}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kept, omitted := chattext.DigestSelect(ev(tt.events), tt.limit)
			if !reflect.DeepEqual(seqs(kept), tt.want) || omitted != tt.omitted {
				t.Errorf("kept %v omitted %d, want %v and %d", seqs(kept), omitted, tt.want, tt.omitted)
			}
		})
	}
}

func TestMentionHere(t *testing.T) {
	tests := map[string]string{
		"@here nobody accepted":       "<!here> nobody accepted",
		"call @here now":              "call <!here> now",
		"end @here":                   "end <!here>",
		"@here 2 周呼び出しました":            "<!here> 2 周呼び出しました",
		"mail ops@here.example":       "mail ops@here.example",
		"@hereafter is not a mention": "@hereafter is not a mention",
		"twice: @here and @here.":     "twice: <!here> and <!here>.",
		"no mention here at all":      "no mention here at all",
	}
	for in, want := range tests {
		if got := chattext.MentionHere(in, "<!here>"); got != want {
			t.Errorf("MentionHere(%q) = %q, want %q", in, got, want)
		}
	}
}
