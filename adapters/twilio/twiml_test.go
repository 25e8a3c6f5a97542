package twilio

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hotline-dev/hotline/bot"
)

const publicURL = "https://hotline.example.com"

func sampleCall(locale string) bot.Call {
	return bot.Call{
		AttemptID:   "att-42",
		To:          "+819011112222",
		Locale:      locale,
		ContactName: "田中",
		ServiceName: "Web shop",
		Incident:    bot.Incident{Number: 12, Title: "db01 disk usage 95%", Severity: bot.Sev2},
		RingFor:     30 * time.Second,
	}
}

// longJapaneseTitle is 300 runes (900 bytes) of Japanese.
func longJapaneseTitle() string {
	return string([]rune(strings.Repeat("本番データベースの応答遅延、", 30))[:300])
}

// checkCallTwiML asserts the shape every call's TwiML must have and returns
// the announcement.
func checkCallTwiML(t *testing.T, doc, base, attempt, language, voice string) string {
	t.Helper()
	resp := parseTwiML(t, doc)
	if got, want := resp.names(), []string{"Gather", "Gather", "Gather", "Say", "Hangup"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("verbs = %v, want %v", got, want)
	}
	wantAction := base + "/v1/twilio/gather?attempt=" + url.QueryEscape(attempt)
	var announcement string
	for i, g := range resp.children("Gather") {
		if g.attr("numDigits") != "1" || g.attr("action") != wantAction || g.attr("method") != "POST" || g.attr("timeout") != "5" {
			t.Errorf("Gather %d: %v, want numDigits=1 action=%s method=POST timeout=5", i, g.Attrs, wantAction)
		}
		says := g.children("Say")
		if len(says) != 1 {
			t.Fatalf("Gather %d holds %v, want one Say", i, g.names())
		}
		if says[0].attr("language") != language || says[0].attr("voice") != voice {
			t.Errorf("Gather %d Say: %v, want language=%s voice=%s", i, says[0].Attrs, language, voice)
		}
		if i == 0 {
			announcement = says[0].Text
		} else if says[0].Text != announcement {
			t.Errorf("Gather %d says %q, want the same announcement as the first", i, says[0].Text)
		}
	}
	bye := resp.children("Say")[0]
	if bye.attr("language") != language || bye.Text == "" {
		t.Errorf("goodbye Say: %v %q", bye.Attrs, bye.Text)
	}
	return announcement
}

func TestCallTwiMLEnglish(t *testing.T) {
	doc, err := CallTwiML(sampleCall("en"), publicURL)
	if err != nil {
		t.Fatal(err)
	}
	say := checkCallTwiML(t, doc, publicURL, "att-42", "en-US", "Polly.Joanna")
	for _, part := range []string{"Hotline", "Web shop", "INC-12", "db01 disk usage 95%", "Severity 2",
		"Press 1 to take this incident, press 2 to pass it to the next person."} {
		if !strings.Contains(say, part) {
			t.Errorf("announcement %q lacks %q", say, part)
		}
	}
	golden(t, "call_en.xml", doc)
}

func TestCallTwiMLJapanese(t *testing.T) {
	for _, locale := range []string{"ja", "ja-JP"} {
		doc, err := CallTwiML(sampleCall(locale), publicURL)
		if err != nil {
			t.Fatal(err)
		}
		say := checkCallTwiML(t, doc, publicURL, "att-42", "ja-JP", "Polly.Mizuki")
		for _, part := range []string{"Hotline", "Web shop", "インシデント 12 番", "db01 disk usage 95%", "重大度 2",
			"対応する場合は 1 を、次の担当者に回す場合は 2 を押してください。"} {
			if !strings.Contains(say, part) {
				t.Errorf("%s: announcement %q lacks %q", locale, say, part)
			}
		}
		if locale == "ja" {
			golden(t, "call_ja.xml", doc)
		}
	}
	// Any other locale is spoken in English.
	doc, _ := CallTwiML(sampleCall("fr"), publicURL)
	checkCallTwiML(t, doc, publicURL, "att-42", "en-US", "Polly.Joanna")
}

func TestCallTwiMLEscapes(t *testing.T) {
	c := sampleCall("en")
	c.AttemptID = "a&b=c d"
	c.Incident.Title = `<Hangup/> & "quotes" 'n' </Say>`
	doc, err := CallTwiML(c, publicURL)
	if err != nil {
		t.Fatal(err)
	}
	say := checkCallTwiML(t, doc, publicURL, c.AttemptID, "en-US", "Polly.Joanna")
	if !strings.Contains(say, c.Incident.Title) {
		t.Errorf("announcement %q lacks the title as text", say)
	}
}

func TestCallTwiMLStaysUnderTwiliosLimit(t *testing.T) {
	long := longJapaneseTitle()
	tests := []struct {
		name, locale, title, service, attempt string
	}{
		{"300-rune Japanese title", "ja", long, "基幹システム", "att-42"},
		{"300-rune Japanese title, long service", "ja", long, strings.Repeat("サ", 200), "att-42"},
		{"300-rune Japanese title, long attempt id", "ja", long, "基幹システム", strings.Repeat("a", 600)},
		{"title of ampersands", "en", strings.Repeat("&", 300), "Web shop", "att-42"},
		{"Japanese speech, title of quotes", "ja", strings.Repeat(`"'`, 150), strings.Repeat("<", 200), "att-42"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := sampleCall(tt.locale)
			c.Incident.Title, c.ServiceName, c.AttemptID = tt.title, tt.service, tt.attempt
			doc, err := CallTwiML(c, publicURL)
			if err != nil {
				t.Fatal(err)
			}
			if n := utf8.RuneCountInString(doc); n > TwiMLLimit || len(doc) > TwiMLLimit {
				t.Errorf("TwiML is %d characters, %d bytes; Twilio takes %d characters", n, len(doc), TwiMLLimit)
			}
			lang := map[string]string{"ja": "ja-JP", "en": "en-US"}[tt.locale]
			voice := map[string]string{"ja": "Polly.Mizuki", "en": "Polly.Joanna"}[tt.locale]
			say := checkCallTwiML(t, doc, publicURL, c.AttemptID, lang, voice)
			if !strings.Contains(say, "…") {
				t.Errorf("the long title was not visibly shortened: %q", say)
			}
		})
	}
	// A title up to the usual length is spoken whole.
	c := sampleCall("ja")
	c.Incident.Title = strings.Repeat("障", 100)
	doc, _ := CallTwiML(c, publicURL)
	if !strings.Contains(doc, c.Incident.Title) {
		t.Error("a 100-rune title was shortened")
	}
}

func TestCallTwiMLRefusesWhatCannotFit(t *testing.T) {
	c := sampleCall("en")
	c.AttemptID = strings.Repeat("x", 1500) // in each of the three action URLs
	if _, err := CallTwiML(c, publicURL); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("error = %v, want the limit named", err)
	}
}

func TestReplyTwiML(t *testing.T) {
	inc := bot.Incident{Number: 12, Title: "db01 disk usage 95%"}
	action := publicURL + "/v1/twilio/gather?attempt=att-42"
	tests := []struct {
		file  string
		reply bot.KeypressReply
		says  string // part of what is said
	}{
		{"reply_accepted_en.xml", bot.KeypressReply{Outcome: bot.KeypressAccepted, Locale: "en", Incident: inc}, "Thank you. INC-12 is yours; the team can see you have it. Goodbye."},
		{"reply_accepted_ja.xml", bot.KeypressReply{Outcome: bot.KeypressAccepted, Locale: "ja", Incident: inc}, "インシデント 12 番はあなたの担当になりました"},
		{"reply_passed_en.xml", bot.KeypressReply{Outcome: bot.KeypressPassed, Locale: "en", Incident: inc}, "Passing INC-12 to the next person. Goodbye."},
		{"reply_passed_ja.xml", bot.KeypressReply{Outcome: bot.KeypressPassed, Locale: "ja", Incident: inc}, "インシデント 12 番を次の担当者に回します"},
		{"reply_taken_en.xml", bot.KeypressReply{Outcome: bot.KeypressTaken, Locale: "en", Incident: inc, TakenBy: "Suzuki"}, "INC-12 is already taken by Suzuki"},
		{"reply_taken_nobody_en.xml", bot.KeypressReply{Outcome: bot.KeypressTaken, Locale: "en", Incident: inc}, "INC-12 no longer needs you"},
		{"reply_taken_ja.xml", bot.KeypressReply{Outcome: bot.KeypressTaken, Locale: "ja", Incident: inc, TakenBy: "鈴木"}, "すでに 鈴木 さんが対応しています"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			doc, err := replyTwiML(tt.reply, action)
			if err != nil {
				t.Fatal(err)
			}
			resp := parseTwiML(t, doc)
			if got := resp.names(); !reflect.DeepEqual(got, []string{"Say", "Hangup"}) {
				t.Fatalf("verbs = %v, want Say, Hangup", got)
			}
			if say := resp.children("Say")[0].Text; !strings.Contains(say, tt.says) {
				t.Errorf("says %q, want %q in it", say, tt.says)
			}
			golden(t, tt.file, doc)
		})
	}
	if _, err := replyTwiML(bot.KeypressReply{Outcome: "shrug"}, action); err == nil {
		t.Error("an unknown outcome rendered")
	}
}

func TestReplyTwiMLAsksAgain(t *testing.T) {
	action := publicURL + "/v1/twilio/gather?attempt=att-42"
	for _, tt := range []struct{ locale, language, prompt string }{
		{"en", "en-US", "Press 1 to take this incident, 2 to pass it on."},
		{"ja", "ja-JP", "対応する場合は 1 を、次の担当者に回す場合は 2 を押してください。"},
	} {
		doc, err := replyTwiML(bot.KeypressReply{Outcome: bot.KeypressAgain, Locale: tt.locale, Incident: bot.Incident{Number: 12}}, action)
		if err != nil {
			t.Fatal(err)
		}
		resp := parseTwiML(t, doc)
		if got := resp.names(); !reflect.DeepEqual(got, []string{"Gather", "Say", "Hangup"}) {
			t.Fatalf("%s: verbs = %v", tt.locale, got)
		}
		g := resp.children("Gather")[0]
		if g.attr("action") != action || g.attr("numDigits") != "1" || g.attr("method") != "POST" {
			t.Errorf("%s: Gather %v", tt.locale, g.Attrs)
		}
		if say := g.children("Say"); len(say) != 1 || say[0].Text != tt.prompt || say[0].attr("language") != tt.language {
			t.Errorf("%s: Gather holds %+v", tt.locale, say)
		}
		golden(t, "reply_again_"+tt.locale+".xml", doc)
	}
}
