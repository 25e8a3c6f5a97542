package twilio

import (
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/twilio/twilio-go/twiml"

	"github.com/hotline-dev/hotline/bot"
)

const (
	// TwiMLLimit is Twilio's limit on the Twiml parameter of a call, in
	// characters (error 32018). CallTwiML keeps to it in bytes, which is
	// stricter.
	TwiMLLimit = 4000

	titleRunes   = 120 // a title is a headline, not the alert body
	serviceRunes = 60
	gatherRounds = 3   // the announcement is repeated this often before giving up
	gatherWait   = "5" // seconds to wait for a key after each announcement
)

// CallTwiML is what Twilio does when the callee picks up: announce the
// incident and wait for a key, three times, then say goodbye and hang up.
// The key goes to publicURL + /v1/twilio/gather?attempt=<AttemptID>. A long
// title is shortened until the document fits Twilio's 4,000 characters.
func CallTwiML(c bot.Call, publicURL string) (string, error) {
	action := strings.TrimRight(publicURL, "/") + GatherPath + "?attempt=" + url.QueryEscape(c.AttemptID)
	sp := speechFor(c.Locale)
	service := clip(oneLine(c.ServiceName), serviceRunes)
	title := clip(oneLine(c.Incident.Title), titleRunes)
	for {
		say := sp.announce(service, title, c.Incident.Severity, c.Incident)
		verbs := make([]twiml.Element, 0, gatherRounds+2)
		for range gatherRounds {
			verbs = append(verbs, gather(action, sp.say(say)))
		}
		verbs = append(verbs, sp.say(sp.noKey()), &twiml.VoiceHangup{})
		doc, err := twiml.Voice(verbs)
		if err != nil {
			return "", fmt.Errorf("render call TwiML: %w", err)
		}
		if len(doc) <= TwiMLLimit {
			return doc, nil
		}
		if title == "" {
			return "", fmt.Errorf("call TwiML is %d bytes even without the title, over Twilio's limit of %d", len(doc), TwiMLLimit)
		}
		title = clip(title, utf8.RuneCountInString(title)/2)
	}
}

// replyTwiML answers a key: a confirmation and goodbye, or, for a key that
// meant nothing, the question again with its Gather posting to action.
func replyTwiML(r bot.KeypressReply, action string) (string, error) {
	sp := speechFor(r.Locale)
	var verbs []twiml.Element
	switch r.Outcome {
	case bot.KeypressAccepted:
		verbs = []twiml.Element{sp.say(sp.accepted(r.Incident))}
	case bot.KeypressPassed:
		verbs = []twiml.Element{sp.say(sp.passed(r.Incident))}
	case bot.KeypressTaken:
		verbs = []twiml.Element{sp.say(sp.taken(r.Incident, r.TakenBy))}
	case bot.KeypressAgain:
		verbs = []twiml.Element{gather(action, sp.say(sp.promptAgain())), sp.say(sp.noKey())}
	default:
		return "", fmt.Errorf("keypress outcome %q: no reply for it", r.Outcome)
	}
	verbs = append(verbs, &twiml.VoiceHangup{})
	doc, err := twiml.Voice(verbs)
	if err != nil {
		return "", fmt.Errorf("render reply TwiML: %w", err)
	}
	return doc, nil
}

func (s speech) say(text string) *twiml.VoiceSay {
	return &twiml.VoiceSay{Message: text, Voice: s.voice, Language: s.language}
}

// gather takes one key; the announcement inside it is cut short by the key.
func gather(action string, say *twiml.VoiceSay) *twiml.VoiceGather {
	return &twiml.VoiceGather{
		NumDigits:     "1",
		Action:        action,
		Method:        "POST",
		Timeout:       gatherWait,
		InnerElements: []twiml.Element{say},
	}
}
