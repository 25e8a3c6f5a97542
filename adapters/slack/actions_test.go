package slack

import "testing"

func TestMentionPrefix(t *testing.T) {
	for in, want := range map[string]string{
		"<@U0HOTLINE> ack":               "ack",
		"<@U0HOTLINE|hotline>: note 再起動": "note 再起動",
		"  <@U0HOTLINE>、確認":              "確認",
		"ack <@U0HOTLINE>":               "ack <@U0HOTLINE>",
	} {
		if got := mentionPrefix.ReplaceAllString(in, ""); got != want {
			t.Errorf("%q → %q, want %q", in, got, want)
		}
	}
}
